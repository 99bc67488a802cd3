//! The delivery outbox: claim due deliveries under a lease, mark them sent,
//! schedule a retry or dead-letter them, list them, and retry one by hand.
//!
//! Rows are written (as `pending`) in the same transaction as their digest
//! (see `digests`). A claim sets `claimed_until` from the time of that claim
//! and a fresh `claim_token`; the holder renews it while its send is in
//! flight, and every renewal and mark names the token, so only the holder
//! can record the outcome. A worker that dies leaves its claims to expire,
//! and the next worker sends them again. `sent` is final: nothing moves a
//! sent row. Attempts are counted at claim time, so a delivery that kills
//! its worker every time is still dead-lettered after `max_attempts`.

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
    /// Set while a worker holds the claim.
    pub claim_token: Option<String>,
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
     d.status, d.attempts, d.next_attempt_at, d.claimed_until, d.last_error, d.sent_at, d.created_at, d.claim_token";

/// Claims up to `limit` deliveries of one channel due by `due_by`, each
/// until `now + lease_secs` under a fresh token, and returns them with their
/// digests. One statement, so two workers can never claim the same row.
/// `now` is the time of this claim, not of the pass that asks for it: a
/// claim made late in a long pass gets its full lease.
pub async fn claim_due(
    store: &Store,
    channel: &str,
    due_by: i64,
    now: i64,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let token = uuid::Uuid::new_v4().to_string();
    let ids: Vec<(String,)> = sqlx::query_as(
        "UPDATE deliveries SET claimed_until = ?1, claim_token = ?2, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE status IN ('pending', 'failed') AND channel = ?3 AND next_attempt_at <= ?4
               AND (claimed_until IS NULL OR claimed_until < ?5)
             ORDER BY next_attempt_at, id LIMIT ?6)
         RETURNING id",
    )
    .bind(now + lease_secs)
    .bind(&token)
    .bind(channel)
    .bind(due_by)
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

/// Extends the claim `token` holds to `until`. False when the claim is no
/// longer this holder's (it expired and another worker took it, or a manual
/// retry reset it).
pub async fn renew(store: &Store, id: &str, token: &str, until: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET claimed_until = ?3
         WHERE id = ?1 AND claim_token = ?2 AND status IN ('pending', 'failed')",
    )
    .bind(id)
    .bind(token)
    .bind(until)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claim back unfinished (a send cut off at shutdown), so the next
/// worker need not wait out the lease.
pub async fn release(store: &Store, id: &str, token: &str) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET claimed_until = NULL, claim_token = NULL
         WHERE id = ?1 AND claim_token = ?2 AND status IN ('pending', 'failed')",
    )
    .bind(id)
    .bind(token)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Marks a delivery sent and releases its claim. False when `token` no
/// longer holds the claim (nothing is written then).
pub async fn mark_sent(store: &Store, id: &str, token: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'sent', sent_at = ?3, claimed_until = NULL,
             claim_token = NULL, last_error = NULL
         WHERE id = ?1 AND claim_token = ?2 AND status != 'sent'",
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: `failed` with the next attempt time, or `dead`.
/// False when `token` no longer holds the claim; a sent row never changes.
pub async fn mark_failed(
    store: &Store,
    id: &str,
    token: &str,
    error: &str,
    next_attempt_at: Option<i64>,
) -> Result<bool> {
    let (status, at) = match next_attempt_at {
        Some(at) => ("failed", Some(at)),
        None => ("dead", None),
    };
    let done = sqlx::query(
        "UPDATE deliveries SET status = ?3, next_attempt_at = coalesce(?4, next_attempt_at),
             claimed_until = NULL, claim_token = NULL, last_error = ?5
         WHERE id = ?1 AND claim_token = ?2 AND status != 'sent'",
    )
    .bind(id)
    .bind(token)
    .bind(status)
    .bind(at)
    .bind(error)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected() == 1)
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
    /// A worker holds a live claim on it: its send is in flight.
    InFlight,
}

