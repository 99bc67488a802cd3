//! Entities in layers: a gazetteer of organisations, platforms and product
//! families (from `aliases.toml` plus the user's `[extract]` additions), then
//! patterns for names in no table: organisations by suffix ("Nimbus Labs",
//! "Corvid Cloud") or by the verb they are subject of, and products by shape
//! (a capitalised name with a version: "Falcon 3 Turbo", "gpt-4o-mini").

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::text::is_word_byte;

/// An organisation and the other names it goes by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgAlias {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A platform (cloud, model catalogue, marketplace) and who runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformAlias {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The organisation that runs the platform.
    #[serde(default)]
    pub owner: Option<String>,
    /// A second organisation the platform is named for ("Azure OpenAI").
    #[serde(default)]
    pub partner: Option<String>,
}

/// A product family word and its maker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub name: String,
    pub maker: String,
    /// True when the bare word is a product ("ChatGPT"), false when it needs
    /// a version or variant ("Nova Pro").
    #[serde(default)]
    pub standalone: bool,
}

/// The alias tables, as shipped and as extended by the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tables {
    pub organisations: Vec<OrgAlias>,
    pub platforms: Vec<PlatformAlias>,
    pub families: Vec<Family>,
}

/// The tables shipped with termwatch.
pub const BUILTIN_ALIASES: &str = include_str!("aliases.toml");

#[derive(Debug, Clone, PartialEq)]
pub enum Ent {
    Org(String),
    Platform {
        name: String,
        owner: Option<String>,
        partner: Option<String>,
    },
    Product {
        name: String,
        maker: Option<String>,
    },
}

/// A name found in the text. Offsets are bytes in `Text::norm`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub ent: Ent,
    /// Followed by "'s": the owner of what comes next.
    pub possessive: bool,
}

impl Mention {
    /// The organisations this mention stands for as a party.
    pub fn orgs(&self) -> Vec<&str> {
        match &self.ent {
            Ent::Org(o) => vec![o.as_str()],
            Ent::Platform { owner, partner, .. } => owner
                .iter()
                .chain(partner.iter())
                .map(|s| s.as_str())
                .collect(),
            Ent::Product { maker, .. } => maker.iter().map(|s| s.as_str()).collect(),
        }
    }
}

/// Spans sorted by start with the running maximum of their ends, so "does
/// any name already cover part of `[s, e)`?" is one binary search. A scan of
/// every mention per candidate name made extraction quadratic in the number
/// of names (issue 11: 44 s for 3.2 MB of "Microsoft and Acme Corp, ").
pub struct Spans {
    starts: Vec<usize>,
    max_end: Vec<usize>,
}

impl Spans {
    pub fn new<'m>(ments: impl IntoIterator<Item = &'m Mention>) -> Spans {
        Spans::of(ments.into_iter().map(|m| (m.start, m.end)))
    }

    /// The same over plain `(start, end)` ranges.
    pub fn of(spans: impl IntoIterator<Item = (usize, usize)>) -> Spans {
        let mut v: Vec<(usize, usize)> = spans.into_iter().collect();
        v.sort_unstable();
        let mut max = 0;
        let max_end = v
            .iter()
            .map(|&(_, e)| {
                max = max.max(e);
                max
            })
            .collect();
        Spans {
            starts: v.into_iter().map(|(s, _)| s).collect(),
            max_end,
        }
    }

    /// True when a span starts before `e` and ends after `s`.
    pub fn overlaps(&self, s: usize, e: usize) -> bool {
        let i = self.starts.partition_point(|&x| x < e);
        i > 0 && self.max_end[i - 1] > s
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Org(usize),
    Platform(usize),
    Family(usize),
}

/// The compiled gazetteer.
pub struct Gazetteer {
    tables: Tables,
    ac: AhoCorasick,
    entries: Vec<Entry>,
}

