//! Plain data passed between stages.
//!
//! Every type here is serde, `Clone`, and holds no handles or connections, so
//! a stage can be tested by building its input by hand. Stages own their
//! private helper types; only what crosses a stage boundary lives here.

use serde::{Deserialize, Serialize};

/// How much a source is believed. Ordered: `Vendor` outranks `News`, which
/// outranks `Commentary` (analysis, newsletters and one-line feed blurbs).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    Commentary,
    #[default]
    News,
    Vendor,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Commentary => "commentary",
            Trust::News => "news",
            Trust::Vendor => "vendor",
        }
    }

    pub fn parse(s: &str) -> Option<Trust> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vendor" => Some(Trust::Vendor),
            "news" => Some(Trust::News),
            // A feed blurb is second-hand and short: it ranks with commentary.
            "commentary" | "feed" => Some(Trust::Commentary),
            _ => None,
        }
    }
}

/// One revision of one article, as the collector (or `ingest`) stored it.
///
/// `text` is plain text: blocks separated by a blank line, list items on
/// their own line starting with "- ", boilerplate already removed. Evidence
/// offsets produced by `extract` are character offsets into this text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Article {
    /// Id of the source definition (`sources/*.toml`), or `ingest` for local files.
    pub source_id: String,
    /// Canonical URL: the page's `<link rel=canonical>` or the feed item link.
    pub url: String,
    /// The feed's own id for the item (RSS guid, Atom id), if it gave one:
    /// within one source, the same guid is the same article whatever its link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    pub title: String,
    pub published: Option<jiff::Timestamp>,
    pub author: Option<String>,
    pub text: String,
    /// sha256 hex of title and text; a new hash for a known URL is a new revision.
    pub content_hash: String,
    pub fetched_at: jiff::Timestamp,
    pub trust: Trust,
    /// The organisation the source speaks for, where it is a vendor's own blog.
    pub organisation: Option<String>,
}

impl Article {
    /// The hash `content_hash` must hold for a title and text.
    pub fn hash_content(title: &str, text: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(title.as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
        hex::encode(h.finalize())
    }
}

/// What kind of term a change is about (see `../shared/spec/term-changes.md`).
/// `JsonSchema` gives the model backend its list of kinds (`extract::llm::schema`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Exclusivity,
    License,
    RevenueShare,
    Availability,
    CloudPriority,
    Investment,
    ComputeCommitment,
    Pricing,
    Deprecation,
    Governance,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 10] = [
        ChangeKind::Exclusivity,
        ChangeKind::License,
        ChangeKind::RevenueShare,
        ChangeKind::Availability,
        ChangeKind::CloudPriority,
        ChangeKind::Investment,
        ChangeKind::ComputeCommitment,
        ChangeKind::Pricing,
        ChangeKind::Deprecation,
        ChangeKind::Governance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Exclusivity => "exclusivity",
            ChangeKind::License => "license",
            ChangeKind::RevenueShare => "revenue_share",
            ChangeKind::Availability => "availability",
            ChangeKind::CloudPriority => "cloud_priority",
            ChangeKind::Investment => "investment",
            ChangeKind::ComputeCommitment => "compute_commitment",
            ChangeKind::Pricing => "pricing",
            ChangeKind::Deprecation => "deprecation",
            ChangeKind::Governance => "governance",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Kinds keyed by product and platform rather than by parties.
    pub fn is_product_kind(self) -> bool {
        matches!(
            self,
            ChangeKind::Availability | ChangeKind::Pricing | ChangeKind::Deprecation
        )
    }
}

/// The short verb-like status of a change.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ended,
    Started,
    Continues,
    Capped,
    Extended,
    Narrowed,
    NonExclusive,
    Exclusive,
    Available,
    Preview,
    Withdrawn,
    Retired,
    Changed,
}

impl Status {
    pub const ALL: [Status; 13] = [
        Status::Ended,
        Status::Started,
        Status::Continues,
        Status::Capped,
        Status::Extended,
        Status::Narrowed,
        Status::NonExclusive,
        Status::Exclusive,
        Status::Available,
        Status::Preview,
        Status::Withdrawn,
        Status::Retired,
        Status::Changed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ended => "ended",
            Status::Started => "started",
            Status::Continues => "continues",
            Status::Capped => "capped",
            Status::Extended => "extended",
            Status::Narrowed => "narrowed",
            Status::NonExclusive => "non_exclusive",
            Status::Exclusive => "exclusive",
            Status::Available => "available",
            Status::Preview => "preview",
            Status::Withdrawn => "withdrawn",
            Status::Retired => "retired",
            Status::Changed => "changed",
        }
    }
}

