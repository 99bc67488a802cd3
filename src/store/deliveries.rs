//! The delivery outbox: claim due deliveries under a lease, mark them sent,
//! schedule a retry or dead-letter them, list them, and retry one by hand.
//!
//! Rows are written (as `pending`) in the same transaction as their digest
//! (see `digests`). A claim sets `claimed_until`; a worker that dies leaves
//! its claims to expire, and the next worker sends them again. Attempts are
//! counted at claim time, so a delivery that kills its worker every time is
//! still dead-lettered after `max_attempts`.

use super::{Result, Store};

/// One row of `deliveries`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub digest_id: String,
    pub client_id: String,
    pub channel: String,
    pub target: String,
    pub format: Option<String>,
    pub secret_ref: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

/// A claimed delivery with its digest.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Claimed {
    #[sqlx(flatten)]
    pub delivery: Delivery,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub json: String,
}

const COLUMNS: &str = "d.id, d.digest_id, d.client_id, d.channel, d.target, d.format, d.secret_ref, \
     d.status, d.attempts, d.next_attempt_at, d.claimed_until, d.last_error, d.sent_at, d.created_at";

/// Claims up to `limit` due deliveries of one channel until `now + lease`
/// and returns them with their digests. One statement, so two workers can
/// never claim the same row.
pub async fn claim_due(
    store: &Store,
    channel: &str,
    now: i64,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "UPDATE deliveries SET claimed_until = ?1, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE status IN ('pending', 'failed') AND channel = ?2 AND next_attempt_at <= ?3
               AND (claimed_until IS NULL OR claimed_until < ?3)
             ORDER BY next_attempt_at, id LIMIT ?4)
         RETURNING id",
    )
    .bind(now + lease_secs)
    .bind(channel)
    .bind(now)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::with_capacity(ids.len());
    // Chunks keep under SQLite's bound-parameter limit.
    for chunk in ids.chunks(500) {
        // Built from constants only; values are bound.
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT {COLUMNS}, g.subject, g.html, g.text, g.json
             FROM deliveries d JOIN digests g ON g.id = d.digest_id
             WHERE d.id IN ({marks})"
        );
        let mut q = sqlx::query_as::<_, Claimed>(sqlx::AssertSqlSafe(sql));
        for (id,) in chunk {
            q = q.bind(id);
        }
        rows.extend(q.fetch_all(&store.pool).await?);
    }
    Ok(rows)
}

/// Marks a delivery sent and releases its claim.
pub async fn mark_sent(store: &Store, id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET status = 'sent', sent_at = ?2, claimed_until = NULL, last_error = NULL
         WHERE id = ?1",
    )
    .bind(id)
    .bind(now)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Records a failed attempt: `failed` with the next attempt time, or `dead`.
pub async fn mark_failed(
    store: &Store,
    id: &str,
    error: &str,
    next_attempt_at: Option<i64>,
) -> Result<()> {
    match next_attempt_at {
        Some(at) => {
            sqlx::query(
                "UPDATE deliveries SET status = 'failed', next_attempt_at = ?2,
                     claimed_until = NULL, last_error = ?3 WHERE id = ?1",
            )
            .bind(id)
            .bind(at)
            .bind(error)
            .execute(&store.pool)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE deliveries SET status = 'dead', claimed_until = NULL, last_error = ?2
                 WHERE id = ?1",
            )
            .bind(id)
            .bind(error)
            .execute(&store.pool)
            .await?
        }
    };
    Ok(())
}

/// Deliveries, newest first, optionally of one status.
pub async fn list(store: &Store, status: Option<&str>, limit: i64) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries d
         WHERE (?1 IS NULL OR d.status = ?1)
         ORDER BY d.created_at DESC, d.id DESC LIMIT ?2"
    );
    // Built from constants only; values are bound.
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(limit)
        .fetch_all(&store.pool)
        .await?)
}

/// Count of deliveries per status.
pub async fn counts(store: &Store) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status")
            .fetch_all(&store.pool)
            .await?,
    )
}

pub async fn get(store: &Store, id: &str) -> Result<Option<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries d WHERE d.id = ?1");
    // Built from constants only; values are bound.
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&store.pool)
        .await?)
}

/// What a manual retry found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    Queued,
    NotFound,
    AlreadySent,
}

/// Puts a failed or dead (or pending) delivery back in the queue, due now,
/// with a fresh attempt count. A sent delivery is left alone.
pub async fn retry(store: &Store, id: &str, now: i64) -> Result<RetryOutcome> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2,
             claimed_until = NULL
         WHERE id = ?1 AND status != 'sent'",
    )
    .bind(id)
    .bind(now)
    .execute(&store.pool)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(RetryOutcome::Queued);
    }
    Ok(match get(store, id).await? {
        Some(_) => RetryOutcome::AlreadySent,
        None => RetryOutcome::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_one(dir: &std::path::Path) -> Store {
        let s = Store::open_in(dir).await.unwrap();
        sqlx::query(
            "INSERT INTO digests (id, client_id, window_start, window_end, created_at, subject, html, text, json)
             VALUES ('g1', 'c1', 0, 10, 10, 's', 'h', 't', '{}')",
        )
        .execute(s.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO deliveries (id, digest_id, client_id, channel, target, next_attempt_at, created_at)
             VALUES ('d1', 'g1', 'c1', 'email', 'a@example.com', 100, 10)",
        )
        .execute(s.pool())
        .await
        .unwrap();
        s
    }

    #[tokio::test]
    async fn claim_is_exclusive_until_the_lease_expires() {
        let dir = tempfile::tempdir().unwrap();
        let s = store_with_one(dir.path()).await;
        assert!(
            claim_due(&s, "email", 99, 60, 10).await.unwrap().is_empty(),
            "not due yet"
        );
        assert!(
            claim_due(&s, "webhook", 100, 60, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let got = claim_due(&s, "email", 100, 60, 10).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].delivery.attempts, 1);
        assert_eq!(got[0].subject, "s");
        assert!(
            claim_due(&s, "email", 150, 60, 10)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        let again = claim_due(&s, "email", 161, 60, 10).await.unwrap();
        assert_eq!(again.len(), 1, "a crashed worker's lease expires");
        assert_eq!(again[0].delivery.attempts, 2);
        mark_sent(&s, "d1", 162).await.unwrap();
        assert!(
            claim_due(&s, "email", 1000, 60, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            retry(&s, "d1", 1000).await.unwrap(),
            RetryOutcome::AlreadySent
        );
        assert_eq!(
            retry(&s, "nope", 1000).await.unwrap(),
            RetryOutcome::NotFound
        );
    }

    #[tokio::test]
    async fn dead_letter_then_manual_retry() {
        let dir = tempfile::tempdir().unwrap();
        let s = store_with_one(dir.path()).await;
        claim_due(&s, "email", 100, 60, 10).await.unwrap();
        mark_failed(&s, "d1", "boom", None).await.unwrap();
        let d = get(&s, "d1").await.unwrap().unwrap();
        assert_eq!(
            (d.status.as_str(), d.last_error.as_deref()),
            ("dead", Some("boom"))
        );
        assert!(
            claim_due(&s, "email", 1000, 60, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(retry(&s, "d1", 1000).await.unwrap(), RetryOutcome::Queued);
        let got = claim_due(&s, "email", 1000, 60, 10).await.unwrap();
        assert_eq!(got[0].delivery.attempts, 1);
    }
}