impl Gazetteer {
    pub fn new(tables: Tables) -> Gazetteer {
        let mut pats: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        let mut seen = std::collections::HashMap::new();
        // Platforms first: "Amazon Web Services" is the platform AWS (owned by
        // Amazon) before it is the organisation.
        for (i, p) in tables.platforms.iter().enumerate() {
            for n in std::iter::once(&p.name).chain(p.aliases.iter()) {
                if seen.insert(n.clone(), ()).is_none() {
                    pats.push(n.clone());
                    entries.push(Entry::Platform(i));
                }
            }
        }
        for (i, f) in tables.families.iter().enumerate() {
            if seen.insert(f.name.clone(), ()).is_none() {
                pats.push(f.name.clone());
                entries.push(Entry::Family(i));
            }
        }
        for (i, o) in tables.organisations.iter().enumerate() {
            for n in std::iter::once(&o.name).chain(o.aliases.iter()) {
                if seen.insert(n.clone(), ()).is_none() {
                    pats.push(n.clone());
                    entries.push(Entry::Org(i));
                }
            }
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // Scanned once per article: a full DFA trades a little memory,
            // built once per engine, for the fastest per-byte search.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&pats)
            .expect("alias names are plain strings");
        Gazetteer {
            tables,
            ac,
            entries,
        }
    }

    /// The organisation a name stands for, if the tables know it.
    pub fn org_named(&self, name: &str) -> Option<&str> {
        self.tables
            .organisations
            .iter()
            .find(|o| o.name == name || o.aliases.iter().any(|a| a == name))
            .map(|o| o.name.as_str())
    }

    /// The vendor's own API as the tables name it: a platform the vendor
    /// runs whose name or an alias ends in " API" ("Claude API", "La
    /// Plateforme" alias "Mistral API").
    pub fn own_api(&self, org: &str) -> Option<&str> {
        self.tables
            .platforms
            .iter()
            .find(|p| {
                p.owner.as_deref() == Some(org)
                    && std::iter::once(&p.name)
                        .chain(p.aliases.iter())
                        .any(|n| n.ends_with(" API"))
            })
            .map(|p| p.name.as_str())
    }

    /// The organisation a lower-case word names: a domain label
    /// ("support@corvid.ai") or the first part of a model id ("claude-3-haiku"
    /// is a Claude model, "cohere.embed" a Cohere one).
    pub fn org_for_word(&self, word: &str) -> Option<&str> {
        if word.len() < 3 {
            return None;
        }
        let eq = |n: &str| n.eq_ignore_ascii_case(word);
        self.tables
            .families
            .iter()
            .find(|f| eq(&f.name))
            .map(|f| f.maker.as_str())
            .or_else(|| {
                self.tables
                    .organisations
                    .iter()
                    .find(|o| eq(&o.name) || o.aliases.iter().any(|a| eq(a)))
                    .map(|o| o.name.as_str())
            })
    }

    /// Every known name in `norm`, in order, at word boundaries.
    pub fn scan(&self, norm: &str, out: &mut Vec<Mention>) {
        let b = norm.as_bytes();
        for m in self.ac.find_iter(norm) {
            let (s, e) = (m.start(), m.end());
            if (s > 0 && is_word_byte(b.get(s - 1))) || is_word_byte(b.get(e)) {
                continue;
            }
            // "AI-powered", "Bedrock-mediated": a name glued to a hyphenated word.
            if b.get(e) == Some(&b'-') && b.get(e + 1).is_some_and(|c| c.is_ascii_lowercase()) {
                continue;
            }
            let possessive = norm[e..].starts_with("'s ") || norm[e..].starts_with("' ");
            match &self.entries[m.pattern().as_usize()] {
                Entry::Org(i) => out.push(Mention {
                    start: s,
                    end: e,
                    ent: Ent::Org(self.tables.organisations[*i].name.clone()),
                    possessive,
                }),
                Entry::Platform(i) => {
                    let p = &self.tables.platforms[*i];
                    out.push(Mention {
                        start: s,
                        end: e,
                        ent: Ent::Platform {
                            name: p.name.clone(),
                            owner: p.owner.clone(),
                            partner: p.partner.clone(),
                        },
                        possessive,
                    })
                }
                Entry::Family(i) => {
                    let f = &self.tables.families[*i];
                    let (end, name) = extend_product(norm, s, e);
                    let family_only = end == e;
                    let next = next_word(norm, end);
                    let is_family_ref =
                        matches!(next, "models" | "family" | "series" | "lineup" | "line");
                    if family_only && !f.standalone {
                        // "Mistral" alone is the company, not a product.
                        if let Some(org) = self.org_named(&f.name) {
                            out.push(Mention {
                                start: s,
                                end: e,
                                ent: Ent::Org(org.to_string()),
                                possessive,
                            });
                        }
                        continue;
                    }
                    if is_family_ref {
                        continue;
                    }
                    // "Amazon Nova Pro": the maker's name written in front belongs to the product.
                    let (start, name) = match out.last() {
                        Some(prev)
                            if prev.end + 1 == s
                                && !prev.possessive
                                && matches!(&prev.ent, Ent::Org(o) if *o == f.maker) =>
                        {
                            let st = prev.start;
                            out.pop();
                            (st, norm[st..end].to_string())
                        }
                        _ => (s, name),
                    };
                    out.push(Mention {
                        start,
                        end,
                        ent: Ent::Product {
                            name,
                            maker: Some(f.maker.clone()),
                        },
                        possessive: norm[end..].starts_with("'s "),
                    });
                }
            }
        }
    }
}

fn next_word(norm: &str, at: usize) -> &str {
    let rest = norm[at..].trim_start_matches([' ', '-']);
    let end = rest
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(rest.len());
    &rest[..end]
}

static VARIANT_RE: LazyLock<Regex> = LazyLock::new(|| {
    // One more piece of a product name: a version ("5.5", "4o", "R1", "v2",
    // "16k", a size such as "70B") or a capitalised variant word ("Pro", "Sonnet", "R+").
    // A model id glued with hyphens takes any lower-case part ("Phi-3-medium-128k-instruct").
    Regex::new(r"^(?:[ -](?:v?\d+(?:\.\d+)*[a-zA-Z]{0,3}|[A-Z][A-Za-z]*\d*(?:\.\d+)*\+?|mini|turbo|nano|pro|instruct|preview|multimodal|multilingual|vision|lite)|-[a-z][a-z0-9]*)\b\+?")
        .expect("static pattern is valid")
});

/// Words that never continue a product name: capitalised function words,
/// and the second halves of compound adjectives ("GPT-5-class",
/// "Orca-3-based"). "A" does continue one: mid-sentence it is a variant
/// letter ("Command A"), not an article.
const NOT_VARIANT: &[&str] = &[
    "And",
    "Or",
    "In",
    "On",
    "At",
    "To",
    "For",
    "With",
    "From",
    "By",
    "The",
    "An",
    "Is",
    "Are",
    "Was",
    "Will",
    "Can",
    "Now",
    "Today",
    "This",
    "That",
    "It",
    "Its",
    "As",
    "Of",
    "But",
    "Models",
    "Model",
    "based",
    "powered",
    "class",
    "level",
    "like",
    "style",
    "sized",
    "only",
    "specific",
    "compatible",
    "ready",
    "grade",
    "native",
    "enabled",
    "driven",
    "first",
];

/// Extends a family word over the version and variant words after it.
fn extend_product(norm: &str, start: usize, mut end: usize) -> (usize, String) {
    for _ in 0..4 {
        let Some(m) = VARIANT_RE.find(&norm[end..]) else {
            break;
        };
        let word = norm[end + 1..end + m.end()].trim_end_matches('+');
        if NOT_VARIANT.contains(&word) {
            break;
        }
        end += m.end();
    }
    (end, norm[start..end].to_string())
}

static UNKNOWN_PRODUCT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:[A-Z][A-Za-z]+[ -]){1,3}v?\d+(?:\.\d+)*[a-z]?(?:[ -](?:[A-Z][A-Za-z]+\+?|\d+[a-z]?))?\b|\b[a-z]{2,}(?:-[a-z0-9.]+)*-\d[a-z0-9.]*(?:-[a-z0-9.]+)*\b",
    )
    .expect("static pattern is valid")
});

