//! Product and platform slots for availability, pricing and deprecation:
//! lists of products ("GPT-5.5, Codex, and Managed Agents") and the platform
//! they land on, from the clause, its lead-in or heading, or the article.

use std::sync::LazyLock;

use regex::Regex;

use super::Engine;
use super::entities::{Ent, Mention};

/// A product named in a clause, with the organisation that makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub name: String,
    pub maker: Option<String>,
    pub start: usize,
}

/// A platform named in a clause, with who runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    pub name: String,
    pub owners: Vec<String>,
}

static LIST_ITEM_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*&\s*)([A-Z][\w.+\-]*(?:\s+(?:[A-Z0-9]|v\d)[\w.+\-]*){0,3})")
        .expect("static pattern is valid")
});

/// Products among `ments` (clause mentions, sorted), plus capitalised names
/// coordinated with them ("GPT-5.5, Codex, and Managed Agents").
pub fn products(norm: &str, clause_end: usize, ments: &[Mention]) -> Vec<Product> {
    let mut out: Vec<Product> = Vec::new();
    let mut walked_to = 0;
    for (i, m) in ments.iter().enumerate() {
        let Ent::Product { name, maker } = &m.ent else {
            continue;
        };
        let before = &norm[..m.start];
        // "versions of GPT-4" are not GPT-4; "Claude's roadmap" is not a launch.
        let after = norm[m.end..].trim_start();
        // "at the request of its provider, Core42": a name in apposition to
        // a maker's role is the maker.
        if before.ends_with("versions of ")
            || before.ends_with("version of ")
            || [
                "provider, ",
                "developer, ",
                "maker, ",
                "vendor, ",
                "publisher, ",
            ]
            .iter()
            .any(|r| before.ends_with(r))
            || m.possessive
            || after.starts_with("maker")
        {
            continue;
        }
        // "USD 1.10", "KRW 480": an amount, not a model.
        if is_amount(name) {
            continue;
        }
        // "retire GPT-4o and o4-mini from ChatGPT": a bare product brand in
        // the platform slot after other products is where they run, not one more.
        if !out.is_empty()
            && !name.contains(|c: char| c.is_ascii_digit() || c == ' ')
            && PLATFORM_PREPOSITIONS.iter().any(|p| before.ends_with(p))
        {
            continue;
        }
        // The possessor or the brand in front names the maker when the tables do not.
        let maker = maker.clone().or_else(|| {
            let prev = i.checked_sub(1).and_then(|j| ments.get(j))?;
            match &prev.ent {
                Ent::Org(o) if prev.end + 3 >= m.start => Some(o.clone()),
                _ => None,
            }
        });
        out.push(Product {
            name: name.clone(),
            maker,
            start: m.start,
        });
        // Walk right along a coordinated list, once: a product inside a list
        // already walked would walk the same rest again (quadratic in a long list).
        if m.end <= walked_to {
            continue;
        }
        let mut at = m.end;
        while at < clause_end {
            let Some(c) = LIST_ITEM_RE.captures(&norm[at..clause_end]) else {
                break;
            };
            let g = c.get(1).expect("group 1 always matches");
            let (s, e) = (at + g.start(), at + g.end());
            if let Some(k) = ments
                .get(ments.partition_point(|k| k.start < s))
                .filter(|k| k.start == s)
            {
                // Already a known name: a product is taken in its own turn; anything else ends the list.
                if !matches!(k.ent, Ent::Product { .. }) {
                    break;
                }
                at = k.end;
                continue;
            }
            let item = g.as_str().trim_end_matches(['.', ',']);
            if item
                .split_whitespace()
                .any(|w| w.chars().next().is_some_and(|c| c.is_lowercase()))
            {
                break;
            }
            out.push(Product {
                name: item.to_string(),
                maker: None,
                start: s,
            });
            at = e;
        }
        walked_to = at;
    }
    // Names written short after the full form ("Opus 4.1" after "Claude Sonnet 4.5") keep their family.
    if let Some(first) = out.first().cloned()
        && let Some((family, _)) = first.name.split_once(' ')
    {
        for p in out.iter_mut().skip(1) {
            let fam_word = first.name.split(' ').nth(1).unwrap_or("");
            let shaped = p.maker.is_none()
                && first.maker.is_some()
                && p.name.split(' ').count() == first.name.split(' ').count() - 1
                && fam_word.chars().next().is_some_and(|c| c.is_uppercase())
                && p.name.chars().next().is_some_and(|c| c.is_uppercase())
                && p.name.chars().any(|c| c.is_ascii_digit())
                && !p.name.starts_with(family);
            if shaped {
                p.name = format!("{family} {}", p.name);
                if p.maker.is_none() {
                    p.maker = first.maker.clone();
                }
            }
        }
    }
    if !out.is_empty() {
        let starts: std::collections::HashSet<usize> = out.iter().map(|p| p.start).collect();
        let last_end = ments
            .iter()
            .filter(|m| starts.contains(&m.start))
            .map(|m| m.end)
            .max()
            .unwrap_or(0);
        let rest = norm[last_end.min(clause_end)..clause_end].trim_start();
        if rest.starts_with("model versions") || rest.starts_with("versions") {
            out.clear();
        }
    }
    // "Mistral Small v24.09 (mistral-small-2409)": the id in brackets is the
    // same model, and notices key on the id.
    let ids: std::collections::HashSet<usize> = out.iter().map(|p| p.start).collect();
    out.retain(|p| {
        let end = ments.iter().find(|m| m.start == p.start).map(|m| m.end);
        !end.is_some_and(|e| norm[e..].starts_with(" (") && ids.contains(&(e + 2)))
    });
    out.iter_mut()
        .filter(|p| opens_a_line(norm, p.start))
        .for_each(strip_headline_word);
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.name.clone()));
    out
}

