//! One polling pass: every given source fetched, parsed and turned into
//! articles, concurrently, each source's health updated. Results stream out
//! through a channel so the caller can store them in batches while the pass
//! goes on, and memory stays flat however many sources there are.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use jiff::Timestamp;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::fetch::{Fetched, Validators};
use super::parse::{self, Budget, Item};
use super::schedule::{backoff, parse_duration};
use super::{Error, Fetcher, Kind, SourceDef};
use crate::model::Article;

/// Article pages fetched per source per pass at most, for teaser items.
const MAX_PAGES_PER_POLL: usize = 30;
/// Longest item link kept, in bytes. Links are identifiers and stored
/// whole; an item with a longer one is skipped with an item error.
pub const MAX_LINK_BYTES: usize = 4096;
/// Longest item guid kept, in bytes; longer ones are skipped likewise.
pub const MAX_GUID_BYTES: usize = 2048;
/// Item errors named in a source's health; the rest are counted.
const ITEM_ERRORS_SHOWN: usize = 3;

/// A source's stored polling state and health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub source_id: String,
    pub validators: Validators,
    pub last_attempt: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_due: Option<Timestamp>,
    /// Set only from a server's Retry-After: nothing is fetched before it,
    /// not even by `run --once`.
    pub retry_after: Option<Timestamp>,
    /// Items of the last fetched body that were skipped, and why (a page
    /// that could not be parsed, an absurd link): the source itself works.
    pub item_errors: Option<String>,
}

/// What happened to one source in a pass.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A new body was fetched and parsed into this many items.
    Fetched {
        items: usize,
    },
    /// 304: nothing parsed.
    NotModified,
    Failed(Error),
    /// Skipped: the server asked us to wait until then.
    Deferred(Timestamp),
}

/// Which of the given URLs are already stored. Asked only for teaser items
/// (whose pages would otherwise be fetched again every pass), so a pass over
/// full-content feeds never loads the article index.
pub type KnownUrls = Arc<dyn Fn(Vec<String>) -> BoxFuture<'static, HashSet<String>> + Send + Sync>;

/// A [`KnownUrls`] that knows nothing: every teaser page is fetched.
pub fn nothing_known() -> KnownUrls {
    Arc::new(|_| Box::pin(async { HashSet::new() }))
}

/// One source's result: its articles and its new state.
#[derive(Debug)]
pub struct PolledSource {
    pub source_id: String,
    pub outcome: Outcome,
    pub articles: Vec<Article>,
    pub state: SourceState,
}

/// Polls every `(source, state)` pair once, sending each result to `tx` as
/// it completes. Sources not yet started when `shutdown` turns true are
/// skipped; those in flight finish. `known` says which URLs are already
/// stored: their pages are not fetched again for teaser items.
pub async fn poll_all(
    fetcher: &Fetcher,
    work: Vec<(SourceDef, SourceState)>,
    known: KnownUrls,
    tx: mpsc::Sender<PolledSource>,
    shutdown: watch::Receiver<bool>,
) {
    // Sources are started through a gate a few times wider than the global
    // request limit: enough to keep every host's slots busy, few enough
    // that a shutdown stops the rest from starting and memory stays flat.
    let gate = Arc::new(Semaphore::new(
        fetcher.config().global_concurrency.max(1) * 4,
    ));
    let mut tasks = JoinSet::new();
    let mut shutdown = shutdown;
    for (def, state) in work {
        let permit = tokio::select! {
            p = gate.clone().acquire_owned() => p.expect("gate is never closed"),
            _ = wait_true(&mut shutdown) => break,
        };
        if *shutdown.borrow() {
            break;
        }
        let fetcher = fetcher.clone();
        let known = known.clone();
        let tx = tx.clone();
        tasks.spawn(async move {
            let now = Timestamp::now();
            // A panic while polling is this source's error, not a lost result.
            let result = AssertUnwindSafe(poll_source(&fetcher, &def, state.clone(), &known, now))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    let crash = Error::Crashed {
                        url: def.url.to_string(),
                        what: "poller",
                        reason: parse::panic_text(panic.as_ref()),
                    };
                    finish(fetcher.config(), &def, state, now, Err(crash))
                });
            // A closed receiver means the caller stopped listening: nothing to do.
            let _ = tx.send(result).await;
            // Held until the result is handed over, so results waiting for
            // the writer count against the gate too.
            drop(permit);
        });
        // Reap finished tasks as we go so the set does not grow with the work.
        while let Some(joined) = tasks.try_join_next() {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a polling task panicked; other sources are unaffected");
            }
        }
    }
    drop(tx);
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a polling task panicked; other sources are unaffected");
        }
    }
}

