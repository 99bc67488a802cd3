//! The rules: one clause at a time, with its sentence, bullet head, lead-in,
//! heading and article as context, into candidate changes.
//!
//! Every rule reads cues (lexicon), names (entities) and positions, never
//! particular sentences: a kind needs its trigger, roles need their local
//! pattern, history and denials are told apart by cue and by date.

use std::sync::LazyLock;

use regex::Regex;

use super::entities::{Ent, Mention};
use super::lexicon::{Cue, Hit};
use super::products::{self, Platform};
use super::roles::{self, OrgAt};
use super::segment::{Clause, Doc};
use super::text::Text;
use super::{Engine, dates};
use crate::model::{ChangeKind, Span, Status, TermChange};

/// A change before merging: the change, where its evidence is (bytes in
/// `norm`), and how much to prefer it over a duplicate.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub change: TermChange,
    pub norm_span: (usize, usize),
    pub denial: bool,
    /// The status came from a cue, not a default.
    pub explicit: bool,
    /// Read from a title or heading, which abbreviate ("on Azure").
    pub from_heading: bool,
}

/// What the whole article gives every clause.
pub struct ArticleCtx<'a> {
    pub t: &'a Text<'a>,
    pub doc: &'a Doc,
    pub ments: &'a [Mention],
    pub hits: &'a [Hit],
    pub published: Option<(i32, u8, u8)>,
    pub ref_year: Option<i32>,
    /// Organisations the article is about (title and lead first).
    pub parties: Vec<String>,
    /// Known platforms named in the article, title first, then by frequency.
    pub platforms: Vec<Platform>,
    pub base_confidence: f32,
    /// Per sentence: background, not news.
    pub history: Vec<bool>,
    /// Distinct product names the tables recognised, with their makers.
    pub products: Vec<(String, Option<String>)>,
    /// Whose notice this is: the owner of "the API" (see `mod::article_vendor`).
    pub vendor: Option<String>,
}

static MONEY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:[$\u{20ac}\u{a3}]\s?\d|\b(?:eur|usd|gbp)\s?\d|\b\d+(?:\.\d+)?\s?(?:billion|million|trillion|bn)\b|\b\d+(?:\.\d+)?\s?[bm]\b)")
        .expect("static pattern is valid")
});

static POWER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|several)\s?(?:gigawatts?|gw|megawatts?|mw)\b")
        .expect("static pattern is valid")
});

/// Phrases that leave the other side of an exclusivity unnamed.
const UNNAMED_COUNTERPART: &[&str] = &[
    " a single cloud",
    " one cloud",
    " any one cloud",
    " a single provider",
    " one provider",
    " a single platform",
    " one platform",
    " a single partner",
    " one partner",
];

pub fn slice<T>(items: &[T], start: usize, end: usize, key: impl Fn(&T) -> usize) -> &[T] {
    let a = items.partition_point(|x| key(x) < start);
    let b = items.partition_point(|x| key(x) < end);
    &items[a..b.max(a)]
}

/// What one clause says, gathered once.
pub(super) struct Cues {
    kinds: Vec<(ChangeKind, usize)>,
    weak: Vec<(ChangeKind, usize)>,
    pub(super) statuses: Vec<Status>,
    pub(super) hedge: bool,
    pub(super) denial: bool,
    history: bool,
    permission: Option<usize>,
    multicloud: bool,
    commit: bool,
    anaphor: bool,
    comparison: bool,
    /// Where each negator ends.
    negations: Vec<usize>,
}

pub(super) fn gather(hits: &[Hit]) -> Cues {
    let mut c = Cues {
        kinds: Vec::new(),
        weak: Vec::new(),
        statuses: Vec::new(),
        hedge: false,
        denial: false,
        history: false,
        permission: None,
        multicloud: false,
        commit: false,
        anaphor: false,
        comparison: false,
        negations: Vec::new(),
    };
    for h in hits {
        match h.cue {
            Cue::Kind(k) => c.kinds.push((k, h.start)),
            Cue::Weak(k) => c.weak.push((k, h.start)),
            Cue::Status(s) => c.statuses.push(s),
            Cue::Hedge => c.hedge = true,
            Cue::Denial => c.denial = true,
            Cue::History => c.history = true,
            Cue::Permission => c.permission = c.permission.or(Some(h.start)),
            Cue::MultiCloud => c.multicloud = true,
            Cue::Commit => c.commit = true,
            Cue::Anaphor => c.anaphor = true,
            Cue::Comparison => c.comparison = true,
            Cue::Negation => c.negations.push(h.end),
            Cue::Before => {}
        }
    }
    c
}