/// "Orrery AI's Quill A and Lantern 4 models": short names with no version
/// shape, listed after a possessive maker and before "model(s)". Group 1 is
/// the maker, group 2 the list.
static POSSESSIVE_LIST_RE: LazyLock<Regex> = LazyLock::new(|| {
    // Two words each: a bare family word ("Llama models") is not one model.
    let name = r"[A-Z][A-Za-z]+ (?:[A-Z][A-Za-z]*\+?|\d+(?:\.\d+)?)";
    Regex::new(&format!(
        r"\b([A-Z][A-Za-z0-9&]*(?: [A-Z][A-Za-z0-9&]*){{0,3}})'s ({name}(?:(?:, | and |, and ){name}){{0,5}}) models?\b"
    ))
    .expect("static pattern is valid")
});

/// First words of capitalised-plus-number phrases that are not products.
const NOT_PRODUCT_START: &[&str] = &[
    // currency codes before an amount ("USD 1.10", "KRW 18")
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "KRW",
    "CNY",
    "RMB",
    "INR",
    "CAD",
    "AUD",
    "CHF",
    "SGD",
    "BRL",
    "AED",
    "SAR",
    "MXN",
    "SEK",
    "NOK",
    "DKK",
    "HKD",
    "TWD",
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
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Q",
    "FY",
    "Section",
    "Phase",
    "Version",
    "Region",
    "Step",
    "Top",
    "US",
    "EU",
    "East",
    "West",
    "North",
    "South",
    "Central",
    "Page",
    "Chapter",
    "Round",
    "Tier",
    "Level",
    "Item",
    "Note",
    "Figure",
    "Table",
    "Part",
    "Day",
    "Week",
    "Year",
    "The",
    "A",
    "An",
    "Over",
    "About",
    "Up",
    "Under",
    "More",
    "Nearly",
    "Some",
    "All",
    "Only",
    "Just",
    "Roughly",
    "Almost",
    "And",
    "Or",
    "Of",
    "In",
    "On",
    "At",
    "By",
    "For",
    "With",
    "From",
    "To",
    "Since",
    "Until",
    "Through",
    "Before",
    "After",
    "Fiscal",
    "Series",
    "Windows",
    "Office",
    "Ignite",
    "Build",
    "Summit",
    "Conference",
    "Revenue",
    "Earnings",
    "Share",
    "Shares",
    "Net",
    "Gross",
    "Capital",
    "Intelligent",
    "Productivity",
    "Personal",
    "Azure",
    "Microsoft",
    "Amazon",
    "Google",
    "Release",
    "Launch",
    "Update",
    "Patch",
    "Issue",
    "No",
    "Number",
    "Index",
    "It",
    "Its",
    "Their",
    "Our",
    "We",
    "They",
    "He",
    "She",
    "This",
    "That",
    "These",
    "Those",
    "Each",
    "Every",
    "Both",
    "Three",
    "Two",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Twelve",
    "GDPR",
    "SOC",
    "ISO",
    "HIPAA",
    "FedRAMP",
    "Stage",
    "Gen",
    "Generation",
    "Model",
    "Models",
];

