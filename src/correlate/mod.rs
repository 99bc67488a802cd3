//! The `correlate` stage: many reports of one change become one event.
//!
//! Pure and order-independent: [`correlate`] recomputes every event from all
//! current reports, so re-ingesting, reordering or editing articles gives the
//! same events for the same reports. Reports are grouped by kind and
//! canonical key ([`key`]; a revenue share or licence missing its
//! direction joins the one known direction of its parties), sorted by time and cut into clusters that start
//! at their first report and span `window_days`; each cluster is one event
//! ([`merge`]), with contradictions kept as claims ([`dispute`]) and a
//! severity from a config table ([`severity`]). Later clusters on the same
//! key that change the terms link to the earlier ones (`supersedes`).
//! [`history`] turns the difference between a stored and a recomputed
//! event into the lines of its history. Cost: O(n log n) in reports.
//!
//! Vendor outranks news outranks commentary; contradictions are flagged,
//! never merged into a flipped value.

mod dispute;
pub mod history;
mod key;
mod merge;
pub mod severity;

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{Event, EventSource, Report, Severity, Trust};

use key::{Aliases, Key};

/// Reports this many days after a cluster's first report still join it.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;
/// Confidence is multiplied by this while an event is disputed.
pub const DEFAULT_DISPUTE_FACTOR: f32 = 0.8;
/// Severity for a kind the table does not name.
pub const DEFAULT_SEVERITY: Severity = Severity::Low;

/// `[correlate]` section of `termwatch.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Reports on one key within this many days of the first are one event.
    pub window_days: u32,
    /// How much one source of each trust adds to an event's confidence.
    pub trust_weight: TrustWeights,
    /// Confidence factor while an event is disputed.
    pub dispute_factor: f32,
    /// Extra names that mean the same organisation, product or platform
    /// (`"Bedrock" = "Amazon Bedrock"`), on top of the extractor's own.
    pub aliases: BTreeMap<String, String>,
    /// Severity overrides: `"kind.status.dated"`, `"kind.status"`,
    /// `"kind.dated"` or `"kind"` to a severity; see [`severity`].
    pub severity: BTreeMap<String, Severity>,
    pub default_severity: Severity,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            window_days: DEFAULT_WINDOW_DAYS,
            trust_weight: TrustWeights::default(),
            dispute_factor: DEFAULT_DISPUTE_FACTOR,
            aliases: BTreeMap::new(),
            severity: BTreeMap::new(),
            default_severity: DEFAULT_SEVERITY,
        }
    }
}

/// `[correlate.trust_weight]`: the chance one source of that trust is right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustWeights {
    pub vendor: f32,
    pub news: f32,
    pub commentary: f32,
}

impl Default for TrustWeights {
    fn default() -> TrustWeights {
        TrustWeights {
            vendor: 0.95,
            news: 0.75,
            commentary: 0.5,
        }
    }
}

impl TrustWeights {
    pub fn of(&self, trust: Trust) -> f32 {
        match trust {
            Trust::Vendor => self.vendor,
            Trust::News => self.news,
            Trust::Commentary => self.commentary,
        }
        .clamp(0.0, 1.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("[correlate] window_days must be at least 1; write for example `window_days = 30`")]
    Window,
    #[error(
        "[correlate] dispute_factor {0} is outside 0..1; write for example `dispute_factor = 0.8`"
    )]
    DisputeFactor(f32),
    #[error("[correlate.severity] {0}")]
    SeverityKey(String),
}

impl Config {
    /// Checks the values serde cannot: a window, a factor, the table keys.
    pub fn check(&self) -> Result<(), Error> {
        if self.window_days == 0 {
            return Err(Error::Window);
        }
        if !(0.0..=1.0).contains(&self.dispute_factor) {
            return Err(Error::DisputeFactor(self.dispute_factor));
        }
        for key in self.severity.keys() {
            severity::check_key(key).map_err(Error::SeverityKey)?;
        }
        Ok(())
    }
}

/// How many earlier events on one key a later one may link to. Keeps a key
/// reported every month for decades linear, not quadratic; older links are
/// reachable through the events in between.
const MAX_SUPERSEDES_SCAN: usize = 32;