/// The status a kind takes from the cues, in that kind's order of precedence,
/// and whether a cue gave it.
pub(super) fn status_for(kind: ChangeKind, own: &[Status], head: &[Status]) -> (Status, bool) {
    use Status as S;
    let order: &[Status] = match kind {
        ChangeKind::Exclusivity => &[
            S::Ended,
            S::NonExclusive,
            S::Narrowed,
            S::Extended,
            S::Continues,
            S::Started,
        ],
        ChangeKind::License => &[
            S::NonExclusive,
            S::Ended,
            S::Extended,
            S::Narrowed,
            S::Continues,
            S::Started,
        ],
        ChangeKind::RevenueShare => &[
            S::Capped,
            S::Ended,
            S::Changed,
            S::Extended,
            S::Continues,
            S::Started,
        ],
        ChangeKind::Availability => &[S::Withdrawn, S::Preview, S::Continues, S::Available],
        ChangeKind::CloudPriority => &[S::Ended, S::Narrowed, S::Continues, S::Started],
        ChangeKind::Investment => &[S::Ended, S::Changed, S::Continues, S::Started],
        ChangeKind::ComputeCommitment => &[S::Ended, S::Extended, S::Changed, S::Started],
        ChangeKind::Pricing => &[S::Changed],
        ChangeKind::Deprecation => &[S::Retired],
        ChangeKind::Governance => &[S::Ended, S::Changed],
    };
    for set in [own, head] {
        if let Some(s) = order.iter().find(|s| set.contains(s)) {
            let s = match (kind, *s) {
                (ChangeKind::Exclusivity, S::NonExclusive) => S::Ended,
                (_, s) => s,
            };
            return (s, true);
        }
    }
    let default = match kind {
        ChangeKind::Exclusivity => S::Started,
        ChangeKind::License => S::Started,
        ChangeKind::RevenueShare => S::Changed,
        ChangeKind::Availability => S::Available,
        ChangeKind::CloudPriority => S::Continues,
        ChangeKind::Investment => S::Started,
        ChangeKind::ComputeCommitment => S::Started,
        ChangeKind::Pricing => S::Changed,
        ChangeKind::Deprecation => S::Retired,
        ChangeKind::Governance => S::Changed,
    };
    (default, false)
}

pub(super) fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// Everything one clause needs.
pub struct ClauseIn<'c> {
    pub clause: Clause,
    /// Evidence range (bytes in norm): the sentence, or the bullet line.
    pub evidence: (usize, usize),
    /// Bullet head range whose cues and kinds apply to this clause.
    pub head: Option<(usize, usize)>,
    /// Platforms named earlier in the same sentence, heading or lead-in.
    pub context_platforms: &'c [Platform],
    /// Investment target named earlier in the same sentence.
    pub prev_target: Option<String>,
    pub in_bullet: bool,
    pub is_heading: bool,
    /// Strong revenue-share wording elsewhere in the sentence.
    pub sentence_has_revenue: bool,
}

/// A strong trigger and a name from which no change came out (bytes in `norm`).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalCand {
    pub kind: ChangeKind,
    pub norm_span: (usize, usize),
    pub names: Vec<String>,
    pub missing: &'static str,
}

/// The result of one clause: candidates plus what later clauses inherit.
pub struct ClauseOut {
    pub candidates: Vec<Candidate>,
    pub signals: Vec<SignalCand>,
    pub platforms: Vec<Platform>,
    pub target: Option<String>,
}

