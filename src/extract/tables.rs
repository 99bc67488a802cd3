//! Tables as notices publish them: Markdown pipes, tab- or space-aligned
//! columns, HTML tables flattened to text. The header row says what each
//! column holds (model, model id, retirement date, price, platform,
//! replacement); every later row is one change, its kind from the header or
//! the table's lead-in, its product from the model column, its date from the
//! date column.

use super::analyse::{ArticleCtx, Candidate, gather, slice};
use super::entities::Ent;
use super::lexicon::Cue;
use super::products::{Platform, Product};
use super::segment::BlockKind;
use super::{Engine, dates, lists};
use crate::model::{ChangeKind, Status};

/// Cells of one table line, as byte ranges relative to the line: split on
/// `|` when the line has pipes, else on runs of two or more spaces.
pub fn cells(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut push = |s: usize, e: usize| {
        let cell = &line[s..e];
        let lead = cell.len() - cell.trim_start().len();
        let t = cell.trim();
        if !t.is_empty() {
            out.push((s + lead, s + lead + t.len()));
        }
    };
    if line.contains('|') {
        let mut s = 0;
        for (i, c) in line.char_indices() {
            if c == '|' {
                push(s, i);
                s = i + 1;
            }
        }
        push(s, line.len());
        return out;
    }
    let b = line.as_bytes();
    let (mut s, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b' ' && b.get(i + 1) == Some(&b' ') {
            push(s, i);
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            s = i;
            continue;
        }
        i += 1;
    }
    push(s, b.len());
    out
}

/// A rule line between header and body ("---|:---:", "+-----+").
pub fn is_separator(line: &str) -> bool {
    let t = line.trim();
    t.contains("--")
        && t.chars()
            .all(|c| matches!(c, '-' | '|' | ':' | '+' | '=' | ' '))
}

/// What the header says each column holds.
#[derive(Debug, Default, Clone, Copy)]
struct Columns {
    product: Option<usize>,
    id: Option<usize>,
    maker: Option<usize>,
    platform: Option<usize>,
    /// The date column and how surely it is the date the change takes effect.
    date: Option<(usize, u8)>,
    status: Option<usize>,
    price: bool,
    /// A launch-date column ("Live from", "Available from"): rows are launches.
    launch: bool,
}

impl Columns {
    fn any(&self) -> bool {
        self.product.is_some()
            || self.id.is_some()
            || self.date.is_some()
            || self.price
            || self.launch
    }
}

/// Reads a header row by the meaning of its words; `None` when no cell
/// reads as a header (the table starts with data).
fn header(cells: &[&str]) -> Option<Columns> {
    let mut c = Columns::default();
    for (i, raw) in cells.iter().enumerate() {
        let h = raw.to_ascii_lowercase();
        let h = h.trim_matches(|c: char| !c.is_alphanumeric());
        if h.chars().any(|c| c.is_ascii_digit()) && !h.contains("1m") {
            continue;
        }
        let has = |w: &[&str]| w.iter().any(|x| h.contains(x));
        if has(&[
            "replac",
            "recommend",
            "successor",
            "alternative",
            "migrat",
            "upgrade",
            "instead",
        ]) {
            continue;
        }
        if has(&[
            "live from",
            "available from",
            "launch",
            "ga date",
            "release date",
            "available since",
        ]) {
            c.launch = true;
            c.date.get_or_insert((i, 1));
            continue;
        }
        let date_rank = if has(&[
            "end-of-life",
            "end of life",
            "eol",
            "retire",
            "shutdown",
            "shut down",
            "sunset",
            "removal",
            "discontinu",
            "decommission",
            "end of support",
        ]) {
            3
        } else if has(&["deprecat"]) {
            2
        } else if has(&["effective", "date", "when"]) {
            1
        } else {
            0
        };
        if date_rank > 0 {
            if c.date.is_none_or(|(_, r)| r < date_rank) {
                c.date = Some((i, date_rank));
            }
            continue;
        }
        if has(&["price", "cost", "rate", "fee", "per 1m", "per million"]) {
            c.price = true;
            continue;
        }
        let words: Vec<&str> = h.split(|c: char| !c.is_alphanumeric()).collect();
        let word = |w: &str| words.contains(&w);
        if word("id") || word("ids") || has(&["identifier", "model string", "api name"]) {
            c.id.get_or_insert(i);
        } else if has(&[
            "provider",
            "publisher",
            "vendor",
            "developer",
            "maker",
            "creator",
            "partner",
        ]) {
            c.maker.get_or_insert(i);
        } else if has(&[
            "platform",
            "cloud",
            "marketplace",
            "available on",
            "channel",
            "surface",
        ]) {
            c.platform.get_or_insert(i);
        } else if word("status") || word("state") || word("stage") || word("lifecycle") {
            c.status.get_or_insert(i);
        } else if has(&[
            "model", "product", "name", "service", "feature", "endpoint", "offering",
        ]) {
            c.product.get_or_insert(i);
        }
    }
    c.any().then_some(c)
}

