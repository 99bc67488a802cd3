//! One list of changes from the model's parts, and the rules and the model
//! together for `backend = "both"`, by the rules' own change key.
//!
//! In `both`, the rules are the reference: a change both found gets more
//! confidence; the model fills role and date slots the rules left empty; a
//! slot where they disagree keeps the rules' value and the change loses
//! confidence. A change only the model found keeps its checked evidence and
//! a lower confidence; one only the rules found is unchanged.

use super::Backend;
use crate::extract::merge::key;
use crate::model::{Extraction, TermChange};

/// Added to the rules' confidence when the model found the same change.
const AGREE_BONUS: f32 = 0.1;
/// Taken off when the model disagrees on a slot the rules filled.
const DISAGREE_PENALTY: f32 = 0.15;

/// The output for `backend`: the rules' extraction with the model's
/// verified changes. With `llm` the model's changes replace the rules'
/// (their denials and signals stay: the model is not asked for those).
pub fn combine(backend: Backend, rules: Extraction, model: Vec<TermChange>) -> Extraction {
    let model = dedup(model);
    match backend {
        Backend::Rules => rules,
        Backend::Llm => Extraction {
            changes: model,
            conflicts: Vec::new(),
            ..rules
        },
        Backend::Both => both(rules, model),
    }
}

/// One change per key (the parts of a long article overlap): the first
/// statement, with empty slots filled from later ones.
fn dedup(changes: Vec<TermChange>) -> Vec<TermChange> {
    let mut out: Vec<TermChange> = Vec::new();
    for c in changes {
        match out.iter_mut().find(|o| key(o) == key(&c)) {
            Some(o) => {
                fill(o, &c);
            }
            None => out.push(c),
        }
    }
    out
}

fn both(mut rules: Extraction, model: Vec<TermChange>) -> Extraction {
    let mut extra = Vec::new();
    for m in model {
        match rules.changes.iter_mut().find(|r| key(r) == key(&m)) {
            Some(r) => {
                let disagreements = fill(r, &m);
                let delta = if disagreements > 0 {
                    -DISAGREE_PENALTY
                } else {
                    AGREE_BONUS
                };
                r.confidence = (r.confidence + delta).clamp(0.1, 0.99);
            }
            None => extra.push(m),
        }
    }
    rules.changes.extend(extra);
    rules
}

/// Fills `into`'s empty role and date slots from `from`; returns on how
/// many filled slots the two disagree (`into` keeps its value).
fn fill(into: &mut TermChange, from: &TermChange) -> usize {
    let mut disagree = 0;
    for (a, b) in [
        (&mut into.licensor, &from.licensor),
        (&mut into.licensee, &from.licensee),
        (&mut into.payer, &from.payer),
        (&mut into.payee, &from.payee),
        (&mut into.until, &from.until),
        (&mut into.effective, &from.effective),
    ] {
        match (a.as_ref(), b) {
            (None, Some(v)) => *a = Some(v.clone()),
            (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y) => disagree += 1,
            _ => {}
        }
    }
    match (into.exclusive, from.exclusive) {
        (None, Some(v)) => into.exclusive = Some(v),
        (Some(x), Some(y)) if x != y => disagree += 1,
        _ => {}
    }
    if into.status != from.status {
        disagree += 1;
    }
    disagree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeKind, Span, Status};

    fn change(kind: ChangeKind, parties: &[&str], conf: f32) -> TermChange {
        TermChange {
            kind,
            parties: parties.iter().map(|s| s.to_string()).collect(),
            licensor: None,
            licensee: None,
            payer: None,
            payee: None,
            product: None,
            platform: None,
            status: Status::Started,
            exclusive: None,
            until: None,
            effective: None,
            evidence: "x".into(),
            span: Span::default(),
            confidence: conf,
        }
    }

    #[test]
    fn both_raises_agreement_fills_slots_and_keeps_the_rules_on_a_disagreement() {
        let rules = Extraction {
            changes: vec![
                change(ChangeKind::Investment, &["A", "B"], 0.8),
                change(ChangeKind::Governance, &["A", "B"], 0.8),
            ],
            ..Extraction::default()
        };
        let mut agree = change(ChangeKind::Investment, &["A", "B"], 0.7);
        agree.until = Some("2030".into());
        let mut differ = change(ChangeKind::Governance, &["A", "B"], 0.7);
        differ.status = Status::Ended;
        let only = change(ChangeKind::Exclusivity, &["A", "C"], 0.7);
        let out = combine(Backend::Both, rules, vec![agree, differ, only]);
        assert_eq!(out.changes.len(), 3);
        assert!((out.changes[0].confidence - 0.9).abs() < 1e-6);
        assert_eq!(out.changes[0].until.as_deref(), Some("2030"));
        assert_eq!(out.changes[1].status, Status::Started);
        assert!(out.changes[1].confidence < 0.8);
        assert_eq!(out.changes[2].kind, ChangeKind::Exclusivity);
    }

    #[test]
    fn llm_replaces_the_rules_changes_and_merges_overlapping_parts() {
        let rules = Extraction {
            changes: vec![change(ChangeKind::Investment, &["A", "B"], 0.8)],
            ..Extraction::default()
        };
        let a = change(ChangeKind::Exclusivity, &["A", "C"], 0.7);
        let mut b = a.clone();
        b.until = Some("2029".into());
        let out = combine(Backend::Llm, rules, vec![a, b]);
        assert_eq!(out.changes.len(), 1);
        assert_eq!(out.changes[0].until.as_deref(), Some("2029"));
    }
}
