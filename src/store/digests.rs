//! Digests and the client bookkeeping of cadence windows; a digest and its
//! deliveries are written in one transaction, together with the client's
//! window state, so a crash leaves either all of it or none.

use std::collections::HashMap;

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use super::{Result, Store, from_secs, secs};
use crate::model::{Digest, Event};

/// An event as stored, with what tells versions apart.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: std::sync::Arc<Event>,
    pub fingerprint: String,
    pub first_seen: Timestamp,
    pub updated_at: Timestamp,
}

/// One outbox row to create with a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// `email` or `webhook`.
    pub channel: String,
    /// Comma-separated addresses, or the webhook URL.
    pub target: String,
    pub format: Option<String>,
    pub secret_ref: Option<String>,
}

/// Everything written when a digest is stored.
#[derive(Debug, Clone)]
pub struct NewDigest<'a> {
    pub digest: &'a Digest,
    pub html: &'a str,
    pub text: &'a str,
    pub json: &'a str,
    pub deliveries: &'a [NewDelivery],
    /// `(event id, fingerprint)` of every event in the digest.
    pub sent: &'a [(String, String)],
    /// Advance the client's regular window to this end (not for immediate digests).
    pub advance_window: Option<Timestamp>,
    /// `(event id, rule id, due)` of every dated action, kept if already set.
    pub dues: &'a [(String, String, String)],
    /// `(event id, fingerprint, event JSON)` of every event told, for the
    /// before and after of a later update.
    pub versions: &'a [(String, String, String)],
}

/// The text of each revision in `ids`, for evidence in context.
pub async fn revision_texts(store: &Store, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q: sqlx::QueryBuilder<sqlx::Sqlite> =
            sqlx::QueryBuilder::new("SELECT id, text FROM revisions WHERE id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(store.pool()).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The due dates a client was given, by event id then rule id.
pub async fn dues_of(
    store: &Store,
    client_id: &str,
) -> Result<HashMap<String, HashMap<String, String>>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT event_id, rule_id, due FROM action_dues WHERE client_id = ?")
            .bind(client_id)
            .fetch_all(store.pool())
            .await?;
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    for (event, rule, due) in rows {
        out.entry(event).or_default().insert(rule, due);
    }
    Ok(out)
}

/// The version of an event with this fingerprint, as a digest told it.
pub async fn sent_version(
    store: &Store,
    event_id: &str,
    fingerprint: &str,
) -> Result<Option<Event>> {
    let body: Option<(String,)> =
        sqlx::query_as("SELECT body FROM sent_versions WHERE event_id = ? AND fingerprint = ?")
            .bind(event_id)
            .bind(fingerprint)
            .fetch_optional(store.pool())
            .await?;
    Ok(body.and_then(|(b,)| serde_json::from_str(&b).ok()))
}

/// Events updated in `(after, upto]`, oldest change first.
pub async fn events_updated_between(
    store: &Store,
    after: Timestamp,
    upto: Timestamp,
) -> Result<Vec<StoredEvent>> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT body, fingerprint, first_seen, updated_at FROM events
         WHERE updated_at > ? AND updated_at <= ? ORDER BY updated_at, id",
    )
    .bind(secs(after))
    .bind(secs(upto))
    .fetch_all(store.pool())
    .await?;
    rows.into_iter()
        .map(|(body, fingerprint, first_seen, updated_at)| {
            Ok(StoredEvent {
                event: std::sync::Arc::new(serde_json::from_str(&body)?),
                fingerprint,
                first_seen: from_secs(first_seen),
                updated_at: from_secs(updated_at),
            })
        })
        .collect()
}

/// Every client's last regular window end.
pub async fn window_ends(store: &Store) -> Result<HashMap<String, Timestamp>> {
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT client_id, last_window_end FROM client_state")
            .fetch_all(store.pool())
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, end)| end.map(|e| (c, from_secs(e))))
        .collect())
}

/// The fingerprint of each event last sent to a client.
pub async fn sent_to(store: &Store, client_id: &str) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT event_id, fingerprint FROM client_sent WHERE client_id = ?")
            .bind(client_id)
            .fetch_all(store.pool())
            .await?;
    Ok(rows.into_iter().collect())
}

