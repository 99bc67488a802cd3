//! Feeds (RSS, Atom, JSON Feed via feed-rs), HTML listings (scraper) and
//! article pages become plain items.
//!
//! Feed content is turned into text by [`super::text`]; whole pages go through [`crate::html::main_text`], which removes
//! boilerplate.
//!
//! Parsing runs on a blocking thread ([`off_thread`]), within the source's
//! time budget: a document that takes the parser too long, or makes it
//! panic, becomes that source's (or that item's) error, never a stalled
//! runtime or a lost result. Display fields (title, author) are cut to a
//! readable length here, with a visible ellipsis.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use scraper::{ElementRef, Selector};
use url::Url;

use super::text::html_to_text;
use super::{Error, Selectors};
use crate::model::{Article, Trust};

/// Longest title kept, in characters; longer ones end in "…".
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest author name kept, in characters; longer ones end in "…".
pub const MAX_AUTHOR_CHARS: usize = 120;

/// One entry of a feed or listing, before it becomes an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub url: String,
    pub title: String,
    pub published: Option<jiff::Timestamp>,
    pub author: Option<String>,
    pub text: String,
    /// True when `text` is only a summary (or empty): the page is fetched.
    pub teaser: bool,
    /// The feed's own identifier for the item (RSS guid, Atom id, JSON
    /// Feed id), when it gives one.
    pub guid: Option<String>,
}

/// How long one source's parsing may take in a pass (its feed or listing
/// and its article pages together). A document that takes longer is that
/// source's error (or, for a page, that item's).
pub const PARSE_BUDGET: Duration = Duration::from_secs(15);

/// What is left of a source's parse budget in this pass. Only parsing
/// counts: waiting for a free core is not the source's doing.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    left: Duration,
}

impl Budget {
    pub fn new(total: Duration) -> Budget {
        Budget { left: total }
    }

    pub fn exhausted(&self) -> bool {
        self.left.is_zero()
    }
}

/// Parsers running at once: one per core. More would only queue for the
/// cores, and every extra blocking thread costs memory in a cold pass.
static PARSERS: LazyLock<Arc<tokio::sync::Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(tokio::sync::Semaphore::new(cores))
});

/// Runs the parser `f` for the document at `url` on a blocking thread, so
/// that a slow document never holds up the async workers (and other
/// sources on the same host). Past the budget, or when the parser panics,
/// the answer is an error naming the document; a parser still running is
/// left to finish on its own thread.
pub async fn off_thread<T: Send + 'static>(
    budget: &mut Budget,
    url: &Url,
    what: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    let permit = PARSERS
        .clone()
        .acquire_owned()
        .await
        .expect("the parser semaphore is never closed");
    let started = tokio::time::Instant::now();
    // The permit goes with the parser: a parser past its budget still
    // holds its core until it ends.
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    });
    let result = tokio::time::timeout(budget.left, task).await;
    budget.left = budget.left.saturating_sub(started.elapsed());
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::Crashed {
            url: url.to_string(),
            what,
            reason: panic_message(e),
        }),
        Err(_) => Err(Error::ParseTimeout {
            url: url.to_string(),
            secs: PARSE_BUDGET.as_secs(),
        }),
    }
}

/// The message a failed task panicked with, or why it did not finish.
fn panic_message(e: tokio::task::JoinError) -> String {
    if e.is_panic() {
        panic_text(e.into_panic().as_ref())
    } else {
        e.to_string()
    }
}

/// The words a panic payload carries.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".to_string())
}

/// Reads a fetched article page on a blocking thread, within `budget`.
pub async fn read_page(
    budget: &mut Budget,
    bytes: bytes::Bytes,
    content_type: Option<String>,
    url: Url,
    body: Option<&str>,
) -> Result<Page, Error> {
    let body = body.map(str::to_string);
    let at = url.clone();
    off_thread(budget, &at, "page parser", move || {
        let text = super::decode::decode(&bytes, content_type.as_deref());
        page(&text, &url, body.as_deref())
    })
    .await
}

