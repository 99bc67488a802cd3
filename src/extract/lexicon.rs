//! Cue lexicons as data: triggers per kind, status cues, hedges, denials,
//! history, permission and multi-cloud phrases. One Aho-Corasick automaton
//! over the lower-cased text finds them all in a single linear pass.
//!
//! A pattern ending in `*` is a stem ("discontinu*" matches "discontinued");
//! every other pattern must end at a word boundary. All must start at one.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::model::{ChangeKind, Status};

/// What a matched phrase says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// A phrase that by itself says the clause is about this kind.
    Kind(ChangeKind),
    /// A phrase that names the kind only with support (an amount, a verb).
    Weak(ChangeKind),
    Status(Status),
    Hedge,
    Denial,
    History,
    /// "free to", "can now": the clause grants room, it does not state a term.
    Permission,
    /// "any cloud", "other clouds": the room granted is multi-cloud.
    MultiCloud,
    /// A verb of buying or committing (compute commitments).
    Commit,
    /// "the partnership", "the deal": refers back to the article's parties.
    Anaphor,
    /// A comparison ("cheaper than"): not a change of price.
    Comparison,
}

use ChangeKind as K;
use Cue::*;
use Status as S;

const ENTRIES: &[(&str, Cue)] = &[
    // exclusivity
    ("exclusiv*", Kind(K::Exclusivity)),
    ("sole cloud", Kind(K::Exclusivity)),
    ("sole provider", Kind(K::Exclusivity)),
    ("only cloud", Kind(K::Exclusivity)),
    ("sold only", Kind(K::Exclusivity)),
    ("only through", Kind(K::Exclusivity)),
    ("only be sold", Kind(K::Exclusivity)),
    ("non-exclusiv*", Status(S::NonExclusive)),
    ("nonexclusiv*", Status(S::NonExclusive)),
    ("non exclusiv*", Status(S::NonExclusive)),
    ("no longer exclusive", Status(S::NonExclusive)),
    ("not exclusive", Status(S::NonExclusive)),
    // license
    ("licens*", Kind(K::License)),
    ("licenc*", Kind(K::License)),
    ("ip rights", Kind(K::License)),
    ("rights to", Kind(K::License)),
    ("usage rights", Kind(K::License)),
    // revenue share
    ("revenue share", Kind(K::RevenueShare)),
    ("revenue-share", Kind(K::RevenueShare)),
    ("revenue sharing", Kind(K::RevenueShare)),
    ("revenue-sharing", Kind(K::RevenueShare)),
    ("share of revenue", Kind(K::RevenueShare)),
    ("share of its revenue", Kind(K::RevenueShare)),
    ("share of their revenue", Kind(K::RevenueShare)),
    ("slice of its revenue", Kind(K::RevenueShare)),
    ("of its revenue", Kind(K::RevenueShare)),
    ("of the revenue", Kind(K::RevenueShare)),
    ("of revenue", Kind(K::RevenueShare)),
    ("royalt*", Kind(K::RevenueShare)),
    ("sharing revenue", Kind(K::RevenueShare)),
    ("share revenue", Kind(K::RevenueShare)),
    ("shares revenue", Kind(K::RevenueShare)),
    ("shared revenue", Kind(K::RevenueShare)),
    ("share of sales", Kind(K::RevenueShare)),
    ("share of its sales", Kind(K::RevenueShare)),
    ("share of marketplace sales", Kind(K::RevenueShare)),
    ("share of net sales", Kind(K::RevenueShare)),
    ("payment*", Weak(K::RevenueShare)),
    ("paying", Weak(K::RevenueShare)),
    ("pays", Weak(K::RevenueShare)),
    ("pay", Weak(K::RevenueShare)),
    ("remit*", Weak(K::RevenueShare)),
    // availability
    ("available", Kind(K::Availability)),
    ("generally available", Kind(K::Availability)),
    ("now available", Kind(K::Availability)),
    ("preview", Kind(K::Availability)),
    ("public preview", Kind(K::Availability)),
    ("private preview", Kind(K::Availability)),
    ("launches on", Kind(K::Availability)),
    ("launched on", Kind(K::Availability)),
    ("launches in", Kind(K::Availability)),
    ("launched in", Kind(K::Availability)),
    ("arrives on", Kind(K::Availability)),
    ("arrives in", Kind(K::Availability)),
    ("arrive on", Kind(K::Availability)),
    ("arrive in", Kind(K::Availability)),
    ("lands in", Kind(K::Availability)),
    ("lands on", Kind(K::Availability)),
    ("comes to", Kind(K::Availability)),
    ("coming to", Kind(K::Availability)),
    ("added", Kind(K::Availability)),
    ("adds", Kind(K::Availability)),
    ("adding", Kind(K::Availability)),
    ("bring", Kind(K::Availability)),
    ("brings", Kind(K::Availability)),
    ("bringing", Kind(K::Availability)),
    ("integrated into", Kind(K::Availability)),
    ("integrated in", Kind(K::Availability)),
    ("went on sale", Kind(K::Availability)),
    ("goes on sale", Kind(K::Availability)),
    ("goes live", Kind(K::Availability)),
    ("went live", Kind(K::Availability)),
    ("offered", Kind(K::Availability)),
    ("deployable", Kind(K::Availability)),
    ("deploy", Kind(K::Availability)),
    ("can now be deployed", Kind(K::Availability)),
    ("withdr*", Kind(K::Availability)),
    ("pulled", Kind(K::Availability)),
    ("removed", Kind(K::Availability)),
    ("removes", Kind(K::Availability)),
    ("pulls", Kind(K::Availability)),
    ("delist*", Kind(K::Availability)),
    ("no longer available", Kind(K::Availability)),
    ("rolling out to", Kind(K::Availability)),
    ("rolls out to", Kind(K::Availability)),
    ("rolled out to", Kind(K::Availability)),
    ("rolling out on", Kind(K::Availability)),
    ("rolls out on", Kind(K::Availability)),
    ("rolled out on", Kind(K::Availability)),
    ("now live", Kind(K::Availability)),
    ("is live on", Kind(K::Availability)),
    ("are live on", Kind(K::Availability)),
    ("is live in", Kind(K::Availability)),
    ("are live in", Kind(K::Availability)),
    ("now supported", Kind(K::Availability)),
    ("now offered", Kind(K::Availability)),
    ("now hosted", Kind(K::Availability)),
    ("accessible", Kind(K::Availability)),
    ("can now be accessed", Kind(K::Availability)),
    ("can now be used", Kind(K::Availability)),
    ("can now access", Kind(K::Availability)),
    ("can now use", Kind(K::Availability)),
    ("can now call", Kind(K::Availability)),
    ("can now try", Kind(K::Availability)),
    ("can now build with", Kind(K::Availability)),
    ("launch on", Kind(K::Availability)),
    ("launch in", Kind(K::Availability)),
    ("launching on", Kind(K::Availability)),
    ("launching in", Kind(K::Availability)),
    ("debuts on", Kind(K::Availability)),
    ("debuts in", Kind(K::Availability)),
    ("debuted on", Kind(K::Availability)),
    ("debuted in", Kind(K::Availability)),
    ("expands to", Kind(K::Availability)),
    ("expanded to", Kind(K::Availability)),
    ("expanding to", Kind(K::Availability)),
    ("ships in", Kind(K::Availability)),
    ("ships on", Kind(K::Availability)),
    ("arriving on", Kind(K::Availability)),
    ("arriving in", Kind(K::Availability)),
    ("landing on", Kind(K::Availability)),
    ("landing in", Kind(K::Availability)),
    ("land on", Kind(K::Availability)),
    ("land in", Kind(K::Availability)),
    ("landed on", Kind(K::Availability)),
    ("landed in", Kind(K::Availability)),
    ("listed on", Kind(K::Availability)),
    ("listed in", Kind(K::Availability)),
    ("now listed", Kind(K::Availability)),
    ("now on", Kind(K::Availability)),
    ("continuing access", Kind(K::Availability)),
    ("continued access", Kind(K::Availability)),
    ("continue to offer", Kind(K::Availability)),
    ("continues to offer", Kind(K::Availability)),
    ("now supports", Kind(K::Availability)),
    ("now support", Kind(K::Availability)),
    ("adds support for", Kind(K::Availability)),
    ("added support for", Kind(K::Availability)),
    ("can access", Kind(K::Availability)),
    ("gain access", Kind(K::Availability)),
    ("get access", Kind(K::Availability)),
    ("general availability", Kind(K::Availability)),
    ("taken down", Kind(K::Availability)),
    ("no longer offered", Kind(K::Availability)),
    // cloud priority
    ("primary cloud", Kind(K::CloudPriority)),
    ("primary provider", Kind(K::CloudPriority)),
    ("primary infrastructure", Kind(K::CloudPriority)),
    ("primary, first-served", Kind(K::CloudPriority)),
    ("first-served", Kind(K::CloudPriority)),
    ("first on", Kind(K::CloudPriority)),
    ("ship first", Kind(K::CloudPriority)),
    ("ships first", Kind(K::CloudPriority)),
    ("shipping first", Kind(K::CloudPriority)),
    ("launch first", Kind(K::CloudPriority)),
    ("launches first", Kind(K::CloudPriority)),
    ("launching first", Kind(K::CloudPriority)),
    ("right of first refusal", Kind(K::CloudPriority)),
    ("first-right-of-refusal", Kind(K::CloudPriority)),
    ("first right of refusal", Kind(K::CloudPriority)),
    ("preferred cloud", Kind(K::CloudPriority)),
    ("preferred partner", Kind(K::CloudPriority)),
    ("preferred-partner", Kind(K::CloudPriority)),
    ("preferred provider", Kind(K::CloudPriority)),
    ("primary on", Kind(K::CloudPriority)),
    // investment
    ("invests", Kind(K::Investment)),
    ("invested", Kind(K::Investment)),
    ("investing", Kind(K::Investment)),
    ("invest", Kind(K::Investment)),
    ("stake", Kind(K::Investment)),
    ("stakes", Kind(K::Investment)),
    ("shareholder*", Kind(K::Investment)),
    ("equity stake", Kind(K::Investment)),
    ("equity participant", Kind(K::Investment)),
    ("equity upside", Kind(K::Investment)),
    ("equity position", Kind(K::Investment)),
    ("equity investment", Kind(K::Investment)),
    ("putting up to", Kind(K::Investment)),
    ("funding round", Kind(K::Investment)),
    ("investment*", Weak(K::Investment)),
    // compute commitment
    ("compute", Weak(K::ComputeCommitment)),
    ("computing capacity", Weak(K::ComputeCommitment)),
    ("capacity", Weak(K::ComputeCommitment)),
    ("gigawatt*", Weak(K::ComputeCommitment)),
    ("megawatt*", Weak(K::ComputeCommitment)),
    ("datacenter*", Weak(K::ComputeCommitment)),
    ("data center*", Weak(K::ComputeCommitment)),
    ("data centre*", Weak(K::ComputeCommitment)),
    ("gpus", Weak(K::ComputeCommitment)),
    ("tpus", Weak(K::ComputeCommitment)),
    ("chips", Weak(K::ComputeCommitment)),
    ("accelerators", Weak(K::ComputeCommitment)),
    ("infrastructure", Weak(K::ComputeCommitment)),
    ("ultraservers", Weak(K::ComputeCommitment)),
    ("supercomput*", Weak(K::ComputeCommitment)),
    ("cloud services", Weak(K::ComputeCommitment)),
    ("cloud capacity", Weak(K::ComputeCommitment)),
    ("commit*", Commit),
    ("buy", Commit),
    ("buys", Commit),
    ("buying", Commit),
    ("purchas*", Commit),
    ("spend", Commit),
    ("spending", Commit),
    ("supply", Commit),
    ("supplies", Commit),
    ("rent", Commit),
    ("reserve*", Commit),
    ("agreed to buy", Commit),
    ("will use", Commit),
    ("worth", Commit),
    // pricing
    ("price*", Kind(K::Pricing)),
    ("pricing", Kind(K::Pricing)),
    ("credit cost", Kind(K::Pricing)),
    ("cost of", Kind(K::Pricing)),
    ("cheaper", Kind(K::Pricing)),
    ("per million", Kind(K::Pricing)),
    ("per 1m", Kind(K::Pricing)),
    ("per token", Kind(K::Pricing)),
    ("fee", Kind(K::Pricing)),
    ("fees", Kind(K::Pricing)),
    ("discount*", Kind(K::Pricing)),
    ("costs", Kind(K::Pricing)),
    ("per 1k", Kind(K::Pricing)),
    ("per thousand", Kind(K::Pricing)),
    ("per hour", Kind(K::Pricing)),
    ("per request", Kind(K::Pricing)),
    ("per image", Kind(K::Pricing)),
    ("per second", Kind(K::Pricing)),
    ("per minute", Kind(K::Pricing)),
    ("new rates", Kind(K::Pricing)),
    ("rate card", Kind(K::Pricing)),
    ("billed", Kind(K::Pricing)),
    ("free tier", Kind(K::Pricing)),
    ("more expensive", Kind(K::Pricing)),
    ("less expensive", Kind(K::Pricing)),
    ("surcharge*", Kind(K::Pricing)),
    ("markup", Kind(K::Pricing)),
    ("than", Comparison),
    ("compared with", Comparison),
    ("compared to", Comparison),
    // deprecation
    ("retir*", Kind(K::Deprecation)),
    ("deprecat*", Kind(K::Deprecation)),
    ("sunset*", Kind(K::Deprecation)),
    ("end of life", Kind(K::Deprecation)),
    ("end-of-life", Kind(K::Deprecation)),
    ("shut down", Kind(K::Deprecation)),
    ("shutting down", Kind(K::Deprecation)),
    ("decommission*", Kind(K::Deprecation)),
    ("shutdown", Kind(K::Deprecation)),
    ("shuts down", Kind(K::Deprecation)),
    ("will shut down", Kind(K::Deprecation)),
    ("end of support", Kind(K::Deprecation)),
    ("end-of-support", Kind(K::Deprecation)),
    ("end of its lifecycle", Kind(K::Deprecation)),
    ("end of their lifecycle", Kind(K::Deprecation)),
    ("eol", Kind(K::Deprecation)),
    ("phasing out", Kind(K::Deprecation)),
    ("being phased out", Kind(K::Deprecation)),
    ("will be phased out", Kind(K::Deprecation)),
    // governance
    ("governance", Kind(K::Governance)),
    ("board seat", Kind(K::Governance)),
    ("board", Kind(K::Governance)),
    ("agi", Kind(K::Governance)),
    ("observer seat", Kind(K::Governance)),
    ("voting", Kind(K::Governance)),
    ("expert panel", Kind(K::Governance)),
    ("control of", Kind(K::Governance)),
    ("veto", Kind(K::Governance)),
    // status cues
    ("no longer", Status(S::Ended)),
    ("relinquish*", Status(S::Ended)),
    ("stop", Status(S::Ended)),
    ("stops", Status(S::Ended)),
    ("stopped", Status(S::Ended)),
    ("stopping", Status(S::Ended)),
    ("ceas*", Status(S::Ended)),
    ("discontinu*", Status(S::Ended)),
    ("dissolv*", Status(S::Ended)),
    ("dismantl*", Status(S::Ended)),
    ("ends", Status(S::Ended)),
    ("ended", Status(S::Ended)),
    ("ending", Status(S::Ended)),
    ("terminat*", Status(S::Ended)),
    ("scrap*", Status(S::Ended)),
    ("sheds", Status(S::Ended)),
    ("shed", Status(S::Ended)),
    ("unravel*", Status(S::Ended)),
    ("expire*", Status(S::Ended)),
    ("expiring", Status(S::Ended)),
    ("give up", Status(S::Ended)),
    ("gives up", Status(S::Ended)),
    ("given up", Status(S::Ended)),
    ("gave up", Status(S::Ended)),
    ("giving up", Status(S::Ended)),
    ("revok*", Status(S::Ended)),
    ("phase out", Status(S::Ended)),
    ("phased out", Status(S::Ended)),
    ("remain*", Status(S::Continues)),
    ("retain*", Status(S::Continues)),
    ("keep", Status(S::Continues)),
    ("keeps", Status(S::Continues)),
    ("keeping", Status(S::Continues)),
    ("continu*", Status(S::Continues)),
    ("maintain*", Status(S::Continues)),
    ("stays", Status(S::Continues)),
    ("preserv*", Status(S::Continues)),
    ("solidif*", Status(S::Continues)),
    ("reaffirm*", Status(S::Continues)),
    ("cap", Status(S::Capped)),
    ("caps", Status(S::Capped)),
    ("capped", Status(S::Capped)),
    ("ceiling", Status(S::Capped)),
    ("extend*", Status(S::Extended)),
    ("extension", Status(S::Extended)),
    ("renew*", Status(S::Extended)),
    ("prolong*", Status(S::Extended)),
    ("narrow*", Status(S::Narrowed)),
    ("limited to", Status(S::Narrowed)),
    ("restricted to", Status(S::Narrowed)),
    ("scaled back", Status(S::Narrowed)),
    ("loosen*", Status(S::Narrowed)),
    ("withdr*", Status(S::Withdrawn)),
    ("pulled", Status(S::Withdrawn)),
    ("removed", Status(S::Withdrawn)),
    ("removes", Status(S::Withdrawn)),
    ("pulls", Status(S::Withdrawn)),
    ("delist*", Status(S::Withdrawn)),
    ("no longer available", Status(S::Withdrawn)),
    ("preview", Status(S::Preview)),
    ("public preview", Status(S::Preview)),
    ("private preview", Status(S::Preview)),
    ("retir*", Status(S::Retired)),
    ("deprecat*", Status(S::Retired)),
    ("sunset*", Status(S::Retired)),
    ("become*", Status(S::Started)),
    ("will be the", Status(S::Started)),
    ("beta", Status(S::Preview)),
    ("early access", Status(S::Preview)),
    ("chang*", Status(S::Changed)),
    ("restructur*", Status(S::Changed)),
    ("rework*", Status(S::Changed)),
    ("revis*", Status(S::Changed)),
    ("amend*", Status(S::Changed)),
    ("cut", Status(S::Changed)),
    ("cuts", Status(S::Changed)),
    ("lower", Status(S::Changed)),
    ("lowers", Status(S::Changed)),
    ("lowered", Status(S::Changed)),
    ("reduc*", Status(S::Changed)),
    ("smaller", Status(S::Changed)),
    ("shrink*", Status(S::Changed)),
    ("halve*", Status(S::Changed)),
    ("slash*", Status(S::Changed)),
    ("hike*", Status(S::Changed)),
    ("trims", Status(S::Changed)),
    ("trimmed", Status(S::Changed)),
    ("increas*", Status(S::Changed)),
    ("raise*", Status(S::Changed)),
    ("raising", Status(S::Changed)),
    ("drop", Status(S::Changed)),
    ("drops", Status(S::Changed)),
    ("simplif*", Status(S::Changed)),
    ("replac*", Status(S::Changed)),
    ("overhaul*", Status(S::Changed)),
    ("reshap*", Status(S::Changed)),
    ("yielded", Status(S::Changed)),
    ("streamlin*", Status(S::Changed)),
    ("adjust*", Status(S::Changed)),
    ("nominat*", Status(S::Changed)),
    ("appoint*", Status(S::Changed)),
    ("announc*", Status(S::Started)),
    ("launch*", Status(S::Started)),
    ("begin*", Status(S::Started)),
    ("began", Status(S::Started)),
    ("start*", Status(S::Started)),
    ("sign*", Status(S::Started)),
    ("agree*", Status(S::Started)),
    ("will become", Status(S::Started)),
    ("gives", Status(S::Started)),
    ("grants", Status(S::Started)),
    ("secures", Status(S::Started)),
    ("(ga)", Status(S::Available)),
    // hedges
    ("likely", Hedge),
    ("unlikely", Hedge),
    ("reportedly", Hedge),
    ("may", Hedge),
    ("might", Hedge),
    ("could", Hedge),
    ("would", Hedge),
    ("expects to", Hedge),
    ("expected to", Hedge),
    ("expect to", Hedge),
    ("plans to", Hedge),
    ("planning to", Hedge),
    ("plan to", Hedge),
    ("according to", Hedge),
    ("sources say", Hedge),
    ("sources said", Hedge),
    ("people familiar", Hedge),
    ("people close", Hedge),
    ("report said", Hedge),
    ("report says", Hedge),
    ("a report", Hedge),
    ("rumo*", Hedge),
    ("working to", Hedge),
    ("intends to", Hedge),
    ("intend to", Hedge),
    ("would like", Hedge),
    ("considering", Hedge),
    ("in talks", Hedge),
    ("speculat*", Hedge),
    ("projection*", Hedge),
    ("unconfirmed", Hedge),
    ("analysts said", Hedge),
    ("said to be", Hedge),
    ("is said to", Hedge),
    ("potentially", Hedge),
    // denials
    ("does not change", Denial),
    ("do not change", Denial),
    ("did not change", Denial),
    ("doesn't change", Denial),
    ("don't change", Denial),
    ("will not change", Denial),
    ("won't change", Denial),
    ("unchanged", Denial),
    ("no change", Denial),
    ("no changes", Denial),
    ("not affected", Denial),
    ("no plans to", Denial),
    ("not covered", Denial),
    ("does not extend", Denial),
    ("do not extend", Denial),
    ("no difference", Denial),
    ("denied", Denial),
    ("denies", Denial),
    ("deny", Denial),
    ("nothing to see", Denial),
    ("not true", Denial),
    // history
    ("originally", History),
    ("at the time", History),
    ("back in", History),
    ("this past", History),
    ("years ago", History),
    ("look back", History),
    ("looking back", History),
    ("first worked", History),
    ("in the past", History),
    ("historically", History),
    ("used to", History),
    // permission and multi-cloud
    ("free to", Permission),
    ("now free", Permission),
    ("permitted to", Permission),
    ("can now", Permission),
    ("may now", Permission),
    ("flexibility to", Permission),
    ("freedom", Permission),
    ("frees", Permission),
    ("ability to", Permission),
    ("able to", Permission),
    ("allowed to", Permission),
    ("allows", Permission),
    ("lets", Permission),
    ("gains the flexibility", Permission),
    ("any cloud", MultiCloud),
    ("other cloud*", MultiCloud),
    ("across clouds", MultiCloud),
    ("competing cloud*", MultiCloud),
    ("multiple clouds", MultiCloud),
    ("multiple public clouds", MultiCloud),
    ("multi-cloud", MultiCloud),
    ("every cloud", MultiCloud),
    ("third-party cloud*", MultiCloud),
    ("other major cloud*", MultiCloud),
    ("rival cloud*", MultiCloud),
    ("other hyperscalers", MultiCloud),
    // anaphora
    ("the partnership", Anaphor),
    ("the agreement", Anaphor),
    ("the deal", Anaphor),
    ("the two companies", Anaphor),
    ("both companies", Anaphor),
    ("the companies", Anaphor),
    ("the amendment", Anaphor),
    ("the arrangement", Anaphor),
    ("the contract", Anaphor),
    ("this license", Anaphor),
    ("this licence", Anaphor),
];

