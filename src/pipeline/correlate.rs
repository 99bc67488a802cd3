//! Correlate step: turn stored term changes into events; record what changed.
//!
//! Reads every current report, recomputes all events with the pure stage
//! and lets the store write only the difference, so running it twice, or
//! after re-ingesting the same files, changes nothing.

use crate::correlate;
use crate::store::{self, Store};

pub use crate::store::events::Applied;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] correlate::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Correlates all current reports; returns the ids of new, changed and
/// removed events (the route step reads the first two).
pub async fn run(
    store: &Store,
    config: &correlate::Config,
    now: jiff::Timestamp,
) -> Result<Applied, Error> {
    config.check()?;
    // Correlating is a pure function of the current reports and the config:
    // when neither changed since the last run, there is nothing to do (most
    // passes of a long-running worker collect nothing new).
    let fingerprint = serde_json::to_string(config).unwrap_or_default();
    let inputs = store::events::correlate_inputs(store, &sha256_hex(&fingerprint)).await?;
    if store::events::correlated_inputs(store).await?.as_deref() == Some(inputs.as_str()) {
        tracing::debug!("no new term changes since the last correlate step; skipped");
        return Ok(Applied::default());
    }
    let t = std::time::Instant::now();
    let reports = store::changes::reports(store).await?;
    let read = t.elapsed();
    let events = correlate::correlate(&reports, config);
    let grouped = t.elapsed();
    let applied = store::events::apply(store, &events, now).await?;
    // After the events are written: a crash in between only means the
    // next pass correlates the same inputs again, which changes nothing.
    store::events::set_correlated_inputs(store, &inputs).await?;
    tracing::debug!(
        read_ms = read.as_millis(),
        correlate_ms = (grouped - read).as_millis(),
        write_ms = (t.elapsed() - grouped).as_millis(),
        "correlate step timings"
    );
    tracing::info!(
        reports = reports.len(),
        events = events.len(),
        new = applied.new.len(),
        changed = applied.changed.len(),
        removed = applied.removed.len(),
        "correlated"
    );
    Ok(applied)
}

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}
