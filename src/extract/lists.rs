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
    let (name_from, name_to) = match (b.kind, b.head) {
        (BlockKind::TableRow, _) => {
            let row = &t.norm[b.start..b.end];
            let first = row.find(" | ").unwrap_or(row.len());
            (b.start, b.start + first)
        }
        (_, Some(h)) => h,
        (_, None) => (b.body_start, b.end),
    };
    let ments = slice(a.ments, name_from, name_to, |m| m.start);
    let mut prod = ments.iter().find_map(|m| match &m.ent {
        Ent::Product { name, maker } => Some(Product {
            name: name.clone(),
            maker: maker.clone(),
            start: m.start,
        }),
        _ => None,
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
        if (1..=5).contains(&words) && name.chars().next().is_some_and(|c| c.is_uppercase()) {
            prod = Some(Product {
                name: name.to_string(),
                maker: None,
                start: name_from,
            });
        }
    }
    let prod = prod?;
    let platform = lead_platforms.first().or(a.platforms.first()).cloned()?;
    let platform = upgrade_platform(e, a, platform);
    let own = gather(slice(a.hits, b.start, b.end, |h| h.start));
    let (status, explicit) = status_for(lead_kind, &own.statuses, lead_status);
    let row = &t.norm[b.body_start..b.end];
    let effective = dates::first_date(row, a.ref_year)
        .and_then(|d| d.iso(a.ref_year).filter(|s| s.len() == 10));
    let mut parties = Vec::new();
    if let Some(m) = &prod.maker {
        push_unique(&mut parties, m);
    }
    for o in &platform.owners {
        push_unique(&mut parties, o);
    }
    let first = a.doc.sentences.partition_point(|s| s.block < block_index);
    let end = a
        .doc
        .sentences
        .get(first)
        .filter(|s| s.block == block_index)
        .map(|s| s.end)
        .unwrap_or(b.end);
    let mut conf = a.base_confidence - if explicit { 0.0 } else { 0.05 };
    if own.hedge {
        conf -= 0.35;
    }
    Some(Candidate {
        change: TermChange {
            kind: lead_kind,
            parties,
            licensor: None,
            licensee: None,
            payer: None,
            payee: None,
            product: Some(prod.name),
            platform: Some(platform.name),
            status,
            exclusive: None,
            until: None,
            effective,
            evidence: String::new(),
            span: Span::default(),
            confidence: conf.clamp(0.05, 0.99),
        },
        norm_span: (b.head.map(|h| h.0).unwrap_or(b.body_start), end),
        denial: own.denial,
        explicit,
        from_heading: false,
    })
}
