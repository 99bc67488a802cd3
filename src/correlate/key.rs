//! The matching rule: which reports describe the same change.
//!
//! The key follows the spec's rule (product and platform for availability,
//! pricing and deprecation; payer and payee for revenue share; licensor and
//! licensee for licences; the party set otherwise), after canonicalising
//! names so that "GPT-5.5" and "gpt 5.5" or an alias from the config meet.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::model::{ChangeKind, TermChange};

/// Kind plus canonical key fields; equal keys may be one event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub kind: ChangeKind,
    pub parts: Vec<String>,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.parts.join("|"))
    }
}

/// Canonical names from `[correlate.aliases]`, normalised once per run,
/// and a memo of names already canonicalised: the same few organisation
/// and product names recur in almost every report.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    aliases: HashMap<String, String>,
    seen: RefCell<HashMap<String, String>>,
}

impl Aliases {
    pub fn new(config: &BTreeMap<String, String>) -> Aliases {
        Aliases {
            aliases: config
                .iter()
                .map(|(alias, canonical)| (normalise(alias), normalise(canonical)))
                .collect(),
            seen: RefCell::default(),
        }
    }

    /// The canonical form of a name: normalised, then mapped through the aliases.
    pub fn canonical(&self, name: &str) -> String {
        if let Some(c) = self.seen.borrow().get(name) {
            return c.clone();
        }
        let n = normalise(name);
        let c = self.aliases.get(&n).cloned().unwrap_or(n);
        self.seen.borrow_mut().insert(name.to_string(), c.clone());
        c
    }
}

/// Lower case, NFKC, punctuation folded to spaces (a dot between digits is
/// kept, so "5.5" stays a version), whitespace collapsed.
pub(crate) fn normalise(name: &str) -> String {
    let chars: Vec<char> = name.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let keep = c.is_alphanumeric()
            || (c == '.'
                && i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()));
        if keep {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

impl Key {
    pub fn of(change: &TermChange, aliases: &Aliases) -> Key {
        let opt = |v: &Option<String>| v.as_deref().map(|s| aliases.canonical(s));
        let pair = |a: &Option<String>, b: &Option<String>| match (opt(a), opt(b)) {
            (None, None) => None,
            (a, b) => Some(vec![a.unwrap_or_default(), b.unwrap_or_default()]),
        };
        let parts = if change.kind.is_product_kind() {
            vec![
                opt(&change.product).unwrap_or_default(),
                opt(&change.platform).unwrap_or_default(),
            ]
        } else {
            let roles = match change.kind {
                ChangeKind::RevenueShare => pair(&change.payer, &change.payee),
                ChangeKind::License => pair(&change.licensor, &change.licensee),
                _ => None,
            };
            // Without roles, a directed kind falls back to the party set, so a
            // report that misses the direction still meets its peers by parties.
            roles.unwrap_or_else(|| party_set(&change.parties, aliases))
        };
        Key {
            kind: change.kind,
            parts,
        }
    }
}

impl Key {
    /// True for a revenue share or licence keyed by its roles.
    pub fn is_directed(&self) -> bool {
        matches!(self.kind, ChangeKind::RevenueShare | ChangeKind::License)
            && self.parts.first().is_none_or(|p| p != "parties")
    }

    /// The party-set key the same change would have without its roles.
    pub fn undirected(change: &TermChange, aliases: &Aliases) -> Key {
        Key {
            kind: change.kind,
            parts: party_set(&change.parties, aliases),
        }
    }
}

fn party_set(parties: &[String], aliases: &Aliases) -> Vec<String> {
    let mut set: Vec<String> = parties.iter().map(|p| aliases.canonical(p)).collect();
    set.sort();
    set.dedup();
    // Marks a party set apart from a role pair of the same names.
    set.insert(0, "parties".to_string());
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::tests::change;

    #[test]
    fn names_fold_case_punctuation_and_spacing() {
        assert_eq!(normalise("GPT-5.5"), "gpt 5.5");
        assert_eq!(normalise("  gpt   5.5 "), "gpt 5.5");
        assert_eq!(normalise("Amazon Bedrock."), "amazon bedrock");
        assert_eq!(normalise("Nimbus Labs, Inc."), "nimbus labs inc");
    }

    #[test]
    fn aliases_map_to_one_name() {
        let cfg = BTreeMap::from([("Bedrock".to_string(), "Amazon Bedrock".to_string())]);
        let a = Aliases::new(&cfg);
        assert_eq!(a.canonical("bedrock"), "amazon bedrock");
        assert_eq!(a.canonical("Amazon  Bedrock"), "amazon bedrock");
    }

    #[test]
    fn revenue_share_direction_is_part_of_the_key() {
        let a = Aliases::default();
        let mut one = change(ChangeKind::RevenueShare, &["Corvid Cloud", "Nimbus Labs"]);
        one.payer = Some("Nimbus Labs".into());
        one.payee = Some("Corvid Cloud".into());
        let mut other = one.clone();
        std::mem::swap(&mut other.payer, &mut other.payee);
        assert_ne!(Key::of(&one, &a), Key::of(&other, &a));
    }

    #[test]
    fn party_order_does_not_matter() {
        let a = Aliases::default();
        let one = change(ChangeKind::Exclusivity, &["Corvid Cloud", "Nimbus Labs"]);
        let other = change(ChangeKind::Exclusivity, &["nimbus labs", "Corvid Cloud"]);
        assert_eq!(Key::of(&one, &a), Key::of(&other, &a));
    }
}