/// `s` cut to `max` characters, the cut shown by a final "…".
pub fn display_cap(mut s: String, max: usize) -> String {
    if let Some((cut, _)) = s.char_indices().nth(max.saturating_sub(1))
        && s[cut..].chars().nth(1).is_some()
    {
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn title_text(s: &str) -> String {
    display_cap(inline_text(s), MAX_TITLE_CHARS)
}

fn author_text(s: &str) -> Option<String> {
    let name = display_cap(s.trim().to_string(), MAX_AUTHOR_CHARS);
    (!name.is_empty()).then_some(name)
}

/// Parses a feed body (already decoded to UTF-8 bytes).
pub fn feed(bytes: &[u8], base: &Url, teaser_chars: usize) -> Result<Vec<Item>, String> {
    if let Some(items) = json_feed(bytes, base, teaser_chars) {
        return Ok(items);
    }
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .sanitize_content(false)
        .build();
    let parsed = parser.parse(bytes).map_err(|e| e.to_string())?;
    let mut items = Vec::with_capacity(parsed.entries.len());
    for entry in parsed.entries {
        let link = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(entry.links.first())
            .map(|l| l.href.clone())
            .or_else(|| entry.id.starts_with("http").then(|| entry.id.clone()));
        let Some(url) = link.and_then(|l| base.join(l.trim()).ok()) else {
            continue;
        };
        let content = entry.content.as_ref().and_then(|c| c.body.as_deref());
        let summary = entry.summary.as_ref().map(|s| s.content.as_str());
        let (text, full) = match content.filter(|c| !c.trim().is_empty()) {
            Some(c) => (html_to_text(c), true),
            None => (summary.map(html_to_text).unwrap_or_default(), false),
        };
        let teaser = !full && text.chars().count() < teaser_chars;
        let title = entry
            .title
            .as_ref()
            .map(|t| title_text(&t.content))
            .unwrap_or_default();
        let published = entry
            .published
            .or(entry.updated)
            .and_then(|d| jiff::Timestamp::from_second(d.timestamp()).ok());
        let author = entry
            .authors
            .first()
            .and_then(|p| p.name.as_deref().and_then(author_text));
        let guid = Some(entry.id).filter(|id| !id.is_empty());
        items.push(Item {
            url: url.to_string(),
            title,
            published,
            author,
            text,
            teaser,
            guid,
        });
    }
    Ok(items)
}

#[derive(serde::Deserialize)]
struct JsonFeed {
    version: String,
    #[serde(default)]
    items: Vec<JsonItem>,
}

#[derive(serde::Deserialize)]
struct JsonItem {
    url: Option<String>,
    external_url: Option<String>,
    id: Option<serde_json::Value>,
    title: Option<String>,
    content_html: Option<String>,
    content_text: Option<String>,
    summary: Option<String>,
    date_published: Option<String>,
    date_modified: Option<String>,
    author: Option<JsonAuthor>,
    authors: Option<Vec<JsonAuthor>>,
}

#[derive(serde::Deserialize)]
struct JsonAuthor {
    name: Option<String>,
}

/// JSON Feed read directly from the slice: feed-rs reads JSON through a
/// byte-at-a-time reader, several times slower. `None` when the bytes are
/// not a JSON Feed; feed-rs then gives the error.
fn json_feed(bytes: &[u8], base: &Url, teaser_chars: usize) -> Option<Vec<Item>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let feed: JsonFeed = serde_json::from_slice(bytes).ok()?;
    if !feed.version.starts_with("https://jsonfeed.org/version/") {
        return None;
    }
    let items = feed
        .items
        .into_iter()
        .filter_map(|i| {
            let id_url =
                i.id.as_ref()
                    .and_then(|v| v.as_str())
                    .filter(|s| s.starts_with("http"));
            let link = i.url.as_deref().or(i.external_url.as_deref()).or(id_url)?;
            let url = base.join(link.trim()).ok()?;
            let (text, full) = match (i.content_html, i.content_text) {
                (Some(h), _) if !h.trim().is_empty() => (html_to_text(&h), true),
                (_, Some(t)) if !t.trim().is_empty() => (plain_text(&t), true),
                _ => (
                    i.summary.as_deref().map(plain_text).unwrap_or_default(),
                    false,
                ),
            };
            let author = i
                .authors
                .and_then(|a| a.into_iter().next())
                .or(i.author)
                .and_then(|a| a.name.as_deref().and_then(author_text));
            let guid = match &i.id {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            Some(Item {
                url: url.to_string(),
                title: i.title.as_deref().map(title_text).unwrap_or_default(),
                guid,
                published: i
                    .date_published
                    .or(i.date_modified)
                    .and_then(|d| parse_date(&d)),
                author,
                teaser: !full && text.chars().count() < teaser_chars,
                text,
            })
        })
        .collect();
    Some(items)
}

/// Plain text as a feed gives it: paragraphs kept, other whitespace collapsed.
fn plain_text(s: &str) -> String {
    s.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Reads an HTML listing page with the source's selectors. Items carry no
/// text: their pages are fetched.
pub fn listing(html: &str, base: &Url, sel: &Selectors) -> Result<Vec<Item>, super::Error> {
    let compile = |s: &str| Selector::parse(s).ok();
    let (Some(item_sel), Some(link_sel)) = (compile(&sel.item), compile(&sel.link)) else {
        return Err(super::Error::EmptyListing {
            url: base.to_string(),
            selector: sel.item.clone(),
        });
    };
    let title_sel = sel.title.as_deref().and_then(compile);
    let date_sel = sel.date.as_deref().and_then(compile);
    let doc = crate::html::parse(html).doc;
    let mut items = Vec::new();
    for node in doc.select(&item_sel) {
        let link = std::iter::once(node)
            .filter(|n| link_sel.matches(n))
            .chain(node.select(&link_sel))
            .find_map(|a| a.value().attr("href"));
        let Some(url) = link.and_then(|h| base.join(h.trim()).ok()) else {
            continue;
        };
        let title = title_sel
            .as_ref()
            .and_then(|s| node.select(s).next())
            .or_else(|| node.select(&link_sel).next())
            .map(|e| display_cap(element_text(e), MAX_TITLE_CHARS))
            .unwrap_or_default();
        let published = date_sel
            .as_ref()
            .and_then(|s| node.select(s).next())
            .and_then(|d| {
                d.value()
                    .attr("datetime")
                    .and_then(parse_date)
                    .or_else(|| parse_date(&element_text(d)))
            });
        items.push(Item {
            url: url.to_string(),
            title,
            published,
            author: None,
            text: String::new(),
            teaser: true,
            guid: None,
        });
    }
    if items.is_empty() {
        return Err(super::Error::EmptyListing {
            url: base.to_string(),
            selector: sel.item.clone(),
        });
    }
    Ok(items)
}

/// An article page, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub url: String,
    pub title: String,
    pub published: Option<jiff::Timestamp>,
    pub author: Option<String>,
    pub text: String,
}

impl Page {
    /// The page as an article of `source_id`, fetched now.
    pub fn into_article(
        self,
        source_id: &str,
        trust: Trust,
        organisation: Option<String>,
    ) -> Article {
        Article {
            source_id: source_id.to_string(),
            content_hash: Article::hash_content(&self.title, &self.text),
            url: self.url,
            guid: None,
            title: self.title,
            published: self.published,
            author: self.author,
            text: self.text,
            fetched_at: jiff::Timestamp::now(),
            trust,
            organisation,
        }
    }
}

/// Reads an article page: canonical URL, title, date, author and main text
/// (from `body` when given, else with boilerplate removed automatically).
pub fn page(html: &str, url: &Url, body: Option<&str>) -> Page {
    let parsed = crate::html::parse(html);
    let doc = &parsed.doc;
    let first_attr = |css: &str, attr: &str| -> Option<String> {
        let s = Selector::parse(css).ok()?;
        doc.select(&s)
            .find_map(|e| e.value().attr(attr))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let first_text = |css: &str| -> Option<String> {
        let s = Selector::parse(css).ok()?;
        doc.select(&s).map(element_text).find(|t| !t.is_empty())
    };
    let canonical = first_attr("link[rel=canonical]", "href")
        .and_then(|h| url.join(&h).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| url.clone());
    let title = first_attr("meta[property='og:title']", "content")
        .or_else(|| first_text("h1"))
        .or_else(|| first_text("title"))
        .map(|t| display_cap(t, MAX_TITLE_CHARS))
        .unwrap_or_default();
    let published = first_attr("meta[property='article:published_time']", "content")
        .or_else(|| first_attr("time[datetime]", "datetime"))
        .and_then(|d| parse_date(&d));
    let author = first_attr("meta[name=author]", "content").and_then(|a| author_text(&a));
    let selected = body.and_then(|b| Selector::parse(b).ok()).map(|s| {
        doc.select(&s)
            .map(|e| html_to_text(&e.inner_html()))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    });
    let text = match selected.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => crate::html::main_text_of(&parsed),
    };
    Page {
        url: canonical.to_string(),
        title,
        published,
        author,
        text,
    }
}

fn element_text(e: ElementRef<'_>) -> String {
    e.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Dates as sites write them: RFC 3339, RFC 2822, `2026-05-01`, `May 1, 2026`.
pub fn parse_date(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    if let Ok(z) = jiff::fmt::rfc2822::parse(s) {
        return Some(z.timestamp());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    for fmt in ["%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y"] {
        if let Ok(d) = jiff::civil::Date::strptime(fmt, s) {
            return d
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|z| z.timestamp());
        }
    }
    None
}

/// Title-like text: tags stripped, entities decoded, whitespace collapsed.
fn inline_text(s: &str) -> String {
    if s.contains(['<', '&']) {
        html_to_text(s).replace('\n', " ")
    } else {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_site_formats() {
        let want: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse_date("2026-05-01"), Some(want));
        assert_eq!(parse_date("May 1, 2026"), Some(want));
        assert_eq!(parse_date("Fri, 01 May 2026 00:00:00 +0000"), Some(want));
    }

    #[test]
    fn listing_with_selectors() {
        let html = r#"<main><article class="post"><a href="/news/one"><h3>First</h3></a><time datetime="2026-05-01">May 1</time></article>
            <article class="post"><a href="https://x.example/two">Second</a></article></main>"#;
        let sel = Selectors {
            item: "article.post".into(),
            link: "a".into(),
            title: Some("h3".into()),
            date: Some("time".into()),
            body: None,
        };
        let items = listing(html, &Url::parse("https://x.example/news/").unwrap(), &sel).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].url, "https://x.example/news/one");
        assert_eq!(items[0].title, "First");
        assert!(items[0].published.is_some());
        assert_eq!(items[1].title, "Second");
    }

    #[tokio::test]
    async fn parsing_past_the_budget_is_the_sources_error() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let url = Url::parse("https://x.example/feed").unwrap();
        // A spent budget and a parser that cannot finish before `tx` goes:
        // the budget ends the wait for it.
        let mut budget = Budget::new(Duration::ZERO);
        let out = off_thread(&mut budget, &url, "feed parser", move || rx.recv().is_ok()).await;
        drop(tx);
        let err = out.unwrap_err().to_string();
        assert!(
            err.contains("https://x.example/feed") && err.contains("parse budget"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_parser_panic_is_a_readable_error() {
        let url = Url::parse("https://x.example/feed").unwrap();
        let mut budget = Budget::new(PARSE_BUDGET);
        let out: Result<(), _> = off_thread(&mut budget, &url, "feed parser", || {
            panic!("unexpected end of UTF-16 input")
        })
        .await;
        let err = out.unwrap_err().to_string();
        assert!(
            err.contains(
                "feed parser failed on https://x.example/feed (unexpected end of UTF-16 input)"
            ),
            "{err}"
        );
    }

    #[test]
    fn display_fields_are_capped_with_an_ellipsis() {
        assert_eq!(display_cap("short".into(), 10), "short");
        assert_eq!(display_cap("exactly ten".into(), 11), "exactly ten");
        let long = display_cap("é".repeat(1 << 20), MAX_TITLE_CHARS);
        assert_eq!(long.chars().count(), MAX_TITLE_CHARS);
        assert!(long.ends_with('…'));
    }
}
