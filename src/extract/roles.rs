//! Role fields from local patterns: who pays whom ("A's payments to B",
//! "payments from A to B", "A will no longer pay B", "B's share of A's
//! revenue") and who licenses to whom ("A's license to B's IP" makes B the
//! licensor; "A grants B a licence").

use super::entities::{Ent, Mention};

/// An organisation standing in a clause: a name or the owner of a platform.
#[derive(Debug, Clone)]
pub struct OrgAt {
    pub start: usize,
    pub end: usize,
    pub name: String,
    pub possessive: bool,
}

/// Organisations in clause order; products do not take roles.
pub fn orgs_at(ments: &[Mention]) -> Vec<OrgAt> {
    let mut out = Vec::new();
    for m in ments {
        let name = match &m.ent {
            Ent::Org(o) => o.clone(),
            Ent::Platform { owner: Some(o), .. } => o.clone(),
            _ => continue,
        };
        out.push(OrgAt {
            start: m.start,
            end: m.end,
            name,
            possessive: m.possessive,
        });
    }
    out
}

fn between(lower: &str, a: usize, b: usize) -> &str {
    if a <= b { lower[a..b].trim() } else { "" }
}

/// The first organisation after `pos` reached through `preps` ("to", "with"),
/// allowing a few words in between ("to commercial partners, Microsoft").
fn org_after_prep<'a>(
    lower: &str,
    orgs: &'a [OrgAt],
    pos: usize,
    preps: &[&str],
) -> Option<&'a OrgAt> {
    for o in orgs.iter().filter(|o| o.start >= pos) {
        let gap = &lower[pos..o.start];
        for p in preps {
            let needle = format!(" {p} ");
            // Only the gap's last words can hold the preposition (the tail
            // after it is at most 30 bytes): searching the whole gap for
            // every organisation was quadratic in a long clause.
            let from =
                super::text::floor_boundary(gap, gap.len().saturating_sub(30 + needle.len()));
            if let Some(i) = gap[from..].rfind(&needle).map(|i| i + from) {
                let tail = &gap[i + needle.len()..];
                if tail.len() <= 30 && !tail.contains(" to ") {
                    return Some(o);
                }
            }
        }
    }
    None
}

fn last_before<'a>(orgs: &'a [OrgAt], pos: usize, not: Option<&str>) -> Option<&'a OrgAt> {
    orgs.iter()
        .rev()
        .find(|o| o.end <= pos && Some(o.name.as_str()) != not)
}

const PAY_VERBS: &[&str] = &[
    "pay ",
    "pays ",
    "paying ",
    "paid ",
    "remit ",
    "remits ",
    "remitting ",
];

/// Payer and payee of a revenue share stated in `lower[start..end]`;
/// `trigger` is where the revenue-share phrase starts.
pub fn revenue(lower: &str, orgs: &[OrgAt], trigger: usize) -> (Option<String>, Option<String>) {
    // "payments from A to B"
    for a in orgs {
        if lower[..a.start].ends_with("from ")
            && let Some(b) = orgs
                .iter()
                .find(|b| b.start > a.end && between(lower, a.end, b.start) == "to")
        {
            return (Some(a.name.clone()), Some(b.name.clone()));
        }
    }
    // "A will no longer pay B", "A continues paying B"
    for v in PAY_VERBS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(v) {
            let at = from + i;
            from = at + v.len();
            if at > 0 && lower.as_bytes()[at - 1].is_ascii_alphabetic() {
                continue;
            }
            if let Some(b) = orgs.iter().find(|o| o.start == at + v.len()) {
                let payer = last_before(orgs, at, Some(&b.name)).map(|o| o.name.clone());
                return (payer, Some(b.name.clone()));
            }
        }
    }
    // "A's revenue share payments to B", "hand a slice of its revenue to B", "shares 20% with B"
    if let Some(b) = org_after_prep(lower, orgs, trigger, &["to", "with"]) {
        let payer = last_before(orgs, trigger, Some(&b.name)).map(|o| o.name.clone());
        return (payer, Some(b.name.clone()));
    }
    // "Microsoft's share of its revenue", "Microsoft revenue share": the holder of the share is paid.
    if let Some(x) = orgs.iter().rev().find(|o| {
        o.end <= trigger
            && matches!(
                between(lower, o.end, trigger),
                "'s" | "" | "'s revenue" | "'s the"
            )
    }) {
        let payer = orgs
            .iter()
            .find(|o| o.name != x.name)
            .map(|o| o.name.clone());
        return (payer, Some(x.name.clone()));
    }
    // "A sheds its revenue-share payment obligation": the subject pays.
    let payer = last_before(orgs, trigger, None)
        .filter(|o| {
            let gap = between(lower, o.end, trigger);
            gap.len() <= 40 && (gap.ends_with(" its") || gap.ends_with("'s"))
        })
        .map(|o| o.name.clone());
    (payer, None)
}

const IP_NOUNS: &[&str] = &[
    "ip",
    "intellectual property",
    "technology",
    "technologies",
    "models",
    "model",
    "tech",
];
const GRANT_VERBS: &[&str] = &[
    "grants ",
    "granted ",
    "granting ",
    "gives ",
    "gave ",
    "licenses ",
    "licensed ",
    "licences ",
];

/// Grant verbs in their bare form, which is also a noun ("a license to B's
/// models"): a verb only after a modal or "to" ("will license its models to B").
const BARE_GRANT_VERBS: &[&str] = &[
    "license ",
    "licence ",
    "sublicense ",
    "sublicence ",
    "grant ",
    "give ",
];

const MODALS: &[&str] = &[
    " will ", " to ", " also ", " would ", " shall ", " may ", " can ", " could ", " must ",
];