pub fn analyse_clause(e: &Engine, a: &ArticleCtx, input: &ClauseIn) -> ClauseOut {
    let c = input.clause;
    let t = a.t;
    let mut out = ClauseOut {
        candidates: Vec::new(),
        signals: Vec::new(),
        platforms: Vec::new(),
        target: None,
    };
    let hits = slice(a.hits, c.start, c.end, |h| h.start);
    let cues = gather(hits);
    let (head_cues, head_kinds) = match input.head {
        Some((hs, he)) => {
            let h = gather(slice(a.hits, hs, he, |h| h.start));
            let kinds: Vec<ChangeKind> = h.kinds.iter().chain(h.weak.iter()).map(|k| k.0).collect();
            (h.statuses, kinds)
        }
        None => (Vec::new(), Vec::new()),
    };
    if cues.kinds.is_empty()
        && cues.weak.is_empty()
        && head_kinds.is_empty()
        && !(cues.permission.is_some() && cues.multicloud)
    {
        return out;
    }
    let lower = &t.lower[c.start..c.end];
    let clause_text = &t.norm[c.start..c.end];
    // Weak triggers count only with support in the clause, and a price
    // change needs an amount or an explicit status: the regexes run only
    // when one of those asks.
    let needs_support = !cues.weak.is_empty()
        || head_kinds.contains(&ChangeKind::ComputeCommitment)
        || head_kinds.contains(&ChangeKind::Pricing)
        || cues.kinds.iter().any(|(k, _)| *k == ChangeKind::Pricing);
    let has_money = needs_support && MONEY_RE.is_match(clause_text);
    let has_power = needs_support && POWER_RE.is_match(clause_text);

    let mut kinds: Vec<(ChangeKind, usize, bool)> = Vec::new(); // (kind, trigger, from head)
    let mut add_kind = |k: ChangeKind, pos: usize, from_head: bool| {
        if !kinds.iter().any(|x| x.0 == k) {
            kinds.push((k, pos, from_head));
        }
    };
    for (k, p) in &cues.kinds {
        add_kind(*k, *p, false);
    }
    for (k, p) in &cues.weak {
        let ok = match k {
            // "remits 65% of its net receipts to X", "its 3% rebate": a share
            // paid on sales, stated as a percentage rather than as revenue.
            ChangeKind::RevenueShare => {
                input.sentence_has_revenue
                    || head_kinds.contains(k)
                    || lower.contains('%')
                    || lower.contains(" percent")
                    || lower.contains(" per cent")
            }
            ChangeKind::Investment => has_money,
            ChangeKind::ComputeCommitment => cues.commit || has_money || has_power,
            _ => false,
        };
        if ok {
            add_kind(*k, *p, false);
        }
    }
    if cues.permission.is_some() && cues.multicloud {
        add_kind(
            ChangeKind::Exclusivity,
            cues.permission.unwrap_or(c.start),
            false,
        );
    }
    for k in &head_kinds {
        // Weak head words ("Infrastructure") need their support in the clause too.
        let ok = match k {
            ChangeKind::ComputeCommitment => cues.commit || has_money || has_power,
            _ => true,
        };
        if ok {
            add_kind(*k, c.start, true);
        }
    }

    // A negated trigger ("will not be exclusive to X") and the state before
    // the news ("Until now, X was sold only through Y") state no change.
    // "Until now," may stand in a clause of its own: the sentence up to here counts.
    let before: Vec<usize> = slice(a.hits, input.evidence.0, c.end, |h| h.start)
        .iter()
        .filter(|h| h.cue == Cue::Before)
        .map(|h| h.end)
        .collect();
    let mut negated_exclusive = false;
    kinds.retain(|&(k, pos, from_head)| {
        if from_head {
            return true;
        }
        if before_the_news(&t.lower, &before, pos) {
            return false;
        }
        if negated(&t.lower, &cues.negations, pos) {
            negated_exclusive |= k == ChangeKind::Exclusivity;
            return false;
        }
        true
    });

    // Finding names and dates is most of a clause's cost; a clause whose
    // triggers all lacked support has no kind to find them for.
    if kinds.is_empty() {
        return out;
    }

    // Names in the clause: known ones, then products and organisations by shape.
    let mut ments: Vec<Mention> = slice(a.ments, c.start, c.end, |m| m.start)
        .iter()
        .filter(|m| m.end <= c.end)
        .cloned()
        .collect();
    let mut extra = Vec::new();
    super::entities::unknown_products(&t.norm, c.start, c.end, &ments, &mut extra);
    ments.append(&mut extra);
    ments.sort_by_key(|m| m.start);
    products::glued_versions(e, &t.norm, c.start, c.end, &ments, &mut extra);
    ments.append(&mut extra);
    ments.sort_by_key(|m| m.start);
    super::entities::unknown_orgs(&t.norm, c.start, c.end, &ments, &mut extra);
    ments.extend(extra);
    ments.sort_by_key(|m| m.start);
    short_names(e, a, c.start, c.end, &mut ments);
    for m in ments.iter_mut() {
        canonical_product(a, m);
    }
    // A trigger word inside an organisation's name ("Kestrel Compute
    // Systems", "Capacity Labs") is part of the name, not a statement.
    let org_spans = super::entities::Spans::of(
        ments
            .iter()
            .filter(|m| matches!(m.ent, Ent::Org(_)))
            .map(|m| (m.start, m.end)),
    );
    kinds.retain(|k| k.2 || !org_spans.overlaps(k.1, k.1 + 1));
    if kinds.is_empty() {
        return out;
    }

    let trigger_positions: Vec<(ChangeKind, usize)> =
        kinds.iter().filter(|k| !k.2).map(|k| (k.0, k.1)).collect();
    let orgs_all = roles::orgs_at(&ments);
    let mut base_conf = a.base_confidence;
    if cues.hedge {
        base_conf -= 0.35;
    }
    if input.is_heading {
        base_conf -= 0.1;
    }
    let denial = cues.denial;
    let evidence = input.evidence;
    let mut plats_here: Vec<Platform> = Vec::new();

    // Dates are read once per clause, not once per kind.
    let until = dates::until(clause_text, a.ref_year);
    let effective = dates::effective(lower, clause_text, a.published);
    let strong: Vec<ChangeKind> = kinds
        .iter()
        .filter(|k| !k.2 && cues.kinds.iter().any(|c| c.0 == k.0))
        .map(|k| k.0)
        .collect();
    for (kind, trig, from_head) in kinds {
        // "free to license", "frees Microsoft to invest": room granted, not a term.
        if let Some(p) = cues.permission
            && p < trig
            && kind != ChangeKind::Exclusivity
        {
            continue;
        }
        let own = local_statuses(hits, &trigger_positions, kind, trig, from_head);
        let (status, explicit) = status_for(kind, &own, &head_cues);
        let mut conf =
            base_conf - if from_head { 0.05 } else { 0.0 } - if explicit { 0.0 } else { 0.05 };
        conf = conf.clamp(0.05, 0.99);
        let mut change = TermChange {
            kind,
            parties: Vec::new(),
            licensor: None,
            licensee: None,
            payer: None,
            payee: None,
            product: None,
            platform: None,
            status,
            exclusive: None,
            until: until.clone(),
            effective: effective.clone(),
            evidence: String::new(),
            span: Span::default(),
            confidence: conf,
        };
        let local: Vec<OrgAt> = orgs_all
            .iter()
            .map(|o| OrgAt {
                start: o.start - c.start,
                end: o.end - c.start,
                name: o.name.clone(),
                possessive: o.possessive,
            })
            .collect();
        let trig_local = trig.saturating_sub(c.start);
        let mut emit = |change: TermChange, explicit: bool| {
            out.candidates.push(Candidate {
                change,
                norm_span: evidence,
                denial,
                explicit,
                from_heading: input.is_heading,
            });
        };
        match kind {
            ChangeKind::Exclusivity => {
                if cues.permission.is_some() && !cues.multicloud && !from_head {
                    continue;
                }
                let cut = cues.permission.unwrap_or(c.end);
                let mut parties = party_names(&ments, |m| m.start < cut);
                // "exclusive to a single cloud": the other side is nobody in
                // particular, so the clause's own party stands alone rather
                // than taking an unrelated name from the article.
                let unnamed_other = parties.len() == 1
                    && UNNAMED_COUNTERPART
                        .iter()
                        .any(|p| t.lower[c.start..c.end].contains(p));
                if !unnamed_other && !fill_parties(a, &mut parties, input, &cues, explicit) {
                    continue;
                }
                let ended = change.status == Status::Ended;
                change.exclusive = Some(!ended);
                if cues.permission.is_some() && cues.multicloud {
                    change.status = Status::Ended;
                    change.exclusive = Some(false);
                }
                change.parties = parties;
                emit(change, explicit || cues.multicloud);
            }
            ChangeKind::License => {
                // "a licensing dispute", "licensing fees": about a licence, not a grant of one.
                let after = t.lower[trig..c.end].split_whitespace().nth(1).unwrap_or("");
                if matches!(
                    after,
                    "dispute"
                        | "disputes"
                        | "audit"
                        | "audits"
                        | "fee"
                        | "fees"
                        | "costs"
                        | "talks"
                ) {
                    continue;
                }
                let (licensor, licensee) = roles::license(lower, &local, trig_local);
                let (licensor, licensee) = match (licensor, licensee) {
                    (Some(a), Some(b)) => (a, b),
                    (None, Some(b)) => match other_party(a, &b) {
                        Some(x) => (x, b),
                        None => continue,
                    },
                    _ => continue,
                };
                if negated_exclusive {
                    // "a licence that will not be exclusive"
                    change.status = Status::NonExclusive;
                    change.exclusive = Some(false);
                } else if cues.statuses.contains(&Status::NonExclusive) {
                    change.exclusive = Some(false);
                } else if cues.kinds.iter().any(|k| k.0 == ChangeKind::Exclusivity) {
                    change.exclusive = Some(true);
                }
                change.parties = vec![licensor.clone(), licensee.clone()];
                change.licensor = Some(licensor);
                change.licensee = Some(licensee);
                emit(change, explicit);
            }
            ChangeKind::RevenueShare => {
                if local.is_empty() {
                    continue;
                }
                let (payer, payee) = roles::revenue(lower, &local, trig_local);
                let (payer, payee) = match (payer, payee) {
                    (Some(p), Some(q)) if p != q => (p, q),
                    (Some(p), None) => match other_party(a, &p) {
                        Some(q) => (p, q),
                        None => continue,
                    },
                    (None, Some(q)) => match other_party(a, &q) {
                        Some(p) => (p, q),
                        None => continue,
                    },
                    _ => continue,
                };
                change.parties = vec![payer.clone(), payee.clone()];
                change.payer = Some(payer);
                change.payee = Some(payee);
                emit(change, explicit);
            }
            ChangeKind::CloudPriority | ChangeKind::Governance => {
                if kind == ChangeKind::Governance && !explicit {
                    continue;
                }
                let mut parties = party_names(&ments, |_| true);
                if !fill_parties(a, &mut parties, input, &cues, explicit) {
                    continue;
                }
                change.parties = parties;
                emit(change, explicit);
            }
            ChangeKind::ComputeCommitment => {
                // "NVIDIA GPUs", "Nvidia graphics processors": a brand on hardware is not a party.
                let mut parties = party_names(&ments, |m| !is_brand_modifier(&t.norm, m));
                if !fill_parties(a, &mut parties, input, &cues, explicit) {
                    continue;
                }
                change.parties = parties;
                emit(change, explicit);
            }
            ChangeKind::Investment => {
                // "enterprises already invested in Foundry": committed, not funded.
                let word_before = t.lower[c.start..trig].split_whitespace().next_back();
                if !has_money
                    && matches!(
                        word_before,
                        Some(
                            "already"
                                | "deeply"
                                | "heavily"
                                | "fully"
                                | "emotionally"
                                | "are"
                                | "were"
                        )
                    )
                {
                    continue;
                }
                let target = orgs_all
                    .iter()
                    .find(|o| {
                        o.start > trig || {
                            let before = &t.lower[c.start..o.start];
                            before.ends_with(" in ") || before.ends_with(" into ")
                        }
                    })
                    .filter(|o| {
                        let before = &t.lower[c.start..o.start];
                        before.ends_with(" in ")
                            || before.ends_with(" into ")
                            || before.ends_with(" in the ")
                    })
                    .map(|o| o.name.clone())
                    .or_else(|| input.prev_target.clone());
                let Some(target) = target else {
                    let mut parties = party_names(&ments, |_| true);
                    // A heading names both sides or is a link to another story.
                    if !input.is_heading && fill_parties(a, &mut parties, input, &cues, explicit) {
                        change.parties = parties;
                        emit(change, explicit);
                    }
                    continue;
                };
                out.target = Some(target.clone());
                let mut investors: Vec<String> = Vec::new();
                for o in &orgs_all {
                    if o.name != target {
                        push_unique(&mut investors, &o.name);
                    }
                }
                if investors.is_empty()
                    && !input.is_heading
                    && let Some(x) = other_party(a, &target)
                {
                    investors.push(x);
                }
                for inv in investors {
                    let mut ch = change.clone();
                    ch.parties = vec![inv, target.clone()];
                    emit(ch, explicit);
                }
            }
            ChangeKind::Availability | ChangeKind::Pricing | ChangeKind::Deprecation => {
                if kind == ChangeKind::Pricing && (cues.comparison || !(explicit || has_money)) {
                    continue;
                }
                let mut prods = products::products(&t.norm, c.end, &ments);
                if kind == ChangeKind::Pricing {
                    // "a 20% reduction from Wren 4 pricing": the yardstick, not a change.
                    prods.retain(|p| !comparison_object(&t.lower, c.start, p.start));
                }
                if kind != ChangeKind::Availability
                    && let Some(r) = replacement_cue(&t.lower, trig, c.end)
                {
                    // "... retired, pointing customers to Orca 4 instead": the
                    // replacement named after the retirement is not retired.
                    prods.retain(|p| p.start < r);
                }
                if prods.is_empty() && products::refers_to_models(lower) {
                    prods = products::title_products(a);
                }
                if prods.is_empty() && kind == ChangeKind::Deprecation {
                    prods = products::headed_products(&t.norm, c.start, c.end, &ments);
                }
                if prods.is_empty() {
                    continue;
                }
                // "Corvid Cloud now supports Orca 3 through its serving layer":
                // the subject of "supports" is where the product runs.
                let subject_hosts = products::subject_hosts(&t.lower[trig.min(c.end)..c.end]);
                let mut plats = if subject_hosts {
                    let before: Vec<Mention> =
                        ments.iter().filter(|m| m.end <= trig).cloned().collect();
                    products::platforms(&t.norm, c.start, trig.min(c.end), &before, &prods)
                } else {
                    Vec::new()
                };
                if plats.is_empty() {
                    plats = products::platforms(&t.norm, trig.min(c.end), c.end, &ments, &prods);
                }
                if plats.is_empty() {
                    plats = products::platforms(&t.norm, c.start, c.end, &ments, &prods);
                }
                let plats: Vec<Platform> = plats
                    .into_iter()
                    .filter_map(|p| {
                        if products::is_bare_api(&p.name) {
                            let maker = prods.iter().find_map(|p| {
                                p.maker.clone().or_else(|| products::id_maker(e, &p.name))
                            });
                            return super::lists::vendor_api(e, a, maker.as_deref());
                        }
                        Some(upgrade_platform(e, a, p))
                    })
                    .collect();
                let plats = if plats.is_empty() {
                    // "Corvid Cloud has removed Falcon 2 from its catalogue": the subject runs the platform.
                    let subject = orgs_all
                        .iter()
                        .find(|o| o.start < trig && !o.possessive)
                        .filter(|o| {
                            o.name.ends_with(" Cloud")
                                || a.platforms.iter().all(|p| !p.owners.contains(&o.name))
                        })
                        .filter(|o| {
                            prods
                                .iter()
                                .all(|p| p.maker.as_deref() != Some(o.name.as_str()))
                        })
                        .map(|o| Platform {
                            name: o.name.clone(),
                            owners: vec![o.name.clone()],
                        });
                    input
                        .context_platforms
                        .first()
                        .cloned()
                        .or(subject)
                        .or(a.platforms.first().cloned())
                        .into_iter()
                        .collect()
                } else {
                    plats_here.extend(plats.iter().cloned());
                    plats
                };
                for pr in &prods {
                    // "Helix Sage 2" from "Helix AI": a brand word shared with an article party names the maker.
                    let maker = pr
                        .maker
                        .clone()
                        .or_else(|| products::id_maker(e, &pr.name))
                        .or_else(|| {
                            let first = pr.name.split(' ').next()?;
                            a.parties
                                .iter()
                                .find(|p| p.split(' ').next() == Some(first) && p.contains(' '))
                                .cloned()
                        });
                    for pl in &plats {
                        let mut ch = change.clone();
                        let mut parties: Vec<String> = Vec::new();
                        if let Some(m) = &maker {
                            push_unique(&mut parties, m);
                        }
                        for o in &pl.owners {
                            push_unique(&mut parties, o);
                        }
                        ch.parties = parties;
                        ch.product = Some(pr.name.clone());
                        ch.platform = Some(pl.name.clone());
                        ch.until = None;
                        emit(ch, explicit);
                    }
                }
            }
        }
    }
    out.platforms = plats_here;
    if !denial {
        out.signals = signals(&strong, &ments, &out.candidates, evidence);
    }
    out
}