/// Resolves once the shutdown flag is true (never, if its sender is gone).
async fn wait_true(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Polls one source and computes its next state.
pub async fn poll_source(
    fetcher: &Fetcher,
    def: &SourceDef,
    state: SourceState,
    known: &KnownUrls,
    now: Timestamp,
) -> PolledSource {
    let cfg = fetcher.config();
    if let Some(until) = state.retry_after.filter(|t| *t > now) {
        return PolledSource {
            source_id: def.id.clone(),
            outcome: Outcome::Deferred(until),
            articles: Vec::new(),
            state,
        };
    }
    let result = fetch_items(fetcher, def, &state.validators, known).await;
    finish(cfg, def, state, now, result)
}

/// A source's result and next state from what fetching it gave.
fn finish(
    cfg: &super::Config,
    def: &SourceDef,
    mut state: SourceState,
    now: Timestamp,
    result: Result<Option<Fetch>, Error>,
) -> PolledSource {
    state.source_id = def.id.clone();
    state.last_attempt = Some(now);
    let default_jitter = parse_duration(&cfg.jitter).unwrap_or(Duration::ZERO);
    let next_cron = def.schedule.next_due(&def.id, now, default_jitter);
    let (outcome, articles) = match result {
        Ok(None) => (Outcome::NotModified, Vec::new()),
        Ok(Some(fetch)) => {
            // Saving the validators while an item waits for a later pass
            // would make that pass a 304 that never retries it.
            if !fetch.retry {
                state.validators = fetch.validators;
            }
            state.item_errors = item_errors(&fetch.skipped);
            let items = fetch.items;
            let n = items.len();
            let fetched_at = Timestamp::now();
            let articles = items
                .into_iter()
                .map(|i| to_article(def, i, fetched_at))
                .collect();
            (Outcome::Fetched { items: n }, articles)
        }
        Err(e) => (Outcome::Failed(e), Vec::new()),
    };
    match &outcome {
        Outcome::Failed(e) => {
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            state.last_error = Some(e.to_string());
            let wait = backoff(
                state.consecutive_failures,
                Duration::from_secs(cfg.backoff_base_secs),
                Duration::from_secs(cfg.backoff_max_secs),
            );
            let backed_off = now + jiff::SignedDuration::try_from(wait).unwrap_or_default();
            state.retry_after = match e {
                Error::RetryAfter { until, .. } => Some(*until),
                _ => None,
            };
            let mut due = next_cron.max(backed_off);
            if let Some(ra) = state.retry_after {
                due = due.max(ra);
            }
            state.next_due = Some(due);
        }
        _ => {
            state.consecutive_failures = 0;
            state.last_error = None;
            state.last_success = Some(now);
            state.retry_after = None;
            state.next_due = Some(next_cron);
        }
    }
    PolledSource {
        source_id: def.id.clone(),
        outcome,
        articles,
        state,
    }
}

/// A source's items from one fetched body.
struct Fetch {
    items: Vec<Item>,
    validators: Validators,
    /// True when an item was left for a later pass (page limit, page not
    /// fetched): the body must then be fetched again, not answered by 304.
    retry: bool,
    /// Items skipped for good: the item (its link, shortened) and why.
    skipped: Vec<(String, String)>,
}

/// A source's health line for the items it skipped, if any.
fn item_errors(skipped: &[(String, String)]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let mut s = skipped
        .iter()
        .take(ITEM_ERRORS_SHOWN)
        .map(|(item, why)| format!("{item}: {why}"))
        .collect::<Vec<_>>()
        .join("; ");
    if skipped.len() > ITEM_ERRORS_SHOWN {
        s.push_str(&format!("; and {} more", skipped.len() - ITEM_ERRORS_SHOWN));
    }
    Some(s)
}

/// Why an item's identifiers cannot be stored, if they cannot.
fn identifier_problem(item: &Item) -> Option<String> {
    if item.url.len() > MAX_LINK_BYTES {
        return Some(format!(
            "its link is {} bytes long, over the {MAX_LINK_BYTES} termwatch keeps; item skipped",
            item.url.len()
        ));
    }
    let guid = item.guid.as_deref().unwrap_or_default();
    (guid.len() > MAX_GUID_BYTES).then(|| {
        format!(
            "its guid is {} bytes long, over the {MAX_GUID_BYTES} termwatch keeps; item skipped",
            guid.len()
        )
    })
}

/// The first characters of a long identifier, for messages.
fn shortened(s: &str) -> String {
    parse::display_cap(s.to_string(), 100)
}

/// Drops items whose identifiers are absurd (recorded in `skipped`) and
/// repeats: an item whose guid or link an earlier item of the same body
/// already had is the same item.
fn dedupe(items: &mut Vec<Item>, skipped: &mut Vec<(String, String)>) {
    let keep: Vec<bool> = {
        let mut urls = HashSet::new();
        let mut guids = HashSet::new();
        items
            .iter()
            .map(|i| {
                if let Some(why) = identifier_problem(i) {
                    skipped.push((shortened(&i.url), why));
                    return false;
                }
                let new_guid = i.guid.as_deref().is_none_or(|g| guids.insert(g));
                urls.insert(i.url.as_str()) && new_guid
            })
            .collect()
    };
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(false));
}

