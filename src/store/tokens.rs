//! API and feed tokens, kept as SHA-256 hashes: a stolen database does not
//! hand out working tokens. Hashing and scopes are `serve`'s business; this
//! file only stores and finds rows.

use super::{Result, Store};

/// One API token's row (the hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    pub name: String,
    pub scope: String,
    pub created_at: i64,
}

/// Adds a token; false when the name is taken.
pub async fn create(store: &Store, name: &str, hash: &str, scope: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO api_tokens (name, hash, scope, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(hash)
    .bind(scope)
    .bind(now)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The token whose hash this is.
pub async fn find(store: &Store, hash: &str) -> Result<Option<TokenRow>> {
    Ok(
        sqlx::query_as("SELECT name, scope, created_at FROM api_tokens WHERE hash = ?1")
            .bind(hash)
            .fetch_optional(&store.pool)
            .await?,
    )
}

pub async fn list(store: &Store) -> Result<Vec<TokenRow>> {
    Ok(
        sqlx::query_as("SELECT name, scope, created_at FROM api_tokens ORDER BY name")
            .fetch_all(&store.pool)
            .await?,
    )
}

/// Removes a token; false when there was none of that name.
pub async fn revoke(store: &Store, name: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE name = ?1")
        .bind(name)
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets (or replaces) a client's feed token.
pub async fn set_feed(store: &Store, client_id: &str, hash: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO feed_tokens (client_id, hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (client_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at",
    )
    .bind(client_id)
    .bind(hash)
    .bind(now)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// The client whose feed token hashes to this.
pub async fn feed_client(store: &Store, hash: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT client_id FROM feed_tokens WHERE hash = ?1")
            .bind(hash)
            .fetch_optional(&store.pool)
            .await?,
    )
}
