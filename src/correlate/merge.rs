//! One cluster of reports becomes one event: the agreed values, the
//! sources, the confidence and the severity.
//!
//! Values follow the most trusted sources first, then the most corroborated
//! (distinct articles), then the most recent; a remaining tie goes to the
//! smallest value so the result never depends on input order.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::model::{Event, Report, TermChange, Trust};

use super::key::Key;
use super::{Config, dispute, severity, source_of};

/// Why one value beats another: best trust, distinct articles, latest report.
type Score<'a> = (Trust, BTreeSet<&'a str>, jiff::Timestamp);

/// The value the reports agree on, by trust, then corroboration, then recency.
fn vote<'a, T: Ord + Clone>(
    reports: &[&'a Report],
    get: impl Fn(&TermChange) -> Option<T>,
) -> Option<T> {
    let mut scores: BTreeMap<T, Score<'a>> = BTreeMap::new();
    for r in reports {
        let Some(v) = get(&r.change) else { continue };
        let s = scores
            .entry(v)
            .or_insert_with(|| (r.trust, BTreeSet::new(), r.published));
        s.0 = s.0.max(r.trust);
        s.1.insert(r.url.as_str());
        s.2 = s.2.max(r.published);
    }
    let mut best: Option<(T, Score<'a>)> = None;
    for (v, s) in scores {
        let better = match &best {
            None => true,
            Some((_, b)) => (s.0, s.1.len(), s.2) > (b.0, b.1.len(), b.2),
        };
        if better {
            best = Some((v, s));
        }
    }
    best.map(|(v, _)| v)
}

/// Stable id: the same kind, key and first report day always give the same id.
pub(crate) fn event_id(key: &Key, first: jiff::Timestamp) -> String {
    let mut h = Sha256::new();
    h.update(key.to_string().as_bytes());
    h.update([0u8]);
    h.update(first.strftime("%Y-%m-%d").to_string().as_bytes());
    let digest = hex::encode(h.finalize());
    format!("ev-{}", &digest[..16])
}

/// Independent corroboration: each distinct article counts once, weighted by
/// its trust; the chances that all of them are wrong multiply.
fn confidence(reports: &[&Report], config: &Config) -> f32 {
    let mut per_article: BTreeMap<&str, f32> = BTreeMap::new();
    for r in reports {
        let c = r.change.confidence.clamp(0.0, 1.0) * config.trust_weight.of(r.trust);
        let e = per_article.entry(r.url.as_str()).or_insert(0.0);
        *e = e.max(c);
    }
    1.0 - per_article.values().map(|c| 1.0 - c).product::<f32>()
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// Builds the event of one cluster. `reports` are sorted (see
/// [`super::report_order`]) and non-empty; `denials` confirm it.
pub(crate) fn build(key: &Key, reports: &[&Report], denials: &[&Report], config: &Config) -> Event {
    let first = reports.first().map(|r| r.published).unwrap_or_default();
    let last = reports.iter().map(|r| r.published).max().unwrap_or(first);
    let kind = key.kind;
    let mut parties: Vec<String> = reports
        .iter()
        .flat_map(|r| r.change.parties.iter().cloned())
        .collect();
    parties.sort();
    parties.dedup();
    let status = vote(reports, |c| Some(c.status)).unwrap_or(crate::model::Status::Changed);
    let until = vote(reports, |c| {
        c.until.as_deref().map(|u| u.trim().to_string())
    });
    let effective = vote(reports, |c| c.effective.clone());
    let claims = dispute::claims(reports);
    let disputed = !claims.is_empty();
    let everyone: Vec<&Report> = reports.iter().chain(denials).copied().collect();
    let mut conf = confidence(&everyone, config);
    if disputed {
        conf *= config.dispute_factor.clamp(0.0, 1.0);
    }
    let severity = severity::severity(
        kind,
        status,
        until.is_some() || effective.is_some(),
        &config.severity,
        config.default_severity,
    );
    Event {
        id: event_id(key, first),
        kind,
        parties,
        licensor: vote(reports, |c| c.licensor.clone()),
        licensee: vote(reports, |c| c.licensee.clone()),
        payer: vote(reports, |c| c.payer.clone()),
        payee: vote(reports, |c| c.payee.clone()),
        product: vote(reports, |c| c.product.clone()),
        platform: vote(reports, |c| c.platform.clone()),
        status,
        exclusive: vote(reports, |c| c.exclusive),
        until,
        effective,
        severity,
        confidence: round3(conf),
        disputed,
        claims,
        sources: reports.iter().map(|r| source_of(r)).collect(),
        confirmations: denials.iter().map(|r| source_of(r)).collect(),
        first_seen: first,
        last_seen: last,
        supersedes: Vec::new(),
    }
}
