//! Sources' polling state, articles and their revisions.
//!
//! Writes come in batches, one transaction per batch and multi-row
//! statements inside it: a cold pass stores tens of thousands of items, and
//! per-row round trips would cost more than fetching them.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Sqlite};

use super::{Result, Store, from_secs, secs};
use crate::collect::SourceState;
use crate::collect::fetch::Validators;
use crate::model::Article;

/// Rows per multi-row statement; well under SQLite's variable limit.
const CHUNK: usize = 400;

/// What a batch added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    pub new_articles: usize,
    pub new_revisions: usize,
    /// Every revision row written (new articles' first revisions included):
    /// its id and the index of its article in the input, so the caller can
    /// hand fresh text to extraction without reading it back.
    pub stored: Vec<(i64, usize)>,
}

type StateRow = (
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// Every stored source state, by source id.
pub async fn load_states(store: &Store) -> Result<HashMap<String, SourceState>> {
    let rows: Vec<StateRow> = sqlx::query_as(
        "SELECT source_id, etag, last_modified, last_attempt, last_success, last_error,
                consecutive_failures, next_due, retry_after, item_errors FROM source_state",
    )
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let state = SourceState {
                source_id: r.0.clone(),
                validators: Validators {
                    etag: r.1,
                    last_modified: r.2,
                },
                last_attempt: r.3.map(from_secs),
                last_success: r.4.map(from_secs),
                last_error: r.5,
                consecutive_failures: u32::try_from(r.6).unwrap_or(u32::MAX),
                next_due: r.7.map(from_secs),
                retry_after: r.8.map(from_secs),
                item_errors: r.9,
            };
            (r.0, state)
        })
        .collect())
}

/// The key an article's link or a feed guid is stored under: its SHA-256.
/// Links and guids are chosen by whoever writes the feed, so the key must
/// not be collidable on purpose (see migration 0601); it is also a fixed
/// 32 bytes, however long the identifier.
pub fn key(identifier: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(identifier.as_bytes()).to_vec()
}

