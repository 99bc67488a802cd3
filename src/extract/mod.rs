//! The `extract` stage: one article becomes typed term changes, each with
//! its evidence sentence verbatim and that sentence's character offsets.
//!
//! Pure and offline: rules over cue lexicons (Aho-Corasick), a gazetteer of
//! names (data in `aliases.toml`, extended by `[extract]` in the config) and
//! linear-time regexes. No model, no network.
//!
//! # Layout
//!
//! - `text`: a normalised copy of the text with a map back to the original.
//! - `segment`: title, dateline, headings, bullets, tables, furniture; sentences; clauses.
//! - `lexicon`: triggers per kind, status cues, hedges, denials, history.
//! - `entities`: organisations, platforms, products, known and unknown.
//! - `products`: product lists and the platform they land on.
//! - `roles`: payer/payee and licensor/licensee from local patterns.
//! - `dates`: dates, `until` and `effective`.
//! - `analyse`: the rules, clause by clause.
//! - `lists`: bullets under a lead-in, one change per item.
//! - `tables`: table rows read by their header, one change per row.
//! - `merge`: one change per key, the best-supported statement first.
//! - `llm`: the optional model backend; every change it reports quotes its evidence.

mod analyse;
mod dates;
mod entities;
mod lexicon;
mod lists;
pub mod llm;
mod merge;
mod products;
mod roles;
mod segment;
mod tables;
mod text;

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

pub use entities::{Family, OrgAlias, PlatformAlias, Tables};

use crate::model::{Article, ChangeKind, Extraction, Trust};
use analyse::{ArticleCtx, Candidate, ClauseIn};
use entities::{Ent, Gazetteer, Mention};
use lexicon::{Cue, Lexicon};
use products::Platform;
use segment::BlockKind;
use text::Text;

/// `[extract]` section of `termwatch.toml`: names to add to the shipped
/// alias tables, in the same shape as `src/extract/aliases.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[[extract.organisations]] name = "Nimbus Labs", aliases = ["Nimbus"]`
    pub organisations: Vec<OrgAlias>,
    /// `[[extract.platforms]] name = "Corvid Marketplace", owner = "Corvid Cloud"`
    pub platforms: Vec<PlatformAlias>,
    /// `[[extract.families]] name = "Falcon", maker = "Nimbus Labs", standalone = true`
    pub families: Vec<Family>,
    /// `rules` (offline, the default), `llm` or `both`: see [`llm`].
    pub backend: llm::Backend,
    /// `[extract.llm]`: the model endpoint, used when `backend` is not `rules`.
    pub llm: llm::Config,
}

/// Problems in the `[extract]` section.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "[extract] {section} entry {index}: the name is empty; write name = \"Canonical Name\""
    )]
    EmptyName { section: &'static str, index: usize },
    #[error(
        "[extract] families entry {index} ({name}): the maker is empty; write maker = \"Organisation\""
    )]
    EmptyMaker { index: usize, name: String },
    #[error("the shipped alias table does not parse: {0}")]
    Builtin(#[from] toml::de::Error),
}

