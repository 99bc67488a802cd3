//! Model-assisted extraction's records: cached answers (by content hash,
//! prompt version and model), usage per hour, and revisions waiting for a
//! retry after the model failed on them.

use std::collections::HashMap;

use super::{Result, Store, from_secs, secs};
use crate::model::Article;

/// The cache key of one answer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerKey<'a> {
    pub content_hash: &'a str,
    pub prompt_version: &'a str,
    pub model: &'a str,
}

/// A cached answer (the model's raw JSON, verified again on every read).
pub async fn answer(store: &Store, key: AnswerKey<'_>) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT answer FROM llm_answers WHERE content_hash = ? AND prompt_version = ? AND model = ?",
    )
    .bind(key.content_hash)
    .bind(key.prompt_version)
    .bind(key.model)
    .fetch_optional(&store.pool)
    .await?)
}

pub async fn save_answer(
    store: &Store,
    key: AnswerKey<'_>,
    answer: &str,
    at: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO llm_answers (content_hash, prompt_version, model, answer, at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(key.content_hash)
    .bind(key.prompt_version)
    .bind(key.model)
    .bind(answer)
    .bind(secs(at))
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// What one article cost and how it went, added to its hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub dropped: u64,
    pub failures: u64,
}

fn hour_of(at: jiff::Timestamp) -> i64 {
    secs(at).div_euclid(3600) * 3600
}

pub async fn add_usage(store: &Store, at: jiff::Timestamp, d: UsageDelta) -> Result<()> {
    sqlx::query(
        "INSERT INTO llm_usage (hour, requests, input_tokens, output_tokens, dropped, failures) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hour) DO UPDATE SET \
         requests = requests + excluded.requests, \
         input_tokens = input_tokens + excluded.input_tokens, \
         output_tokens = output_tokens + excluded.output_tokens, \
         dropped = dropped + excluded.dropped, failures = failures + excluded.failures",
    )
    .bind(hour_of(at))
    .bind(d.requests as i64)
    .bind(d.input_tokens as i64)
    .bind(d.output_tokens as i64)
    .bind(d.dropped as i64)
    .bind(d.failures as i64)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Requests this clock hour and tokens today (UTC), for the limits.
pub async fn spent_now(store: &Store, now: jiff::Timestamp) -> Result<(u64, u64)> {
    let hour = hour_of(now);
    let day = secs(now).div_euclid(86_400) * 86_400;
    let (requests, tokens): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN hour = ? THEN requests END), 0), \
                COALESCE(SUM(input_tokens + output_tokens), 0) \
         FROM llm_usage WHERE hour >= ?",
    )
    .bind(hour)
    .bind(day)
    .fetch_one(&store.pool)
    .await?;
    Ok((requests.max(0) as u64, tokens.max(0) as u64))
}

/// Usage of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUsage {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub usage: UsageDelta,
}

/// Usage per day since `since`, oldest first.
pub async fn usage_by_day(store: &Store, since: jiff::Timestamp) -> Result<Vec<DayUsage>> {
    type Row = (i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT (hour / 86400) * 86400 AS day, SUM(requests), SUM(input_tokens), \
                SUM(output_tokens), SUM(dropped), SUM(failures) \
         FROM llm_usage WHERE hour >= ? GROUP BY day ORDER BY day",
    )
    .bind(hour_of(since))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(day, requests, input, output, dropped, failures)| DayUsage {
                day: from_secs(day).strftime("%Y-%m-%d").to_string(),
                usage: UsageDelta {
                    requests: requests as u64,
                    input_tokens: input as u64,
                    output_tokens: output as u64,
                    dropped: dropped as u64,
                    failures: failures as u64,
                },
            },
        )
        .collect())
}

/// Marks a revision for a later model retry, with why the model failed.
pub async fn mark_retry(
    store: &Store,
    revision_id: i64,
    source_id: &str,
    reason: &str,
    at: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO llm_retries (revision_id, source_id, reason, failed_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (revision_id) DO UPDATE SET reason = excluded.reason, \
         failed_at = excluded.failed_at, attempts = attempts + 1",
    )
    .bind(revision_id)
    .bind(source_id)
    .bind(reason)
    .bind(secs(at))
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub async fn clear_retry(store: &Store, revision_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM llm_retries WHERE revision_id = ?")
        .bind(revision_id)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// One source's revisions waiting for a model retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub revisions: i64,
    pub last_reason: String,
    pub last_failed: jiff::Timestamp,
}

/// Revisions waiting for a model retry, per source.
pub async fn retries_by_source(store: &Store) -> Result<HashMap<String, Waiting>> {
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT source_id, COUNT(*), \
                (SELECT reason FROM llm_retries l WHERE l.source_id = r.source_id \
                 ORDER BY failed_at DESC, revision_id DESC LIMIT 1), MAX(failed_at) \
         FROM llm_retries r GROUP BY source_id",
    )
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(source, n, reason, at)| {
            (
                source,
                Waiting {
                    revisions: n,
                    last_reason: reason,
                    last_failed: from_secs(at),
                },
            )
        })
        .collect())
}

/// The columns `changes::article_row` reads, as a literal for `concat!`
/// (sqlx takes only static SQL).
macro_rules! article_select {
    () => {
        "SELECT r.id, r.source_id, a.url, r.title, r.published, r.author, r.text, \
         r.content_hash, r.fetched_at, r.trust, r.organisation \
         FROM revisions r JOIN articles a ON a.id = r.article_id "
    };
}

/// Up to `limit` revisions waiting for a model retry that failed before
/// `before`, longest waiting first.
pub async fn due_retries(
    store: &Store,
    before: jiff::Timestamp,
    limit: i64,
) -> Result<Vec<(i64, Article)>> {
    let rows = sqlx::query(concat!(
        article_select!(),
        "JOIN llm_retries l ON l.revision_id = r.id \
         WHERE l.failed_at < ? ORDER BY l.failed_at, r.id LIMIT ?"
    ))
    .bind(secs(before))
    .bind(limit)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(super::changes::article_row).collect()
}

/// Up to `limit` stored revisions fetched at or after `since` with ids above
/// `after`, oldest first: what `reextract` reads again.
pub async fn revisions_since(
    store: &Store,
    since: jiff::Timestamp,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Article)>> {
    let rows = sqlx::query(concat!(
        article_select!(),
        "WHERE r.fetched_at >= ? AND r.id > ? ORDER BY r.id LIMIT ?"
    ))
    .bind(secs(since))
    .bind(after)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(super::changes::article_row).collect()
}

/// Makes the next correlate step run even if the term-change ids came out
/// the same: re-extraction rewrites rows of revisions already correlated.
pub async fn forget_correlated_inputs(store: &Store) -> Result<()> {
    sqlx::query("DELETE FROM correlated_inputs")
        .execute(&store.pool)
        .await?;
    Ok(())
}