/// Gives the articles that migration 0601 copied their link's key (SQLite
/// has no SHA-256 of its own). Finds them through the key's index, so on an
/// up-to-date database this is one empty lookup.
pub(super) async fn backfill_keys(store: &Store) -> Result<()> {
    loop {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, url FROM articles WHERE url_hash IS NULL LIMIT ?")
                .bind(CHUNK as i64)
                .fetch_all(&store.pool)
                .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = store.pool.begin().await?;
        for (id, url) in rows {
            sqlx::query("UPDATE articles SET url_hash = ? WHERE id = ?")
                .bind(key(&url))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
}

/// Which of `urls` are stored articles (teaser pages of these are not
/// fetched again).
pub async fn known_among(store: &Store, urls: &[String]) -> Result<HashSet<String>> {
    let by_key: HashMap<Vec<u8>, &String> = urls.iter().map(|u| (key(u), u)).collect();
    let keys: Vec<&Vec<u8>> = by_key.keys().collect();
    let mut known = HashSet::new();
    for chunk in keys.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT url_hash FROM articles WHERE url_hash IN (");
        let mut sep = q.separated(", ");
        for k in chunk {
            sep.push_bind(k.as_slice());
        }
        q.push(")");
        let rows: Vec<(Vec<u8>,)> = q.build_query_as().fetch_all(&store.pool).await?;
        known.extend(
            rows.iter()
                .filter_map(|r| by_key.get(&r.0).map(|u| (*u).clone())),
        );
    }
    Ok(known)
}

/// Stores source states and articles in one transaction: a crash leaves
/// either all of a batch or none of it. An article is known by its link, or
/// by its guid within its source (so a later pass listing the same guid
/// under another link is the same article); a known article with a new
/// content hash becomes a new revision, the same hash again adds nothing.
pub async fn save_batch(
    store: &Store,
    states: &[SourceState],
    articles: &[Article],
) -> Result<Saved> {
    let mut tx = store.pool.begin().await?;
    save_states(&mut tx, states).await?;
    let keyed = first_of_each(articles);
    let mut known = Known::load(&mut tx, &keyed).await?;
    let existing: HashSet<i64> = known.owners.keys().copied().collect();
    let mut saved = Saved {
        new_articles: known.insert_missing(&mut tx, &keyed).await?,
        ..Saved::default()
    };
    known.record_guids(&mut tx, &keyed).await?;

    // Hashes already stored for the known articles.
    let existing_ids: Vec<i64> = existing.iter().copied().collect();
    let mut have: HashSet<(i64, String)> = HashSet::new();
    for chunk in existing_ids.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT article_id, content_hash FROM revisions WHERE article_id IN (",
        );
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
        have.extend(rows);
    }
    // A revision is stored under the source that fetched it, and only for
    // an article that source owns: a feed elsewhere listing the same URL
    // cannot rewrite another source's article, nor borrow its trust.
    let new_revs: Vec<(i64, usize, &Article)> = keyed
        .iter()
        .filter_map(|k| known.id(k).map(|id| (id, k.index, k.article)))
        .filter(|(id, _, a)| known.owners.get(id).is_none_or(|o| *o == a.source_id))
        .filter(|(id, _, a)| !have.contains(&(*id, a.content_hash.clone())))
        .collect();
    saved.new_revisions = new_revs
        .iter()
        .filter(|(id, _, _)| existing.contains(id))
        .count();
    let index: HashMap<(i64, &str), usize> = new_revs
        .iter()
        .map(|(id, i, a)| ((*id, a.content_hash.as_str()), *i))
        .collect();
    for chunk in new_revs.chunks(CHUNK / 4) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO revisions (article_id, content_hash, source_id, title, published, author,
             text, fetched_at, trust, organisation) ",
        );
        q.push_values(chunk, |mut b, (id, _, a)| {
            b.push_bind(*id)
                .push_bind(&a.content_hash)
                .push_bind(&a.source_id)
                .push_bind(&a.title)
                .push_bind(a.published.map(secs))
                .push_bind(&a.author)
                .push_bind(&a.text)
                .push_bind(secs(a.fetched_at))
                .push_bind(a.trust.as_str())
                .push_bind(&a.organisation);
        });
        q.push(" ON CONFLICT(article_id, content_hash) DO NOTHING RETURNING id, article_id, content_hash");
        let rows: Vec<(i64, i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
        saved
            .stored
            .extend(rows.iter().filter_map(|(rev, article, hash)| {
                index.get(&(*article, hash.as_str())).map(|i| (*rev, *i))
            }));
    }
    tx.commit().await?;
    Ok(saved)
}

type Tx<'c> = sqlx::Transaction<'c, Sqlite>;

async fn save_states(tx: &mut Tx<'_>, states: &[SourceState]) -> Result<()> {
    for chunk in states.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO source_state (source_id, etag, last_modified, last_attempt, last_success,
             last_error, consecutive_failures, next_due, retry_after, item_errors) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(&s.source_id)
                .push_bind(&s.validators.etag)
                .push_bind(&s.validators.last_modified)
                .push_bind(s.last_attempt.map(secs))
                .push_bind(s.last_success.map(secs))
                .push_bind(&s.last_error)
                .push_bind(i64::from(s.consecutive_failures))
                .push_bind(s.next_due.map(secs))
                .push_bind(s.retry_after.map(secs))
                .push_bind(&s.item_errors);
        });
        q.push(
            " ON CONFLICT(source_id) DO UPDATE SET etag = excluded.etag,
              last_modified = excluded.last_modified, last_attempt = excluded.last_attempt,
              last_success = excluded.last_success, last_error = excluded.last_error,
              consecutive_failures = excluded.consecutive_failures,
              next_due = excluded.next_due, retry_after = excluded.retry_after,
              item_errors = excluded.item_errors",
        );
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// One article of a batch with its keys.
struct Keyed<'a> {
    /// Its index in the batch.
    index: usize,
    article: &'a Article,
    url_key: Vec<u8>,
    guid_key: Option<Vec<u8>>,
}

