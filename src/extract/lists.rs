//! Lists and tables introduced by a lead-in ("Available today in X:", a
//! table headed "Retirement date"): the kind and platform live in the
//! lead-in, the product in each item, so each item is one change.

use super::Engine;
use super::analyse::{
    ArticleCtx, Candidate, gather, push_unique, slice, status_for, upgrade_platform,
};
use super::dates;
use super::entities::Ent;
use super::products::{Platform, Product};
use super::segment::BlockKind;
use crate::model::{ChangeKind, Span, Status, TermChange};

/// Bullets under an availability or retirement lead-in ("Available today in
/// X:", a table headed "Retirement date"): each item is one change.
pub fn list_item(
    e: &Engine,
    a: &ArticleCtx,
    block_index: usize,
    lead_kind: ChangeKind,
    lead_platforms: &[Platform],
    lead_status: &[Status],
) -> Option<Candidate> {
    let t = a.t;
    let b = &a.doc.blocks[block_index];
    let (name_from, name_to) = b.head.unwrap_or((b.body_start, b.end));
    let ments = slice(a.ments, name_from, name_to, |m| m.start);
    // An item that opens with a lower-case id ("- orca-lite-v2.0") is named
    // by the whole id, not by a name found inside it.
    let id_first = t.norm[name_from..name_to]
        .split_whitespace()
        .next()
        .is_some_and(|w| !w.contains(char::is_uppercase) && w.contains(['-', '.', '/', '_']));
    let mut prod = if id_first && b.head.is_none() {
        bare_item(&t.norm[name_from..name_to], name_from)
    } else {
        None
    };
    prod = prod.or_else(|| {
        ments.iter().find_map(|m| match &m.ent {
            Ent::Product { name, maker } => Some(Product {
                name: name.clone(),
                maker: maker.clone(),
                start: m.start,
            }),
            _ => None,
        })
    });
    if prod.is_none() {
        let mut tmp = Vec::new();
        super::entities::unknown_products(&t.norm, name_from, name_to, ments, &mut tmp);
        prod = tmp.first().and_then(|m| match &m.ent {
            Ent::Product { name, maker } => Some(Product {
                name: name.clone(),
                maker: maker.clone(),
                start: m.start,
            }),
            _ => None,
        });
    }
    if prod.is_none() && b.head.is_some() {
        // An item named in its head ("- Nimbus Writer: ...") is the product.
        let text = t.norm[name_from..name_to].trim();
        let name = text.split(" (").next().unwrap_or(text).trim();
        let words = name.split_whitespace().count();
        if (1..=5).contains(&words) && looks_like_name(name) {
            prod = Some(Product {
                name: name.to_string(),
                maker: None,
                start: name_from,
            });
        }
    }
    if prod.is_none() && b.head.is_none() {
        prod = bare_item(&t.norm[name_from..name_to], name_from);
    }
    let mut prod = prod?;
    if prod.maker.is_none() {
        prod.maker = super::products::id_maker(e, &prod.name);
    }
    let platform = match lead_platforms
        .first()
        .cloned()
        .or_else(|| article_platform(e, a))
        .or_else(|| super::products::title_platform(a))
    {
        Some(p) => upgrade_platform(e, a, p),
        None if lead_kind == ChangeKind::Deprecation => vendor_api(e, a, prod.maker.as_deref())?,
        None => return None,
    };
    let own = gather(slice(a.hits, b.start, b.end, |h| h.start));
    // The date is the item's own, else the lead-in's ("Effective April 4:"),
    // else the paragraph right above the lead-in.
    let effective = std::iter::once((b.body_start, b.end))
        .chain(b.lead_in.map(|l| {
            let lb = &a.doc.blocks[l];
            (lb.start, lb.end)
        }))
        .chain(b.lead_in.and_then(|l| l.checked_sub(1)).and_then(|p| {
            let pb = &a.doc.blocks[p];
            (pb.kind == BlockKind::Para).then_some((pb.start, pb.end))
        }))
        .find_map(|(s, e)| {
            dates::first_date(&t.norm[s..e], a.ref_year)
                .and_then(|d| d.iso(a.ref_year).filter(|s| s.len() == 10))
        });
    Some(item_candidate(
        a,
        Item {
            block: block_index,
            kind: lead_kind,
            product: prod,
            platform,
            own: &own.statuses,
            lead: lead_status,
            effective,
        },
    ))
}

