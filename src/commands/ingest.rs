//! `termwatch ingest`: local files become articles, as if collected, then
//! the extract and correlate steps run on them.
//!
//! For announcements received by mail or converted from PDF, and for tests.
//! One unreadable file is reported and skipped; the others still go in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::model::{Article, Trust};
use crate::store::changes::Stored;

/// `source_id` of every ingested article.
pub const INGEST_SOURCE_ID: &str = "ingest";
/// Longest title kept; the first line of a text file can be a paragraph.
const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How far the files are believed: vendor, news or commentary (`feed` counts as commentary).
    #[arg(long, default_value = "news", value_parser = parse_trust)]
    pub trust: Trust,
    /// Publication date of the files (YYYY-MM-DD); default: now.
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    pub published: Option<jiff::Timestamp>,
    /// URL the article is known by (one FILE only); default: file://<absolute path>.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Text (.txt) or HTML (.html) files, one article each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

fn parse_trust(s: &str) -> Result<Trust, String> {
    Trust::parse(s).ok_or_else(|| {
        format!("unknown trust {s:?}; write vendor, news or commentary (feed counts as commentary)")
    })
}

/// A `YYYY-MM-DD` date (midnight UTC) or an RFC 3339 time.
pub(super) fn parse_date(s: &str) -> Result<jiff::Timestamp, String> {
    crate::model::parse_timestamp(s)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read {path}: {source}; check the path")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8 text; convert it first (for example `iconv -t UTF-8`)")]
    NotUtf8 { path: PathBuf },
    #[error("{path} has no text; give a file with the announcement in it")]
    Empty { path: PathBuf },
    #[error("--url {url:?} is not an absolute URL; write it as https://host/path")]
    Url { url: String },
}

/// The article a local file stands for, stored as the collector would.
pub fn article_from_file(
    path: &Path,
    trust: Trust,
    published: Option<jiff::Timestamp>,
    url: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Article, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let raw = String::from_utf8(bytes).map_err(|_| Error::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let is_html = match ext.as_deref() {
        Some("html" | "htm") => true,
        Some("txt") => false,
        _ => crate::html::looks_like_html(&raw),
    };
    let text = if is_html {
        crate::html::main_text(&raw)
    } else {
        raw.replace("\r\n", "\n").trim().to_string()
    };
    let title: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| Error::Empty {
            path: path.to_path_buf(),
        })?
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect();
    let url = match url {
        Some(u) => url::Url::parse(u)
            .map_err(|_| Error::Url { url: u.to_string() })?
            .to_string(),
        None => {
            let abs = std::path::absolute(path).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
            format!("file://{}", abs.display())
        }
    };
    Ok(Article {
        source_id: INGEST_SOURCE_ID.to_string(),
        url,
        guid: None,
        content_hash: Article::hash_content(&title, &text),
        title,
        published,
        author: None,
        text,
        fetched_at: now,
        trust,
        organisation: None,
    })
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitCode> {
    if args.url.is_some() && args.files.len() > 1 {
        anyhow::bail!(
            "--url names one article but {} files were given; run `ingest --url URL FILE` once per file",
            args.files.len()
        );
    }
    let store = ctx.open_store().await?;
    let now = jiff::Timestamp::now();
    let mut failed = 0;
    for path in &args.files {
        let article =
            match article_from_file(path, args.trust, args.published, args.url.as_deref(), now) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    failed += 1;
                    continue;
                }
            };
        let (what, _, revision) = crate::store::changes::store_article(&store, &article)
            .await
            .with_context(|| format!("could not store {}", path.display()))?;
        let what = match what {
            Stored::NewArticle => "new article",
            Stored::NewRevision => "new revision",
            Stored::Unchanged => "unchanged",
        };
        println!(
            "{}: {what} {} (revision {revision})",
            path.display(),
            article.url
        );
    }
    let extracted = crate::pipeline::extract::run(&store, &ctx.config.extract, now)
        .await
        .context("could not extract the ingested articles")?;
    let applied = crate::pipeline::correlate::run(&store, &ctx.config.correlate, now)
        .await
        .context("could not correlate")?;
    println!(
        "extracted {} change(s) and {} denial(s) from {} revision(s); events: {} new, {} changed, {} removed",
        extracted.changes,
        extracted.denials,
        extracted.revisions,
        applied.new.len(),
        applied.changed.len(),
        applied.removed.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