/// The cell text a product is named by: without a parenthesis or footnote mark.
fn product_name(cell: &str) -> Option<String> {
    let name = cell.split(" (").next().unwrap_or(cell);
    let name = name.trim().trim_end_matches(['*', '.', ',', ';']).trim();
    let name = name.trim_matches('`');
    let usable = !name.is_empty()
        && name.split_whitespace().count() <= 8
        && name.chars().any(|c| c.is_alphabetic())
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "n/a" | "none" | "tbd" | "-"
        );
    usable.then(|| name.to_string())
}

/// One change per body row of every table whose header or lead-in names a kind.
pub fn table_rows(e: &Engine, a: &ArticleCtx, cands: &mut Vec<Candidate>) {
    let doc = a.doc;
    let mut i = 0;
    while i < doc.blocks.len() {
        if doc.blocks[i].kind != BlockKind::TableRow {
            i += 1;
            continue;
        }
        let start = i;
        while i < doc.blocks.len() && doc.blocks[i].kind == BlockKind::TableRow {
            i += 1;
        }
        one_table(e, a, start, i, cands);
    }
}

fn block_text<'a>(a: &'a ArticleCtx, bi: usize) -> &'a str {
    let b = &a.doc.blocks[bi];
    &a.t.norm[b.start..b.end]
}

/// The blocks that introduce a table: its lead-in, the paragraph or heading
/// right above, and its section heading.
fn intro_blocks(a: &ArticleCtx, first: usize) -> Vec<usize> {
    let b = &a.doc.blocks[first];
    let mut v: Vec<usize> = Vec::new();
    v.extend(b.lead_in);
    if first > 0 {
        v.push(first - 1);
    }
    v.extend(b.section);
    v.dedup();
    v
}

fn kind_in(a: &ArticleCtx, bi: usize) -> Option<ChangeKind> {
    let b = &a.doc.blocks[bi];
    let hits = slice(a.hits, b.start, b.end, |h| h.start);
    [
        ChangeKind::Deprecation,
        ChangeKind::Pricing,
        ChangeKind::Availability,
    ]
    .into_iter()
    .find(|k| hits.iter().any(|h| h.cue == Cue::Kind(*k)))
}