/// A bullet that is only a name, as changelogs list model ids and endpoints
/// ("- orca-chat-03-2025 (and its alias)", "- /v2/rank", "- Legacy Web UI"):
/// at most five words before any parenthesis, not a sentence.
fn bare_item(body: &str, at: usize) -> Option<Product> {
    let text = body.trim();
    if text.ends_with('.') || text.contains(". ") || text.contains(": ") {
        return None;
    }
    let name = text.split(" (").next().unwrap_or(text).trim();
    let name = name.trim_end_matches([',', ';']).trim().trim_matches('`');
    let words: Vec<&str> = name.split_whitespace().collect();
    let first = words.first()?;
    let id_like = first.contains(['-', '/', '.', '_']) || first.chars().any(|c| c.is_ascii_digit());
    // Unlike a head, a bare item is the whole bullet: "Slack App integration" is a name.
    let capital = first.chars().next().is_some_and(|c| c.is_uppercase());
    let ok = words.len() <= 5 && (words.len() == 1 || id_like || capital);
    ok.then(|| Product {
        name: name.to_string(),
        maker: None,
        start: at + body.find(name).unwrap_or(0),
    })
}

/// A name, not a phrase: every word capitalised, a version, or a short
/// joining word ("Orca Vision 2", "Lens for Sheets"); "Start building now" is
/// an instruction.
fn looks_like_name(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_uppercase())
        && text.split_whitespace().all(|w| {
            w.starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
                || w.contains(|c: char| c.is_ascii_digit())
                || matches!(
                    w,
                    "for" | "in" | "on" | "of" | "and" | "with" | "the" | "by"
                )
        })
}

/// One list item or table row, read: what [`item_candidate`] needs.
pub struct Item<'s> {
    pub block: usize,
    pub kind: ChangeKind,
    pub product: Product,
    pub platform: Platform,
    /// Status cues in the item itself, then in its lead-in.
    pub own: &'s [Status],
    pub lead: &'s [Status],
    pub effective: Option<String>,
}

/// The change one item states; its evidence is the item's first sentence.
pub fn item_candidate(a: &ArticleCtx, it: Item) -> Candidate {
    let b = &a.doc.blocks[it.block];
    let own = gather(slice(a.hits, b.start, b.end, |h| h.start));
    let (status, explicit) = status_for(it.kind, it.own, it.lead);
    let mut parties = Vec::new();
    if let Some(m) = &it.product.maker {
        push_unique(&mut parties, m);
    }
    for o in &it.platform.owners {
        push_unique(&mut parties, o);
    }
    let first = a.doc.sentences.partition_point(|s| s.block < it.block);
    let end = a
        .doc
        .sentences
        .get(first)
        .filter(|s| s.block == it.block)
        .map(|s| s.end)
        .unwrap_or(b.end);
    let mut conf = a.base_confidence - if explicit { 0.0 } else { 0.05 };
    if own.hedge {
        conf -= 0.35;
    }
    let start = match b.kind {
        BlockKind::TableRow => b.start,
        _ => b.head.map(|h| h.0).unwrap_or(b.body_start),
    };
    Candidate {
        change: TermChange {
            kind: it.kind,
            parties,
            licensor: None,
            licensee: None,
            payer: None,
            payee: None,
            product: Some(it.product.name),
            platform: Some(it.platform.name),
            status,
            exclusive: None,
            until: None,
            effective: it.effective,
            evidence: String::new(),
            span: Span::default(),
            confidence: conf.clamp(0.05, 0.99),
        },
        norm_span: (start, end.max(start)),
        denial: own.denial,
        explicit,
        from_heading: false,
    }
}

/// Known platforms named in one block.
pub fn block_platforms(a: &ArticleCtx, block: usize) -> Vec<Platform> {
    let b = &a.doc.blocks[block];
    platforms_in(a, b.start, b.end)
}

/// Known platforms named between `from` and `to`.
pub fn platforms_in(a: &ArticleCtx, from: usize, to: usize) -> Vec<Platform> {
    slice(a.ments, from, to, |m| m.start)
        .iter()
        .filter_map(|m| match &m.ent {
            Ent::Platform {
                name,
                owner,
                partner,
            } => Some(Platform {
                name: name.clone(),
                owners: owner.iter().chain(partner.iter()).cloned().collect(),
            }),
            _ => None,
        })
        .collect()
}

/// The vendor's own API as a platform ("the API" in a vendor's notice, or a
/// retirement list that names no platform at all): the maker's, else the
/// article's vendor's. Named as the tables name it ("Claude API", "La
/// Plateforme"), else "<Vendor> API".
pub fn vendor_api(e: &Engine, a: &ArticleCtx, maker: Option<&str>) -> Option<Platform> {
    let vendor = a.vendor.as_deref().or(maker)?;
    let name = e
        .gaz
        .own_api(vendor)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{vendor} API"));
    Some(Platform {
        name,
        owners: vec![vendor.to_string()],
    })
}

/// The platform an article's lists fall back on: the one it names first, or
/// a service of the same owner it also names, when the first is only the
/// owner's cloud ("Google Cloud" in the sender line, "Vertex AI" in the text).
pub fn article_platform(e: &Engine, a: &ArticleCtx) -> Option<Platform> {
    let first = a.platforms.first()?;
    if e.gaz.org_named(&first.name).is_none() {
        return Some(first.clone());
    }
    a.platforms
        .iter()
        .skip(1)
        .find(|p| p.owners.first() == first.owners.first())
        .or(Some(first))
        .cloned()
}
