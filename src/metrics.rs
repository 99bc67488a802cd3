//! Typed metrics: each event is a struct that counts in one place, so a
//! reader finds every metric name here and nowhere else.
//!
//! The recorder is Prometheus text (`metrics-exporter-prometheus`), rendered
//! by `serve` at `/metrics`. [`install`] registers every metric at zero, so a
//! fresh process lists them all before anything happened; without it (the
//! plain CLI commands) the macros below are no-ops.

use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds buckets for pass and fetch durations: a loopback fetch takes
/// milliseconds, a slow vendor site tens of seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Outcomes a source's poll can have in one pass.
const POLL_OUTCOMES: &[&str] = &["changed", "not_modified", "failed", "deferred"];
/// Outcomes of a delivery attempt.
const DELIVERY_OUTCOMES: &[&str] = &["sent", "retrying", "dead"];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the global recorder once and registers every metric; later
/// calls (and concurrent ones, which wait) return the same handle.
pub fn install() -> Result<PrometheusHandle, String> {
    HANDLE.get_or_init(install_once).clone()
}

fn install_once() -> Result<PrometheusHandle, String> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .map_err(|e| format!("could not set up metrics: {e}"))?
        .build_recorder();
    let handle = recorder.handle();
    ::metrics::set_global_recorder(recorder)
        .map_err(|e| format!("could not install the metrics recorder: {e}"))?;
    register_all();
    Ok(handle)
}

/// Describes every metric and touches it, so it is listed at zero.
fn register_all() {
    describe_counter!("termwatch_polls_total", "Source polls by outcome.");
    for outcome in POLL_OUTCOMES {
        counter!("termwatch_polls_total", "outcome" => *outcome).absolute(0);
    }
    describe_counter!("termwatch_articles_stored_total", "New articles stored.");
    counter!("termwatch_articles_stored_total").absolute(0);
    describe_counter!(
        "termwatch_revisions_stored_total",
        "New revisions (article contents) stored."
    );
    counter!("termwatch_revisions_stored_total").absolute(0);
    describe_counter!(
        "termwatch_revisions_extracted_total",
        "Revisions read by the extractor."
    );
    counter!("termwatch_revisions_extracted_total").absolute(0);
    describe_counter!(
        "termwatch_term_changes_extracted_total",
        "Term changes the extractor found."
    );
    counter!("termwatch_term_changes_extracted_total").absolute(0);
    describe_counter!(
        "termwatch_events_opened_total",
        "Events opened by correlation."
    );
    counter!("termwatch_events_opened_total").absolute(0);
    describe_counter!(
        "termwatch_events_changed_total",
        "Events whose terms or sources changed."
    );
    counter!("termwatch_events_changed_total").absolute(0);
    describe_counter!(
        "termwatch_digests_built_total",
        "Digests built (windowed and immediate)."
    );
    counter!("termwatch_digests_built_total").absolute(0);
    describe_counter!(
        "termwatch_deliveries_total",
        "Delivery attempts by outcome."
    );
    for outcome in DELIVERY_OUTCOMES {
        counter!("termwatch_deliveries_total", "outcome" => *outcome).absolute(0);
    }
    describe_histogram!(
        "termwatch_pass_seconds",
        Unit::Seconds,
        "Duration of one worker pass."
    );
    describe_gauge!("termwatch_events", "Stored events by kind and status.");
    describe_gauge!("termwatch_outbox", "Outbox deliveries by status.");
    describe_gauge!(
        "termwatch_outbox_oldest_due_seconds",
        Unit::Seconds,
        "Age of the oldest delivery that is due and not sent (0 when none)."
    );
    gauge!("termwatch_outbox_oldest_due_seconds").set(0.0);
    describe_gauge!("termwatch_up", "1 while the store answers.");
    gauge!("termwatch_up").set(0.0);
}

/// One worker pass finished.
#[derive(Debug, Clone, Default)]
pub struct PassDone {
    pub changed: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub deferred: usize,
    pub new_articles: usize,
    pub new_revisions: usize,
    pub revisions_extracted: usize,
    pub changes: usize,
    pub events_opened: usize,
    pub events_changed: usize,
    pub digests: usize,
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
    pub took: Duration,
}

impl PassDone {
    pub fn emit(&self) {
        let polls = [
            ("changed", self.changed),
            ("not_modified", self.not_modified),
            ("failed", self.failed),
            ("deferred", self.deferred),
        ];
        for (outcome, n) in polls {
            counter!("termwatch_polls_total", "outcome" => outcome).increment(n as u64);
        }
        counter!("termwatch_articles_stored_total").increment(self.new_articles as u64);
        counter!("termwatch_revisions_stored_total").increment(self.new_revisions as u64);
        counter!("termwatch_revisions_extracted_total").increment(self.revisions_extracted as u64);
        counter!("termwatch_term_changes_extracted_total").increment(self.changes as u64);
        counter!("termwatch_events_opened_total").increment(self.events_opened as u64);
        counter!("termwatch_events_changed_total").increment(self.events_changed as u64);
        counter!("termwatch_digests_built_total").increment(self.digests as u64);
        for (outcome, n) in [
            ("sent", self.sent),
            ("retrying", self.retrying),
            ("dead", self.dead),
        ] {
            counter!("termwatch_deliveries_total", "outcome" => outcome).increment(n as u64);
        }
        histogram!("termwatch_pass_seconds").record(self.took.as_secs_f64());
    }
}

/// What the store holds, read when `/metrics` is scraped (gauges are a
/// snapshot, not a running count).
#[derive(Debug, Clone, Default)]
pub struct StoreSnapshot {
    /// (kind, status, count)
    pub events: Vec<(String, String, i64)>,
    /// (status, count)
    pub outbox: Vec<(String, i64)>,
    pub oldest_due_secs: i64,
}

impl StoreSnapshot {
    pub fn emit(&self) {
        gauge!("termwatch_up").set(1.0);
        for (kind, status, n) in &self.events {
            gauge!("termwatch_events", "kind" => kind.clone(), "status" => status.clone())
                .set(*n as f64);
        }
        for (status, n) in &self.outbox {
            gauge!("termwatch_outbox", "status" => status.clone()).set(*n as f64);
        }
        gauge!("termwatch_outbox_oldest_due_seconds").set(self.oldest_due_secs as f64);
    }

    /// The store did not answer.
    pub fn down() {
        gauge!("termwatch_up").set(0.0);
    }
}
