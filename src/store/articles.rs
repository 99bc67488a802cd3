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

/// Which of `urls` are stored articles (teaser pages of these are not
/// fetched again).
pub async fn known_among(store: &Store, urls: &[String]) -> Result<HashSet<String>> {
    let mut known = HashSet::new();
    for chunk in urls.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT url FROM articles WHERE url IN (");
        let mut sep = q.separated(", ");
        for u in chunk {
            sep.push_bind(u);
        }
        q.push(")");
        let rows: Vec<(String,)> = q.build_query_as().fetch_all(&store.pool).await?;
        known.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(known)
}

/// Stores source states and articles in one transaction: a crash leaves
/// either all of a batch or none of it. A known URL with a new content hash
/// becomes a new revision; the same hash again adds nothing.
pub async fn save_batch(
    store: &Store,
    states: &[SourceState],
    articles: &[Article],
) -> Result<Saved> {
    let mut tx = store.pool.begin().await?;
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
        q.build().execute(&mut *tx).await?;
    }

    // One article per URL in a batch: the first source listing it wins.
    let mut seen = HashSet::new();
    let articles: Vec<(usize, &Article)> = articles
        .iter()
        .enumerate()
        .filter(|(_, a)| seen.insert(a.url.as_str()))
        .collect();
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(articles.len());
    // Who owns each known article: only that source adds revisions to it.
    let mut owners: HashMap<i64, String> = HashMap::new();
    for chunk in articles.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT url, id, source_id FROM articles WHERE url IN (");
        let mut sep = q.separated(", ");
        for (_, a) in chunk {
            sep.push_bind(&a.url);
        }
        q.push(")");
        let rows: Vec<(String, i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
        for (url, id, owner) in rows {
            ids.insert(url, id);
            owners.insert(id, owner);
        }
    }
    let existing: HashSet<i64> = ids.values().copied().collect();
    let missing: Vec<&Article> = articles
        .iter()
        .map(|(_, a)| *a)
        .filter(|a| !ids.contains_key(a.url.as_str()))
        .collect();
    let mut saved = Saved::default();
    for chunk in missing.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO articles (url, source_id, first_seen) ");
        q.push_values(chunk, |mut b, a| {
            b.push_bind(&a.url)
                .push_bind(&a.source_id)
                .push_bind(secs(a.fetched_at));
        });
        q.push(" RETURNING url, id");
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
        saved.new_articles += rows.len();
        ids.extend(rows);
    }

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
    let new_revs: Vec<(i64, usize, &Article)> = articles
        .iter()
        .filter_map(|(i, a)| ids.get(a.url.as_str()).map(|id| (*id, *i, *a)))
        .filter(|(id, _, a)| owners.get(id).is_none_or(|o| *o == a.source_id))
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
         WHERE a.url = ? ORDER BY r.id",
    )
    .bind(url)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Article {
            source_id: r.0,
            url: r.1,
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