impl Config {
    /// Checks the user's entries; the message says which one and what to write.
    pub fn validate(&self) -> Result<(), Error> {
        for (i, o) in self.organisations.iter().enumerate() {
            if o.name.trim().is_empty() {
                return Err(Error::EmptyName {
                    section: "organisations",
                    index: i + 1,
                });
            }
        }
        for (i, p) in self.platforms.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(Error::EmptyName {
                    section: "platforms",
                    index: i + 1,
                });
            }
        }
        for (i, f) in self.families.iter().enumerate() {
            if f.name.trim().is_empty() {
                return Err(Error::EmptyName {
                    section: "families",
                    index: i + 1,
                });
            }
            if f.maker.trim().is_empty() {
                return Err(Error::EmptyMaker {
                    index: i + 1,
                    name: f.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The shipped tables with the user's entries added (a user entry with a
    /// shipped name adds its aliases to that entry).
    pub fn tables(&self) -> Result<Tables, Error> {
        let mut t: Tables = toml::from_str(entities::BUILTIN_ALIASES)?;
        for o in &self.organisations {
            match t.organisations.iter_mut().find(|x| x.name == o.name) {
                Some(x) => x.aliases.extend(o.aliases.iter().cloned()),
                None => t.organisations.push(o.clone()),
            }
        }
        for p in &self.platforms {
            match t.platforms.iter_mut().find(|x| x.name == p.name) {
                Some(x) => {
                    x.aliases.extend(p.aliases.iter().cloned());
                    if p.owner.is_some() {
                        x.owner.clone_from(&p.owner);
                    }
                }
                None => t.platforms.push(p.clone()),
            }
        }
        // User families go first so they win over shipped ones of the same name.
        let mut fams = self.families.clone();
        fams.extend(t.families);
        t.families = fams;
        Ok(t)
    }
}

/// The compiled lexicon and gazetteer for one configuration.
pub struct Engine {
    lex: Lexicon,
    gaz: Gazetteer,
}

impl Engine {
    pub fn new(config: &Config) -> Result<Engine, Error> {
        config.validate()?;
        Ok(Engine {
            lex: Lexicon::new(),
            gaz: Gazetteer::new(config.tables()?),
        })
    }
}

/// Compiling the automata costs milliseconds; the pipeline calls `extract`
/// once per article with the same config, so the last engine is kept. A
/// read lock on the hit path lets the parallel extraction threads share it
/// without serialising; the `Arc` is cloned out before extracting.
static ENGINE: RwLock<Option<(Config, Arc<Engine>)>> = RwLock::new(None);

fn engine_for(config: &Config) -> Arc<Engine> {
    {
        let guard = ENGINE.read().unwrap_or_else(|p| p.into_inner());
        if let Some((c, e)) = guard.as_ref()
            && c == config
        {
            return e.clone();
        }
    }
    let mut guard = ENGINE.write().unwrap_or_else(|p| p.into_inner());
    if let Some((c, e)) = guard.as_ref()
        && c == config
    {
        return e.clone();
    }
    // A bad user table must not stop extraction: fall back to the shipped one
    // (`termwatch check` reports the problem through `Config::validate`).
    let engine = Engine::new(config)
        .or_else(|_| Engine::new(&Config::default()))
        .map(Arc::new)
        .expect("the shipped alias table parses (a unit test checks it)");
    *guard = Some((config.clone(), engine.clone()));
    engine
}

/// Reads the term changes stated in one article.
pub fn extract(article: &Article, config: &Config) -> Extraction {
    let engine = engine_for(config);
    extract_with(&engine, article)
}

/// The most text of one article that extraction reads: 8 MiB, far above any
/// announcement, so that a hostile or broken page costs bounded time (the
/// rules are linear, this bounds the constant). Longer text is cut at the
/// last paragraph (else sentence) boundary before the limit, logged, and the
/// cut is reported in `Extraction::cut`; the article is not dropped.
pub const MAX_TEXT_BYTES: usize = 8 << 20;

/// `text` up to [`MAX_TEXT_BYTES`], cut at a paragraph or sentence boundary.
fn capped(text: &str) -> (&str, Option<crate::model::TextCut>) {
    if text.len() <= MAX_TEXT_BYTES {
        return (text, None);
    }
    let limit = text::floor_boundary(text, MAX_TEXT_BYTES);
    let head = &text[..limit];
    // A boundary in the last quarter of the limit; else the limit itself.
    let floor = limit - limit / 4;
    let end = head
        .rfind("\n\n")
        .filter(|&i| i >= floor)
        .map(|i| i + 2)
        .or_else(|| {
            head.rfind(['\n', '.'])
                .filter(|&i| i >= floor)
                .map(|i| i + 1)
        })
        .unwrap_or(limit);
    let cut = crate::model::TextCut {
        read_bytes: end,
        total_bytes: text.len(),
    };
    (&text[..end], Some(cut))
}

/// As [`extract`], with an engine the caller keeps (benchmarks, batch jobs).
pub fn extract_with(e: &Engine, article: &Article) -> Extraction {
    let (text, cut) = capped(&article.text);
    if let Some(c) = cut {
        tracing::warn!(
            url = %article.url,
            read_bytes = c.read_bytes,
            total_bytes = c.total_bytes,
            "article text longer than the extraction limit: only its start is read"
        );
    }
    let mut out = extract_text(e, article, text);
    out.cut = cut;
    out
}

fn extract_text(e: &Engine, article: &Article, text: &str) -> Extraction {
    let t = Text::new(text);
    let mut hits = Vec::new();
    e.lex.scan(&t.lower, &mut hits);
    // Most feed items state no term at all: without a kind trigger (or the
    // "may also use other clouds" pair) no clause and no list item can yield
    // a change or a denial, so segmentation and name finding are skipped.
    if !any_trigger(&hits) {
        return Extraction::default();
    }
    let doc = segment::segment(&t, &article.title, article.published.is_some());
    let mut ments: Vec<Mention> = Vec::new();
    e.gaz.scan(&t.norm, &mut ments);

    let published = article
        .published
        .map(|ts| {
            let d = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
            (d.year() as i32, d.month() as u8, d.day() as u8)
        })
        .or_else(|| {
            doc.blocks
                .iter()
                .filter(|b| b.kind == BlockKind::Dateline)
                .find_map(|b| {
                    let d = dates::first_date(&t.norm[b.start..b.end], None)?;
                    Some((d.year?, d.month?, d.day?))
                })
        });
    let ref_year = published.map(|p| p.0).or_else(|| {
        dates::find_dates(&t.norm)
            .iter()
            .filter_map(|d| d.year)
            .filter(|y| (1990..2100).contains(y))
            .max()
    });

    let parties = {
        // Organisations in no table count too when the title or lead names them.
        let mut all = ments.clone();
        let lead_end = doc
            .blocks
            .iter()
            .filter(|b| matches!(b.kind, BlockKind::Para | BlockKind::Bullet))
            .nth(1)
            .map(|b| b.end)
            .unwrap_or(t.norm.len());
        let mut unknown = Vec::new();
        entities::unknown_orgs(&t.norm, 0, lead_end, &ments, &mut unknown);
        all.extend(unknown);
        all.sort_by_key(|m| m.start);
        article_parties(&doc, &all, article.organisation.as_deref(), |n| {
            e.gaz.org_named(n).is_some()
        })
    };
    let platforms = article_platforms(&doc, &ments);
    let history = merge::history(&t, &doc, &hits, ref_year);
    let base_confidence = match article.trust {
        Trust::Vendor => 0.9,
        Trust::News => 0.8,
        Trust::Commentary => 0.7,
    };
    let mut known_products: Vec<(String, Option<String>)> = Vec::new();
    let mut seen_products = std::collections::HashSet::new();
    for m in &ments {
        if let Ent::Product { name, maker } = &m.ent
            && seen_products.insert(name.clone())
        {
            known_products.push((name.clone(), maker.clone()));
        }
    }
    let vendor = article_vendor(e, &t.norm, article.organisation.as_deref(), &parties);
    let a = ArticleCtx {
        t: &t,
        doc: &doc,
        ments: &ments,
        hits: &hits,
        published,
        ref_year,
        parties,
        platforms,
        base_confidence,
        history,
        products: known_products,
        vendor,
    };

    let mut cands: Vec<Candidate> = Vec::new();
    let mut signals: Vec<analyse::SignalCand> = Vec::new();
    let mut is_lead = vec![false; doc.blocks.len()];
    for b in &doc.blocks {
        if let Some(l) = b.lead_in {
            is_lead[l] = true;
        }
    }
    let mut clauses = Vec::new();
    let mut carried: Option<(usize, Vec<Platform>)> = None;
    for (si, s) in doc.sentences.iter().enumerate() {
        if a.history[si] {
            continue;
        }
        let b = &doc.blocks[s.block];
        if b.kind == BlockKind::TableRow || is_question(&t.norm[s.start..s.end]) {
            continue;
        }
        // A sentence whose text and bullet head carry no kind trigger gives
        // no candidate and passes nothing on (see `analyse_clause`).
        let head_hits = b
            .head
            .map(|(hs, he)| analyse::slice(&hits, hs, he, |h| h.start))
            .unwrap_or(&[]);
        if !any_trigger(analyse::slice(&hits, s.start, s.end, |h| h.start))
            && !any_trigger(head_hits)
        {
            continue;
        }
        clauses.clear();
        segment::clauses(&t, s, &mut clauses);
        let first_in_block = si == 0 || doc.sentences[si - 1].block != s.block;
        let evidence = match b.head {
            Some((hs, _)) if first_in_block => (hs, s.end),
            _ => (s.start, s.end),
        };
        // "Revenue share: capped one way" over "Halcyon's payments to Amazon
        // become capped": the section's heading names what the payments are.
        let names_revenue = |from: usize, to: usize| {
            analyse::slice(&hits, from, to, |h| h.start)
                .iter()
                .any(|h| h.cue == Cue::Kind(ChangeKind::RevenueShare))
        };
        let sentence_has_revenue = names_revenue(s.start, s.end)
            || b.section.is_some_and(|h| {
                let hb = &doc.blocks[h];
                names_revenue(hb.start, hb.end)
            });
        let mut ctx_platforms = context_platforms(&a, s.block);
        // "X went live in Corvid Cloud's Osaka region. X Long follows in
        // preview from April.": a launch that names no platform continues
        // the one just before it, within the next paragraph.
        if ctx_platforms.is_empty()
            && let Some((block, p)) = &carried
            && s.block <= block + CARRY_BLOCKS
        {
            ctx_platforms = p.clone();
        }
        let mut prev_target = None;
        for c in clauses.iter() {
            if c.subordinate {
                continue;
            }
            let input = ClauseIn {
                clause: *c,
                evidence,
                head: b.head,
                context_platforms: &ctx_platforms,
                prev_target: prev_target.clone(),
                in_bullet: b.kind == BlockKind::Bullet,
                is_heading: matches!(b.kind, BlockKind::Title | BlockKind::Heading),
                sentence_has_revenue,
            };
            let out = analyse::analyse_clause(e, &a, &input);
            cands.extend(out.candidates);
            // A lead-in's items carry its changes (see `list_items`).
            if !is_lead[s.block] {
                signals.extend(out.signals);
            }
            if !out.platforms.is_empty() {
                carried = Some((s.block, out.platforms.clone()));
                ctx_platforms = out.platforms;
            }
            if out.target.is_some() {
                prev_target = out.target;
            }
        }
    }
    list_items(e, &a, &mut cands);
    tables::table_rows(e, &a, &mut cands);
    preview_from_title(&a, &mut cands);
    // A sentence that gave a change of the kind elsewhere (another clause,
    // a list item) needs no review; one signal per kind and sentence.
    signals.dedup_by(|x, y| x.kind == y.kind && x.norm_span == y.norm_span);
    let mut given: std::collections::HashMap<ChangeKind, Vec<(usize, usize)>> =
        std::collections::HashMap::new();
    for c in &cands {
        given.entry(c.change.kind).or_default().push(c.norm_span);
    }
    let given: std::collections::HashMap<ChangeKind, entities::Spans> = given
        .into_iter()
        .map(|(k, v)| (k, entities::Spans::of(v)))
        .collect();
    signals.retain(|s| {
        given
            .get(&s.kind)
            .is_none_or(|sp| !sp.overlaps(s.norm_span.0, s.norm_span.1))
    });
    merge::finish(&t, cands, signals)
}

/// How many blocks after a clause that named a platform a clause naming
/// none still takes it: the same paragraph and the next.
const CARRY_BLOCKS: usize = 1;

/// "On Corvid, is that arrangement exclusive?": a question (an analyst's on
/// a call, an FAQ heading) states no term; the answer after it may.
fn is_question(sentence: &str) -> bool {
    sentence.trim_end().ends_with('?')
}

/// "Public Preview: Orca in Corvid Studio": a launch the headline calls a
/// preview is one in every sentence that does not say otherwise.
fn preview_from_title(a: &ArticleCtx, cands: &mut [Candidate]) {
    let Some(title) = a.doc.blocks.iter().find(|b| b.kind == BlockKind::Title) else {
        return;
    };
    let preview = analyse::slice(a.hits, title.start, title.end, |h| h.start)
        .iter()
        .any(|h| h.cue == Cue::Status(crate::model::Status::Preview));
    if !preview {
        return;
    }
    for c in cands.iter_mut() {
        if c.change.kind == ChangeKind::Availability && !c.explicit {
            c.change.status = crate::model::Status::Preview;
        }
    }
}

/// True when `hits` hold a kind trigger (strong or weak), or both halves of
/// the permission-plus-multicloud exclusivity cue: the only ways a clause or
/// a list lead-in yields a change.
fn any_trigger(hits: &[lexicon::Hit]) -> bool {
    let (mut perm, mut multi) = (false, false);
    for h in hits {
        match h.cue {
            Cue::Kind(_) | Cue::Weak(_) => return true,
            Cue::Permission => perm = true,
            Cue::MultiCloud => multi = true,
            _ => {}
        }
    }
    perm && multi
}

/// The title line and dateline date a plain-text article opens with
/// ("Headline\n\nApr 28, 2026 | Desk"), for files that carry no metadata.
pub fn text_header(text: &str) -> (Option<String>, Option<jiff::civil::Date>) {
    let t = Text::new(text);
    let doc = segment::segment(&t, "", false);
    let title = doc
        .blocks
        .iter()
        .find(|b| b.kind == BlockKind::Title)
        .map(|b| t.original[t.orig(b.start)..t.orig(b.end)].to_string());
    let date = doc
        .blocks
        .iter()
        .filter(|b| b.kind == BlockKind::Dateline)
        .find_map(|b| {
            let d = dates::first_date(&t.norm[b.start..b.end], None)?;
            jiff::civil::Date::new(d.year? as i16, d.month? as i8, d.day? as i8).ok()
        });
    (title, date)
}

/// Items of lists and tables introduced by an availability or retirement
/// lead-in: the platform and kind live in the lead-in, the product in the item.
fn list_items(e: &Engine, a: &ArticleCtx, cands: &mut Vec<Candidate>) {
    let doc = a.doc;
    for (i, b) in doc.blocks.iter().enumerate() {
        if b.kind != BlockKind::Bullet {
            continue;
        }
        let Some(lead) = b.lead_in else { continue };
        let from = doc.sentences.partition_point(|s| s.block < i);
        let to = doc.sentences.partition_point(|s| s.block <= i);
        if (from..to).any(|si| a.history[si]) {
            continue;
        }
        let lb = &doc.blocks[lead];
        let lhits = analyse::slice(a.hits, lb.start, lb.end, |h| h.start);
        let kind = if lhits
            .iter()
            .any(|h| h.cue == Cue::Kind(ChangeKind::Deprecation))
        {
            ChangeKind::Deprecation
        } else if lhits
            .iter()
            .any(|h| h.cue == Cue::Kind(ChangeKind::Availability))
        {
            ChangeKind::Availability
        } else {
            continue;
        };
        let statuses: Vec<crate::model::Status> = lhits
            .iter()
            .filter_map(|h| match h.cue {
                Cue::Status(s) => Some(s),
                _ => None,
            })
            .collect();
        let mut plats = lists::block_platforms(a, lead);
        if plats.is_empty() {
            // A platform in no table, named in the lead-in ("available in Stratus Marketplace:").
            let lments = analyse::slice(a.ments, lb.start, lb.end, |m| m.start);
            plats = products::platforms(&a.t.norm, lb.start, lb.end, lments, &[]);
        }
        if plats.is_empty() {
            plats = context_platforms(a, lead);
        }
        if plats.is_empty()
            && let Some(s) = lb.section
        {
            plats = lists::block_platforms(a, s);
        }
        if let Some(c) = lists::list_item(e, a, i, kind, &plats, &statuses) {
            cands.push(c);
        }
    }
}

/// Platforms a block inherits: its lead-in's, else its heading's.
fn context_platforms(a: &ArticleCtx, block: usize) -> Vec<Platform> {
    let b = &a.doc.blocks[block];
    for src in [b.lead_in, b.section].into_iter().flatten() {
        let p = lists::block_platforms(a, src);
        if !p.is_empty() {
            return p;
        }
    }
    Vec::new()
}

/// Whose notice this is, for "the API" and for retirement lists that name no
/// platform: the source's organisation, else the article's first party, else
/// the organisation a contact or link domain names ("support@corvid.ai").
fn article_vendor(e: &Engine, norm: &str, own: Option<&str>, parties: &[String]) -> Option<String> {
    let known = parties.iter().find(|p| e.gaz.org_named(p).is_some());
    if let Some(o) = own.or(known.map(|s| s.as_str())) {
        return Some(o.to_string());
    }
    DOMAIN_RE
        .captures_iter(norm)
        .find_map(|c| {
            let label = c.get(1)?.as_str();
            e.gaz.org_for_word(label).map(str::to_string)
        })
        .or_else(|| parties.first().cloned())
}

static DOMAIN_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?:@|://|\bwww\.)(?:[a-z0-9-]+\.)*?([a-z0-9-]{3,})\.(?:com|ai|io|co|net|org|dev|cloud)\b",
    )
    .expect("static pattern is valid")
});