/// Fetches and parses a source; `None` when the server says not modified.
async fn fetch_items(
    fetcher: &Fetcher,
    def: &SourceDef,
    validators: &Validators,
    known: &KnownUrls,
) -> Result<Option<Fetch>, Error> {
    let (bytes, content_type, new_validators, final_url) =
        match fetcher.fetch(&def.url, validators).await? {
            Fetched::NotModified => return Ok(None),
            Fetched::Body {
                bytes,
                content_type,
                validators,
                final_url,
            } => (bytes, content_type, validators, final_url),
        };
    let teaser_chars = fetcher.config().teaser_chars;
    let mut budget = Budget::new(parse::PARSE_BUDGET);
    let base = final_url.clone();
    // The body moves to the parsing thread and is freed there.
    let mut items = match (def.kind, def.selectors.clone()) {
        (Kind::Html, Some(sel)) => {
            parse::off_thread(&mut budget, &final_url, "HTML listing parser", move || {
                let text = super::decode::decode(&bytes, content_type.as_deref());
                parse::listing(&text, &base, &sel)
            })
            .await??
        }
        _ => {
            let url = def.url.to_string();
            parse::off_thread(&mut budget, &final_url, "feed parser", move || {
                let utf8 = super::decode::decode_feed(&bytes, content_type.as_deref());
                parse::feed(&utf8, &base, teaser_chars)
                    .map_err(|reason| Error::Feed { url, reason })
            })
            .await??
        }
    };
    for item in &mut items {
        item.url = canonical_url(&item.url);
    }
    let mut skipped = Vec::new();
    dedupe(&mut items, &mut skipped);
    let mut retry = false;
    let body_sel = def.selectors.as_ref().and_then(|s| s.body.as_deref());
    let teasers: Vec<String> = items
        .iter()
        .filter(|i| i.teaser)
        .map(|i| i.url.clone())
        .collect();
    let known = if teasers.is_empty() {
        HashSet::new()
    } else {
        known(teasers).await
    };
    let mut pages = 0;
    let mut keep = vec![true; items.len()];
    for (item, keep) in items.iter_mut().zip(keep.iter_mut()) {
        if !item.teaser {
            continue;
        }
        // A stored teaser is not re-read: its summary would only make a
        // bogus revision of the full text we already have. Past the page
        // limit, an item waits for the next pass rather than being stored
        // as a bare summary.
        if known.contains(&item.url) {
            *keep = false;
            continue;
        }
        if pages >= MAX_PAGES_PER_POLL || budget.exhausted() {
            *keep = false;
            retry = true;
            continue;
        }
        pages += 1;
        let page = match url::Url::parse(&item.url) {
            Ok(url) => {
                fetcher
                    .fetch_item_page(def, &url, body_sel, &mut budget)
                    .await
            }
            Err(_) => Err(Error::BadUrl {
                url: item.url.clone(),
            }),
        };
        match page {
            Ok(page) if !page.text.is_empty() => {
                item.text = page.text;
                if item.title.is_empty() {
                    item.title = page.title;
                }
                item.published = item.published.or(page.published);
                item.author = item.author.take().or(page.author);
                item.teaser = false;
            }
            Err(e @ (Error::ParseTimeout { .. } | Error::Crashed { .. })) => {
                // Fetching it again would fail again: the item is kept
                // with what the feed gave, so it is known and not refetched.
                skipped.push((shortened(&item.url), e.to_string()));
            }
            Err(e @ (Error::Refused { .. } | Error::OtherSite { .. })) => {
                // Refused by configuration: asking again next pass cannot
                // help, so the operator is told in the source's health.
                skipped.push((shortened(&item.url), e.to_string()));
                *keep = !item.text.is_empty();
            }
            other => {
                // The summary is kept when there is one (a page may be
                // disallowed for good); an empty item waits for next pass.
                if let Err(e) = other {
                    tracing::debug!(source = %def.id, url = %item.url, error = %e, "article page not fetched");
                }
                *keep = !item.text.is_empty();
                retry |= !*keep;
            }
        }
    }
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(false));
    Ok(Some(Fetch {
        items,
        validators: new_validators,
        retry,
        skipped,
    }))
}

fn to_article(def: &SourceDef, item: Item, fetched_at: Timestamp) -> Article {
    let title = if item.title.is_empty() {
        item.url.clone()
    } else {
        item.title
    };
    Article {
        source_id: def.id.clone(),
        content_hash: Article::hash_content(&title, &item.text),
        url: item.url,
        guid: item.guid,
        title,
        published: item.published,
        author: item.author,
        text: item.text,
        fetched_at,
        trust: def.trust,
        organisation: def.organisation.clone(),
    }
}

/// The URL an article is stored under: no fragment, no `utm_*` tracking
/// parameters, so the same article reached two ways is one article.
pub fn canonical_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return raw.to_string();
    };
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.starts_with("utm_"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_parameters_and_fragments_are_dropped() {
        assert_eq!(
            canonical_url("https://x.example/a?utm_source=rss&id=3#top"),
            "https://x.example/a?id=3"
        );
        assert_eq!(
            canonical_url("https://x.example/a?utm_medium=x"),
            "https://x.example/a"
        );
    }
}