/// Every event the reports describe, in a stable order (first seen, then id).
pub fn correlate(reports: &[Report], config: &Config) -> Vec<Event> {
    let aliases = Aliases::new(&config.aliases);
    let window = jiff::SignedDuration::from_hours(24 * i64::from(config.window_days.max(1)));
    let mut groups: Groups<'_> = HashMap::new();
    for r in reports {
        let g = groups.entry(Key::of(&r.change, &aliases)).or_default();
        if r.denial { &mut g.1 } else { &mut g.0 }.push(r);
    }
    fold_roleless(&mut groups, &aliases);
    let mut events = Vec::new();
    for (key, (mut changes, mut denials)) in groups {
        if changes.is_empty() {
            // A denial confirms an event; alone it is not one.
            continue;
        }
        changes.sort_by(|a, b| report_order(a, b));
        denials.sort_by(|a, b| report_order(a, b));
        events.extend(key_events(&key, &changes, &denials, window, config));
    }
    events.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.id.cmp(&b.id))
    });
    events
}

type Groups<'a> = HashMap<Key, (Vec<&'a Report>, Vec<&'a Report>)>;

/// A revenue share or licence reported without its direction ("the revenue
/// share ends") joins the directed change of the same parties when exactly
/// one direction is known; with both directions known it stays apart rather
/// than guess.
fn fold_roleless(groups: &mut Groups<'_>, aliases: &Aliases) {
    let mut directions: HashMap<Key, Vec<Key>> = HashMap::new();
    for (key, (changes, denials)) in groups.iter() {
        if !key.is_directed() {
            continue;
        }
        for r in changes.iter().chain(denials) {
            let d = directions
                .entry(Key::undirected(&r.change, aliases))
                .or_default();
            if !d.contains(key) {
                d.push(key.clone());
            }
        }
    }
    for (undirected, directed) in directions {
        let [target] = directed.as_slice() else {
            continue;
        };
        if let Some((changes, denials)) = groups.remove(&undirected) {
            let into = groups.entry(target.clone()).or_default();
            into.0.extend(changes);
            into.1.extend(denials);
        }
    }
}

/// The events of one key: clusters in time order, denials attached, later
/// changes of terms linked to what they supersede.
fn key_events(
    key: &Key,
    changes: &[&Report],
    denials: &[&Report],
    window: jiff::SignedDuration,
    config: &Config,
) -> Vec<Event> {
    let mut clusters: Vec<&[&Report]> = Vec::new();
    let mut start = 0;
    for i in 1..changes.len() {
        if changes[i]
            .published
            .duration_since(changes[start].published)
            > window
        {
            clusters.push(&changes[start..i]);
            start = i;
        }
    }
    clusters.push(&changes[start..]);
    // A denial confirms the latest event that had begun by the end of the
    // denial's window: "terms unchanged" speaks of the terms then in force.
    // Clusters are in time order, so a binary search finds it.
    let mut confirm: Vec<Vec<&Report>> = vec![Vec::new(); clusters.len()];
    for d in denials {
        let begun =
            clusters.partition_point(|c| c[0].published.duration_since(d.published) <= window);
        if let Some(i) = begun.checked_sub(1) {
            confirm[i].push(d);
        }
    }
    let mut events: Vec<Event> = clusters
        .iter()
        .zip(&confirm)
        .map(|(c, d)| merge::build(key, c, d, config))
        .collect();
    for i in 1..events.len() {
        let terms = |e: &Event| (e.status, e.exclusive, e.until.clone());
        let later = terms(&events[i]);
        let earlier: Vec<String> = events[..i]
            .iter()
            .rev()
            .take(MAX_SUPERSEDES_SCAN)
            .filter(|e| terms(e) != later)
            .map(|e| e.id.clone())
            .collect();
        events[i].supersedes = earlier;
    }
    events
}

/// A total order on reports that uses only what they say, never store ids,
/// so the same reports in any order sort the same.
pub(crate) fn report_order(a: &Report, b: &Report) -> Ordering {
    a.published
        .cmp(&b.published)
        .then_with(|| a.url.cmp(&b.url))
        .then_with(|| a.change.span.start.cmp(&b.change.span.start))
        .then_with(|| a.change.span.end.cmp(&b.change.span.end))
        .then_with(|| a.change.evidence.cmp(&b.change.evidence))
        .then_with(|| a.change.status.cmp(&b.change.status))
        .then_with(|| b.trust.cmp(&a.trust))
}

/// How a report is cited in an event.
pub(crate) fn source_of(r: &Report) -> EventSource {
    EventSource {
        article_id: r.article_id,
        revision_id: r.revision_id,
        url: r.url.clone(),
        title: r.title.clone(),
        trust: r.trust,
        published: r.published,
        evidence: r.change.evidence.clone(),
        confidence: r.change.confidence,
        status: r.change.status,
        exclusive: r.change.exclusive,
        until: r.change.until.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