/// Where the bare verb `v` first stands after a modal ("will license").
fn bare_verb(lower: &str, v: &str) -> Option<usize> {
    lower
        .match_indices(v)
        .map(|(i, _)| i)
        .find(|&i| MODALS.iter().any(|m| lower[..i].ends_with(m)))
}

/// True when `o` is one of several coordinated subjects ("A and B", "A & B").
fn coordinated(lower: &str, orgs: &[OrgAt], o: &OrgAt) -> bool {
    orgs.iter().any(|p| {
        (p.end <= o.start && matches!(between(lower, p.end, o.start), "and" | "&" | ","))
            || (p.start >= o.end && matches!(between(lower, o.end, p.start), "and" | "&" | ","))
    })
}

/// Licensor and licensee of a licence stated in the clause.
pub fn license(lower: &str, orgs: &[OrgAt], trigger: usize) -> (Option<String>, Option<String>) {
    let mut licensor: Option<String> = None;
    let mut licensee: Option<String> = None;
    // The owner of the IP is the licensor: "OpenAI's intellectual property", "OpenAI IP".
    for o in orgs {
        let rest = lower[o.end..].trim_start_matches("'s").trim_start();
        if IP_NOUNS.iter().any(|n| {
            rest.starts_with(n) && !rest[n.len()..].starts_with(|c: char| c.is_ascii_alphabetic())
        }) {
            licensor = Some(o.name.clone());
            break;
        }
    }
    // "A grants B", "A licenses its models to B"; but "A licenses models from B".
    for v in GRANT_VERBS.iter().chain(BARE_GRANT_VERBS) {
        let found = if GRANT_VERBS.contains(v) {
            lower.find(v)
        } else {
            bare_verb(lower, v)
        };
        if let Some(i) = found {
            let subject = last_before(orgs, i, None);
            let object = orgs.iter().find(|o| o.start >= i + v.len());
            if let (Some(s), Some(ob)) = (subject, object)
                && lower[..ob.start].ends_with("from ")
            {
                return (Some(ob.name.clone()), Some(s.name.clone()));
            }
            if let (Some(s), Some(ob)) = (subject, object)
                && licensor.as_deref().is_none_or(|l| l == s.name)
            {
                return (Some(s.name.clone()), Some(ob.name.clone()));
            }
            if let Some(ob) = object
                && licensor.as_deref() != Some(ob.name.as_str())
            {
                licensee = Some(ob.name.clone());
            }
        }
    }
    // "a license for A"
    if licensee.is_none()
        && let Some(o) = orgs
            .iter()
            .find(|o| o.start > trigger && lower[..o.start].ends_with(" for "))
    {
        licensee = Some(o.name.clone());
    }
    // "A retains a license to B's models", "A's license to B technology"
    if licensee.is_none()
        && let Some(o) = last_before(orgs, trigger, licensor.as_deref())
        && !coordinated(lower, orgs, o)
    {
        licensee = Some(o.name.clone());
    }
    if licensor.is_none()
        && let Some(o) = orgs
            .iter()
            .find(|o| o.start > trigger && Some(o.name.as_str()) != licensee.as_deref())
    {
        licensor = Some(o.name.clone());
    }
    if licensor == licensee {
        return (licensor, None);
    }
    (licensor, licensee)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(lower: &str, name: &str, canon: &str) -> OrgAt {
        let start = lower
            .find(&name.to_ascii_lowercase())
            .expect("name present");
        let end = start + name.len();
        OrgAt {
            start,
            end,
            name: canon.into(),
            possessive: lower[end..].starts_with("'s"),
        }
    }

    fn orgs(lower: &str, names: &[&str]) -> Vec<OrgAt> {
        let mut v: Vec<OrgAt> = names.iter().map(|n| org(lower, n, n)).collect();
        v.sort_by_key(|o| o.start);
        v
    }

    #[test]
    fn payments_from_to() {
        let l = "the payments from nimbus to corvid are discontinued";
        let o = orgs(l, &["Nimbus", "Corvid"]);
        assert_eq!(
            revenue(l, &o, 4),
            (Some("Nimbus".into()), Some("Corvid".into()))
        );
    }

    #[test]
    fn subject_pays_object() {
        let l = "corvid continues paying nimbus through 2030";
        let o = orgs(l, &["Corvid", "Nimbus"]);
        assert_eq!(
            revenue(l, &o, 17),
            (Some("Corvid".into()), Some("Nimbus".into()))
        );
    }

    #[test]
    fn share_holder_is_payee() {
        let l = "helix plans to cut corvid's share of its revenue";
        let o = orgs(l, &["Helix", "Corvid"]);
        let t = l.find("share of its revenue").expect("present") - 4;
        assert_eq!(revenue(l, &o, t + 4).1.as_deref(), Some("Corvid"));
        assert_eq!(revenue(l, &o, t + 4).0.as_deref(), Some("Helix"));
    }

    #[test]
    fn ip_owner_is_licensor() {
        let l = "nimbus retains a license to corvid's models through 2031";
        let o = orgs(l, &["Nimbus", "Corvid"]);
        let t = l.find("license").expect("present");
        assert_eq!(
            license(l, &o, t),
            (Some("Corvid".into()), Some("Nimbus".into()))
        );
    }

    #[test]
    fn grantor_is_licensor() {
        let l = "corvid grants nimbus a non-exclusive licence";
        let o = orgs(l, &["Corvid", "Nimbus"]);
        let t = l.find("licence").expect("present");
        assert_eq!(
            license(l, &o, t),
            (Some("Corvid".into()), Some("Nimbus".into()))
        );
    }
}
