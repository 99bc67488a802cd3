//! History and merging: which sentences are background, and one change per
//! key (the key the spec matches on), keeping the best-supported statement
//! and filling its empty slots from the others.

use std::collections::HashMap;

use super::analyse::{Candidate, SignalCand};
use super::dates;
use super::lexicon::{Cue, Hit};
use super::segment::{BlockKind, Doc};
use super::text::{Text, char_offsets};
use crate::model::{ChangeKind, Extraction, Signal, Span, Status, TermChange};

const CURRENT: &[&str] = &[
    "today",
    " now ",
    " now,",
    "will ",
    "this week",
    "starting ",
    "effective ",
];

/// Headings that open a background section.
const BACKGROUND_HEADINGS: &[&str] = &[
    "background",
    "history",
    "the backstory",
    "a look back",
    "timeline",
    "how we got here",
];

/// Per sentence: is it background (history) rather than news?
///
/// A sentence is history when it carries a history cue, or names a year
/// before the article's (not as a term end: "through 2030") and nothing
/// current. A paragraph or section that opens with history stays history
/// until something current is said.
pub fn history(t: &Text, doc: &Doc, hits: &[Hit], ref_year: Option<i32>) -> Vec<bool> {
    let mut out = vec![false; doc.sentences.len()];
    let mut block_hist = vec![false; doc.blocks.len()];
    for (bi, b) in doc.blocks.iter().enumerate() {
        if b.kind != BlockKind::Heading {
            continue;
        }
        let l = &t.lower[b.start..b.end];
        let (past, current) = years_state(l, ref_year);
        block_hist[bi] = (past && !current) || BACKGROUND_HEADINGS.iter().any(|h| l.trim() == *h);
    }
    let mut para_hist: Option<(usize, bool)> = None;
    for (si, s) in doc.sentences.iter().enumerate() {
        let b = &doc.blocks[s.block];
        if b.kind == BlockKind::Title {
            continue;
        }
        // Bullets are judged with their head ("- January 2023: ...").
        let from = b
            .head
            .map(|h| h.0)
            .filter(|_| s.start == b.body_start)
            .unwrap_or(s.start);
        let l = &t.lower[from..s.end];
        let cue = super::analyse::slice(hits, s.start, s.end, |h| h.start)
            .iter()
            .any(|h| h.cue == Cue::History);
        let (past, current) = years_state(l, ref_year);
        let current = current || CURRENT.iter().any(|c| l.contains(c));
        let own = cue || (past && !current);
        // Only a bullet's own head carries history into its body.
        let inherited = match para_hist {
            Some((p, h)) if p == b.para_start && b.kind == BlockKind::Bullet => h && !current,
            _ => false,
        };
        let section = b.section.is_some_and(|h| block_hist[h]) && !current;
        out[si] = own || inherited || section;
        if para_hist.is_none_or(|(p, _)| p != b.para_start) {
            para_hist = Some((b.para_start, own));
        }
    }
    out
}

/// (names a past year, names the article's year or later) — years after
/// "through", "until" or "to" are term ends, not dates of events.
fn years_state(lower: &str, ref_year: Option<i32>) -> (bool, bool) {
    let Some(r) = ref_year else {
        return (false, false);
    };
    let mut past = false;
    let mut current = false;
    for (pos, y) in dates::years(lower) {
        let before = lower[..pos].trim_end();
        let term_end = ["through", "until", "till", "to", "by", "beyond", "after"]
            .iter()
            .any(|w| before.ends_with(w));
        if y >= r {
            current = true;
        } else if !term_end {
            past = true;
        }
    }
    (past, current)
}