/// Phrases after which a retirement or price notice names the successor.
const REPLACEMENT_CUES: &[&str] = &[
    "pointing customers to",
    "point customers to",
    "points customers to",
    "in favor of",
    "in favour of",
    "migrate to",
    "migrating to",
    "move to",
    "moving to",
    "upgrade to",
    "upgrading to",
    "switch to",
    "switching to",
    "transition to",
    "replaced by",
    "replaced with",
    "replacement",
    "successor",
];

/// Where the first replacement cue after the trigger starts, in the clause.
fn replacement_cue(lower: &str, trig: usize, end: usize) -> Option<usize> {
    let from = trig.min(end);
    let tail = &lower[from..end];
    REPLACEMENT_CUES
        .iter()
        .filter_map(|c| tail.find(c))
        .min()
        .map(|i| from + i)
}

/// Signals for the strong kinds of a clause that gave no change although
/// it names someone or something: what a reviewer should look at, and the
/// slot the rules could not fill.
fn signals(
    strong: &[ChangeKind],
    ments: &[Mention],
    cands: &[Candidate],
    evidence: (usize, usize),
) -> Vec<SignalCand> {
    if ments.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<String> = Vec::new();
    for m in ments {
        match &m.ent {
            Ent::Product { name, .. } | Ent::Platform { name, .. } | Ent::Org(name) => {
                push_unique(&mut names, name)
            }
        }
    }
    let has_product = ments.iter().any(|m| matches!(m.ent, Ent::Product { .. }));
    let orgs = party_names(ments, |_| true).len();
    strong
        .iter()
        .filter(|k| !cands.iter().any(|c| c.change.kind == **k))
        .map(|&kind| {
            let missing = match kind {
                ChangeKind::Availability | ChangeKind::Pricing | ChangeKind::Deprecation => {
                    if !has_product {
                        "a product"
                    } else if kind == ChangeKind::Pricing {
                        "a platform or a stated price change"
                    } else {
                        "a platform"
                    }
                }
                ChangeKind::License => "a licensor and a licensee",
                ChangeKind::RevenueShare => "a payer and a payee",
                _ if orgs < 2 => "a second party",
                _ => "a stated change",
            };
            SignalCand {
                kind,
                norm_span: evidence,
                names: names.clone(),
                missing,
            }
        })
        .collect()
}

