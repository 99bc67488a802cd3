//! The only code that runs the stages in order: collect, extract, correlate,
//! route and digest, deliver. Each step reads its input from the store,
//! calls one stage and writes the output back, so a crash between steps
//! loses nothing: the next pass picks up what is still pending.
//!
//! [`run_once`] is one pass over every source; [`run`] is the long-running
//! worker that fires each source on its own schedule until shutdown.

pub mod collect;
pub mod correlate;
pub mod deliver;
pub mod extract;
pub mod model;
pub mod route;

use std::time::Duration;

use indicatif::ProgressBar;
use tokio::sync::watch;

use crate::collect::{Fetcher, SourceDef};
use crate::config::{Config, Paths, Problem};
use crate::store::{self, Store};

pub use collect::CollectReport;

/// Longest the worker sleeps before looking again, so edited source files
/// and newly due sources are noticed without a restart.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// Stored batches waiting for extraction beside the collector; when it falls
/// behind, the collector waits instead of holding more text in memory.
const FRESH_BATCHES: usize = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Collect(#[from] crate::collect::Error),
    #[error(transparent)]
    Correlate(#[from] correlate::Error),
    #[error(transparent)]
    Route(#[from] route::Error),
    #[error("could not set up delivery: {0}")]
    Deliver(#[from] crate::deliver::Error),
}

/// What one pass did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    /// Problems in source files; the broken entries were skipped.
    pub problems: Vec<Problem>,
    pub collect: CollectReport,
    pub processed: Processed,
}

impl PassReport {
    /// The one-line summary of the pass: collect's figures, then the rest.
    pub fn summary(&self) -> String {
        format!("{}; {}", self.collect.summary(), self.processed.summary())
    }
}

/// What the steps after collect did in one pass.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    pub extracted: extract::Extracted,
    /// Events opened and events whose terms or sources changed.
    pub new_events: usize,
    pub changed_events: usize,
    pub route: route::Summary,
    pub deliver: deliver::Summary,
}

impl Processed {
    /// The part of the pass summary after the collect figures.
    pub fn summary(&self) -> String {
        format!(
            "{} term changes from {} revisions; {} new events, {} changed; \
             {} digests; {} deliveries sent, {} to retry, {} dead",
            self.extracted.changes,
            self.extracted.revisions,
            self.new_events,
            self.changed_events,
            self.route.digests + self.route.immediate_digests,
            self.deliver.sent,
            self.deliver.retrying,
            self.deliver.dead
        )
    }
}

/// Steps after collect, chained on every pass over what the store holds as
/// pending: extract (revisions with `extracted_at` NULL), correlate, route
/// and digest, deliver. Each step is idempotent, so running it when nothing
/// is pending costs one query.
pub async fn process_pending(
    store: &Store,
    config: &Config,
    paths: &Paths,
    shutdown: &watch::Receiver<bool>,
) -> Result<Processed, Error> {
    let now = jiff::Timestamp::now();
    let t = std::time::Instant::now();
    let extracted = extract::run(store, &config.extract, now).await?;
    tracing::debug!(ms = t.elapsed().as_millis(), "extract step done");
    let applied = correlate::run(store, &config.correlate, now).await?;
    tracing::debug!(ms = t.elapsed().as_millis(), "correlate step done");
    let (route, deliver) = send_due(store, config, paths, shutdown).await?;
    tracing::debug!(ms = t.elapsed().as_millis(), "route and deliver steps done");
    Ok(Processed {
        extracted,
        new_events: applied.new.len(),
        changed_events: applied.changed.len(),
        route,
        deliver,
    })
}

/// The route step (digests whose window is due) and the deliver step
/// (outbox rows whose attempt is due); shutdown stops the sending.
pub async fn send_due(
    store: &Store,
    config: &Config,
    paths: &Paths,
    shutdown: &watch::Receiver<bool>,
) -> Result<(route::Summary, deliver::Summary), Error> {
    let now = jiff::Timestamp::now();
    // Without a clients directory there is nobody to tell: collecting and
    // correlating still run, so events are ready when clients are added.
    let route = if paths.clients_dir.is_dir() {
        route::step(store, config, &paths.clients_dir, now).await?
    } else {
        tracing::debug!(dir = %paths.clients_dir.display(), "no clients directory; skipping routing");
        route::Summary::default()
    };
    let deliverer = crate::deliver::Deliverer::new(&config.deliver, &paths.data_dir)?
        .with_webhook_urls(deliver::webhook_urls(&paths.clients_dir));
    let deliver = deliver::deliver_until(
        store,
        &deliverer,
        &config.deliver,
        now.as_second(),
        shutdown.clone(),
    )
    .await?;
    Ok((route, deliver))
}

/// Collects, with extraction running beside the collector on what it
/// stores; whatever that misses stays pending for the extract step.
async fn collect_and_extract(
    store: &Store,
    fetcher: &Fetcher,
    sources: Vec<SourceDef>,
    due_only: bool,
    shutdown: watch::Receiver<bool>,
    progress: &ProgressBar,
    config: &crate::extract::Config,
) -> (Result<CollectReport, store::Error>, extract::Extracted) {
    let (fresh_tx, fresh_rx) = tokio::sync::mpsc::channel(FRESH_BATCHES);
    let fresh = tokio::spawn(extract::run_fresh(
        store.clone(),
        config.clone(),
        fresh_rx,
        jiff::Timestamp::now(),
    ));
    let collected = collect::collect(
        store,
        fetcher,
        sources,
        due_only,
        shutdown,
        progress,
        Some(fresh_tx),
    )
    .await;
    tracing::debug!("collect done; waiting for extraction beside it");
    let early = match fresh.await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::warn!("extracting beside the collector failed: {e}; the extract step retries");
            extract::Extracted::default()
        }
        Err(e) => {
            tracing::error!(error = %e, "the extraction task failed; the extract step retries");
            extract::Extracted::default()
        }
    };
    tracing::debug!(
        revisions = early.revisions,
        "extraction beside the collector done"
    );
    (collected, early)
}