const MONTHS: &[&str] = &[
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
];

/// Products the tables do not know, found by shape, outside known mentions.
pub fn unknown_products(
    norm: &str,
    from: usize,
    to: usize,
    known: &[Mention],
    out: &mut Vec<Mention>,
) {
    let known_spans = Spans::new(known);
    for m in UNKNOWN_PRODUCT_RE.find_iter(&norm[from..to]) {
        let (s, e) = (from + m.start(), from + m.end());
        let text = m.as_str();
        let first = text.split([' ', '-']).next().unwrap_or("");
        if NOT_PRODUCT_START.contains(&first) || text.split([' ', '-']).any(|w| MONTHS.contains(&w))
        {
            continue;
        }
        // A year on its own ("end-2026") or a plain count is not a model; a
        // lower-case id of three parts or more may carry its date ("orca-r-03-2025").
        let dated_id = !text.contains(' ')
            && text.split('-').count() >= 3
            && text
                .split('-')
                .any(|p| p.len() < 4 && p.bytes().any(|b| b.is_ascii_digit()));
        if !dated_id
            && text.split(['-', ' ']).any(|p| {
                p.len() == 4 && p.starts_with("20") && p.bytes().all(|b| b.is_ascii_digit())
            })
        {
            continue;
        }
        if known_spans.overlaps(s, e) || is_region_id(text) {
            continue;
        }
        // "Sable Labs 15%": an organisation and an amount, not a model.
        let before_number = text.rsplit([' ', '-']).nth(1).unwrap_or("");
        if norm[e..].starts_with('%') || ORG_SUFFIXES.contains(&before_number) {
            continue;
        }
        if matches!(
            next_word(norm, e),
            "models" | "family" | "series" | "percent" | "%"
        ) {
            continue;
        }
        out.push(Mention {
            start: s,
            end: e,
            ent: Ent::Product {
                name: text.to_string(),
                maker: None,
            },
            possessive: norm[e..].starts_with("'s "),
        });
    }
    possessive_list(norm, from, to, known, out);
}

/// "ap-kansai-1", "eu-north-2": a cloud region's id (area code, place,
/// number), not a model id.
fn is_region_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [area, place, n]
        if area.len() == 2
            && place.len() >= 3
            && place.bytes().all(|b| b.is_ascii_lowercase())
            && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Products named in a possessive list (see `POSSESSIVE_LIST_RE`), made by
/// the possessor.
fn possessive_list(norm: &str, from: usize, to: usize, known: &[Mention], out: &mut Vec<Mention>) {
    let taken = Spans::new(known.iter().chain(out.iter()));
    // Items this function adds come in text order: the last one's end is enough.
    let mut added_end = 0;
    for c in POSSESSIVE_LIST_RE.captures_iter(&norm[from..to]) {
        let (Some(maker), Some(list)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let maker_end = from + maker.end();
        // `known` is sorted by start: the name ending at the possessive is the
        // last one starting before it.
        let maker_name = known[..known.partition_point(|k| k.start < maker_end)]
            .last()
            .filter(|k| k.end == maker_end)
            .and_then(|k| match &k.ent {
                Ent::Org(o) => Some(o.clone()),
                _ => None,
            })
            .unwrap_or_else(|| {
                let w = maker.as_str();
                // "Today Orrery AI's": drop a sentence-initial word.
                match w.split_once(' ') {
                    Some((first, rest)) if NOT_NAME.contains(&first) => rest.to_string(),
                    _ => w.to_string(),
                }
            });
        let base = from + list.start();
        let mut pos = 0;
        for part in list
            .as_str()
            .split(", and ")
            .flat_map(|p| p.split(" and "))
            .flat_map(|p| p.split(", "))
        {
            let Some(rel) = list.as_str()[pos..].find(part) else {
                continue;
            };
            let s = base + pos + rel;
            let e = s + part.len();
            pos += rel + part.len();
            let first = part.split(' ').next().unwrap_or("");
            if NOT_PRODUCT_START.contains(&first) || NOT_NAME.contains(&first) {
                continue;
            }
            if taken.overlaps(s, e) || added_end > s {
                continue;
            }
            added_end = e;
            out.push(Mention {
                start: s,
                end: e,
                ent: Ent::Product {
                    name: part.to_string(),
                    maker: Some(maker_name.clone()),
                },
                possessive: false,
            });
        }
    }
}

static CAPSEQ_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][A-Za-z0-9&]*(?:[ -][A-Z][A-Za-z0-9&]*){0,4}\b")
        .expect("static pattern is valid")
});