/// "reduction from", "cheaper than", "compared with": what stands right
/// after one of these is what a price is measured against.
static COMPARISON_TAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:reduction|decrease|drop|cut|discount|savings?|increase|rise|down|up|lower|higher|cheaper|less|more|below|above|off)\s+(?:from|over|on|than|versus|vs\.?|against|relative to|compared (?:with|to))|\b(?:than|versus|vs\.?|compared (?:with|to)|relative to|against))\s+(?:the\s+|its\s+|their\s+)?$")
        .expect("static pattern is valid")
});

/// True when the product at `at` is the object of a price comparison.
fn comparison_object(lower: &str, clause_start: usize, at: usize) -> bool {
    // The marker is within a few words: a bounded window keeps this constant-time.
    let from = super::text::floor_boundary(lower, at.saturating_sub(40)).max(clause_start);
    COMPARISON_TAIL_RE.is_match(&lower[from..at])
}

/// Words a negator reaches forward: "will not be exclusive", "does not
/// currently license", but not a trigger in a later phrase.
const NEGATION_SCOPE_WORDS: usize = 3;

/// True when a negator ends shortly before the trigger at `trig`, with no
/// clause punctuation between ("not only" and "not just" widen, not negate).
fn negated(lower: &str, negations: &[usize], trig: usize) -> bool {
    negations.iter().any(|&n| {
        if n > trig {
            return false;
        }
        let gap = &lower[n..trig];
        let first = gap.split_whitespace().next().unwrap_or("");
        gap.split_whitespace().count() <= NEGATION_SCOPE_WORDS
            && !gap.contains([',', ';', ':', '.'])
            && !matches!(first, "only" | "just" | "merely" | "least")
    })
}