/// Nouns a platform name modifies without being the place a product runs.
const MODIFIED_NOUNS: &[&str] = &[
    "customer",
    "customers",
    "user",
    "users",
    "credits",
    "credit",
    "commitment",
    "commitments",
    "agreement",
    "agreements",
    "billing",
    "services",
    "infrastructure",
    "datacenters",
    "sales",
    "team",
    "teams",
    "partners",
    "ecosystem",
    "spend",
    "contract",
    "contracts",
    "portal",
];

const PLATFORM_PREPOSITIONS: &[&str] = &[
    " from ",
    " on ",
    " in ",
    " into ",
    " to ",
    " via ",
    " through ",
    " inside ",
    " within ",
];

/// A family word glued to its version ("Qwen3-Max", "Orca2.5 Mini",
/// "Heron4-VL"): the gazetteer's family match needs a word boundary and the
/// shape finder a space, so neither sees it.
static GLUED_VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][a-z]{2,}\d+(?:\.\d+)?[a-z]?(?:-[A-Za-z0-9]+)*(?:\s+(?:Mini|Max|Pro|Plus|Turbo|Flash|Lite|Instruct|Vision|Chat|Coder))?\b")
        .expect("static pattern is valid")
});

/// Products written as a family word glued to a version, outside known names.
pub fn glued_versions(
    e: &Engine,
    norm: &str,
    from: usize,
    to: usize,
    known: &[Mention],
    out: &mut Vec<Mention>,
) {
    for m in GLUED_VERSION_RE.find_iter(&norm[from..to]) {
        let (s, end) = (from + m.start(), from + m.end());
        if known.iter().any(|k| k.start < end && s < k.end) {
            continue;
        }
        let family: String = m
            .as_str()
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect();
        out.push(Mention {
            start: s,
            end,
            ent: Ent::Product {
                name: m.as_str().to_string(),
                maker: e.gaz.org_for_word(&family).map(str::to_string),
            },
            possessive: norm[end..].starts_with("'s "),
        });
    }
}

static PLATFORM_SLOT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:on|in|into|to|through|via|from)\s+(?:the\s+)?([A-Z][\w.\-]*(?:'s)?(?:\s+[A-Z0-9][\w.\-]*){0,3})")
        .expect("static pattern is valid")
});

const NOT_PLATFORM: &[&str] = &[
    "US",
    "EU",
    "East",
    "West",
    "North",
    "South",
    "Central",
    "Europe",
    "Asia",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "The",
    "Tuesday",
    "Monday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "SQL",
    "Python",
    "Preview",
    "General",
];