/// The organisations the article is about: the source's own organisation,
/// then those in the title and the first paragraphs, most mentioned first.
fn article_parties(
    doc: &segment::Doc,
    ments: &[Mention],
    own: Option<&str>,
    is_known: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut counts: Vec<(String, usize, usize, bool)> = Vec::new(); // name, count, first, in title
    let lead_end = doc
        .blocks
        .iter()
        .filter(|b| matches!(b.kind, BlockKind::Para | BlockKind::Bullet))
        .nth(1)
        .map(|b| b.end)
        .unwrap_or(usize::MAX);
    let title_end = doc
        .blocks
        .iter()
        .find(|b| b.kind == BlockKind::Title)
        .map(|b| b.end)
        .unwrap_or(0);
    // An index by name: an article may name thousands of organisations.
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for m in ments {
        if matches!(m.ent, Ent::Product { .. }) {
            continue;
        }
        for o in m.orgs() {
            match index.get(o) {
                Some(&i) => counts[i].1 += 1,
                None => {
                    index.insert(o, counts.len());
                    counts.push((o.to_string(), 1, m.start, m.start < title_end));
                }
            }
        }
    }
    counts.retain(|c| c.2 < lead_end);
    // "Kestrel" after "Kestrel Compute Systems" is the same party, named in
    // full as first introduced: its mentions count for the full name.
    counts.sort_by_key(|c| c.2);
    // Known names are canonical already ("Microsoft" is not short for
    // "Microsoft Research").
    let names: Vec<String> = counts.iter().map(|c| c.0.clone()).collect();
    let (shorts, mut merged): (Vec<_>, Vec<_>) = counts
        .into_iter()
        .partition(|c| !is_known(&c.0) && full_name(&names, &c.0).is_some());
    for c in shorts {
        let full = full_name(&names, &c.0);
        match merged.iter_mut().find(|m| Some(m.0.as_str()) == full) {
            Some(m) => {
                m.1 += c.1;
                m.2 = m.2.min(c.2);
                m.3 |= c.3;
            }
            None => merged.push(c),
        }
    }
    let mut counts = merged;
    counts.sort_by(|a, b| b.3.cmp(&a.3).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut out: Vec<String> = Vec::new();
    if let Some(o) = own {
        out.push(o.to_string());
    }
    for c in counts {
        if !out.contains(&c.0) {
            out.push(c.0);
        }
    }
    out
}

/// The longer name among `parties` that `short` opens at a word boundary
/// ("Kestrel" -> "Kestrel Compute Systems"); None when it opens none, or
/// opens two different ones (ambiguous).
fn full_name<'p>(parties: &'p [String], short: &str) -> Option<&'p str> {
    if short.len() < 3 {
        return None;
    }
    let mut found = parties.iter().filter(|p| {
        p.len() > short.len() && p.starts_with(short) && p.as_bytes()[short.len()] == b' '
    });
    let first = found.next()?;
    found.all(|p| p == first).then_some(first.as_str())
}