/// Words that turn from the state before to the news ("Until now ..., but
/// starting today ...").
const TURN_TO_NEWS: &[&str] = &[
    " but ",
    "; ",
    " now ",
    " now,",
    " starting ",
    " from today",
    " as of ",
    " beginning ",
    " will ",
    " today",
];

/// True when the trigger at `trig` stands after an "until now"-type phrase
/// in its clause with no turn to the news in between: it describes what was.
fn before_the_news(lower: &str, before: &[usize], trig: usize) -> bool {
    before.iter().any(|&b| {
        b <= trig && {
            let gap = &lower[b..trig];
            !TURN_TO_NEWS.iter().any(|w| gap.contains(w))
        }
    })
}

/// The status cues that speak about the trigger at `trig`: a cue is shadowed
/// when another kind's trigger stands between it and this one ("A sheds its
/// revenue share while retaining its stake": "sheds" is not about the stake).
fn local_statuses(
    hits: &[Hit],
    triggers: &[(ChangeKind, usize)],
    kind: ChangeKind,
    trig: usize,
    from_head: bool,
) -> Vec<Status> {
    let related = |a: ChangeKind, b: ChangeKind| {
        a == b
            || matches!(
                (a, b),
                (ChangeKind::License, ChangeKind::Exclusivity)
                    | (ChangeKind::Exclusivity, ChangeKind::License)
            )
    };
    hits.iter()
        .filter_map(|h| match h.cue {
            Cue::Status(s) => Some((s, h.start)),
            _ => None,
        })
        .filter(|(_, pos)| {
            from_head
                || !triggers.iter().any(|(k, tp)| {
                    !related(*k, kind) && ((*tp > *pos && *tp < trig) || (*tp < *pos && *tp > trig))
                })
        })
        .map(|(s, _)| s)
        .collect()
}