/// Platforms in the clause: known ones (not "Azure regions"), else a
/// capitalised name after "on", "in", "to"... following the trigger.
pub fn platforms(
    norm: &str,
    from: usize,
    to: usize,
    ments: &[Mention],
    products: &[Product],
) -> Vec<Platform> {
    let mut out: Vec<Platform> = Vec::new();
    // "Google Cloud's Vertex AI": the possessor owns the platform, it is not one more.
    let has_plain = ments
        .iter()
        .any(|m| matches!(m.ent, Ent::Platform { .. }) && !m.possessive);
    let modifies = |m: &Mention| {
        let next: String = norm[m.end..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase();
        MODIFIED_NOUNS.contains(&next.as_str())
    };
    // "Foundry customers" is the platform when nothing else is named.
    let has_slot = ments
        .iter()
        .any(|m| matches!(m.ent, Ent::Platform { .. }) && !m.possessive && !modifies(m));
    for m in ments {
        if m.possessive && has_plain {
            continue;
        }
        if let Ent::Platform {
            name,
            owner,
            partner,
        } = &m.ent
        {
            let next = norm[m.end..].trim_start();
            let next_l = next.to_ascii_lowercase();
            // "Azure customers", "AWS credits": the platform's name as a modifier.
            if ["region", "tenant", "subscription", "account"]
                .iter()
                .any(|w| next_l.starts_with(w))
                || (has_slot && modifies(m))
            {
                continue;
            }
            if out.iter().any(|p| p.name == *name) {
                continue;
            }
            out.push(Platform {
                name: name.clone(),
                owners: owner.iter().chain(partner.iter()).cloned().collect(),
            });
        }
    }
    if !out.is_empty() {
        return out;
    }
    for c in PLATFORM_SLOT_RE.captures_iter(&norm[from..to]) {
        let g = c.get(1).expect("group 1 always matches");
        let (s, e) = (from + g.start(), from + g.end());
        let text = g.as_str().trim_end_matches(['.', ',']);
        let first = text.split(' ').next().unwrap_or("");
        if NOT_PLATFORM.contains(&first)
            || text.ends_with("Region")
            || text.ends_with("Regions")
            || is_amount(text)
        {
            continue;
        }
        if products.iter().any(|p| p.start >= s && p.start < e) {
            continue;
        }
        // "in the Global Standard deployment": a deployment type, not a platform.
        let after: String = norm[e..to]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(
            after.as_str(),
            "deployment" | "deployments" | "tier" | "tiers" | "plan" | "plans" | "sku" | "edition"
        ) {
            continue;
        }
        // "in the Stockholm (se-sto-1) and Helsinki regions": places, not
        // platforms; but in "Corvid Cloud's Osaka region" the possessor is
        // the cloud the place belongs to.
        let tail = &norm[e..super::text::floor_boundary(norm, to.min(e + 60))];
        let tail = tail.split(['.', ':', ';']).next().unwrap_or(tail);
        let region = tail.split_whitespace().take(6).any(|w| {
            let w = w
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_ascii_lowercase();
            w == "region" || w == "regions"
        });
        let inside: Vec<&Mention> = ments
            .iter()
            .filter(|m| m.start >= s && m.end <= e)
            .collect();
        let possessor = text
            .split_once("'s ")
            .map(|x| x.0)
            .or_else(|| norm[e..].starts_with("'s ").then_some(text));
        let name = match (region, possessor) {
            (true, Some(owner)) if !owner.is_empty() => owner.to_string(),
            (true, _) => continue,
            (false, _) => match inside.first() {
                Some(m) if m.possessive => {
                    norm[m.end..e].trim_start_matches("'s").trim().to_string()
                }
                _ => text.to_string(),
            },
        };
        if name.is_empty() {
            continue;
        }
        let owners: Vec<String> = match inside.first().map(|m| &m.ent) {
            Some(Ent::Org(o)) => vec![o.clone()],
            _ if name.split(' ').count() >= 2 && !name.contains(char::is_numeric) => {
                vec![name.clone()]
            }
            _ => Vec::new(),
        };
        out.push(Platform { name, owners });
        break;
    }
    out
}

/// "the API", "our APIs": the vendor's own API, named without its vendor.
pub fn is_bare_api(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    matches!(
        n.as_str(),
        "api" | "apis" | "api platform" | "developer platform" | "developer api"
    )
}

/// The maker a lower-case model id names by its first part ("orca-chat-2"
/// is an Orca model; "corvid.orca-2" is Corvid's).
pub fn id_maker(e: &Engine, name: &str) -> Option<String> {
    if name.contains(' ') || name.chars().any(|c| c.is_uppercase()) {
        return None;
    }
    let first = name.split(['-', '.', '_', '/']).find(|w| !w.is_empty())?;
    e.gaz.org_for_word(first).map(str::to_string)
}

/// A currency code and a number ("USD 1.10"), which has a model's shape.
fn is_amount(name: &str) -> bool {
    let mut w = name.split([' ', '-']);
    let code = w.next().unwrap_or("");
    code.len() == 3
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && CURRENCIES.contains(&code)
        && w.next()
            .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
}

const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "KRW", "CNY", "RMB", "INR", "CHF", "CAD", "AUD", "SGD", "HKD",
    "BRL", "MXN", "SEK", "NOK", "DKK", "PLN", "AED", "SAR", "ZAR", "TWD", "IDR", "THB",
];

