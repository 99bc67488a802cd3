//! Signals: possible changes the extractor could not complete, kept with
//! the revision they were read from (written by `changes::save_extractions`
//! in the same transaction as the changes), listed for review.

use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::{Result, Store, from_secs, secs};
use crate::model::{Extraction, Signal};

/// One stored signal with the article it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSignal {
    pub revision_id: i64,
    pub url: String,
    pub title: String,
    /// When the revision was extracted.
    pub at: jiff::Timestamp,
    pub signal: Signal,
}

/// Replaces the signals of the revisions in `batch` (a re-run after a crash
/// must not double them).
pub(super) async fn replace(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &[(i64, Extraction)],
    at: jiff::Timestamp,
) -> Result<()> {
    const IDS: usize = 900;
    const ROWS: usize = 200;
    for chunk in batch.chunks(IDS) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("DELETE FROM signals WHERE revision_id IN (");
        let mut ids = q.separated(", ");
        for (id, _) in chunk {
            ids.push_bind(*id);
        }
        q.push(")");
        q.build().execute(&mut **tx).await?;
    }
    let mut rows = Vec::new();
    for (revision_id, x) in batch {
        for s in &x.signals {
            rows.push((*revision_id, s.kind.as_str(), serde_json::to_string(s)?));
        }
    }
    for chunk in rows.chunks(ROWS) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO signals (revision_id, kind, body, at) ");
        q.push_values(chunk, |mut b, (id, kind, body)| {
            b.push_bind(*id)
                .push_bind(*kind)
                .push_bind(body.as_str())
                .push_bind(secs(at));
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Signals of each article's latest extracted revision, extracted at or
/// after `since` when given, newest first.
pub async fn list(store: &Store, since: Option<jiff::Timestamp>) -> Result<Vec<StoredSignal>> {
    type Row = (i64, String, String, i64, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.revision_id, a.url, r.title, s.at, s.body \
         FROM signals s \
         JOIN revisions r ON r.id = s.revision_id \
         JOIN articles a ON a.id = r.article_id \
         WHERE s.at >= ? \
           AND r.id = (SELECT MAX(r2.id) FROM revisions r2 \
                       WHERE r2.article_id = r.article_id AND r2.extracted_at IS NOT NULL) \
         ORDER BY s.at DESC, s.id",
    )
    .bind(since.map(secs).unwrap_or(i64::MIN))
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(|(revision_id, url, title, at, body)| {
            Ok(StoredSignal {
                revision_id,
                url,
                title,
                at: from_secs(at),
                signal: serde_json::from_str(&body)?,
            })
        })
        .collect()
}
