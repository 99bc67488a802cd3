//! Term changes read from each revision, which revisions still await
//! extraction, and the reports correlate reads back.
//!
//! Also holds the small article insert `ingest` needs (the collector's own
//! lives in `articles.rs`); both follow the same rule: one row per URL, a new
//! revision only for a new content hash.

use sqlx::{QueryBuilder, Row, Sqlite};

use super::{Result, Store, from_secs, secs};
use crate::model::{Article, Extraction, Report, TermChange, Trust};

/// What storing an article did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A URL not seen before.
    NewArticle,
    /// A known URL with new content.
    NewRevision,
    /// A known URL with content already stored: nothing written.
    Unchanged,
}

/// Stores an article and its revision; returns what happened and the ids.
pub async fn store_article(store: &Store, article: &Article) -> Result<(Stored, i64, i64)> {
    let mut tx = store.pool.begin().await?;
    let existing: Option<(i64,)> = sqlx::query_as("SELECT id FROM articles WHERE url_hash = ?")
        .bind(super::articles::key(&article.url))
        .fetch_optional(&mut *tx)
        .await?;
    let (article_id, new_article) = match existing {
        Some((id,)) => (id, false),
        None => {
            let id: (i64,) = sqlx::query_as(
                "INSERT INTO articles (url, url_hash, source_id, first_seen) VALUES (?, ?, ?, ?)
                 RETURNING id",
            )
            .bind(&article.url)
            .bind(super::articles::key(&article.url))
            .bind(&article.source_id)
            .bind(secs(article.fetched_at))
            .fetch_one(&mut *tx)
            .await?;
            (id.0, true)
        }
    };
    let known: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM revisions WHERE article_id = ? AND content_hash = ?")
            .bind(article_id)
            .bind(&article.content_hash)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((rev,)) = known {
        tx.commit().await?;
        return Ok((Stored::Unchanged, article_id, rev));
    }
    let rev: (i64,) = sqlx::query_as(
        "INSERT INTO revisions (article_id, content_hash, source_id, title, published, author, \
         text, fetched_at, trust, organisation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(article_id)
    .bind(&article.content_hash)
    .bind(&article.source_id)
    .bind(&article.title)
    .bind(article.published.map(secs))
    .bind(&article.author)
    .bind(&article.text)
    .bind(secs(article.fetched_at))
    .bind(article.trust.as_str())
    .bind(&article.organisation)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let what = if new_article {
        Stored::NewArticle
    } else {
        Stored::NewRevision
    };
    Ok((what, article_id, rev.0))
}

/// Up to `limit` revisions the extract step has not run on yet, with ids
/// above `after`, oldest first, as articles. Read in chunks so a cold pass
/// over tens of thousands of articles never holds all their text at once.
pub async fn pending_extraction(
    store: &Store,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Article)>> {
    let rows = sqlx::query(
        "SELECT r.id, r.source_id, a.url, r.title, r.published, r.author, r.text, r.content_hash, \
         r.fetched_at, r.trust, r.organisation \
         FROM revisions r JOIN articles a ON a.id = r.article_id \
         WHERE r.extracted_at IS NULL AND r.id > ? ORDER BY r.id LIMIT ?",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(article_row).collect()
}

/// The columns `pending_extraction` selects, as a revision id and its article.
pub(super) fn article_row(row: &sqlx::sqlite::SqliteRow) -> Result<(i64, Article)> {
    Ok((
        row.try_get("id")?,
        Article {
            source_id: row.try_get("source_id")?,
            url: row.try_get("url")?,
            guid: None,
            title: row.try_get("title")?,
            published: row.try_get::<Option<i64>, _>("published")?.map(from_secs),
            author: row.try_get("author")?,
            text: row.try_get("text")?,
            content_hash: row.try_get("content_hash")?,
            fetched_at: from_secs(row.try_get("fetched_at")?),
            trust: trust(row.try_get("trust")?),
            organisation: row.try_get("organisation")?,
        },
    ))
}

/// A stored trust word; an unknown word (a newer termwatch) reads as news.
fn trust(s: String) -> Trust {
    Trust::parse(&s).unwrap_or_default()
}

/// Stores what extract read from a batch of revisions and marks them
/// extracted, in one transaction: a crash leaves the batch pending, never
/// half stored. Rows go in multi-row statements: one statement per row
/// costs a round trip to SQLite's worker thread each, which dominated a
/// cold pass of tens of thousands of revisions.
pub async fn save_extractions(
    store: &Store,
    batch: &[(i64, Extraction)],
    at: jiff::Timestamp,
) -> Result<()> {
    // SQLite allows 32,766 bound values per statement; stay well below.
    const IDS: usize = 900;
    const ROWS: usize = 200;
    let mut tx = store.pool.begin().await?;
    for chunk in batch.chunks(IDS) {
        // A re-run after a crash between steps must not double the rows.
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("DELETE FROM term_changes WHERE revision_id IN ");
        push_ids(&mut q, chunk);
        q.build().execute(&mut *tx).await?;
    }
    // A contradicting statement is a report like any other: correlate
    // sees both sides of the article and marks the event disputed.
    let mut rows = Vec::new();
    for (revision_id, extraction) in batch {
        let all = extraction
            .changes
            .iter()
            .chain(&extraction.conflicts)
            .map(|c| (c, false))
            .chain(extraction.denials.iter().map(|c| (c, true)));
        for (change, denial) in all {
            rows.push((
                *revision_id,
                denial,
                change.kind.as_str(),
                serde_json::to_string(change)?,
            ));
        }
    }
    for chunk in rows.chunks(ROWS) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO term_changes (revision_id, denial, kind, body) ");
        q.push_values(chunk, |mut b, (id, denial, kind, body)| {
            b.push_bind(*id)
                .push_bind(*denial)
                .push_bind(*kind)
                .push_bind(body.as_str());
        });
        q.build().execute(&mut *tx).await?;
    }
    super::signals::replace(&mut tx, batch, at).await?;
    for chunk in batch.chunks(IDS) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE revisions SET extracted_at = ");
        q.push_bind(secs(at)).push(" WHERE id IN ");
        push_ids(&mut q, chunk);
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `(id, id, ...)` of the revisions in `batch`.
fn push_ids<T>(q: &mut QueryBuilder<Sqlite>, batch: &[(i64, T)]) {
    q.push("(");
    let mut ids = q.separated(", ");
    for (id, _) in batch {
        ids.push_bind(*id);
    }
    q.push(")");
}

/// Every current report: the term changes of each article's latest extracted
/// revision. Older revisions stay stored for the record but no longer count.
pub async fn reports(store: &Store) -> Result<Vec<Report>> {
    // Positional tuples decode faster than by-name lookups over 100k rows.
    type Row = (bool, String, i64, i64, String, String, String, String, i64);
    let rows: Vec<Row> = sqlx::query_as(
        // Driven from term_changes (CROSS JOIN fixes SQLite's join order):
        // most revisions state no change, and visiting every revision row
        // to find each article's latest read all of their text.
        "SELECT tc.denial, tc.body, r.id, r.article_id, r.source_id, a.url, \
                r.title, r.trust, COALESCE(r.published, r.fetched_at) \
         FROM term_changes tc \
         CROSS JOIN revisions r ON r.id = tc.revision_id \
         JOIN articles a ON a.id = r.article_id \
         WHERE r.extracted_at IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM revisions n WHERE n.article_id = r.article_id \
                           AND n.id > r.id AND n.extracted_at IS NOT NULL)",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(
            |(
                denial,
                body,
                revision_id,
                article_id,
                source_id,
                url,
                title,
                trust_word,
                published,
            )| {
                Ok(Report {
                    change: serde_json::from_str::<TermChange>(&body)?,
                    denial,
                    article_id,
                    revision_id,
                    source_id,
                    url,
                    title,
                    trust: trust(trust_word),
                    published: from_secs(published),
                })
            },
        )
        .collect()
}