/// Character offsets (Unicode scalar values, end exclusive) of the evidence
/// in the article text the change was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// One change of terms stated in one article: the extract stage's output,
/// in the JSON shape of the spec (plus `span`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermChange {
    pub kind: ChangeKind,
    /// Canonical organisation names, sorted and deduplicated.
    pub parties: Vec<String>,
    pub licensor: Option<String>,
    pub licensee: Option<String>,
    pub payer: Option<String>,
    pub payee: Option<String>,
    pub product: Option<String>,
    pub platform: Option<String>,
    pub status: Status,
    pub exclusive: Option<bool>,
    /// The year or date the term runs to, as written.
    pub until: Option<String>,
    /// ISO date (YYYY-MM-DD) the change takes effect.
    pub effective: Option<String>,
    /// The sentence or clause, verbatim.
    pub evidence: String,
    pub span: Span,
    pub confidence: f32,
}

/// What the extract stage returns for one article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Extraction {
    pub changes: Vec<TermChange>,
    /// Statements that deny a change ("the terms are unchanged"). Not changes;
    /// correlate attaches them to matching events as confirmations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denials: Vec<TermChange>,
    /// Statements of a change already in `changes` that contradict it (the
    /// article says "discontinued" in one place and "continues" in another).
    /// Not counted as changes; stored as reports so correlate can flag the
    /// dispute instead of silently keeping one side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<TermChange>,
    /// Sentences with a strong trigger and a name from which no complete
    /// change came out: for a person to review, never counted as changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    /// Set when the article's text was longer than extraction reads and was
    /// cut (at a paragraph or sentence boundary): the bytes read, of how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<TextCut>,
}

/// An article text cut to the extraction limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextCut {
    pub read_bytes: usize,
    pub total_bytes: usize,
}

/// A possible change the rules could not complete (see `Extraction::signals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The kind its trigger suggests.
    pub kind: ChangeKind,
    /// The sentence, verbatim.
    pub evidence: String,
    pub span: Span,
    /// Organisations and products the sentence names.
    pub names: Vec<String>,
    /// What a change of that kind needed and the sentence did not give
    /// ("a second party", "a product", "a platform").
    pub missing: String,
}

/// One term change as reported by one stored article revision: correlate's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub change: TermChange,
    /// True when the change is a denial (see [`Extraction::denials`]).
    #[serde(default)]
    pub denial: bool,
    pub article_id: i64,
    pub revision_id: i64,
    pub source_id: String,
    pub url: String,
    pub title: String,
    pub trust: Trust,
    /// The article's published time, else when it was fetched.
    pub published: jiff::Timestamp,
}

/// How much an event matters to a client, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// One report backing an event, as shown to a client who must cite it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSource {
    pub article_id: i64,
    pub revision_id: i64,
    pub url: String,
    pub title: String,
    pub trust: Trust,
    pub published: jiff::Timestamp,
    pub evidence: String,
    pub confidence: f32,
    pub status: Status,
    pub exclusive: Option<bool>,
    pub until: Option<String>,
}

/// One side of a dispute: a value and the sources that claim it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Which field disagrees: `status`, `exclusive` or `until`.
    pub field: String,
    pub value: String,
    pub sources: Vec<EventSource>,
}

/// One real-world change, backed by every report of it: correlate's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id derived from the kind, the key and the first report's time.
    pub id: String,
    pub kind: ChangeKind,
    pub parties: Vec<String>,
    pub licensor: Option<String>,
    pub licensee: Option<String>,
    pub payer: Option<String>,
    pub payee: Option<String>,
    pub product: Option<String>,
    pub platform: Option<String>,
    pub status: Status,
    pub exclusive: Option<bool>,
    pub until: Option<String>,
    pub effective: Option<String>,
    pub severity: Severity,
    pub confidence: f32,
    pub disputed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
    pub sources: Vec<EventSource>,
    /// Denials that match this event ("the terms are unchanged").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmations: Vec<EventSource>,
    pub first_seen: jiff::Timestamp,
    pub last_seen: jiff::Timestamp,
    /// Ids of earlier events on the same key whose terms this one changes, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<String>,
}

/// One thing a client should do about an event, produced by a playbook rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The playbook rule that produced it.
    pub rule_id: String,
    /// Short imperative title ("Re-run the vendor risk assessment for OpenAI").
    pub title: String,
    /// Why this applies to this client.
    pub why: String,
    /// Who should do it (role name, e.g. "account manager", "counsel").
    pub owner: String,
    /// ISO date it is due, when the rule gives one: the later of the rule's
    /// anchor and the day after the client is told, in the client's time
    /// zone, and kept as first delivered.
    pub due: Option<String>,
    /// The due date has passed (a date kept from an earlier digest).
    #[serde(default)]
    pub overdue: bool,
    pub severity: Severity,
}

