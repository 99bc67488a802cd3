//! What changed in an event between two correlations, in words, and the
//! fingerprint that tells whether a client would see a difference.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::{Event, EventSource, Trust};

/// Hash of everything a client sees of an event.
pub fn fingerprint(event: &Event) -> String {
    // Serialising plain data with derived serde cannot fail.
    let json = serde_json::to_vec(event).expect("an event serialises to JSON");
    hex::encode(Sha256::digest(&json))
}

/// The history lines for `new`, given the stored `old` version (or none).
pub fn describe(old: Option<&Event>, new: &Event) -> Vec<String> {
    let Some(old) = old else {
        let mut lines = vec![format!(
            "new event: {} {} from {} source(s)",
            new.kind.as_str(),
            new.status.as_str(),
            distinct_urls(&new.sources)
        )];
        if new.disputed {
            lines.push(disputed_line(new));
        }
        for id in &new.supersedes {
            lines.push(format!("supersedes {id}"));
        }
        return lines;
    };
    let mut lines = Vec::new();
    let show = |o: Option<&str>| o.unwrap_or("none").to_string();
    if old.status != new.status {
        lines.push(format!(
            "status changed from {} to {}",
            old.status.as_str(),
            new.status.as_str()
        ));
    }
    let fields = [
        (
            "exclusive",
            old.exclusive.map(|b| b.to_string()),
            new.exclusive.map(|b| b.to_string()),
        ),
        ("until", old.until.clone(), new.until.clone()),
        ("effective", old.effective.clone(), new.effective.clone()),
    ];
    for (name, o, n) in fields {
        if o != n {
            lines.push(format!(
                "{name} changed from {} to {}",
                show(o.as_deref()),
                show(n.as_deref())
            ));
        }
    }
    if old.severity != new.severity {
        lines.push(format!(
            "severity changed from {} to {}",
            old.severity.as_str(),
            new.severity.as_str()
        ));
    }
    lines.extend(source_lines(&old.sources, &new.sources));
    match (old.disputed, new.disputed) {
        (false, true) => lines.push(disputed_line(new)),
        (true, false) => lines.push(settled_line(new)),
        _ => {}
    }
    for c in &new.confirmations {
        if !old.confirmations.iter().any(|o| o.url == c.url) {
            lines.push(format!(
                "confirmed unchanged by {} source {}",
                c.trust.as_str(),
                c.url
            ));
        }
    }
    for id in &new.supersedes {
        if !old.supersedes.contains(id) {
            lines.push(format!("supersedes {id}"));
        }
    }
    if lines.is_empty() && fingerprint(old) != fingerprint(new) {
        lines.push(format!(
            "details updated (confidence {:.2} to {:.2})",
            old.confidence, new.confidence
        ));
    }
    lines
}

/// Sources added, edited (same URL, new revision) and gone, by URL.
fn source_lines(old: &[EventSource], new: &[EventSource]) -> Vec<String> {
    let by_url = |s: &[EventSource]| -> BTreeMap<String, (Trust, i64)> {
        s.iter()
            .map(|s| (s.url.clone(), (s.trust, s.revision_id)))
            .collect()
    };
    let (o, n) = (by_url(old), by_url(new));
    let mut lines = Vec::new();
    for (url, (trust, rev)) in &n {
        match o.get(url) {
            None => lines.push(format!("new {} source {url}", trust.as_str())),
            Some((_, old_rev)) if old_rev != rev => lines.push(format!(
                "source {url} was edited (revision {old_rev} replaced by {rev})"
            )),
            Some(_) => {}
        }
    }
    for url in o.keys().filter(|u| !n.contains_key(*u)) {
        lines.push(format!("source {url} no longer reports it"));
    }
    lines
}

fn distinct_urls(sources: &[EventSource]) -> usize {
    let mut urls: Vec<&str> = sources.iter().map(|s| s.url.as_str()).collect();
    urls.sort_unstable();
    urls.dedup();
    urls.len()
}

fn disputed_line(e: &Event) -> String {
    let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &e.claims {
        by_field.entry(&c.field).or_default().push(&c.value);
    }
    let parts: Vec<String> = by_field
        .iter()
        .map(|(f, vs)| format!("{f} {}", vs.join(" vs ")))
        .collect();
    format!("disputed: {}", parts.join("; "))
}

fn settled_line(e: &Event) -> String {
    match e.sources.iter().find(|s| s.trust == Trust::Vendor) {
        Some(s) => format!("dispute settled by vendor source {}", s.url),
        None => "dispute settled: the contradicting reports are gone".to_string(),
    }
}