/// The batch's articles, one per link and one per guid within a source: the
/// first listing wins.
fn first_of_each(articles: &[Article]) -> Vec<Keyed<'_>> {
    let mut urls = HashSet::new();
    let mut guids = HashSet::new();
    articles
        .iter()
        .enumerate()
        .map(|(index, article)| Keyed {
            index,
            article,
            url_key: key(&article.url),
            guid_key: article.guid.as_deref().map(key),
        })
        .filter(|k| {
            let new_guid = k
                .guid_key
                .as_ref()
                .is_none_or(|g| guids.insert((k.article.source_id.as_str(), g.clone())));
            urls.insert(k.url_key.clone()) && new_guid
        })
        .collect()
}

/// Stored article ids of a batch, by link key and by source and guid key,
/// and who owns each.
#[derive(Default)]
struct Known {
    by_url: HashMap<Vec<u8>, i64>,
    by_guid: HashMap<(String, Vec<u8>), i64>,
    owners: HashMap<i64, String>,
}

impl Known {
    async fn load(tx: &mut Tx<'_>, keyed: &[Keyed<'_>]) -> Result<Known> {
        let mut known = Known::default();
        for chunk in keyed.chunks(CHUNK) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT url_hash, id, source_id FROM articles WHERE url_hash IN (",
            );
            let mut sep = q.separated(", ");
            for k in chunk {
                sep.push_bind(k.url_key.as_slice());
            }
            q.push(")");
            let rows: Vec<(Vec<u8>, i64, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
            for (url_key, id, owner) in rows {
                known.by_url.insert(url_key, id);
                known.owners.insert(id, owner);
            }
        }
        let with_guid: Vec<(&str, &[u8])> = keyed
            .iter()
            .filter_map(|k| Some((k.article.source_id.as_str(), k.guid_key.as_deref()?)))
            .collect();
        for chunk in with_guid.chunks(CHUNK / 2) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT g.source_id, g.guid_hash, a.id, a.source_id FROM article_guids g
                 JOIN articles a ON a.id = g.article_id WHERE (g.source_id, g.guid_hash) IN (VALUES ",
            );
            let mut sep = q.separated(", ");
            for (source, guid_key) in chunk {
                sep.push("(")
                    .push_bind_unseparated(*source)
                    .push_unseparated(", ")
                    .push_bind_unseparated(*guid_key)
                    .push_unseparated(")");
            }
            q.push(")");
            let rows: Vec<(String, Vec<u8>, i64, String)> =
                q.build_query_as().fetch_all(&mut **tx).await?;
            for (source, guid_key, id, owner) in rows {
                known.by_guid.insert((source, guid_key), id);
                known.owners.insert(id, owner);
            }
        }
        Ok(known)
    }

    /// The stored article this one is: the one its source gave the same
    /// guid, else the one at the same link.
    fn id(&self, k: &Keyed<'_>) -> Option<i64> {
        k.guid_key
            .as_ref()
            .and_then(|g| {
                self.by_guid
                    .get(&(k.article.source_id.clone(), g.clone()))
                    .copied()
            })
            .or_else(|| self.by_url.get(&k.url_key).copied())
    }

    /// Inserts the articles not stored yet; returns how many.
    async fn insert_missing(&mut self, tx: &mut Tx<'_>, keyed: &[Keyed<'_>]) -> Result<usize> {
        let missing: Vec<&Keyed> = keyed.iter().filter(|k| self.id(k).is_none()).collect();
        for chunk in missing.chunks(CHUNK) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO articles (url, url_hash, source_id, first_seen) ");
            q.push_values(chunk, |mut b, k| {
                b.push_bind(&k.article.url)
                    .push_bind(k.url_key.as_slice())
                    .push_bind(&k.article.source_id)
                    .push_bind(secs(k.article.fetched_at));
            });
            q.push(" RETURNING url_hash, id, source_id");
            let rows: Vec<(Vec<u8>, i64, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
            for (url_key, id, owner) in rows {
                self.by_url.insert(url_key, id);
                self.owners.insert(id, owner);
            }
        }
        Ok(missing.len())
    }

    /// Stores each new guid with the article it names.
    async fn record_guids(&mut self, tx: &mut Tx<'_>, keyed: &[Keyed<'_>]) -> Result<()> {
        let new: Vec<(&Keyed, i64)> = keyed
            .iter()
            .filter(|k| {
                k.guid_key.as_ref().is_some_and(|g| {
                    !self
                        .by_guid
                        .contains_key(&(k.article.source_id.clone(), g.clone()))
                })
            })
            .filter_map(|k| Some((k, self.id(k)?)))
            .collect();
        for chunk in new.chunks(CHUNK / 2) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO article_guids (source_id, guid_hash, guid, article_id) ",
            );
            q.push_values(chunk, |mut b, (k, id)| {
                b.push_bind(&k.article.source_id)
                    .push_bind(k.guid_key.as_deref())
                    .push_bind(&k.article.guid)
                    .push_bind(*id);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// Every revision of the article at `url`, oldest first.
pub async fn revisions(store: &Store, url: &str) -> Result<Vec<Article>> {
    type Row = (
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
        String,
        String,
        i64,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.source_id, a.url, r.title, r.published, r.author, r.text, r.content_hash,
                r.fetched_at, r.trust, r.organisation
         FROM revisions r JOIN articles a ON a.id = r.article_id
         WHERE a.url_hash = ? ORDER BY r.id",
    )
    .bind(key(url))
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Article {
            source_id: r.0,
            url: r.1,
            guid: None,
            title: r.2,
            published: r.3.map(from_secs),
            author: r.4,
            text: r.5,
            content_hash: r.6,
            fetched_at: from_secs(r.7),
            trust: crate::model::Trust::parse(&r.8).unwrap_or_default(),
            organisation: r.9,
        })
        .collect())
}