fn norm_key(s: &Option<String>) -> String {
    s.as_deref()
        .unwrap_or("")
        .to_lowercase()
        .replace(['-', '\u{2011}'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The change key (kind plus the fields that name the change); the model
/// backend merges by it too.
pub(super) fn key(c: &TermChange) -> String {
    let k = c.kind.as_str();
    match c.kind {
        ChangeKind::Availability | ChangeKind::Pricing | ChangeKind::Deprecation => {
            format!("{k}|{}|{}", norm_key(&c.product), norm_key(&c.platform))
        }
        ChangeKind::RevenueShare => format!("{k}|{}|{}", norm_key(&c.payer), norm_key(&c.payee)),
        ChangeKind::License => format!("{k}|{}|{}", norm_key(&c.licensor), norm_key(&c.licensee)),
        _ => {
            let mut p = c.parties.clone();
            p.sort();
            p.dedup();
            format!("{k}|{}", p.join("|"))
        }
    }
}

/// How specific a status is, when two statements of one change disagree:
/// a cap or an end says more than "continues".
fn status_rank(s: Status) -> f32 {
    use Status as S;
    let order = [
        S::Capped,
        S::NonExclusive,
        S::Extended,
        S::Narrowed,
        S::Withdrawn,
        S::Retired,
        S::Preview,
        S::Ended,
        S::Changed,
        S::Exclusive,
        S::Started,
        S::Available,
        S::Continues,
    ];
    let i = order.iter().position(|x| *x == s).unwrap_or(order.len());
    (order.len() - i) as f32 * 0.001
}

fn score(c: &Candidate) -> f32 {
    c.change.confidence + if c.explicit { 0.1 } else { 0.0 } + status_rank(c.change.status)
}

/// True when two statements of one change cannot both hold: one says the
/// term stops and the other that it goes on, they disagree on exclusivity,
/// or they name different end years.
fn contradicts(a: &TermChange, b: &TermChange) -> bool {
    use Status as S;
    let stops = |s: S| matches!(s, S::Ended | S::Withdrawn | S::Retired);
    let goes_on = |s: S| matches!(s, S::Continues | S::Capped | S::Extended | S::Started);
    let status = (stops(a.status) && goes_on(b.status)) || (goes_on(a.status) && stops(b.status));
    let exclusive = matches!((a.exclusive, b.exclusive), (Some(x), Some(y)) if x != y);
    let year = |u: &Option<String>| u.as_deref().and_then(|u| u.get(..4)).map(str::to_string);
    let until = matches!((year(&a.until), year(&b.until)), (Some(x), Some(y)) if x != y);
    status || exclusive || until
}

/// The best-supported statement of a change, and the statements that
/// contradict it.
fn merge_group(mut group: Vec<Candidate>) -> (Candidate, Vec<Candidate>) {
    group.sort_by(|a, b| {
        score(b)
            .total_cmp(&score(a))
            .then(a.norm_span.0.cmp(&b.norm_span.0))
    });
    let mut best = group[0].clone();
    let conflicts: Vec<Candidate> = group[1..]
        .iter()
        .filter(|o| contradicts(&group[0].change, &o.change))
        .cloned()
        .collect();
    for o in group[1..]
        .iter()
        .filter(|o| !contradicts(&group[0].change, &o.change))
    {
        let b = &mut best.change;
        if b.until.is_none() {
            b.until.clone_from(&o.change.until);
        }
        if b.effective.is_none() {
            b.effective.clone_from(&o.change.effective);
        }
        if b.exclusive.is_none() {
            b.exclusive = o.change.exclusive;
        }
    }
    // Several statements of the same change raise confidence a little.
    let n = group.len() as f32;
    best.change.confidence = (best.change.confidence + 0.02 * (n - 1.0)).min(0.99);
    (best, conflicts)
}

/// Merges duplicates, fills evidence and character spans, sorts by position.
pub fn finish(t: &Text, mut cands: Vec<Candidate>, signals: Vec<SignalCand>) -> Extraction {
    // "Claude lands in Foundry" summarises "Claude Sonnet 4.5 ... in Foundry": keep the specific ones.
    // A headline's "on Azure" is shorthand for the body's "on Azure AI Foundry".
    let mut bodies: HashMap<(ChangeKind, String), Vec<String>> = HashMap::new();
    for c in cands.iter().filter(|c| !c.from_heading) {
        if let (Some(p), Some(pl)) = (&c.change.product, &c.change.platform) {
            bodies
                .entry((c.change.kind, p.clone()))
                .or_default()
                .push(pl.clone());
        }
    }
    cands.retain(|c| {
        let (Some(p), Some(pl)) = (&c.change.product, &c.change.platform) else {
            return true;
        };
        let first_word = pl.split(' ').next().unwrap_or(pl);
        !c.from_heading
            || bodies.get(&(c.change.kind, p.clone())).is_none_or(|v| {
                v.iter()
                    .all(|bpl| !(bpl != pl && bpl.starts_with(first_word)))
            })
    });
    let mut specific: HashMap<(ChangeKind, String), Vec<String>> = HashMap::new();
    for c in &cands {
        if let (Some(p), Some(pl)) = (&c.change.product, &c.change.platform) {
            specific
                .entry((c.change.kind, pl.clone()))
                .or_default()
                .push(p.clone());
        }
    }
    cands.retain(|c| {
        let (Some(p), Some(pl)) = (&c.change.product, &c.change.platform) else {
            return true;
        };
        // Only a bare family name ("Claude"), never a versioned one ("Falcon 3").
        if p.chars().any(|c| c.is_ascii_digit()) {
            return true;
        }
        let prefix = format!("{p} ");
        specific
            .get(&(c.change.kind, pl.clone()))
            .is_none_or(|v| !v.iter().any(|sp| sp.starts_with(&prefix)))
    });
    let mut index: HashMap<(String, bool), usize> = HashMap::new();
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    for c in cands {
        let k = (key(&c.change), c.denial);
        match index.get(&k) {
            Some(&i) => groups[i].push(c),
            None => {
                index.insert(k, groups.len());
                groups.push(vec![c]);
            }
        }
    }
    let mut merged: Vec<(Candidate, bool)> = Vec::new();
    for group in groups {
        let (best, conflicts) = merge_group(group);
        merged.push((best, false));
        merged.extend(
            conflicts
                .into_iter()
                .filter(|c| !c.denial)
                .map(|c| (c, true)),
        );
    }
    merged.sort_by_key(|(c, _)| c.norm_span);
    // Byte offsets in the original, then characters in one pass.
    let mut offs: Vec<usize> = merged
        .iter()
        .map(|(c, _)| c.norm_span)
        .chain(signals.iter().map(|s| s.norm_span))
        .flat_map(|(s, e)| [t.orig(s), t.orig(e)])
        .collect();
    offs.sort_unstable();
    offs.dedup();
    let chars = char_offsets(t.original, &offs);
    let to_char = |b: usize| chars[offs.binary_search(&b).unwrap_or(0)];
    let mut out = Extraction::default();
    for (mut c, conflict) in merged {
        let (s, e) = (t.orig(c.norm_span.0), t.orig(c.norm_span.1));
        c.change.evidence = t.original.get(s..e).unwrap_or("").to_string();
        c.change.span.start = to_char(s);
        c.change.span.end = to_char(e);
        c.change.parties.sort();
        c.change.parties.dedup();
        c.change.confidence = (c.change.confidence * 100.0).round() / 100.0;
        if conflict {
            out.conflicts.push(c.change);
        } else if c.denial {
            out.denials.push(c.change);
        } else {
            out.changes.push(c.change);
        }
    }
    for sg in signals {
        let (s, e) = (t.orig(sg.norm_span.0), t.orig(sg.norm_span.1));
        out.signals.push(Signal {
            kind: sg.kind,
            evidence: t.original.get(s..e).unwrap_or("").to_string(),
            span: Span {
                start: to_char(s),
                end: to_char(e),
            },
            names: sg.names,
            missing: sg.missing.to_string(),
        });
    }
    out
}