/// Organisations among the mentions that pass `keep`, in order.
fn party_names(ments: &[Mention], keep: impl Fn(&Mention) -> bool) -> Vec<String> {
    let mut v = Vec::new();
    for m in ments.iter().filter(|m| keep(m)) {
        for o in m.orgs() {
            push_unique(&mut v, o);
        }
    }
    v
}

/// Tops the parties up to two from the article's parties, when the clause
/// refers to them (it names one side, says "the partnership", or is a bullet
/// with a clear status). False when there are still not two.
fn fill_parties(
    a: &ArticleCtx,
    parties: &mut Vec<String>,
    input: &ClauseIn,
    cues: &Cues,
    explicit: bool,
) -> bool {
    if parties.len() < 2 {
        let allowed = !parties.is_empty() || cues.anaphor || (input.in_bullet && explicit);
        if !allowed {
            return false;
        }
        for p in &a.parties {
            if parties.len() >= 2 {
                break;
            }
            push_unique(parties, p);
        }
    }
    parties.len() >= 2
}

/// The other organisation the article is about.
fn other_party(a: &ArticleCtx, one: &str) -> Option<String> {
    a.parties.iter().find(|p| *p != one).cloned()
}

fn is_brand_modifier(norm: &str, m: &Mention) -> bool {
    if m.possessive || !matches!(m.ent, Ent::Org(_)) {
        return false;
    }
    let rest = norm[m.end..].trim_start();
    let next: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
    let lower = next.to_ascii_lowercase();
    next.chars().next().is_some_and(|c| c.is_uppercase())
        || matches!(
            lower.as_str(),
            "gpus"
                | "gpu"
                | "chips"
                | "chip"
                | "graphics"
                | "processors"
                | "hardware"
                | "systems"
                | "accelerators"
                | "servers"
        )
}