/// Records an empty window: nothing to send, but the window is done.
pub async fn advance_window(store: &Store, client_id: &str, end: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO client_state (client_id, last_window_end) VALUES (?, ?)
         ON CONFLICT (client_id) DO UPDATE SET last_window_end = excluded.last_window_end
         WHERE client_state.last_window_end IS NULL OR client_state.last_window_end < excluded.last_window_end",
    )
    .bind(client_id)
    .bind(secs(end))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Stores a digest, its deliveries (status `pending`, due `now`), what it
/// sent and the client's window, in one transaction. Returns false when a
/// digest with this id already exists (the window was already stored):
/// then nothing is written.
pub async fn save_digest(store: &Store, new: &NewDigest<'_>, now: Timestamp) -> Result<bool> {
    let d = new.digest;
    let mut tx = store.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT OR IGNORE INTO digests
         (id, client_id, window_start, window_end, created_at, subject, html, text, json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&d.id)
    .bind(&d.client_id)
    .bind(secs(d.window_start))
    .bind(secs(d.window_end))
    .bind(secs(now))
    .bind(&d.subject)
    .bind(new.html)
    .bind(new.text)
    .bind(new.json)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        tx.rollback().await?;
        return Ok(false);
    }
    for del in new.deliveries {
        sqlx::query(
            "INSERT OR IGNORE INTO deliveries
             (id, digest_id, client_id, channel, target, format, secret_ref, status,
              attempts, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        )
        .bind(delivery_id(&d.id, &del.channel, &del.target))
        .bind(&d.id)
        .bind(&d.client_id)
        .bind(&del.channel)
        .bind(&del.target)
        .bind(&del.format)
        .bind(&del.secret_ref)
        .bind(secs(now))
        .bind(secs(now))
        .execute(&mut *tx)
        .await?;
    }
    for (event_id, fingerprint) in new.sent {
        sqlx::query(
            "INSERT INTO client_sent (client_id, event_id, fingerprint, digest_id, sent_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (client_id, event_id) DO UPDATE SET
               fingerprint = excluded.fingerprint, digest_id = excluded.digest_id,
               sent_at = excluded.sent_at",
        )
        .bind(&d.client_id)
        .bind(event_id)
        .bind(fingerprint)
        .bind(&d.id)
        .bind(secs(now))
        .execute(&mut *tx)
        .await?;
    }
    for (event_id, rule_id, due) in new.dues {
        sqlx::query(
            "INSERT OR IGNORE INTO action_dues (client_id, event_id, rule_id, due) VALUES (?, ?, ?, ?)",
        )
        .bind(&d.client_id)
        .bind(event_id)
        .bind(rule_id)
        .bind(due)
        .execute(&mut *tx)
        .await?;
    }
    for (event_id, fingerprint, body) in new.versions {
        sqlx::query(
            "INSERT OR IGNORE INTO sent_versions (event_id, fingerprint, body) VALUES (?, ?, ?)",
        )
        .bind(event_id)
        .bind(fingerprint)
        .bind(body)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(end) = new.advance_window {
        sqlx::query(
            "INSERT INTO client_state (client_id, last_window_end) VALUES (?, ?)
             ON CONFLICT (client_id) DO UPDATE SET last_window_end = excluded.last_window_end",
        )
        .bind(&d.client_id)
        .bind(secs(end))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Stable delivery id: one row per digest and destination.
fn delivery_id(digest_id: &str, channel: &str, target: &str) -> String {
    let mut h = Sha256::new();
    for part in [digest_id, channel, target] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    format!("dl-{}", &hex::encode(h.finalize())[..32])
}

/// A stored digest's subject and bodies, by id.
pub async fn get(store: &Store, id: &str) -> Result<Option<(String, String, String, String)>> {
    Ok(
        sqlx::query_as("SELECT subject, html, text, json FROM digests WHERE id = ?")
            .bind(id)
            .fetch_optional(store.pool())
            .await?,
    )
}
