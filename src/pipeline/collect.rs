//! Collect step: poll sources, store new articles and revisions.
//!
//! The poll runs in its own task and streams results here; this side writes
//! them in batched transactions while fetching goes on, so a cold pass of
//! thousands of feeds is bounded by the network and parsing, not by SQLite,
//! and memory holds only the batches in flight.

use std::sync::Arc;

use indicatif::ProgressBar;
use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use crate::collect::{Fetcher, Outcome, PolledSource, SourceDef, SourceState, poll};
use crate::model::Article;
use crate::store::{self, Store, articles};

/// Results buffered between the pollers and the writer.
const CHANNEL: usize = 64;
/// A batch is written once it holds this many sources or articles.
const BATCH_SOURCES: usize = 200;
const BATCH_ARTICLES: usize = 1_000;

/// What one collect pass did.
#[derive(Debug, Clone, Default)]
pub struct CollectReport {
    pub polled: usize,
    pub new_articles: usize,
    pub new_revisions: usize,
    pub not_modified: usize,
    /// Source id and the error in words.
    pub failed: Vec<(String, String)>,
    /// Sources skipped because the server asked us to wait, with until when.
    pub deferred: Vec<(String, Timestamp)>,
}

impl CollectReport {
    /// The one-line summary `run --once` prints last.
    pub fn summary(&self) -> String {
        format!(
            "polled {} sources: {} new articles, {} new revisions, {} not modified, {} failed",
            self.polled,
            self.new_articles,
            self.new_revisions,
            self.not_modified,
            self.failed.len()
        )
    }
}

/// Polls `sources` (only those due at `now` when `due_only`) and stores what
/// they give. Stops starting new sources once `shutdown` is true; what is in
/// flight is finished and written.
pub async fn collect(
    store: &Store,
    fetcher: &Fetcher,
    sources: Vec<SourceDef>,
    due_only: bool,
    shutdown: watch::Receiver<bool>,
    progress: &ProgressBar,
    fresh: Option<mpsc::Sender<Vec<(i64, Article)>>>,
) -> Result<CollectReport, store::Error> {
    let mut states = articles::load_states(store).await?;
    let now = Timestamp::now();
    let work: Vec<(SourceDef, SourceState)> = sources
        .into_iter()
        .filter_map(|def| {
            let state = states.remove(&def.id).unwrap_or_default();
            let due = state.next_due.is_none_or(|t| t <= now);
            (!due_only || due).then_some((def, state))
        })
        .collect();
    progress.set_length(work.len() as u64);
    if work.is_empty() {
        return Ok(CollectReport::default());
    }
    let known: poll::KnownUrls = {
        let store = store.clone();
        Arc::new(move |urls| {
            let store = store.clone();
            Box::pin(async move {
                // On a read error every teaser page is fetched: wasteful
                // but never wrong.
                articles::known_among(&store, &urls)
                    .await
                    .unwrap_or_default()
            })
        })
    };
    let (tx, mut rx) = mpsc::channel::<PolledSource>(CHANNEL);
    let poller = {
        let fetcher = fetcher.clone();
        tokio::spawn(async move { poll::poll_all(&fetcher, work, known, tx, shutdown).await })
    };
    let mut report = CollectReport::default();
    let mut batch = Batch::default();
    let mut write_error = None;
    while let Some(polled) = rx.recv().await {
        progress.inc(1);
        report.count(&polled);
        batch.push(polled);
        let idle = rx.is_empty();
        if batch.full() || (idle && !batch.is_empty()) {
            // Keep draining after a write error so the pollers finish; the
            // error is returned once they have.
            let full = std::mem::take(&mut batch);
            if write_error.is_none()
                && let Err(e) = full.flush(store, &mut report, fresh.as_ref()).await
            {
                write_error = Some(e);
            }
        }
    }
    if write_error.is_none()
        && let Err(e) = batch.flush(store, &mut report, fresh.as_ref()).await
    {
        write_error = Some(e);
    }
    if let Err(e) = poller.await {
        tracing::error!(error = %e, "the poller task failed");
    }
    match write_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

impl CollectReport {
    fn count(&mut self, p: &PolledSource) {
        match &p.outcome {
            Outcome::Fetched { .. } => self.polled += 1,
            Outcome::NotModified => {
                self.polled += 1;
                self.not_modified += 1;
            }
            Outcome::Failed(e) => {
                self.polled += 1;
                self.failed.push((p.source_id.clone(), e.to_string()));
            }
            Outcome::Deferred(until) => self.deferred.push((p.source_id.clone(), *until)),
        }
    }
}

#[derive(Default)]
struct Batch {
    states: Vec<SourceState>,
    articles: Vec<Article>,
}

impl Batch {
    fn push(&mut self, p: PolledSource) {
        if !matches!(p.outcome, Outcome::Deferred(_)) {
            self.states.push(p.state);
        }
        self.articles.extend(p.articles);
    }

    fn full(&self) -> bool {
        self.states.len() >= BATCH_SOURCES || self.articles.len() >= BATCH_ARTICLES
    }

    fn is_empty(&self) -> bool {
        self.states.is_empty() && self.articles.is_empty()
    }

    /// Writes the batch; the revisions it stored go on to `fresh` (the
    /// extract step running beside the collector), if there is one.
    async fn flush(
        self,
        store: &Store,
        report: &mut CollectReport,
        fresh: Option<&mpsc::Sender<Vec<(i64, Article)>>>,
    ) -> Result<(), store::Error> {
        if self.is_empty() {
            return Ok(());
        }
        let saved = articles::save_batch(store, &self.states, &self.articles).await?;
        report.new_articles += saved.new_articles;
        report.new_revisions += saved.new_revisions;
        if let Some(fresh) = fresh
            && !saved.stored.is_empty()
        {
            let mut articles: Vec<Option<Article>> = self.articles.into_iter().map(Some).collect();
            let stored = saved
                .stored
                .iter()
                .filter_map(|(id, i)| Some((*id, articles.get_mut(*i)?.take()?)))
                .collect();
            // A closed receiver only means nobody extracts beside us: the
            // revisions are stored and stay pending for the extract step.
            let _ = fresh.send(stored).await;
        }
        Ok(())
    }
}