/// "in Snowflake": an organisation written where a platform goes stands for
/// the platform the article names for it ("Snowflake Cortex").
pub(super) fn upgrade_platform(e: &Engine, a: &ArticleCtx, p: Platform) -> Platform {
    // Among the owner's platforms the article names, a service ("Amazon
    // Bedrock") is meant before the owner's cloud as a whole ("AWS").
    if let Some(org) = e.gaz.org_named(&p.name) {
        let owned = |k: &&Platform| k.owners.first().map(|s| s.as_str()) == Some(org);
        let known = a
            .platforms
            .iter()
            .filter(owned)
            .find(|k| e.gaz.org_named(&k.name).is_none())
            .or_else(|| a.platforms.iter().find(owned));
        if let Some(known) = known {
            return known.clone();
        }
    }
    p
}

/// How many of the article's parties (most prominent first) may be written
/// short; the rest are named in full wherever they matter.
const SHORT_NAME_PARTIES: usize = 8;

/// News shortens names after the first mention ("Brightline" for
/// "Brightline Software"): a capitalised word that opens the name of an
/// organisation the article is about stands for it.
fn short_names(e: &Engine, a: &ArticleCtx, from: usize, to: usize, ments: &mut Vec<Mention>) {
    let norm = &a.t.norm;
    let mut added = false;
    // A name found by shape that opens a party's full name is that party
    // ("Kestrel will license ..." after "Kestrel Compute Systems").
    for m in ments.iter_mut() {
        if let Ent::Org(o) = &m.ent
            && !a.parties.contains(o)
            && e.gaz.org_named(o).is_none()
            && let Some(full) = super::full_name(&a.parties, o)
        {
            m.ent = Ent::Org(full.to_string());
        }
    }
    // The main parties only: each costs one pass over the clause.
    for p in a
        .parties
        .iter()
        .filter(|p| p.contains(' '))
        .take(SHORT_NAME_PARTIES)
    {
        let taken = super::entities::Spans::new(ments.iter());
        let first = p.split(' ').next().unwrap_or(p);
        if first.len() < 3 {
            continue;
        }
        let mut at = from;
        while let Some(i) = norm[at..to].find(first) {
            let s = at + i;
            let e = s + first.len();
            at = e;
            let b = norm.as_bytes();
            if (s > 0 && super::text::is_word_byte(b.get(s - 1)))
                || super::text::is_word_byte(b.get(e))
            {
                continue;
            }
            if norm[e..].starts_with(' ') && norm[e + 1..].starts_with(|c: char| c.is_uppercase()) {
                continue;
            }
            if taken.overlaps(s, e) {
                continue;
            }
            ments.push(Mention {
                start: s,
                end: e,
                ent: Ent::Org(p.clone()),
                possessive: norm[e..].starts_with("'s "),
            });
            added = true;
        }
    }
    if added {
        ments.sort_by_key(|m| m.start);
    }
}

/// A short product name stands for the fuller one the article uses
/// ("Medium 4" for "Mistral Medium 4").
fn canonical_product(a: &ArticleCtx, m: &mut Mention) {
    let Ent::Product { name, maker } = &mut m.ent else {
        return;
    };
    let suffix = format!(" {name}");
    if let Some((full, fm)) = a.products.iter().find(|(full, _)| full.ends_with(&suffix)) {
        *name = full.clone();
        if maker.is_none() {
            maker.clone_from(fm);
        }
    }
}
