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
    for event in events {
        seen.insert(event.id.as_str());
        let fp = history::fingerprint(event);
        let old = match stored.get(&event.id) {
            Some(old_fp) if *old_fp == fp => continue,
            Some(_) => {
                let (body,): (String,) = sqlx::query_as("SELECT body FROM events WHERE id = ?")
                    .bind(&event.id)
                    .fetch_one(&mut *tx)
                    .await?;
                Some(serde_json::from_str::<Event>(&body)?)
            }
            None => None,
        };
        let body = serde_json::to_string(event)?;
        sqlx::query(
            "INSERT INTO events (id, kind, body, fingerprint, first_seen, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT(id) DO UPDATE SET body = excluded.body, \
             fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
        )
        .bind(&event.id)
        .bind(event.kind.as_str())
        .bind(&body)
        .bind(&fp)
        .bind(secs(now))
        .bind(secs(now))
        .execute(&mut *tx)
        .await?;
        for line in history::describe(old.as_ref(), event) {
            add_history(&mut tx, &event.id, now, &line).await?;
        }
        match old {
            Some(_) => out.changed.push(event.id.clone()),
            None => out.new.push(event.id.clone()),
        }
    }
    let mut gone: Vec<&String> = stored
        .keys()
        .filter(|id| !seen.contains(id.as_str()))
        .collect();
    gone.sort();
    for id in gone {
        sqlx::query("DELETE FROM events WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        add_history(
            &mut tx,
            id,
            now,
            "removed: no current report supports this event any more",
        )
        .await?;
        out.removed.push(id.clone());
    }
    tx.commit().await?;
    Ok(out)
}

async fn add_history(
    tx: &mut sqlx::SqliteConnection,
    id: &str,
    at: jiff::Timestamp,
    what: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO event_history (event_id, at, what) VALUES (?, ?, ?)")
        .bind(id)
        .bind(secs(at))
        .bind(what)
        .execute(&mut *tx)
        .await?;
    Ok(())
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