static PARTNER_VERB_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:'s\s+\w+\s+|\s+and\s+[A-Z][\w&]*(?:\s+[A-Z][\w&]*)*\s+|\s+)(?:today\s+|has\s+|have\s+|will\s+|also\s+)?(?:announced|announces|signed|signs|agreed|agrees|pay|pays|paid|invests|invested|invest|licenses|licensed|license|grants|granted|partnered|partners|committed|commits|will)\b")
        .expect("static pattern is valid")
});

/// A word list tested once per capitalised word: a set, so the test costs
/// one hash, not a scan of the list.
type WordSet = LazyLock<std::collections::HashSet<&'static str>>;

/// Suffixes that make a capitalised name an organisation.
static ORG_SUFFIXES: WordSet = LazyLock::new(|| {
    [
        "Labs",
        "Lab",
        "AI",
        "Cloud",
        "Inc",
        "Corp",
        "Corporation",
        "Technologies",
        "Technology",
        "Systems",
        "Networks",
        "Software",
        "Ltd",
        "GmbH",
        "Group",
        "Robotics",
        "Computing",
        "Dynamics",
        "Research",
        "Analytics",
        "Holdings",
        "Ventures",
        "Industries",
        "Semiconductor",
        "Compute",
        "Data",
        "Motors",
        "Bank",
        "Capital",
        "Partners",
        "Studios",
        "Media",
        "Health",
        "Energy",
        // infrastructure and hardware vendors
        "Datacenters",
        "Datacentres",
        "Hosting",
        "Power",
        "Infrastructure",
        "Semiconductors",
        "Microsystems",
        "Electronics",
        "Photonics",
        "Optics",
        "Biosciences",
        "Therapeutics",
        "Automation",
        "Aerospace",
        "Instruments",
        "Devices",
        "Materials",
        "Telecom",
        "Communications",
        "Solutions",
        "Platforms",
        // legal forms
        "LLC",
        "PLC",
        "plc",
        "AG",
        "SA",
        "SAS",
        "KK",
        "BV",
        "NV",
        "Pty",
        "Limited",
        "Incorporated",
    ]
    .into_iter()
    .collect()
});

/// Headline verbs after a subject ("Zephyr Robotics Signs ..."): not part of the name.
static TITLE_VERBS: WordSet = LazyLock::new(|| {
    [
        "Signs",
        "Signed",
        "Partners",
        "Partnered",
        "Announces",
        "Announced",
        "Inks",
        "Taps",
        "Joins",
        "Licenses",
        "Licensed",
        "Pays",
        "Invests",
        "Invested",
        "Agrees",
        "Teams",
        "Strikes",
        "Ends",
        "Expands",
        "Extends",
        "Brings",
        "Launches",
        "Picks",
        "Selects",
        "Will",
        // base forms after a plural subject ("Amazon and Halcyon Labs Rework ...")
        "Sign",
        "Partner",
        "Announce",
        "Ink",
        "Tap",
        "Join",
        "License",
        "Agree",
        "Team",
        "Strike",
        "End",
        "Expand",
        "Extend",
        "Launch",
        "Rework",
        "Reworks",
        "Renegotiate",
        "Renegotiates",
        "Amend",
        "Amends",
        "Restructure",
        "Restructures",
        "Renew",
        "Renews",
        "Deepen",
        "Deepens",
        "Unveil",
        "Unveils",
        "Widen",
        "Widens",
        "Scrap",
        "Scraps",
    ]
    .into_iter()
    .collect()
});

/// Capitalised words that start sentences or headings, never names.
static NOT_NAME: WordSet = LazyLock::new(|| {
    [
        "Yesterday",
        "Tomorrow",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Earlier",
        "Later",
        "Meanwhile",
        "Separately",
        "Additionally",
        "Also",
        "Now",
        "Last",
        "Next",
        "The",
        "A",
        "An",
        "This",
        "That",
        "These",
        "Those",
        "Today",
        "Under",
        "After",
        "Before",
        "Our",
        "We",
        "It",
        "Its",
        "In",
        "On",
        "At",
        "For",
        "With",
        "From",
        "To",
        "By",
        "As",
        "If",
        "Once",
        "When",
        "While",
        "But",
        "And",
        "Or",
        "Both",
        "Each",
        "Every",
        "All",
        "Some",
        "New",
        "Why",
        "What",
        "How",
        "Who",
        "Where",
        "Key",
        "Read",
        "Share",
        "Customers",
        "Developers",
        "Analysts",
        "Investors",
        "Enterprises",
        "Partners",
        "Effective",
        "Starting",
        "Since",
        "Generative",
        "Public",
        "Private",
        "Sovereign",
        "Agentic",
        "Frontier",
        "IP",
        "API",
        "APIs",
        "AI",
        "GA",
        "CEO",
        "CFO",
        "SLA",
        "SLAs",
        "SKU",
        "GPU",
        "GPUs",
        "US",
        "EU",
        "UK",
        "Revenue",
        "Licensing",
        "Compute",
        "Capacity",
        "Investment",
        "Money",
        "Models",
        "Parent",
    ]
    .into_iter()
    .collect()
});