/// Known platforms named in the article: the title's first, then by count.
fn article_platforms(doc: &segment::Doc, ments: &[Mention]) -> Vec<Platform> {
    let title_end = doc
        .blocks
        .iter()
        .find(|b| b.kind == BlockKind::Title)
        .map(|b| b.end)
        .unwrap_or(0);
    let mut counts: Vec<(Platform, usize, bool)> = Vec::new();
    for m in ments {
        if let Ent::Platform {
            name,
            owner,
            partner,
        } = &m.ent
        {
            match counts.iter_mut().find(|c| c.0.name == *name) {
                Some(c) => c.1 += 1,
                None => counts.push((
                    Platform {
                        name: name.clone(),
                        owners: owner.iter().chain(partner.iter()).cloned().collect(),
                    },
                    1,
                    m.start < title_end,
                )),
            }
        }
    }
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
    let mut out: Vec<Platform> = counts.into_iter().map(|c| c.0).collect();
    // "AWS cuts Nova prices in Bedrock": the service is where products land,
    // the whole cloud only its owner, so a service of the same owner goes first.
    let service_owners: Vec<String> = out
        .iter()
        .filter(|p| !WHOLE_CLOUDS.contains(&p.name.as_str()))
        .flat_map(|p| p.owners.iter().cloned())
        .collect();
    out.sort_by_key(|p| {
        WHOLE_CLOUDS.contains(&p.name.as_str())
            && p.owners.iter().any(|o| service_owners.contains(o))
    });
    out
}