/// One event in a client's digest, with what the client should do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    /// Shared: one route step puts the same event in thousands of digests.
    pub event: std::sync::Arc<Event>,
    /// `new` or `updated` since the client's last digest.
    pub change: String,
    /// How urgent it is for this client (drives grouping).
    pub urgency: Severity,
    /// Why the event was routed to this client ("you use Azure").
    pub reasons: Vec<String>,
    pub actions: Vec<Action>,
    /// One-line summary of the event ("Microsoft and OpenAI license: non-exclusive until 2032").
    #[serde(default)]
    pub headline: String,
    /// Facts from the evidence the actions need: regions, dates
    /// ("Regions: US East (N. Virginia) and US West (Oregon)").
    #[serde(default)]
    pub details: Vec<String>,
    /// Who claims what, most trusted first, when sources disagree
    /// ("Vendor post (30 Apr 2026): until 2030").
    #[serde(default)]
    pub disputes: Vec<String>,
    /// For an update, what changed from the version the client was sent
    /// ("until 2030 is now until 2031").
    #[serde(default)]
    pub changes: Vec<String>,
    /// Ids of further events told in this item (same family and actions:
    /// "GPT-5.5 and Codex on Amazon Bedrock").
    #[serde(default)]
    pub grouped: Vec<String>,
}

/// A tailored digest for one client over one window: stored before delivery,
/// rendered to HTML, text and JSON from `templates/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// Stable id derived from the client id and the window, so a resend after
    /// a crash carries the same id.
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    /// `msp` or `legal`.
    pub role: String,
    pub window_start: jiff::Timestamp,
    pub window_end: jiff::Timestamp,
    pub generated_at: jiff::Timestamp,
    /// One line, no CR/LF.
    pub subject: String,
    pub items: Vec<DigestItem>,
    /// True when sent ahead of the client's cadence because of a severe event.
    #[serde(default)]
    pub immediate: bool,
    /// The client's IANA time zone, in which the digest's dates are given.
    #[serde(default)]
    pub timezone: String,
}

/// Who a client is: an MSP acting for its customers, or an in-house legal team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Msp,
    Legal,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Msp => "msp",
            Role::Legal => "legal",
        }
    }
}

/// How often a client gets a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    Immediate,
    #[default]
    Daily,
    Weekly,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Immediate => "immediate",
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
        }
    }
}

/// A webhook destination. The secret is a reference (`env:NAME` or
/// `file:PATH`), never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    /// `standard`, `slack` or `teams`.
    pub format: String,
    pub secret_ref: Option<String>,
}

/// Local hours (in the client's time zone) during which nothing is sent;
/// `start` > `end` wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: jiff::civil::Time,
    pub end: jiff::civil::Time,
}

/// One client, as validated from `clients/<id>.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClientProfile {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub recipients: Vec<String>,
    pub webhooks: Vec<Webhook>,
    /// Organisations the client depends on (canonical names).
    pub vendors: Vec<String>,
    /// Clouds the client runs on (`Azure`, `AWS`, `Google Cloud`, ...).
    pub clouds: Vec<String>,
    /// Platforms and services (`Azure OpenAI`, `Amazon Bedrock`, ...).
    pub platforms: Vec<String>,
    /// Products and models (`GPT-5.5`, `Claude Opus 5`, ...).
    pub products: Vec<String>,
    /// Compliance regimes (`HIPAA`, `GDPR`, `FedRAMP`, ...), as written.
    pub regimes: Vec<String>,
    /// Data-residency regions (`eu`, `us`, ...), lower case.
    pub residency: Vec<String>,
    pub min_severity: Severity,
    pub cadence: Cadence,
    /// Local send time for daily and weekly digests.
    pub send_time: Option<jiff::civil::Time>,
    /// Day of the week for weekly digests, ISO numbering (1 = Monday, 7 = Sunday).
    pub send_day: Option<i8>,
    /// IANA time zone name (`Europe/Berlin`).
    pub timezone: String,
    pub quiet_hours: Option<QuietHours>,
    /// Event kinds the client cares about; empty means every kind.
    pub kinds: Vec<ChangeKind>,
    /// What the client chose to see or not, beyond routing.
    #[serde(default)]
    pub filters: Filters,
}

/// A client's own filters (`[filters]` in its profile). A pattern is a
/// keyword (case-insensitive, matched as a word) or `/regex/`, tried on an
/// event's title, headline and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Filters {
    /// When not empty, only events matching one of these.
    pub include: Vec<String>,
    /// Events matching any of these are left out.
    pub exclude: Vec<String>,
    /// Sources whose reports are left out: a host name (`news.example`)
    /// or a URL prefix (`https://news.example/ai/`).
    pub mute_sources: Vec<String>,
    /// Event families (kinds) left out.
    pub mute_kinds: Vec<ChangeKind>,
    /// Events below this confidence (0 to 1) are left out.
    pub min_confidence: f32,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty()
            && self.exclude.is_empty()
            && self.mute_sources.is_empty()
            && self.mute_kinds.is_empty()
            && self.min_confidence <= 0.0
    }
}

/// A timestamp (`2026-04-28T09:00:00Z`) or a day (`2026-04-28`, midnight
/// UTC), as flags and API filters take them.
pub fn parse_timestamp(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| format!("{s:?} is not a date; write YYYY-MM-DD, for example 2026-04-28"))
}

/// `s` cut to at most `max_chars` characters, the last one a visible
/// ellipsis when anything was cut.
pub fn truncate(s: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max_chars || s.chars().count() <= max_chars {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('…');
    std::borrow::Cow::Owned(t)
}
