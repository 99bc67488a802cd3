//! Extract step: run the extractor on every revision not yet extracted; store its changes.
//!
//! One transaction per revision, so a crash loses at most the revision in
//! hand and the next pass picks it up again.

use crate::model::Extraction;
use crate::store::{self, Store};

/// What one extract pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extracted {
    pub revisions: usize,
    pub changes: usize,
    pub denials: usize,
}

/// Extracts every pending revision with the real extractor.
pub async fn run(
    store: &Store,
    config: &crate::extract::Config,
    now: jiff::Timestamp,
) -> store::Result<Extracted> {
    let config = std::sync::Arc::new(config.clone());
    run_with(store, now, move |article| {
        crate::extract::extract(article, &config)
    })
    .await
}

/// Revisions read, extracted and written per batch: large enough that one
/// transaction carries many rows, small enough to bound memory.
const BATCH: i64 = 512;

/// Extracts every pending revision with `extract`. Tests pass their own
/// extractor here to feed hand-made term changes through the real store.
///
/// Extraction is CPU-bound and pure, so each batch is split across the
/// blocking pool (one part per core) while the store writes the previous
/// batch's results in one transaction.
pub async fn run_with(
    store: &Store,
    now: jiff::Timestamp,
    extract: impl Fn(&crate::model::Article) -> Extraction + Send + Sync + Clone + 'static,
) -> store::Result<Extracted> {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = Extracted::default();
    let mut after = 0;
    loop {
        let pending = store::changes::pending_extraction(store, after, BATCH).await?;
        let Some((last, _)) = pending.last() else {
            break;
        };
        after = *last;
        let chunk = pending.len().div_ceil(parts);
        let mut tasks = Vec::new();
        let mut pending = pending;
        while !pending.is_empty() {
            let part: Vec<_> = pending.drain(..chunk.min(pending.len())).collect();
            let extract = extract.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                part.into_iter()
                    .map(|(id, article)| (id, extract(&article)))
                    .collect::<Vec<_>>()
            }));
        }
        let mut batch = Vec::new();
        for task in tasks {
            batch.extend(
                task.await
                    .expect("extraction never panics (property-tested)"),
            );
        }
        for (_, e) in &batch {
            out.revisions += 1;
            out.changes += e.changes.len();
            out.denials += e.denials.len();
        }
        store::changes::save_extractions(store, &batch, now).await?;
    }
    Ok(out)
}