/// Platforms that name a whole cloud rather than one service on it.
const WHOLE_CLOUDS: &[&str] = &[
    "AWS",
    "Azure",
    "Google Cloud",
    "Oracle Cloud Infrastructure",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_parse() {
        let t = Config::default().tables().expect("builtin parses");
        assert!(t.organisations.iter().any(|o| o.name == "Amazon"));
    }

    #[test]
    fn user_aliases_extend_the_tables() {
        let c: Config = toml::from_str(
            "[[organisations]]\nname = \"Nimbus Labs\"\naliases = [\"Nimbus\"]\n[[platforms]]\nname = \"Corvid Market\"\nowner = \"Corvid\"\n",
        )
        .expect("parses");
        let t = c.tables().expect("tables");
        assert!(t.organisations.iter().any(|o| o.name == "Nimbus Labs"));
        assert!(t.platforms.iter().any(|p| p.name == "Corvid Market"));
    }

    #[test]
    fn empty_user_name_is_reported_with_what_to_write() {
        let c = Config {
            organisations: vec![OrgAlias {
                name: " ".into(),
                aliases: vec![],
            }],
            ..Config::default()
        };
        let msg = c.validate().expect_err("empty name").to_string();
        assert!(msg.contains("organisations entry 1"), "{msg}");
    }
}