/// One pass: every source polled once, due or not (a server's Retry-After
/// is still honoured), then the later stages. `progress` is ticked per
/// source.
pub async fn run_once(
    config: &Config,
    paths: &Paths,
    progress: &ProgressBar,
    shutdown: watch::Receiver<bool>,
) -> Result<PassReport, Error> {
    let store = Store::open(&paths.database_url(config)).await?;
    let (sources, problems) = crate::collect::load_sources(&paths.sources_dir);
    let fetcher = Fetcher::new(&config.collect)?;
    let (collected, early) = collect_and_extract(
        &store,
        &fetcher,
        sources,
        false,
        shutdown.clone(),
        progress,
        &config.extract,
    )
    .await;
    let report = collected?;
    let mut processed = process_pending(&store, config, paths, &shutdown).await?;
    processed.extracted = early.plus(processed.extracted);
    store.pool().close().await;
    Ok(PassReport {
        problems,
        collect: report,
        processed,
    })
}

/// The long-running worker: each source fires on its own cron schedule
/// with jitter; state lives in the store, so a restart picks up where the
/// last run left off. Returns once `shutdown` turns true and the work in
/// flight is written.
pub async fn run(
    config: &Config,
    paths: &Paths,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), Error> {
    let store = Store::open(&paths.database_url(config)).await?;
    let fetcher = Fetcher::new(&config.collect)?;
    let mut reported: Vec<Problem> = Vec::new();
    while !*shutdown.borrow() {
        let (sources, problems) = crate::collect::load_sources(&paths.sources_dir);
        if problems != reported {
            for p in &problems {
                tracing::warn!("{p}; this source is skipped until fixed");
            }
            reported = problems;
        }
        let wait = until_next_due(&store, &sources).await?;
        if !wait.is_zero() {
            // Digest windows open and retries fall due between collect
            // rounds: route and deliver on every wake-up, not only after one.
            if let Err(e) = send_due(&store, config, paths, &shutdown).await {
                tracing::error!("routing or delivery failed: {e}; retrying at the next wake-up");
            }
            tokio::select! {
                _ = tokio::time::sleep(wait.min(MAX_IDLE)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let started = std::time::Instant::now();
        let (round, early) = collect_and_extract(
            &store,
            &fetcher,
            sources,
            true,
            shutdown.clone(),
            &ProgressBar::hidden(),
            &config.extract,
        )
        .await;
        let report = match round {
            Ok(r) => r,
            Err(e) => {
                // The database, not a source, failed (a full disk, a lock):
                // wait and try again rather than stop watching.
                tracing::error!(
                    "collect round failed: {e}; retrying in {} s",
                    MAX_IDLE.as_secs()
                );
                tokio::select! {
                    _ = tokio::time::sleep(MAX_IDLE) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        for (id, err) in &report.failed {
            tracing::warn!(source = %id, "{err}");
        }
        tracing::info!("{}", report.summary());
        match process_pending(&store, config, paths, &shutdown).await {
            Ok(mut p) => {
                p.extracted = early.plus(p.extracted);
                tracing::info!("{}", p.summary());
                pass_metrics(&report, &p, started.elapsed()).emit();
            }
            Err(e) => tracing::error!(
                "processing after collect failed: {e}; it is retried after the next round"
            ),
        }
    }
    store.pool().close().await;
    Ok(())
}

/// A pass's figures as the metrics count them.
fn pass_metrics(c: &CollectReport, p: &Processed, took: Duration) -> crate::metrics::PassDone {
    crate::metrics::PassDone {
        changed: c.polled.saturating_sub(c.not_modified + c.failed.len()),
        not_modified: c.not_modified,
        failed: c.failed.len(),
        deferred: c.deferred.len(),
        new_articles: c.new_articles,
        new_revisions: c.new_revisions,
        revisions_extracted: p.extracted.revisions,
        changes: p.extracted.changes,
        events_opened: p.new_events,
        events_changed: p.changed_events,
        digests: p.route.digests + p.route.immediate_digests,
        sent: p.deliver.sent,
        retrying: p.deliver.retrying,
        dead: p.deliver.dead,
        took,
    }
}

/// How long until the first source is due (zero when one is due now).
async fn until_next_due(store: &Store, sources: &[SourceDef]) -> Result<Duration, Error> {
    if sources.is_empty() {
        return Ok(MAX_IDLE);
    }
    let states = store::articles::load_states(store).await?;
    let now = jiff::Timestamp::now();
    let earliest = sources
        .iter()
        .map(|s| states.get(&s.id).and_then(|st| st.next_due).unwrap_or(now))
        .min()
        .unwrap_or(now);
    let wait = earliest.duration_since(now);
    Ok(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}