/// Articles stored per source id.
pub async fn article_counts(store: &Store) -> Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT source_id, count(*) FROM articles GROUP BY source_id")
            .fetch_all(&store.pool)
            .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    fn article(url: &str, text: &str) -> Article {
        Article {
            source_id: "nimbus".into(),
            url: url.into(),
            title: "T".into(),
            text: text.into(),
            content_hash: Article::hash_content("T", text),
            fetched_at: jiff::Timestamp::now(),
            ..Article::default()
        }
    }

    #[tokio::test]
    async fn new_content_is_a_new_revision_same_content_is_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let a = article("https://n.example/1", "first");
        let saved = save_batch(
            &store,
            &[],
            &[a.clone(), article("https://n.example/2", "x")],
        )
        .await
        .unwrap();
        assert_eq!((saved.new_articles, saved.new_revisions), (2, 0));
        // Both first revisions are reported, each with its input index.
        let mut stored: Vec<usize> = saved.stored.iter().map(|(_, i)| *i).collect();
        stored.sort_unstable();
        assert_eq!(stored, [0, 1]);
        let saved = save_batch(&store, &[], std::slice::from_ref(&a))
            .await
            .unwrap();
        assert_eq!(saved, Saved::default());
        let saved = save_batch(&store, &[], &[article("https://n.example/1", "edited")])
            .await
            .unwrap();
        assert_eq!((saved.new_articles, saved.new_revisions), (0, 1));
        assert_eq!(saved.stored.len(), 1);
        assert_eq!(saved.stored[0].1, 0);
        let revs = revisions(&store, "https://n.example/1").await.unwrap();
        assert_eq!(
            revs.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
            ["first", "edited"]
        );
    }

    #[tokio::test]
    async fn articles_stored_before_0601_keep_their_revisions_and_are_found_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("termwatch.db").display());
        // The database as a termwatch before 0601 left it.
        let old = dir.path().join("old-migrations");
        std::fs::create_dir(&old).unwrap();
        for entry in std::fs::read_dir("migrations/sqlite").unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.as_str() < "0601" {
                std::fs::copy(&path, old.join(&name)).unwrap();
            }
        }
        {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            sqlx::migrate::Migrator::new(old.as_path())
                .await
                .unwrap()
                .run(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO articles (id, url, source_id, first_seen) VALUES (7, 'https://n.example/old', 'nimbus', 1)")
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO revisions (article_id, content_hash, source_id, title, text, fetched_at, trust) VALUES (7, ?, 'nimbus', 'T', 'first', 1, 'news')")
                .bind(Article::hash_content("T", "first"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        let store = Store::open(&url).await.unwrap();
        let revs = revisions(&store, "https://n.example/old").await.unwrap();
        assert_eq!(revs.len(), 1, "found by its backfilled key");
        let known = known_among(&store, &["https://n.example/old".to_string()])
            .await
            .unwrap();
        assert_eq!(known.len(), 1);
        let saved = save_batch(&store, &[], &[article("https://n.example/old", "edited")])
            .await
            .unwrap();
        assert_eq!((saved.new_articles, saved.new_revisions), (0, 1));
        let id: (i64,) =
            sqlx::query_as("SELECT article_id FROM revisions ORDER BY id DESC LIMIT 1")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(id.0, 7, "the old article, under its old id");
        // Foreign keys are on again after the rebuild.
        let orphan = sqlx::query("INSERT INTO revisions (article_id, content_hash, source_id, title, text, fetched_at, trust) VALUES (99, 'h', 'x', 'T', 't', 1, 'news')")
            .execute(&store.pool)
            .await;
        assert!(orphan.is_err(), "a revision of no article is refused");
    }

    #[tokio::test]
    async fn a_guid_seen_in_an_earlier_batch_is_the_same_article_whatever_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let with_guid = |url: &str, text: &str| Article {
            guid: Some("tag:n.example,2026:1".into()),
            ..article(url, text)
        };
        let saved = save_batch(&store, &[], &[with_guid("https://n.example/a", "one")])
            .await
            .unwrap();
        assert_eq!(saved.new_articles, 1);
        let same = save_batch(&store, &[], &[with_guid("https://n.example/b", "one")])
            .await
            .unwrap();
        assert_eq!(same, Saved::default(), "same guid and content: nothing new");
        let edit = save_batch(&store, &[], &[with_guid("https://n.example/c", "two")])
            .await
            .unwrap();
        assert_eq!((edit.new_articles, edit.new_revisions), (0, 1));
        let revs = revisions(&store, "https://n.example/a").await.unwrap();
        assert_eq!(revs.len(), 2);
        // Another source's item with that guid is that source's article.
        let other = Article {
            source_id: "corvid".into(),
            ..with_guid("https://corvid.example/x", "one")
        };
        let saved = save_batch(&store, &[], &[other]).await.unwrap();
        assert_eq!(saved.new_articles, 1);
    }

    #[tokio::test]
    async fn states_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let s = SourceState {
            source_id: "a".into(),
            validators: Validators {
                etag: Some("\"e\"".into()),
                last_modified: None,
            },
            consecutive_failures: 2,
            last_error: Some("boom".into()),
            next_due: Some(from_secs(1_800_000_000)),
            ..SourceState::default()
        };
        save_batch(&store, std::slice::from_ref(&s), &[])
            .await
            .unwrap();
        save_batch(&store, std::slice::from_ref(&s), &[])
            .await
            .unwrap();
        assert_eq!(load_states(&store).await.unwrap()["a"], s);
    }
}
