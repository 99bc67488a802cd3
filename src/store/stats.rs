//! Counts for metrics and readiness: cheap aggregate queries, read when
//! `/metrics` or `/readyz` is asked, never in a pass.

use super::{Result, Store};

/// Stored events per (kind, status).
pub async fn events_by_kind_status(store: &Store) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT kind, COALESCE(json_extract(body, '$.status'), ''), count(*)
         FROM events GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&store.pool)
    .await?)
}

/// When the oldest delivery that is due and not sent fell due, if any.
pub async fn oldest_due(store: &Store, now: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT min(next_attempt_at) FROM deliveries
         WHERE status IN ('pending', 'failed') AND next_attempt_at <= ?1",
    )
    .bind(now)
    .fetch_one(&store.pool)
    .await?)
}

/// One trivial query: does the store answer?
pub async fn ping(store: &Store) -> Result<()> {
    sqlx::query("SELECT 1").execute(&store.pool).await?;
    Ok(())
}
