//! Extract step: run the extractor on every revision not yet extracted; store its changes.
//!
//! One transaction per batch, so a crash loses at most the batch in hand
//! and the next pass picks it up again.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::model::{Article, Extraction};
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
    let Some(model) = super::model::ModelStep::new(store, config, now).await? else {
        let config = std::sync::Arc::new(config.clone());
        return run_with(store, now, move |article| {
            crate::extract::extract(article, &config)
        })
        .await;
    };
    let mut out = Extracted::default();
    let mut after = 0;
    loop {
        let pending = store::changes::pending_extraction(store, after, BATCH).await?;
        let Some((last, _)) = pending.last() else {
            break;
        };
        after = *last;
        let batch = model.extract_batch(store, pending, now).await?;
        out.add(&batch);
        store::changes::save_extractions(store, &batch, now).await?;
    }
    out.add(&model.retry_due(store, now).await?);
    Ok(out)
}

/// Reads the stored revisions fetched since `since` again with `config`'s
/// backend (cached model answers reused) and replaces their changes; the
/// next correlate step runs even if the new rows reuse the old ids.
pub async fn reextract(
    store: &Store,
    config: &crate::extract::Config,
    since: jiff::Timestamp,
    now: jiff::Timestamp,
) -> store::Result<Extracted> {
    let model = super::model::ModelStep::new(store, config, now).await?;
    let rules = Arc::new(config.clone());
    let mut out = Extracted::default();
    let mut after = 0;
    loop {
        let revisions = store::llm::revisions_since(store, since, after, BATCH).await?;
        let Some((last, _)) = revisions.last() else {
            break;
        };
        after = *last;
        let batch = match &model {
            Some(m) => m.extract_batch(store, revisions, now).await?,
            None => {
                let c = rules.clone();
                extract_parallel(revisions, move |a| crate::extract::extract(a, &c)).await
            }
        };
        out.add(&batch);
        store::changes::save_extractions(store, &batch, now).await?;
    }
    store::llm::forget_correlated_inputs(store).await?;
    Ok(out)
}

/// Revisions read, extracted and written per batch: large enough that one
/// transaction carries many rows, small enough to bound memory.
const BATCH: i64 = 512;

/// Extracts every pending revision with `extract`. Tests pass their own
/// extractor here to feed hand-made term changes through the real store.
pub async fn run_with(
    store: &Store,
    now: jiff::Timestamp,
    extract: impl Fn(&Article) -> Extraction + Send + Sync + Clone + 'static,
) -> store::Result<Extracted> {
    let mut out = Extracted::default();
    let mut after = 0;
    loop {
        let pending = store::changes::pending_extraction(store, after, BATCH).await?;
        let Some((last, _)) = pending.last() else {
            break;
        };
        after = *last;
        let batch = extract_parallel(pending, extract.clone()).await;
        out.add(&batch);
        store::changes::save_extractions(store, &batch, now).await?;
    }
    Ok(out)
}

/// Extracts revisions as the collector stores them, while it goes on
/// fetching: the text is still in memory, so it is not read back from the
/// store, and extraction overlaps with the network. A batch's results are
/// written while the next batch is extracted. Anything this misses (a
/// crash, a write error) stays pending for [`run`].
pub async fn run_fresh(
    store: Store,
    config: crate::extract::Config,
    mut fresh: mpsc::Receiver<Vec<(i64, Article)>>,
    now: jiff::Timestamp,
) -> store::Result<Extracted> {
    // Never an early return here: the collector is sending already.
    let model = super::model::ModelStep::new(&store, &config, now)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(
                "could not read the model's usage: {e}; the rules read this batch alone"
            );
            None
        });
    let config = Arc::new(config);
    let extract = move |a: &Article| crate::extract::extract(a, &config);
    let mut out = Extracted::default();
    let mut writing: Option<JoinHandle<store::Result<()>>> = None;
    let mut failed = None;
    while let Some(revisions) = fresh.recv().await {
        let batch = match &model {
            // A store error here leaves the batch pending, as a failed write does.
            Some(m) => match m.extract_batch(&store, revisions, now).await {
                Ok(b) => b,
                Err(e) => {
                    failed.get_or_insert(e);
                    continue;
                }
            },
            None => extract_parallel(revisions, extract.clone()).await,
        };
        if let Some(w) = writing.take() {
            finish(w, &mut failed).await;
        }
        if failed.is_some() {
            // Keep draining so the collector is never blocked; the rest
            // stays pending and the next extract step takes it.
            continue;
        }
        out.add(&batch);
        let store = store.clone();
        writing = Some(tokio::spawn(async move {
            store::changes::save_extractions(&store, &batch, now).await
        }));
    }
    if let Some(w) = writing.take() {
        finish(w, &mut failed).await;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

async fn finish(w: JoinHandle<store::Result<()>>, failed: &mut Option<store::Error>) {
    match w.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => *failed = Some(e),
        Err(e) => tracing::error!(error = %e, "the extraction writer task failed"),
    }
}

/// Extraction is CPU-bound and pure, so a batch is split across the
/// blocking pool, one part per core.
pub(super) async fn extract_parallel(
    mut revisions: Vec<(i64, Article)>,
    extract: impl Fn(&Article) -> Extraction + Send + Sync + Clone + 'static,
) -> Vec<(i64, Extraction)> {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = revisions.len().div_ceil(parts).max(1);
    let mut tasks = Vec::new();
    while !revisions.is_empty() {
        let part: Vec<_> = revisions.drain(..chunk.min(revisions.len())).collect();
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
    batch
}

impl Extracted {
    fn add(&mut self, batch: &[(i64, Extraction)]) {
        for (_, e) in batch {
            self.revisions += 1;
            self.changes += e.changes.len();
            self.denials += e.denials.len();
        }
    }

    /// Both counts together: the fresh revisions and the pending ones.
    pub fn plus(self, other: Extracted) -> Extracted {
        Extracted {
            revisions: self.revisions + other.revisions,
            changes: self.changes + other.changes,
            denials: self.denials + other.denials,
        }
    }
}