/// "these models are available on ...": the clause names its products only
/// by reference, to the ones the headline announces.
pub fn refers_to_models(lower_clause: &str) -> bool {
    const REFS: &[&str] = &[
        "these models",
        "these new models",
        "the new models",
        "both models",
        "these two models",
        "the refreshed models",
        "the updated models",
        "this model",
        "the new model",
    ];
    REFS.iter().any(|r| lower_clause.contains(r))
}

/// The products the article's title names, known or by shape.
pub fn title_products(a: &super::analyse::ArticleCtx) -> Vec<Product> {
    let Some(title) = a
        .doc
        .blocks
        .iter()
        .find(|b| b.kind == super::segment::BlockKind::Title)
    else {
        return Vec::new();
    };
    let mut ments: Vec<Mention> =
        super::analyse::slice(a.ments, title.start, title.end, |m| m.start)
            .iter()
            .filter(|m| m.end <= title.end)
            .cloned()
            .collect();
    let mut extra = Vec::new();
    super::entities::unknown_products(&a.t.norm, title.start, title.end, &ments, &mut extra);
    ments.append(&mut extra);
    ments.sort_by_key(|m| m.start);
    products(&a.t.norm, title.end, &ments)
}

/// Whether `at` opens its line or a head ("Update: ..."), where a headline's
/// capitalised first word stands; mid-sentence, "Managed Agents" is a name.
fn opens_a_line(norm: &str, at: usize) -> bool {
    let before = norm[..at].trim_end_matches([' ', '\t']);
    before.is_empty() || before.ends_with(['\n', ':', '-', '*'])
}

/// Headlines capitalise every word: "Refreshed Tarn 3" is Tarn 3.
fn strip_headline_word(p: &mut Product) {
    if let Some((first, rest)) = p.name.split_once(' ')
        && (first.ends_with("ed")
            || matches!(
                first,
                "New" | "Latest" | "Introducing" | "Announcing" | "Meet"
            ))
        && rest.starts_with(|c: char| c.is_uppercase())
        && p.maker.is_none()
    {
        p.name = rest.to_string();
    }
}

/// Triggers whose subject hosts the product ("X now supports Y", "X adds
/// support for Y"), unlike "Y is available on X".
pub fn subject_hosts(lower_from_trigger: &str) -> bool {
    ["now support", "adds support", "added support"]
        .iter()
        .any(|p| lower_from_trigger.starts_with(p))
}

/// The platform the headline names by position ("New on Corvid Market:",
/// "Orca 3 lands in Stratus Studio"), for items that name none.
pub fn title_platform(a: &super::analyse::ArticleCtx) -> Option<Platform> {
    let title = a
        .doc
        .blocks
        .iter()
        .find(|b| b.kind == super::segment::BlockKind::Title)?;
    let ments = super::analyse::slice(a.ments, title.start, title.end, |m| m.start);
    let prods = title_products(a);
    platforms(&a.t.norm, title.start, title.end, ments, &prods)
        .into_iter()
        .next()
        .or_else(|| {
            // A breadcrumb or masthead that names a catalogue by its kind of
            // place ("Kestrel AI Studio > Partners").
            let m = PLATFORM_SUFFIX_RE.find(&a.t.norm[title.start..title.end])?;
            Some(Platform {
                name: m.as_str().to_string(),
                owners: Vec::new(),
            })
        })
}

