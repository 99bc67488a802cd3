//! Contradictions between the reports of one event.
//!
//! Reports contradict when one says a term stops and another that it goes on
//! (ended vs continues or capped), when one says exclusive and another
//! non-exclusive, or when they give different `until` dates. Two statuses
//! that can both be true ("continues" and "capped") are not a dispute. A
//! dispute on a field is settled only by vendor sources that state the
//! field and agree with each other; until then the event shows each value
//! with its sources side by side.

use std::collections::BTreeMap;

use crate::model::{Claim, Report, Status, Trust};

use super::source_of;

/// Whether a status says the term stops (`Some(false)`), goes on
/// (`Some(true)`) or does not say (`None`).
fn goes_on(status: Status) -> Option<bool> {
    use Status::*;
    match status {
        Ended | Withdrawn | Retired => Some(false),
        Started | Continues | Capped | Extended | Available | Preview | Exclusive => Some(true),
        // "narrowed", "non_exclusive" and "changed" are compatible with both.
        Narrowed | NonExclusive | Changed => None,
    }
}

fn statuses_conflict(a: Status, b: Status) -> bool {
    use Status::*;
    if matches!(
        (a, b),
        (Exclusive, NonExclusive) | (NonExclusive, Exclusive)
    ) {
        return true;
    }
    matches!((goes_on(a), goes_on(b)), (Some(x), Some(y)) if x != y)
}

/// "2030" and "2030-12-31" name the same end; "2030" and "2032" do not.
fn untils_conflict(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase());
    !(a.starts_with(&b) || b.starts_with(&a))
}

/// One field's values and the reports behind each.
struct Field<'a> {
    name: &'static str,
    values: BTreeMap<String, Vec<&'a Report>>,
    /// Whether any two of the values contradict each other.
    any_conflict: fn(&[&String]) -> bool,
}

/// Pairwise, but a status has 13 values at most and a bool two.
fn statuses_any_conflict(vals: &[&String]) -> bool {
    let parsed: Vec<Status> = vals.iter().filter_map(|v| parse_status(v)).collect();
    parsed
        .iter()
        .enumerate()
        .any(|(i, a)| parsed[i + 1..].iter().any(|b| statuses_conflict(*a, *b)))
}

fn parse_status(s: &str) -> Option<Status> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn bools_any_conflict(vals: &[&String]) -> bool {
    vals.len() > 1
}

/// Dates agree pairwise only when each is a prefix of the longest, which is
/// linear to check however many distinct dates the reports give.
fn untils_any_conflict(vals: &[&String]) -> bool {
    let Some(longest) = vals.iter().max_by_key(|v| v.len()) else {
        return false;
    };
    vals.iter().any(|v| untils_conflict(v, longest))
}

/// The claims of every unsettled contradiction among `reports`, field by
/// field (`status`, `exclusive`, `until`); empty when the reports agree.
pub(crate) fn claims(reports: &[&Report]) -> Vec<Claim> {
    let mut fields = [
        Field {
            name: "status",
            values: BTreeMap::new(),
            any_conflict: statuses_any_conflict,
        },
        Field {
            name: "exclusive",
            values: BTreeMap::new(),
            any_conflict: bools_any_conflict,
        },
        Field {
            name: "until",
            values: BTreeMap::new(),
            any_conflict: untils_any_conflict,
        },
    ];
    for r in reports {
        let c = &r.change;
        fields[0]
            .values
            .entry(c.status.as_str().to_string())
            .or_default()
            .push(r);
        if let Some(x) = c.exclusive {
            fields[1].values.entry(x.to_string()).or_default().push(r);
        }
        if let Some(u) = &c.until {
            fields[2]
                .values
                .entry(u.trim().to_string())
                .or_default()
                .push(r);
        }
    }
    let mut out = Vec::new();
    for f in &fields {
        let all: Vec<&String> = f.values.keys().collect();
        if !(f.any_conflict)(&all) {
            continue;
        }
        let vendor: Vec<&String> = f
            .values
            .iter()
            .filter(|(_, rs)| rs.iter().any(|r| r.trust == Trust::Vendor))
            .map(|(v, _)| v)
            .collect();
        // A vendor's own word settles the field, unless the vendor's own
        // sources disagree with each other.
        if !vendor.is_empty() && !(f.any_conflict)(&vendor) {
            continue;
        }
        for (value, rs) in &f.values {
            out.push(Claim {
                field: f.name.to_string(),
                value: value.clone(),
                sources: rs.iter().map(|r| source_of(r)).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_and_go_conflict_but_capped_and_continues_do_not() {
        assert!(statuses_conflict(Status::Ended, Status::Capped));
        assert!(statuses_conflict(Status::Continues, Status::Ended));
        assert!(statuses_conflict(Status::Exclusive, Status::NonExclusive));
        assert!(!statuses_conflict(Status::Capped, Status::Continues));
        assert!(!statuses_conflict(Status::Ended, Status::NonExclusive));
        assert!(!statuses_conflict(Status::Changed, Status::Retired));
    }

    #[test]
    fn a_precise_until_agrees_with_its_year() {
        assert!(!untils_conflict("2030", "2030-12-31"));
        assert!(untils_conflict("2030", "2032"));
        let (a, b, c) = (
            "2030".to_string(),
            "2030-12".to_string(),
            "2030-12-31".to_string(),
        );
        assert!(!untils_any_conflict(&[&a, &b, &c]));
        let d = "2031".to_string();
        assert!(untils_any_conflict(&[&a, &b, &c, &d]));
    }
}
