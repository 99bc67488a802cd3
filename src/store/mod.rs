//! The only SQL in termwatch. SQLite in the data dir by default.
//!
//! One file per concern (`articles`, `changes`, `events`, `digests`,
//! `deliveries`); each function takes the [`Store`] and plain model types.
//! Migrations in `migrations/sqlite/` are append-only and embedded in the
//! binary.

pub mod articles;
pub mod changes;
pub mod deliveries;
pub mod digests;
pub mod events;
pub mod llm;
pub mod signals;
pub mod stats;
pub mod tokens;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "could not create the data directory {path}: {source}; check the --data-dir path and its permissions"
    )]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("could not migrate the database: {0}; the file may belong to a newer termwatch")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored JSON is unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and runs migrations.
    pub async fn open(url: &str) -> Result<Store> {
        if let Some(path) = url.strip_prefix("sqlite://")
            && let Some(dir) = Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            crate::config::create_private_dir(dir).map_err(|source| Error::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // Created here, owner-only, before SQLite would create it with the
        // umask's mode; its -wal and -shm files take the database's mode.
        if let Some(path) = url.strip_prefix("sqlite://")
            && !path.starts_with(':')
            && let Some(path) = path.split('?').next()
        {
            crate::config::open_private_file(Path::new(path)).map_err(|source| Error::DataDir {
                path: path.to_string(),
                source,
            })?;
        }
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|source| Error::Open {
                url: crate::config::redact_url(url),
                source,
            })?
            .create_if_missing(true)
            // Revisions hold article text (2 KB on a typical feed item): with
            // 16 KiB pages a cold pass makes a quarter of the page writes, WAL
            // and checkpoint alike (system time of the 2,000-feed farm pass
            // 1.0 -> 0.6 s). Only new databases take it; old ones keep theirs.
            .page_size(16384)
            // WAL lets readers (`events`, `sources`) run beside a worker.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // Two connections: SQLite runs one writer at a time anyway, and each
        // connection is a thread and a page cache of its own (with four, a
        // cold pass of the 2,000-feed farm peaked past 100 MB of RSS).
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .map_err(|source| Error::Open {
                url: crate::config::redact_url(url),
                source,
            })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let store = Store { pool };
        articles::backfill_keys(&store).await?;
        Ok(store)
    }

    /// The database of a data dir.
    pub async fn open_in(data_dir: &Path) -> Result<Store> {
        Store::open(&format!(
            "sqlite://{}",
            data_dir.join("termwatch.db").display()
        ))
        .await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Unix seconds of a timestamp, as stored.
pub fn secs(t: jiff::Timestamp) -> i64 {
    t.as_second()
}

/// A stored Unix-seconds value back as a timestamp.
pub fn from_secs(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(s).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_and_migrates_twice() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(dir.path()).await.unwrap();
        drop(s);
        let s = Store::open_in(dir.path()).await.unwrap();
        let n: (i64,) = sqlx::query_as("SELECT count(*) FROM deliveries")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(n.0, 0);
    }
}