/// Puts a failed or dead (or pending) delivery back in the queue, due now,
/// with a fresh attempt count. A sent delivery is left alone, and so is one
/// whose claim is live at `now` (a send in flight is never taken from its
/// worker). The old claim's token is cleared, so a worker whose claim had
/// expired can no longer mark it.
pub async fn retry(store: &Store, id: &str, now: i64) -> Result<RetryOutcome> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2,
             claimed_until = NULL, claim_token = NULL
         WHERE id = ?1 AND status != 'sent' AND (claimed_until IS NULL OR claimed_until < ?2)",
    )
    .bind(id)
    .bind(now)
    .execute(&store.pool)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(RetryOutcome::Queued);
    }
    Ok(match get(store, id).await? {
        Some(d) if d.status == "sent" => RetryOutcome::AlreadySent,
        Some(_) => RetryOutcome::InFlight,
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
            claim_due(&s, "email", 99, 99, 60, 10)
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        assert!(
            claim_due(&s, "webhook", 100, 100, 60, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let got = claim_due(&s, "email", 100, 100, 60, 10).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].delivery.attempts, 1);
        assert_eq!(got[0].subject, "s");
        assert!(
            claim_due(&s, "email", 150, 150, 60, 10)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        let again = claim_due(&s, "email", 161, 161, 60, 10).await.unwrap();
        assert_eq!(again.len(), 1, "a crashed worker's lease expires");
        assert_eq!(again[0].delivery.attempts, 2);
        let token = again[0].delivery.claim_token.clone().unwrap();
        assert!(mark_sent(&s, "d1", &token, 162).await.unwrap());
        assert!(
            claim_due(&s, "email", 1000, 1000, 60, 10)
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
        let got = claim_due(&s, "email", 100, 100, 60, 10).await.unwrap();
        let token = got[0].delivery.claim_token.clone().unwrap();
        assert!(mark_failed(&s, "d1", &token, "boom", None).await.unwrap());
        let d = get(&s, "d1").await.unwrap().unwrap();
        assert_eq!(
            (d.status.as_str(), d.last_error.as_deref()),
            ("dead", Some("boom"))
        );
        assert!(
            claim_due(&s, "email", 1000, 1000, 60, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(retry(&s, "d1", 1000).await.unwrap(), RetryOutcome::Queued);
        let got = claim_due(&s, "email", 1000, 1000, 60, 10).await.unwrap();
        assert_eq!(got[0].delivery.attempts, 1);
    }

    fn token(c: &[Claimed]) -> String {
        c[0].delivery.claim_token.clone().unwrap()
    }

    #[tokio::test]
    async fn stale_mark_failed_never_turns_sent_back_to_failed() {
        let dir = tempfile::tempdir().unwrap();
        let s = store_with_one(dir.path()).await;
        let first = token(&claim_due(&s, "email", 100, 100, 10, 10).await.unwrap());
        // The first worker stalls past its lease; a second one takes over and sends.
        let second = token(&claim_due(&s, "email", 100, 111, 10, 10).await.unwrap());
        assert_ne!(first, second);
        assert!(mark_sent(&s, "d1", &second, 112).await.unwrap());
        assert!(
            !mark_failed(&s, "d1", &first, "timeout", Some(200))
                .await
                .unwrap()
        );
        assert!(
            !mark_failed(&s, "d1", &first, "timeout", None)
                .await
                .unwrap()
        );
        assert!(!mark_sent(&s, "d1", &first, 113).await.unwrap());
        let d = get(&s, "d1").await.unwrap().unwrap();
        assert_eq!((d.status.as_str(), d.sent_at), ("sent", Some(112)));
    }

    #[tokio::test]
    async fn marks_and_renewals_check_the_claim_token() {
        let dir = tempfile::tempdir().unwrap();
        let s = store_with_one(dir.path()).await;
        let first = token(&claim_due(&s, "email", 100, 100, 10, 10).await.unwrap());
        let second = token(&claim_due(&s, "email", 100, 111, 10, 10).await.unwrap());
        assert!(!renew(&s, "d1", &first, 200).await.unwrap(), "stale holder");
        assert!(!mark_failed(&s, "d1", &first, "late", None).await.unwrap());
        assert!(renew(&s, "d1", &second, 200).await.unwrap());
        let d = get(&s, "d1").await.unwrap().unwrap();
        assert_eq!((d.status.as_str(), d.claimed_until), ("pending", Some(200)));
    }

    #[tokio::test]
    async fn manual_retry_never_steals_an_in_flight_claim() {
        let dir = tempfile::tempdir().unwrap();
        let s = store_with_one(dir.path()).await;
        let held = token(&claim_due(&s, "email", 100, 100, 60, 10).await.unwrap());
        assert_eq!(retry(&s, "d1", 120).await.unwrap(), RetryOutcome::InFlight);
        assert!(
            claim_due(&s, "email", 120, 120, 60, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(mark_failed(&s, "d1", &held, "boom", None).await.unwrap());
        assert_eq!(retry(&s, "d1", 121).await.unwrap(), RetryOutcome::Queued);
    }

    #[tokio::test]
    async fn a_released_claim_is_claimable_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = store_with_one(dir.path()).await;
        let held = token(&claim_due(&s, "email", 100, 100, 60, 10).await.unwrap());
        release(&s, "d1", &held).await.unwrap();
        assert_eq!(
            claim_due(&s, "email", 100, 101, 60, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