/// Words that never stand inside an organisation's name (title case
/// capitalises them).
static MID_FUNCTION: WordSet = LazyLock::new(|| {
    [
        "The", "Their", "Its", "Our", "His", "Her", "And", "With", "To", "For", "In", "On", "At",
        "From", "By", "A", "An", "As", "Into", "Over", "After", "Before", "Amid", "Is", "Are",
        "Will",
    ]
    .into_iter()
    .collect()
});

/// Legal forms written after a comma or with "Co.", which the capitalised
/// run stops before.
/// (", Inc." is left off: vendors drop it when they name themselves.)
const LEGAL_TAILS: &[&str] = &[" Co., Ltd.", " Co., Ltd", " Co. Ltd.", " Co."];

/// Nouns only a company has: "Halcyon Reasoning's models", "Falaj's parent".
static COMPANY_NOUNS: WordSet = LazyLock::new(|| {
    [
        "models",
        "model",
        "api",
        "apis",
        "chief",
        "ceo",
        "cfo",
        "cto",
        "founder",
        "founders",
        "co-founder",
        "parent",
        "board",
        "shareholders",
        "investors",
        "engineers",
        "researchers",
        "customers",
        "spokesperson",
        "headquarters",
        "revenue",
        "valuation",
        "weights",
    ]
    .into_iter()
    .collect()
});

/// True when the name ending at `e` possesses a noun only a company has.
fn owns_what_a_company_owns(norm: &str, e: usize) -> bool {
    // `norm` folds curly apostrophes to "'".
    let Some(rest) = norm[e..].strip_prefix("'s ") else {
        return false;
    };
    let word = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .next()
        .unwrap_or("");
    word.len() <= 12 && COMPANY_NOUNS.contains(word.to_ascii_lowercase().as_str())
}

/// US legal forms that readers and labels drop once the rest is a name of
/// its own ("Polaris Semiconductor Corp." is "Polaris Semiconductor"), as
/// "NVIDIA Corporation" is NVIDIA; other forms ("Ltd", "GmbH", "KK") stay,
/// since they are how those companies are written.
const US_FORMS: &[&str] = &["Corp", "Corporation", "Inc", "Incorporated", "LLC"];

/// `name` without a trailing US legal form when two words or more remain.
fn without_us_form(name: &str) -> &str {
    match name.rsplit_once(' ') {
        Some((rest, last)) if US_FORMS.contains(&last) && rest.contains(' ') => rest,
        _ => name,
    }
}

/// Words of `NOT_NAME` that describe ("Frontier", "Public", "AI") rather
/// than open a sentence: in front of an organisation suffix they are part of
/// the name ("Frontier AI Labs", "Public Health Systems"), not cut off.
static DESCRIPTIVE: WordSet = LazyLock::new(|| {
    [
        "Generative",
        "Public",
        "Private",
        "Sovereign",
        "Agentic",
        "Frontier",
        "New",
        "Key",
        "IP",
        "AI",
        "GA",
        "US",
        "EU",
        "UK",
        "Compute",
        "Capacity",
        "Revenue",
        "Licensing",
        "Investment",
        "Money",
        "Models",
        "Partners",
    ]
    .into_iter()
    .collect()
});