fn one_table(e: &Engine, a: &ArticleCtx, from: usize, to: usize, cands: &mut Vec<Candidate>) {
    let rows: Vec<usize> = (from..to)
        .filter(|&bi| !is_separator(block_text(a, bi)))
        .collect();
    let Some((&head, body)) = rows.split_first() else {
        return;
    };
    let head_text = block_text(a, head);
    let head_cells: Vec<&str> = cells(head_text)
        .iter()
        .map(|&(s, e)| &head_text[s..e])
        .collect();
    let cols = header(&head_cells);
    let intro = intro_blocks(a, from);
    let header_kind = match cols {
        Some(c) if c.date.is_some_and(|d| d.1 >= 2) => Some(ChangeKind::Deprecation),
        Some(c) if c.price => Some(ChangeKind::Pricing),
        Some(c) if c.launch || status_reads_launch(a, c, body) => Some(ChangeKind::Availability),
        _ => None,
    };
    // A table without a header row says its kind only in its own first row
    // or its lead-in, and is a table only with two rows or more.
    let intro_kind = match cols {
        Some(_) => intro.iter().find_map(|&bi| kind_in(a, bi)),
        None if rows.len() >= 2 => a.doc.blocks[from].lead_in.and_then(|l| kind_in(a, l)),
        None => None,
    };
    let Some(kind) = header_kind.or_else(|| kind_in(a, head)).or(intro_kind) else {
        return;
    };
    let mut statuses: Vec<Status> = Vec::new();
    for &bi in std::iter::once(&head).chain(intro.iter()) {
        let b = &a.doc.blocks[bi];
        statuses.extend(gather(slice(a.hits, b.start, b.end, |h| h.start)).statuses);
    }
    let mut plats = intro
        .iter()
        .map(|&bi| lists::block_platforms(a, bi))
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    if plats.is_empty() {
        plats = lists::article_platform(e, a)
            .or_else(|| super::products::title_platform(a))
            .into_iter()
            .collect();
    }
    // A table with no header row starts with data: the first row is a row too.
    let body: Vec<usize> = if cols.is_some() {
        body.to_vec()
    } else {
        rows.clone()
    };
    let cols = cols.unwrap_or(Columns {
        product: Some(0),
        ..Columns::default()
    });
    for bi in body {
        let b = &a.doc.blocks[bi];
        let text = &a.t.norm[b.start..b.end];
        let cs = cells(text);
        let cell = |i: Option<usize>| {
            i.and_then(|i| cs.get(i))
                .map(|&(s, e)| (b.start + s, b.start + e))
        };
        let Some((ps, pe)) = cell(cols.product).or(cell(cols.id)) else {
            continue;
        };
        let Some(name) = product_name(&a.t.norm[ps..pe]) else {
            continue;
        };
        let maker = slice(a.ments, ps, pe, |m| m.start)
            .iter()
            .find_map(|m| match &m.ent {
                Ent::Product { maker, .. } => maker.clone(),
                _ => None,
            })
            .or_else(|| super::products::id_maker(e, &name))
            .or_else(|| {
                let (ms, me) = cell(cols.maker)?;
                slice(a.ments, ms, me, |m| m.start)
                    .iter()
                    .find_map(|m| m.orgs().first().map(|s| s.to_string()))
            });
        let platform = cell(cols.platform)
            .and_then(|(s, e)| row_platform(a, s, e))
            .or_else(|| plats.first().cloned())
            .or_else(|| {
                (kind == ChangeKind::Deprecation)
                    .then(|| lists::vendor_api(e, a, maker.as_deref()))
                    .flatten()
            });
        let Some(platform) = platform else { continue };
        let effective = cell(cols.date.map(|d| d.0))
            .or(Some((b.start, b.end)))
            .and_then(|(s, e)| dates::first_date(&a.t.norm[s..e], a.ref_year))
            .and_then(|d| d.iso(a.ref_year).filter(|s| s.len() == 10));
        let mut own = gather(slice(a.hits, b.start, b.end, |h| h.start)).statuses;
        if let Some((s, e)) = cell(cols.status) {
            own.extend(gather(slice(a.hits, s, e, |h| h.start)).statuses);
        }
        let product = Product {
            name,
            maker,
            start: ps,
        };
        cands.push(lists::item_candidate(
            a,
            lists::Item {
                block: bi,
                kind,
                product,
                platform,
                own: &own,
                lead: &statuses,
                effective,
            },
        ));
    }
}

/// A status column that reads "GA", "Available" or "Preview" in its rows
/// lists launches.
fn status_reads_launch(a: &ArticleCtx, c: Columns, body: &[usize]) -> bool {
    let Some(col) = c.status else { return false };
    body.iter().any(|&bi| {
        let text = block_text(a, bi);
        cells(text).get(col).is_some_and(|&(s, e)| {
            let v = text[s..e].to_ascii_lowercase();
            v == "ga" || v.contains("available") || v.contains("preview") || v == "live"
        })
    })
}

/// The platform a row's platform cell names: a known one, else the cell as written.
fn row_platform(a: &ArticleCtx, s: usize, e: usize) -> Option<Platform> {
    let known = lists::platforms_in(a, s, e);
    if let Some(p) = known.into_iter().next() {
        return Some(p);
    }
    let name = a.t.norm[s..e].trim();
    (!name.is_empty()).then(|| Platform {
        name: name.to_string(),
        owners: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_split_on_pipes_or_wide_gaps() {
        let line = "| Model | Retires | Use instead |";
        let got: Vec<&str> = cells(line).iter().map(|&(s, e)| &line[s..e]).collect();
        assert_eq!(got, ["Model", "Retires", "Use instead"]);
        let line = "Orca Lite 2    orca-lite-2    2027-01-31";
        let got: Vec<&str> = cells(line).iter().map(|&(s, e)| &line[s..e]).collect();
        assert_eq!(got, ["Orca Lite 2", "orca-lite-2", "2027-01-31"]);
    }

    #[test]
    fn header_maps_columns_by_meaning() {
        let c = header(&[
            "Model",
            "Model ID",
            "Legacy since",
            "Shutdown date",
            "Replacement",
        ])
        .expect("a header");
        assert_eq!(c.product, Some(0));
        assert_eq!(c.id, Some(1));
        assert_eq!(c.date, Some((3, 3)));
        assert!(header(&["Orca 2", "orca-2", "2027-01-31"]).is_none());
    }

    #[test]
    fn rule_lines_are_separators() {
        assert!(is_separator("|---|:---:|"));
        assert!(is_separator("------ | ------"));
        assert!(!is_separator("Orca | 2027"));
    }
}