static PLATFORM_SUFFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][\w.\-]*(?:\s+[A-Z][\w.\-]*){0,2}\s+(?:Studio|Marketplace|Hub|Platform|Console|Catalog|Catalogue|Garden|Gallery)\b")
        .expect("static pattern is valid")
});

/// A capitalised name and what follows it up to the next capital.
static HEADED_NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][\w.+\-]*(?: [A-Z0-9][\w.+\-]*){0,4}\b").expect("static pattern is valid")
});

/// Nouns that make the capitalised name before them a product ("the
/// Radiology Insights model", "the Batch Export API").
const PRODUCT_HEADS: &[&str] = &[
    "service",
    "services",
    "model",
    "models",
    "api",
    "apis",
    "feature",
    "features",
    "endpoint",
    "endpoints",
    "integration",
    "integrations",
    "connector",
    "connectors",
    "sdk",
    "app",
    "add-in",
    "extension",
    "plugin",
];

/// Words that open a capitalised run without being part of the name.
const OPENERS: &[&str] = &[
    "The",
    "A",
    "An",
    "Our",
    "Its",
    "Their",
    "All",
    "Both",
    "As",
    "These",
    "This",
    "Those",
    "Two",
    "Three",
    "Four",
    "Five",
    "Several",
    "Some",
    "Other",
    "Older",
    "Remaining",
];

/// Products a retirement notice names only by a head noun after them:
/// "the Clinical Trials Matcher and Radiology Insights models will be
/// retired" is two products; a coordinated name takes the head of the last.
pub fn headed_products(norm: &str, from: usize, to: usize, ments: &[Mention]) -> Vec<Product> {
    let runs: Vec<(usize, usize)> = HEADED_NAME_RE
        .find_iter(&norm[from..to])
        .map(|m| (from + m.start(), from + m.end()))
        .collect();
    let mut headed = vec![false; runs.len()];
    for i in (0..runs.len()).rev() {
        let rest = &norm[runs[i].1..to];
        let head = rest
            .strip_prefix(' ')
            .and_then(|r| r.split(|c: char| !(c.is_alphanumeric() || c == '-')).next())
            .unwrap_or("")
            .to_ascii_lowercase();
        let coordinated = i + 1 < runs.len()
            && headed[i + 1]
            && [" and ", ", ", ", and ", " and the ", " or "]
                .iter()
                .any(|j| runs[i].1 + j.len() == runs[i + 1].0 && rest.starts_with(j));
        headed[i] = PRODUCT_HEADS.contains(&head.as_str()) || coordinated;
    }
    let mut out = Vec::new();
    for (i, &(mut s, e)) in runs.iter().enumerate() {
        if !headed[i] {
            continue;
        }
        while let Some((first, _)) = norm[s..e].split_once(' ')
            && OPENERS.contains(&first)
        {
            s += first.len() + 1;
        }
        if OPENERS.contains(&&norm[s..e]) {
            continue;
        }
        // A known organisation or platform ("the Bedrock service") is not a product.
        let known = ments
            .iter()
            .any(|m| m.start <= s && m.end >= e && !matches!(m.ent, Ent::Product { .. }));
        if known {
            continue;
        }
        out.push(Product {
            name: norm[s..e].to_string(),
            maker: None,
            start: s,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        headed_products(s, 0, s.len(), &[])
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    #[test]
    fn head_nouns_name_products_and_coordination_shares_the_last_head() {
        assert_eq!(
            names(
                "The Quayside Vision service and the Harbor Scan and Tide Reader models will be retired."
            ),
            vec!["Quayside Vision", "Harbor Scan", "Tide Reader"]
        );
    }

    #[test]
    fn a_name_without_a_head_noun_is_not_a_product() {
        assert!(names("After a review, Corvid Cloud will retire two models.").is_empty());
    }
}
