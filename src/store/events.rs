//! Correlated events and their history.
//!
//! [`apply`] takes the full recomputed set of events and writes only the
//! difference: new events, events whose fingerprint changed (with history
//! lines saying what changed), and events no report supports any more.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{Result, Store, from_secs, secs};
use crate::correlate::history;
use crate::model::Event;

/// What [`apply`] changed, by event id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub new: Vec<String>,
    pub changed: Vec<String>,
    /// Events no current report supports (their sources were edited away or
    /// re-dated into another event); removed from `events`, kept in history.
    pub removed: Vec<String>,
}

/// Rows per multi-row statement: 6 values each stays far below SQLite's
/// limit on bound parameters, and one statement per row is what made a
/// first run over 100k changes slow.
const BATCH: usize = 500;

/// Writes the difference between the stored events and `events`, with
/// history lines, in one transaction.
pub async fn apply(store: &Store, events: &[Event], now: jiff::Timestamp) -> Result<Applied> {
    let mut tx = store.pool.begin().await?;
    let stored: HashMap<String, String> = sqlx::query_as("SELECT id, fingerprint FROM events")
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let mut out = Applied::default();
    let mut seen = HashSet::with_capacity(events.len());
    // (event, fingerprint, whether it was stored before)
    let mut writes: Vec<(&Event, String, bool)> = Vec::new();
    for event in events {
        seen.insert(event.id.as_str());
        let fp = history::fingerprint(event);
        match stored.get(&event.id) {
            Some(old_fp) if *old_fp == fp => {}
            Some(_) => writes.push((event, fp, true)),
            None => writes.push((event, fp, false)),
        }
    }
    let changed_ids: Vec<String> = writes
        .iter()
        .filter(|w| w.2)
        .map(|w| w.0.id.clone())
        .collect();
    let mut old = bodies(&mut tx, &changed_ids).await?;
    let mut lines: Vec<(String, String)> = Vec::new();
    for chunk in writes.chunks(BATCH) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO events (id, kind, body, fingerprint, first_seen, updated_at) ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for (event, fp, _) in chunk {
            rows.push((
                event.id.clone(),
                event.kind.as_str(),
                serde_json::to_string(event)?,
                fp.clone(),
            ));
        }
        q.push_values(rows, |mut b, (id, kind, body, fp)| {
            b.push_bind(id)
                .push_bind(kind)
                .push_bind(body)
                .push_bind(fp)
                .push_bind(secs(now))
                .push_bind(secs(now));
        });
        q.push(
            " ON CONFLICT(id) DO UPDATE SET body = excluded.body, \
             fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
        );
        q.build().execute(&mut *tx).await?;
        for (event, _, was_stored) in chunk {
            let before = old.remove(&event.id);
            for line in history::describe(before.as_ref(), event) {
                lines.push((event.id.clone(), line));
            }
            if *was_stored {
                out.changed.push(event.id.clone());
            } else {
                out.new.push(event.id.clone());
            }
        }
    }
    let mut gone: Vec<String> = stored
        .into_keys()
        .filter(|id| !seen.contains(id.as_str()))
        .collect();
    gone.sort();
    for chunk in gone.chunks(BATCH) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("DELETE FROM events WHERE id IN (");
        let mut ids = q.separated(", ");
        for id in chunk {
            ids.push_bind(id.clone());
        }
        q.push(")");
        q.build().execute(&mut *tx).await?;
        for id in chunk {
            lines.push((
                id.clone(),
                "removed: no current report supports this event any more".to_string(),
            ));
        }
    }
    out.removed = gone;
    for chunk in lines.chunks(BATCH) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO event_history (event_id, at, what) ",
        );
        q.push_values(chunk, |mut b, (id, what)| {
            b.push_bind(id.clone())
                .push_bind(secs(now))
                .push_bind(what.clone());
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// The stored bodies of `ids`, by id.
async fn bodies(tx: &mut sqlx::SqliteConnection, ids: &[String]) -> Result<HashMap<String, Event>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let mut q =
            sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT id, body FROM events WHERE id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.clone());
        }
        q.push(")");
        let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
        for (id, body) in rows {
            out.insert(id, serde_json::from_str(&body)?);
        }
    }
    Ok(out)
}

/// Every stored event, most recently reported first.
pub async fn list(store: &Store) -> Result<Vec<Event>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT body FROM events")
        .fetch_all(&store.pool)
        .await?;
    let mut events = rows
        .iter()
        .map(|(body,)| serde_json::from_str::<Event>(body))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    events.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.id.cmp(&b.id)));
    Ok(events)
}

/// Events by id (those that exist), in the order asked.
pub async fn get(store: &Store, ids: &[String]) -> Result<Vec<Event>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row: Option<(String,)> = sqlx::query_as("SELECT body FROM events WHERE id = ?")
            .bind(id)
            .fetch_optional(&store.pool)
            .await?;
        if let Some((body,)) = row {
            out.push(serde_json::from_str(&body)?);
        }
    }
    Ok(out)
}

/// One line of an event's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryLine {
    pub at: jiff::Timestamp,
    pub what: String,
}

/// Every event's history, oldest line first, keyed by event id.
pub async fn history(store: &Store) -> Result<HashMap<String, Vec<HistoryLine>>> {
    let rows = sqlx::query("SELECT event_id, at, what FROM event_history ORDER BY id")
        .fetch_all(&store.pool)
        .await?;
    let mut out: HashMap<String, Vec<HistoryLine>> = HashMap::new();
    for row in &rows {
        out.entry(row.try_get("event_id")?)
            .or_default()
            .push(HistoryLine {
                at: from_secs(row.try_get("at")?),
                what: row.try_get("what")?,
            });
    }
    Ok(out)
}

/// A fingerprint of what correlate reads: every extraction writes term
/// change rows (new ids) or marks a revision extracted (the counts), so any
/// change to the current reports changes it. `config` is the caller's
/// fingerprint of its settings.
pub async fn correlate_inputs(store: &Store, config: &str) -> Result<String> {
    let (changes, revisions, pending): (Option<i64>, i64, i64) = sqlx::query_as(
        "SELECT (SELECT max(id) FROM term_changes), (SELECT count(*) FROM revisions), \
                (SELECT count(*) FROM revisions WHERE extracted_at IS NULL)",
    )
    .fetch_one(&store.pool)
    .await?;
    Ok(format!(
        "{} changes={} extracted={} config={config}",
        env!("CARGO_PKG_VERSION"),
        changes.unwrap_or(0),
        revisions - pending
    ))
}

/// The inputs the last completed correlate step ran on.
pub async fn correlated_inputs(store: &Store) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT inputs FROM correlated_inputs WHERE id = 1")
            .fetch_optional(&store.pool)
            .await?,
    )
}

/// Records the inputs of a completed correlate step.
pub async fn set_correlated_inputs(store: &Store, inputs: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO correlated_inputs (id, inputs) VALUES (1, ?) \
         ON CONFLICT(id) DO UPDATE SET inputs = excluded.inputs",
    )
    .bind(inputs)
    .execute(&store.pool)
    .await?;
    Ok(())
}
