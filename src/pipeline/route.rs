//! Route step: route changed events to clients and store the digests that
//! are due, each with its deliveries, in one transaction per digest.
//! Also the read-only `preview` behind `termwatch digest preview`.

use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;

use crate::config::{Config, Problem};
use crate::digest::{self, Change, Renderer, Window, WindowKind};
use crate::model::{Cadence, ClientProfile, Digest};
use crate::route::{self, Playbook};
use crate::store::digests::{self as db, NewDelivery, NewDigest, StoredEvent};
use crate::store::{self, Store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Playbook(#[from] route::Error),
    #[error("the digest templates have problems; run `termwatch check`:\n{}", join(.0))]
    Templates(Vec<Problem>),
    #[error("could not render the digest for client {client}: {source}")]
    Render {
        client: String,
        source: digest::Error,
    },
    #[error("no client with id \"{id}\" in {dir}; the ids there are: {known}")]
    UnknownClient {
        id: String,
        dir: String,
        known: String,
    },
}

fn join(ps: &[Problem]) -> String {
    ps.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub clients: usize,
    /// Client files skipped because they are invalid (each logged).
    pub invalid_clients: usize,
    pub digests: usize,
    pub immediate_digests: usize,
    pub deliveries: usize,
    /// Windows that closed with nothing for the client (nothing sent).
    pub empty_windows: usize,
}

/// The playbook, templates and clients a step or preview works with.
struct Tools {
    playbook: Playbook,
    renderer: Renderer,
}

fn tools(config: &Config) -> Result<Tools, Error> {
    Ok(Tools {
        playbook: route::load_playbook(&config.route)?,
        renderer: Renderer::load(&config.digest).map_err(Error::Templates)?,
    })
}

/// For every client: if its window is due, store the digest of events new
/// or changed since its last one; if a severe event has not reached it yet,
/// store an immediate digest. Invalid client files are skipped and logged.
pub async fn step(
    store: &Store,
    config: &Config,
    clients_dir: &Path,
    now: Timestamp,
) -> Result<Summary, Error> {
    let tools = tools(config)?;
    let (clients, problems) = route::load_clients(clients_dir);
    for p in &problems {
        tracing::warn!(problem = %p, "skipping an invalid client profile");
    }
    let mut summary = Summary {
        clients: clients.len(),
        invalid_clients: problems.len(),
        ..Summary::default()
    };
    let ends = db::window_ends(store).await?;
    let start_of = |c: &ClientProfile| {
        ends.get(&c.id)
            .copied()
            .unwrap_or_else(|| digest::window::default_start(c, now))
    };
    let Some(floor) = clients.iter().map(start_of).min() else {
        return Ok(summary);
    };
    let (events, details) =
        in_context(store, db::events_updated_between(store, floor, now).await?).await?;
    for client in &clients {
        let mut sent = db::sent_to(store, &client.id).await?;
        let dues = db::dues_of(store, &client.id).await?;
        let before = told_before(store, &events, &sent).await?;
        let notes = digest::Notes {
            details: Some(&details),
            dues: Some(&dues),
            before: Some(&before),
        };
        let mut last = ends.get(&client.id).copied();
        if let Some(window) = digest::due_window(client, last, now) {
            let picked = pick(&events, &sent, &window, |_| true);
            match store_digest(
                store, &tools, client, &picked, &window, now, &mut sent, notes,
            )
            .await?
            {
                Some(n) => {
                    summary.digests += 1;
                    summary.deliveries += n;
                }
                None => {
                    db::advance_window(store, &client.id, window.end).await?;
                    summary.empty_windows += 1;
                }
            }
            last = Some(window.end);
        }
        if client.cadence != Cadence::Immediate && digest::quiet_until(client, now).is_none() {
            let start = last.unwrap_or_else(|| digest::window::default_start(client, now));
            let window = Window {
                start,
                end: now,
                kind: WindowKind::Immediate,
            };
            let threshold = config.digest.immediate_severity;
            let picked = pick(&events, &sent, &window, |s| s.event.severity >= threshold);
            if let Some(n) = store_digest(
                store, &tools, client, &picked, &window, now, &mut sent, notes,
            )
            .await?
            {
                summary.immediate_digests += 1;
                summary.deliveries += n;
            }
        }
    }
    tracing::info!(
        clients = summary.clients,
        digests = summary.digests,
        immediate = summary.immediate_digests,
        deliveries = summary.deliveries,
        "route step done"
    );
    Ok(summary)
}

/// The events with each source's evidence in context (the sentence, a list
/// item's lead-in), read from the revisions they came from, and the details
/// (regions) found around them, by event id.
async fn in_context(
    store: &Store,
    events: Vec<StoredEvent>,
) -> Result<(Vec<StoredEvent>, HashMap<String, Vec<String>>), Error> {
    let mut ids: Vec<i64> = events
        .iter()
        .flat_map(|s| s.event.sources.iter().map(|x| x.revision_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let texts = db::revision_texts(store, &ids).await?;
    let mut details = HashMap::new();
    let events = events
        .into_iter()
        .map(|mut s| {
            let (e, found) = digest::enrich(&s.event, |id| texts.get(&id).map(String::as_str));
            if !found.is_empty() {
                details.insert(e.id.clone(), found);
            }
            s.event = std::sync::Arc::new(e);
            s
        })
        .collect();
    Ok((events, details))
}

/// The version of each event a client was last sent, where it changed since.
async fn told_before(
    store: &Store,
    events: &[StoredEvent],
    sent: &HashMap<String, String>,
) -> Result<HashMap<String, std::sync::Arc<crate::model::Event>>, Error> {
    let mut out = HashMap::new();
    for s in events {
        if let Some(fp) = sent.get(&s.event.id).filter(|fp| **fp != s.fingerprint)
            && let Some(old) = db::sent_version(store, &s.event.id, fp).await?
        {
            out.insert(s.event.id.clone(), std::sync::Arc::new(old));
        }
    }
    Ok(out)
}

/// Events in the window the client has not been sent in this version.
fn pick<'a>(
    events: &'a [StoredEvent],
    sent: &HashMap<String, String>,
    window: &Window,
    keep: impl Fn(&StoredEvent) -> bool,
) -> Vec<&'a StoredEvent> {
    events
        .iter()
        .filter(|s| s.updated_at > window.start && s.updated_at <= window.end)
        .filter(|s| sent.get(&s.event.id) != Some(&s.fingerprint))
        .filter(|s| keep(s))
        .collect()
}

/// Builds, renders and stores one digest; `Some(deliveries)` when stored.
// One client's step state, passed as it is rather than bundled for one call.
#[allow(clippy::too_many_arguments)]
async fn store_digest(
    store: &Store,
    tools: &Tools,
    client: &ClientProfile,
    picked: &[&StoredEvent],
    window: &Window,
    now: Timestamp,
    sent: &mut HashMap<String, String>,
    notes: digest::Notes<'_>,
) -> Result<Option<usize>, Error> {
    let with_change = picked.iter().map(|s| {
        let change = if sent.contains_key(&s.event.id) {
            Change::Updated
        } else {
            Change::New
        };
        (&s.event, change)
    });
    let Some(digest) =
        digest::build_digest(client, &tools.playbook, with_change, window, now, notes)
    else {
        return Ok(None);
    };
    let rendered = render(tools, client, &digest)?;
    let deliveries = deliveries_for(client);
    let told = |id: &str| {
        digest
            .items
            .iter()
            .any(|i| i.event.id == id || i.grouped.iter().any(|g| g == id))
    };
    let included: Vec<(String, String)> = picked
        .iter()
        .filter(|s| told(&s.event.id))
        .map(|s| (s.event.id.clone(), s.fingerprint.clone()))
        .collect();
    let versions: Vec<(String, String, String)> = picked
        .iter()
        .filter(|s| told(&s.event.id))
        .filter_map(|s| {
            let body = serde_json::to_string(&*s.event).ok()?;
            Some((s.event.id.clone(), s.fingerprint.clone(), body))
        })
        .collect();
    let dues: Vec<(String, String, String)> = digest
        .items
        .iter()
        .flat_map(|i| {
            std::iter::once(&i.event.id)
                .chain(&i.grouped)
                .flat_map(move |id| {
                    i.actions
                        .iter()
                        .filter_map(move |a| Some((id.clone(), a.rule_id.clone(), a.due.clone()?)))
                })
        })
        .collect();
    let stored = db::save_digest(
        store,
        &NewDigest {
            digest: &digest,
            html: &rendered.html,
            text: &rendered.text,
            json: &rendered.json,
            deliveries: &deliveries,
            sent: &included,
            advance_window: (window.kind == WindowKind::Regular).then_some(window.end),
            dues: &dues,
            versions: &versions,
        },
        now,
    )
    .await?;
    if stored {
        tracing::info!(client = %client.id, digest = %digest.id, items = digest.items.len(), "digest stored");
        sent.extend(included);
    }
    Ok(Some(if stored { deliveries.len() } else { 0 }))
}

fn render(tools: &Tools, client: &ClientProfile, d: &Digest) -> Result<digest::Rendered, Error> {
    tools
        .renderer
        .render(d, &client.timezone)
        .map_err(|source| Error::Render {
            client: client.id.clone(),
            source,
        })
}

/// One outbox row for the email recipients (together) and one per webhook.
pub fn deliveries_for(client: &ClientProfile) -> Vec<NewDelivery> {
    let mut out = Vec::new();
    if !client.recipients.is_empty() {
        out.push(NewDelivery {
            channel: "email".into(),
            target: client.recipients.join(","),
            format: None,
            secret_ref: None,
        });
    }
    for w in &client.webhooks {
        out.push(NewDelivery {
            channel: "webhook".into(),
            // The URL is a bearer secret: the outbox keeps a reference.
            target: crate::deliver::webhook_urls::reference(&w.url),
            format: Some(w.format.clone()),
            secret_ref: w.secret_ref.clone(),
        });
    }
    out
}

/// What `client_id` would get now, without writing anything. With `since`,
/// every event changed since then; without, what its next digest would hold.
pub async fn preview(
    store: &Store,
    config: &Config,
    clients_dir: &Path,
    client_id: &str,
    since: Option<Timestamp>,
    now: Timestamp,
) -> Result<Option<(Digest, digest::Rendered)>, Error> {
    let tools = tools(config)?;
    let (clients, _) = route::load_clients(clients_dir);
    let Some(client) = clients.iter().find(|c| c.id == client_id) else {
        return Err(Error::UnknownClient {
            id: client_id.to_string(),
            dir: clients_dir.display().to_string(),
            known: clients
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let (start, sent) = match since {
        Some(s) => (s, HashMap::new()),
        None => {
            let ends = db::window_ends(store).await?;
            let start = ends
                .get(client_id)
                .copied()
                .unwrap_or_else(|| digest::window::default_start(client, now));
            (start, db::sent_to(store, client_id).await?)
        }
    };
    let window = Window {
        start,
        end: now,
        kind: WindowKind::Regular,
    };
    // Events exactly at `since` count: the window is open at its start.
    let after = start
        .checked_sub(jiff::Span::new().seconds(1))
        .unwrap_or(start);
    let (events, details) =
        in_context(store, db::events_updated_between(store, after, now).await?).await?;
    let dues = db::dues_of(store, client_id).await?;
    let before = told_before(store, &events, &sent).await?;
    let notes = digest::Notes {
        details: Some(&details),
        dues: Some(&dues),
        before: Some(&before),
    };
    let picked = events
        .iter()
        .filter(|s| sent.get(&s.event.id) != Some(&s.fingerprint))
        .map(|s| {
            let change = if sent.contains_key(&s.event.id) || s.first_seen < start {
                Change::Updated
            } else {
                Change::New
            };
            (&s.event, change)
        });
    let Some(d) = digest::build_digest(client, &tools.playbook, picked, &window, now, notes) else {
        return Ok(None);
    };
    let rendered = render(&tools, client, &d)?;
    Ok(Some((d, rendered)))
}
