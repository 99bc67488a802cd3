//! Near-duplicates told once: items of one client's digest that share an
//! event family (kind and status, same parties) and the same actions are
//! one item ("GPT-5.5 and Codex on Amazon Bedrock"), and a platform and its
//! own sub-platform ("Azure", "Azure AI Foundry") are one fact, told with
//! the more specific name.

use std::sync::Arc;

use crate::model::{Action, DigestItem, Event};

/// Most products named in one grouped headline; more are "and N more".
const MAX_NAMED_PRODUCTS: usize = 4;

/// True when one platform is the other or a sub-platform of it: the
/// shorter name is the longer one's first words.
fn same_platform(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
            long.eq_ignore_ascii_case(short)
                || (long.len() > short.len()
                    && long[..short.len()].eq_ignore_ascii_case(short)
                    && long.as_bytes()[short.len()] == b' ')
        }
        _ => false,
    }
}

fn same_actions(a: &[Action], b: &[Action]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.rule_id == y.rule_id)
}

/// One fact told twice (the same product on a platform and on its own
/// sub-platform), or one family of facts with the same actions (two
/// products launched on one platform).
fn same_family(a: &DigestItem, b: &DigestItem) -> bool {
    let (x, y) = (&a.event, &b.event);
    let terms = x.kind == y.kind
        && x.status == y.status
        && x.parties == y.parties
        && x.until == y.until
        && x.effective == y.effective;
    terms
        && ((x.product == y.product && same_platform(x.platform.as_deref(), y.platform.as_deref()))
            || (x.platform == y.platform && same_actions(&a.actions, &b.actions)))
}

/// "A", "A and B", "A, B and C".
fn names(list: &[String]) -> String {
    let shown = &list[..list.len().min(MAX_NAMED_PRODUCTS)];
    let mut s = match shown {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    if list.len() > shown.len() {
        s = format!(
            "{}, and {} more",
            shown.join(", "),
            list.len() - shown.len()
        );
    }
    s
}

/// Folds near-duplicates into the first of them. `redo` gives the actions
/// and headline for a merged event (`None` leaves the item as it was).
pub(super) fn group(
    items: &mut Vec<DigestItem>,
    redo: impl Fn(&Event) -> Option<(Vec<Action>, String)>,
) {
    let mut i = 0;
    while i < items.len() {
        let mut j = i + 1;
        let mut folded: Vec<DigestItem> = Vec::new();
        while j < items.len() {
            if same_family(&items[i], &items[j]) {
                folded.push(items.remove(j));
            } else {
                j += 1;
            }
        }
        if !folded.is_empty() {
            merge(&mut items[i], folded, &redo);
        }
        i += 1;
    }
}

fn merge(
    head: &mut DigestItem,
    rest: Vec<DigestItem>,
    redo: &impl Fn(&Event) -> Option<(Vec<Action>, String)>,
) {
    let mut e: Event = (*head.event).clone();
    let mut products: Vec<String> = e.product.iter().cloned().collect();
    for item in &rest {
        let other = &item.event;
        if let Some(p) = &other.product
            && !products.contains(p)
        {
            products.push(p.clone());
        }
        // The more specific platform names the fact.
        if other.platform.as_ref().map(String::len) > e.platform.as_ref().map(String::len) {
            e.platform = other.platform.clone();
        }
        for s in &other.sources {
            if !e
                .sources
                .iter()
                .any(|k| k.url == s.url && k.evidence == s.evidence)
            {
                e.sources.push(s.clone());
            }
        }
        e.confidence = e.confidence.max(other.confidence);
        e.severity = e.severity.max(other.severity);
        e.last_seen = e.last_seen.max(other.last_seen);
        head.grouped.push(other.id.clone());
        head.grouped.extend(item.grouped.iter().cloned());
        for r in &item.reasons {
            if !head.reasons.contains(r) {
                head.reasons.push(r.clone());
            }
        }
        for d in item.details.iter().chain(&item.changes) {
            if !head.details.contains(d) {
                head.details.push(d.clone());
            }
        }
        if item.change == "new" {
            head.change = "new".into();
        }
    }
    if products.len() > 1 {
        e.product = Some(names(&products));
    }
    if let Some((actions, headline)) = redo(&e) {
        head.actions = actions;
        head.headline = headline;
    }
    head.event = Arc::new(e);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_platform_is_the_same_platform() {
        assert!(same_platform(Some("Corvid"), Some("Corvid AI Studio")));
        assert!(same_platform(Some("corvid ai studio"), Some("Corvid")));
        assert!(!same_platform(Some("Corvid"), Some("Corvidae Cloud")));
        assert!(!same_platform(Some("Corvid"), None));
    }

    #[test]
    fn names_are_listed_in_words() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&v(&["A", "B"])), "A and B");
        assert_eq!(names(&v(&["A", "B", "C"])), "A, B and C");
        assert_eq!(
            names(&v(&["A", "B", "C", "D", "E"])),
            "A, B, C, D, and 1 more"
        );
    }
}