/// One cue found in text, with its byte range.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub start: usize,
    pub cue: Cue,
}

pub struct Lexicon {
    ac: AhoCorasick,
    /// Per pattern: is it a stem, and what it says.
    pats: Vec<(bool, Vec<Cue>)>,
}

impl Lexicon {
    pub fn new() -> Lexicon {
        let mut order: Vec<String> = Vec::new();
        let mut by_pat: HashMap<String, (bool, Vec<Cue>)> = HashMap::new();
        for (p, cue) in ENTRIES {
            let stem = p.ends_with('*');
            let key = p.trim_end_matches('*').to_string();
            let e = by_pat.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                (stem, Vec::new())
            });
            e.1.push(*cue);
        }
        let pats = order
            .iter()
            .map(|k| by_pat.remove(k).expect("every key was inserted"))
            .collect();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // Scanned once per article: a full DFA trades a little memory,
            // built once per engine, for the fastest per-byte search.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&order)
            .expect("the static lexicon builds");
        Lexicon { ac, pats }
    }

    /// All cues in `lower` (ASCII lower-case text), at word boundaries.
    pub fn scan(&self, lower: &str, out: &mut Vec<Hit>) {
        let b = lower.as_bytes();
        for m in self.ac.find_iter(lower) {
            let (stem, cues) = &self.pats[m.pattern().as_usize()];
            let starts_word = m.start() == 0 || !super::text::is_word_byte(b.get(m.start() - 1));
            let first_is_word = super::text::is_word_byte(b.get(m.start()));
            if first_is_word && !starts_word {
                continue;
            }
            if !stem && b.get(m.end()).is_some_and(|c| c.is_ascii_alphabetic()) {
                continue;
            }
            for c in cues {
                out.push(Hit {
                    start: m.start(),
                    cue: *c,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues(s: &str) -> Vec<Cue> {
        let mut v = Vec::new();
        Lexicon::new().scan(&s.to_ascii_lowercase(), &mut v);
        v.into_iter().map(|h| h.cue).collect()
    }

    #[test]
    fn stems_and_word_boundaries() {
        assert!(cues("payments were discontinued").contains(&Status(S::Ended)));
        assert!(!cues("payments were discontinued").contains(&Status(S::Continues)));
        assert!(!cues("capacity and capabilities").contains(&Status(S::Capped)));
        assert!(cues("subject to a cap").contains(&Status(S::Capped)));
    }

    #[test]
    fn non_exclusive_is_a_status_not_an_exclusivity_trigger() {
        let c = cues("a non-exclusive licence");
        assert!(c.contains(&Status(S::NonExclusive)));
        assert!(!c.contains(&Kind(K::Exclusivity)));
        assert!(c.contains(&Kind(K::License)));
    }
}