/// Organisations in no table, between `from` and `to`, found by suffix or by
/// being the subject of a partnership verb.
pub fn unknown_orgs(norm: &str, from: usize, to: usize, known: &[Mention], out: &mut Vec<Mention>) {
    let known_spans = Spans::new(known);
    for m in CAPSEQ_RE.find_iter(&norm[from..to]) {
        let mut s = from + m.start();
        let e = from + m.end();
        // Drop sentence-initial function words: "Today Nimbus Labs" -> "Nimbus Labs".
        let suffixed = norm[s..e]
            .rsplit(' ')
            .next()
            .is_some_and(|w| ORG_SUFFIXES.contains(&w))
            && norm[s..e].contains(' ');
        loop {
            let w = norm[s..e].split([' ', '-']).next().unwrap_or("");
            if NOT_NAME.contains(&w) && s + w.len() < e && !(suffixed && DESCRIPTIVE.contains(&w)) {
                s += w.len() + 1;
            } else {
                break;
            }
        }
        // "Zephyr Robotics Signs With ...": a headline verb ends the name.
        let mut e = e;
        let mut title_verb = false;
        if let Some(i) = norm[s..e]
            .match_indices(' ')
            .map(|(i, _)| s + i)
            .find(|&i| {
                let w = next_word(norm, i + 1);
                // "Harbor Partners" at the end is a name, not "Harbor" + verb.
                TITLE_VERBS.contains(&w) && !(ORG_SUFFIXES.contains(&w) && i + 1 + w.len() >= e)
            })
        {
            e = i;
            title_verb = true;
        }
        // "Halcyon Labs Rework Their AI Pact": in a title-case run a function
        // word ends the name, which then ends at its last suffix word.
        if let Some(i) = norm[s..e]
            .match_indices(' ')
            .map(|(i, _)| s + i)
            .find(|&i| MID_FUNCTION.contains(&next_word(norm, i + 1)))
        {
            e = i;
            if let Some(j) = norm[s..e]
                .match_indices(' ')
                .map(|(j, _)| s + j)
                .rfind(|&j| ORG_SUFFIXES.contains(&next_word(norm, j + 1)))
            {
                e = j + 1 + next_word(norm, j + 1).len();
            }
        }
        let text = &norm[s..e];
        let words: Vec<&str> = text.split(' ').collect();
        // "New Harbor Labs" keeps "New"; "Sovereign AI" is a phrase, not a name.
        let kept_descriptive = suffixed
            && DESCRIPTIVE.contains(&words[0])
            && words
                .iter()
                .any(|w| !NOT_NAME.contains(w) && !ORG_SUFFIXES.contains(w));
        if (NOT_NAME.contains(&words[0]) && !kept_descriptive) || (title_verb && text.contains('-'))
        {
            continue;
        }
        if known_spans.overlaps(s, e) {
            continue;
        }
        let last = words.last().copied().unwrap_or("");
        let by_suffix = words.len() >= 2 && ORG_SUFFIXES.contains(&last);
        // The verb regex runs only when the suffix did not already decide.
        let by_verb = !by_suffix
            && words.len() <= 3
            && ((title_verb && words.len() >= 2)
                || PARTNER_VERB_RE.is_match(&norm[e..super::text::floor_boundary(norm, e + 80)]));
        if by_suffix || by_verb || (words.len() <= 3 && owns_what_a_company_owns(norm, e)) {
            // "Daeyang Electronics Co., Ltd.": a legal form after a comma is part of the name.
            let e = e + LEGAL_TAILS
                .iter()
                .find(|t| norm[e..].starts_with(*t))
                .map_or(0, |t| t.len());
            out.push(Mention {
                start: s,
                end: e,
                ent: Ent::Org(without_us_form(&norm[s..e]).to_string()),
                possessive: norm[e..].starts_with("'s ") || norm[e..].starts_with("' "),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaz() -> Gazetteer {
        let t: Tables = toml::from_str(BUILTIN_ALIASES).expect("builtin tables parse");
        Gazetteer::new(t)
    }

    fn names(s: &str) -> Vec<Ent> {
        let mut v = Vec::new();
        gaz().scan(s, &mut v);
        v.into_iter().map(|m| m.ent).collect()
    }

    #[test]
    fn quadratic_overlap_scan_spans_agree_with_a_scan_of_every_mention() {
        // Nested, touching and disjoint spans: the index must answer as the
        // old per-mention scan did, for every query window.
        let spans = [(0, 4), (2, 3), (5, 9), (9, 12), (20, 30), (21, 22)];
        let ments: Vec<Mention> = spans
            .iter()
            .map(|&(start, end)| Mention {
                start,
                end,
                ent: Ent::Org("X".into()),
                possessive: false,
            })
            .collect();
        let idx = Spans::new(ments.iter());
        for s in 0..32 {
            for e in s + 1..33 {
                let naive = ments.iter().any(|k| k.start < e && s < k.end);
                assert_eq!(idx.overlaps(s, e), naive, "window {s}..{e}");
            }
        }
    }

    #[test]
    fn quadratic_overlap_scan_many_repeated_names_are_each_found_once() {
        let n = 20_000;
        let text = "Microsoft and Acme Corp, ".repeat(n);
        let g = gaz();
        let mut known = Vec::new();
        g.scan(&text, &mut known);
        assert_eq!(known.len(), n, "one Microsoft per unit");
        let mut found = Vec::new();
        unknown_orgs(&text, 0, text.len(), &known, &mut found);
        assert_eq!(found.len(), n, "one Acme Corp per unit");
        assert!(
            found
                .iter()
                .all(|m| m.ent == Ent::Org("Acme Corp".into())
                    && &text[m.start..m.end] == "Acme Corp")
        );
        let idx = Spans::new(known.iter());
        assert!(found.iter().all(|m| !idx.overlaps(m.start, m.end)));
    }

    #[test]
    fn aliases_canonicalise() {
        let e = names("AWS Bedrock and Amazon Web Services and Google's Vertex AI");
        assert!(matches!(&e[0], Ent::Platform { name, .. } if name == "Amazon Bedrock"));
        assert!(
            matches!(&e[1], Ent::Platform { name, owner, .. } if name == "AWS" && owner.as_deref() == Some("Amazon"))
        );
        assert_eq!(e[2], Ent::Org("Google".into()));
    }

    #[test]
    fn products_take_versions_and_variants() {
        let e =
            names("Claude Opus 5 and Amazon Nova Pro and GPT-5.5 and Gemini 3 Flash, DeepSeek-R1.");
        let p: Vec<String> = e
            .into_iter()
            .filter_map(|e| match e {
                Ent::Product { name, .. } => Some(name),
                _ => None,
            })
            .collect();
        assert_eq!(
            p,
            vec![
                "Claude Opus 5",
                "Amazon Nova Pro",
                "GPT-5.5",
                "Gemini 3 Flash",
                "DeepSeek-R1"
            ]
        );
    }

    #[test]
    fn bare_prefix_family_is_the_company() {
        assert_eq!(
            names("Mistral said so"),
            vec![Ent::Org("Mistral AI".into())]
        );
    }

    #[test]
    fn unknown_names_by_suffix_and_shape() {
        let s = "Nimbus Labs will ship Falcon 3 Turbo on Corvid Cloud in March 2026.";
        let mut v = Vec::new();
        unknown_products(s, 0, s.len(), &[], &mut v);
        unknown_orgs(s, 0, s.len(), &v.clone(), &mut v);
        let n: Vec<&Ent> = v.iter().map(|m| &m.ent).collect();
        assert!(n.contains(&&Ent::Product {
            name: "Falcon 3 Turbo".into(),
            maker: None
        }));
        assert!(n.contains(&&Ent::Org("Nimbus Labs".into())));
        assert!(n.contains(&&Ent::Org("Corvid Cloud".into())));
    }

    #[test]
    fn possessive_list_of_short_names_are_products_of_the_possessor() {
        let s = "Orrery AI's Quill A, Ember Pro and Lantern 4 models are now available.";
        let mut v = Vec::new();
        unknown_products(s, 0, s.len(), &[], &mut v);
        let names: Vec<(String, Option<String>)> = v
            .iter()
            .filter_map(|m| match &m.ent {
                Ent::Product { name, maker } => Some((name.clone(), maker.clone())),
                _ => None,
            })
            .collect();
        let maker = Some("Orrery AI".to_string());
        assert_eq!(
            names,
            vec![
                ("Quill A".to_string(), maker.clone()),
                ("Ember Pro".to_string(), maker.clone()),
                ("Lantern 4".to_string(), maker),
            ]
        );
    }

    #[test]
    fn region_ids_are_not_model_ids() {
        let s = "Orca-3 is live in us-east-2 and eu-north-1; orca-r-03-2025 is retired.";
        let mut v = Vec::new();
        unknown_products(s, 0, s.len(), &[], &mut v);
        let names: Vec<&str> = v.iter().map(|m| &s[m.start..m.end]).collect();
        assert_eq!(names, vec!["Orca-3", "orca-r-03-2025"], "{v:?}");
    }

    #[test]
    fn a_bare_family_word_after_a_possessive_is_not_a_product() {
        let s = "Meta's Llama models are now available.";
        let mut v = Vec::new();
        unknown_products(s, 0, s.len(), &[], &mut v);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn multi_word_unknown_names_keep_their_words_but_not_a_verb_or_opener() {
        let orgs = |s: &str| {
            let mut v = Vec::new();
            unknown_orgs(s, 0, s.len(), &[], &mut v);
            v.into_iter()
                .filter_map(|m| match m.ent {
                    Ent::Org(o) => Some(o),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(orgs("Zephyr Robotics Signs Deal"), vec!["Zephyr Robotics"]);
        assert_eq!(
            orgs("Tamarind Optical Corp. signed a licence."),
            vec!["Tamarind Optical"]
        );
        assert_eq!(
            orgs("Tamarind Corp signed a licence."),
            vec!["Tamarind Corp"]
        );
        assert_eq!(
            orgs("Rimal hosts Tamarind Reasoning's models."),
            vec!["Tamarind Reasoning"]
        );
        assert_eq!(
            orgs("Tamarind Optical GmbH signed a licence."),
            vec!["Tamarind Optical GmbH"]
        );
        assert_eq!(
            orgs("Kestrel Forge Partners With Us"),
            vec!["Kestrel Forge"]
        );
        assert_eq!(
            orgs("Yesterday Zephyr Robotics signed a licence."),
            vec!["Zephyr Robotics"]
        );
        assert_eq!(
            orgs("Kestrel Forge signed a licence."),
            vec!["Kestrel Forge"]
        );
    }
}
