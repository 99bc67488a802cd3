//! Building one client's digest from the events in its window: route each
//! event, apply the playbook, rank by urgency, name it with a stable id.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use sha2::{Digest as _, Sha256};

use super::window::{Window, WindowKind};
use crate::model::{ClientProfile, Digest, DigestItem, Event, Severity, Status, Trust};
use crate::route::{
    Playbook, StoredDues, Told, actions_for, day_text, parse_loose_date, route, state, status_words,
};

/// Whether a client has seen an earlier version of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Updated,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Updated => "updated",
        }
    }
}

/// Stable digest id: the same client and window always give the same id, so
/// a retried step inserts nothing twice.
pub fn digest_id(client_id: &str, window: &Window) -> String {
    let mut h = Sha256::new();
    h.update(client_id.as_bytes());
    h.update([0u8]);
    h.update(window.kind.as_str().as_bytes());
    h.update([0u8]);
    h.update(window.end.as_second().to_string().as_bytes());
    let hex = hex::encode(h.finalize());
    format!("dg-{}", &hex[..32])
}

/// What the pipeline knows about a client's events beyond the events:
/// all optional, so a bench or a test can build a digest from events alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Notes<'a> {
    /// Facts found around each event's evidence (regions), by event id.
    pub details: Option<&'a HashMap<String, Vec<String>>>,
    /// Due dates this client was given before, kept as they were.
    pub dues: Option<&'a StoredDues>,
    /// The version of each event this client was last sent, by event id.
    pub before: Option<&'a HashMap<String, Arc<Event>>>,
}

/// The digest for one client over one window, or `None` when nothing in it
/// applies to the client (an empty window sends nothing).
pub fn build_digest<'a>(
    client: &ClientProfile,
    playbook: &Playbook,
    events: impl IntoIterator<Item = (&'a Arc<Event>, Change)>,
    window: &Window,
    now: Timestamp,
    notes: Notes<'_>,
) -> Option<Digest> {
    let tz = TimeZone::get(&client.timezone).unwrap_or(TimeZone::UTC);
    let today = now.to_zoned(tz.clone()).date();
    let told = Told {
        today,
        stored: notes.dues,
    };
    let filters = super::filter::Compiled::new(&client.filters);
    let mut items: Vec<DigestItem> = events
        .into_iter()
        .filter_map(|(event, change)| {
            let routed = route(event, client)?;
            let headline = headline(event, today);
            if !filters.keeps(event, &headline) {
                return None;
            }
            let actions = actions_for(playbook, event, client, &routed, told);
            let mut item = DigestItem {
                headline,
                event: Arc::clone(event),
                change: change.as_str().to_string(),
                urgency: Severity::Info,
                reasons: routed.reasons,
                actions,
                details: notes
                    .details
                    .and_then(|d| d.get(&event.id))
                    .cloned()
                    .unwrap_or_default(),
                disputes: if event.disputed {
                    disputes(event, &tz)
                } else {
                    Vec::new()
                },
                changes: match (change, notes.before.and_then(|b| b.get(&event.id))) {
                    (Change::Updated, Some(old)) => before_after(old, event),
                    _ => Vec::new(),
                },
                grouped: Vec::new(),
            };
            settle(&mut item, client);
            Some(item)
        })
        .collect();
    if items.is_empty() {
        return None;
    }
    super::group::group(&mut items, |event| {
        let routed = route(event, client)?;
        Some((
            actions_for(playbook, event, client, &routed, told),
            headline(event, today),
        ))
    });
    items.sort_by(|a, b| {
        b.urgency
            .cmp(&a.urgency)
            .then(b.event.last_seen.cmp(&a.event.last_seen))
            .then(a.event.id.cmp(&b.event.id))
    });
    let subject = subject(client, &items, window.kind);
    Some(Digest {
        id: digest_id(&client.id, window),
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        role: client.role.as_str().to_string(),
        window_start: window.start,
        window_end: window.end,
        generated_at: now,
        subject,
        items,
        immediate: window.kind == WindowKind::Immediate,
        timezone: client.timezone.clone(),
    })
}

/// An item's urgency from its actions, and the regimes its actions are
/// about named in "Why you" (the match that makes them apply).
pub(super) fn settle(item: &mut DigestItem, client: &ClientProfile) {
    item.urgency = item
        .actions
        .iter()
        .map(|a| a.severity)
        .chain([item.event.severity])
        .max()
        .unwrap_or_default();
    for regime in &client.regimes {
        if item
            .actions
            .iter()
            .any(|a| a.title.contains(regime.as_str()) || a.why.contains(regime.as_str()))
        {
            let reason = format!("you are under {regime}");
            if !item.reasons.contains(&reason) {
                item.reasons.push(reason);
            }
        }
    }
}

fn parse_status(v: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|s| s.as_str() == v)
}

/// How a source is named in a dispute line.
fn trust_label(t: Trust) -> &'static str {
    match t {
        Trust::Vendor => "Vendor post",
        Trust::News => "News report",
        Trust::Commentary => "Commentary",
    }
}

/// "Vendor post (30 Apr 2026): until 2030.", one line per source of each
/// claim, most trusted first, dates in the client's zone.
fn disputes(event: &Event, tz: &TimeZone) -> Vec<String> {
    let mut lines: Vec<(Trust, Timestamp, String)> = Vec::new();
    for c in &event.claims {
        for s in &c.sources {
            let value = match c.field.as_str() {
                "until" => format!("until {}", c.value),
                "status" => parse_status(&c.value)
                    .map(|st| status_words(st).to_string())
                    .unwrap_or_else(|| c.value.clone()),
                "exclusive" if c.value == "true" => "exclusive".into(),
                "exclusive" => "not exclusive".into(),
                field => format!("{field} {}", c.value),
            };
            let day = day_text(s.published.to_zoned(tz.clone()).date());
            let line = clean_line(&format!("{} ({day}): {value}.", trust_label(s.trust)));
            if !lines.iter().any(|(_, _, l)| *l == line) {
                lines.push((s.trust, s.published, line));
            }
        }
    }
    lines.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    lines.into_iter().map(|(_, _, l)| l).collect()
}

/// The terms an event states, as words: "+20% from 1 Feb 2027", "until
/// 2031", "non-exclusive". Amounts are read from the strongest evidence.
fn terms(e: &Event) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(src) = e.sources.first() {
        let amounts: Vec<&str> = src
            .evidence
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | ')' | '(')))
            .filter(|w| {
                (w.ends_with('%') || w.starts_with('$') || w.starts_with('€'))
                    && w.chars().any(|c| c.is_ascii_digit())
            })
            .collect();
        if !amounts.is_empty() {
            parts.push(amounts.join(", "));
        }
    }
    if let Some(d) = e.effective.as_deref() {
        let shown = parse_loose_date(d)
            .map(day_text)
            .unwrap_or_else(|| d.to_string());
        parts.push(format!("from {shown}"));
    }
    if let Some(u) = &e.until {
        parts.push(format!("until {u}"));
    }
    if parts.is_empty() {
        parts.push(status_words(e.status).to_string());
    }
    parts.join(" ")
}

/// What changed between the version a client was sent and this one:
/// "+15% from 15 Jan 2027 is now +20% from 1 Feb 2027".
pub fn before_after(old: &Event, new: &Event) -> Vec<String> {
    let mut out = Vec::new();
    if old.status != new.status {
        out.push(format!(
            "status {} is now {}",
            status_words(old.status),
            status_words(new.status)
        ));
    }
    let (was, is) = (terms(old), terms(new));
    if was != is {
        out.push(clean_line(&format!("{was} is now {is}")));
    }
    if out.is_empty()
        && let (Some(a), Some(b)) = (old.sources.first(), new.sources.first())
        && a.evidence != b.evidence
    {
        out.push(clean_line(&format!(
            "the source now reads \"{}\" (was \"{}\")",
            b.evidence, a.evidence
        )));
    }
    out
}

/// The event as its most trusted source states it: where sources
/// disagree, the headline follows the strongest claim, never the hedged one.
fn trusted(e: &Event) -> std::borrow::Cow<'_, Event> {
    if !e.disputed {
        return std::borrow::Cow::Borrowed(e);
    }
    let mut out = e.clone();
    let strength = |c: &crate::model::Claim| c.sources.iter().map(|s| s.trust).max();
    for field in ["until", "status"] {
        let best = e
            .claims
            .iter()
            .filter(|c| c.field == field)
            .max_by_key(|c| (strength(c), c.sources.len()));
        match (field, best) {
            ("until", Some(c)) => out.until = Some(c.value.clone()),
            ("status", Some(c)) => {
                if let Some(st) = parse_status(&c.value) {
                    out.status = st;
                }
            }
            _ => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

/// "Microsoft and OpenAI license: non-exclusive until 2032"; a retirement
/// still ahead reads "will be retired on 30 Jun 2027".
pub fn headline(e: &Event, today: Date) -> String {
    let e = trusted(e);
    let e = e.as_ref();
    // Built in one buffer: this runs for every event of every client.
    let mut s = String::with_capacity(160);
    match &e.product {
        Some(product) => s.push_str(product),
        None => {
            for (i, p) in e.parties.iter().enumerate() {
                if i > 0 {
                    s.push_str(" and ");
                }
                s.push_str(p);
            }
        }
    }
    if let Some(platform) = &e.platform {
        s.push_str(" on ");
        s.push_str(platform);
    }
    s.push(' ');
    s.extend(
        e.kind
            .as_str()
            .chars()
            .map(|c| if c == '_' { ' ' } else { c }),
    );
    s.push_str(": ");
    let ending = matches!(
        e.status,
        Status::Retired | Status::Withdrawn | Status::Ended
    ) && e.effective.as_deref().and_then(parse_loose_date).is_some();
    if ending {
        s.push_str(&state(e, today));
    } else {
        s.push_str(status_words(e.status));
    }
    if let (Some(payer), Some(payee)) = (&e.payer, &e.payee) {
        s.push_str(" (");
        s.push_str(payer);
        s.push_str(" pays ");
        s.push_str(payee);
        s.push(')');
    }
    if let Some(until) = &e.until {
        s.push_str(" until ");
        s.push_str(until);
    }
    if !ending && let Some(eff) = &e.effective {
        s.push_str(", effective ");
        s.push_str(eff);
    }
    if e.disputed {
        s.push_str(" [disputed]");
    }
    clean_line_owned(s)
}

fn subject(client: &ClientProfile, items: &[DigestItem], kind: WindowKind) -> String {
    let top = &items[0];
    let more = match items.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let prefix = match (kind, top.urgency >= Severity::High) {
        (WindowKind::Immediate, _) => "Urgent",
        (_, true) => "Action needed",
        _ => "Update",
    };
    clean_line(&format!(
        "[termwatch] {prefix} for {}: {}{more}",
        client.name, top.headline
    ))
}

/// One line, no control characters (CR/LF would let scraped text inject mail headers), at most 200 characters.
pub fn clean_line(s: &str) -> String {
    bounded(clean_line_unbounded(s))
}

/// `clean_line` without copying text that is already clean.
fn clean_line_owned(s: String) -> String {
    if is_clean_line(&s) {
        bounded(s)
    } else {
        clean_line(&s)
    }
}

fn bounded(one: String) -> String {
    match one.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

/// Control characters to spaces, runs of whitespace to one space.
pub fn clean_line_unbounded(s: &str) -> String {
    if is_clean_line(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// True when `clean_line_unbounded` would return `s` unchanged: ASCII with
/// no control characters, no whitespace but single inner spaces. Most text
/// already is, and checking is much cheaper than rebuilding it.
pub(crate) fn is_clean_line(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && b.iter().all(|&c| c == b' ' || (c > b' ' && c < 0x7f))
        && !s.contains("  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeKind, Claim};

    fn today() -> Date {
        jiff::civil::date(2026, 12, 1)
    }

    #[test]
    fn headline_words_read_as_sentences() {
        let mut e = (*crate::digest::sample_digest().items[0].event).clone();
        e.disputed = false;
        e.kind = ChangeKind::License;
        e.status = Status::NonExclusive;
        e.effective = None;
        e.until = Some("2032".into());
        assert_eq!(
            headline(&e, today()),
            "Corvid Cloud and Nimbus Labs license: non-exclusive until 2032"
        );
        e.kind = ChangeKind::Deprecation;
        e.status = Status::Retired;
        e.until = None;
        e.product = Some("Nimbus-4".into());
        e.platform = Some("Corvid Cloud".into());
        e.effective = Some("2027-06-30".into());
        assert_eq!(
            headline(&e, today()),
            "Nimbus-4 on Corvid Cloud deprecation: will be retired on 30 Jun 2027"
        );
        e.effective = Some("2026-03-01".into());
        assert!(headline(&e, today()).ends_with("was retired on 1 Mar 2026"));
        e.product = Some(" Odd\nname ".into());
        assert!(!headline(&e, today()).contains('\n'));
    }

    #[test]
    fn a_dispute_says_who_claims_what_and_the_headline_follows_the_vendor() {
        let mut e = (*crate::digest::sample_digest().items[0].event).clone();
        let mut vendor = e.sources[0].clone();
        vendor.published = "2026-04-30T12:00:00Z".parse().unwrap();
        let mut news = vendor.clone();
        news.trust = Trust::News;
        news.published = "2026-05-02T12:00:00Z".parse().unwrap();
        e.until = Some("2028".into());
        e.claims = vec![
            Claim {
                field: "until".into(),
                value: "2028".into(),
                sources: vec![news],
            },
            Claim {
                field: "until".into(),
                value: "2030".into(),
                sources: vec![vendor],
            },
        ];
        assert_eq!(
            disputes(&e, &TimeZone::get("Europe/Berlin").unwrap()),
            vec![
                "Vendor post (30 Apr 2026): until 2030.",
                "News report (2 May 2026): until 2028."
            ]
        );
        assert!(
            headline(&e, today()).contains("until 2030"),
            "{}",
            headline(&e, today())
        );
    }

    #[test]
    fn an_update_says_what_was_and_what_is() {
        let mut old = (*crate::digest::sample_digest().items[0].event).clone();
        old.kind = ChangeKind::Pricing;
        old.status = Status::Changed;
        old.until = None;
        old.effective = Some("2027-01-15".into());
        old.sources[0].evidence =
            "Nimbus-7 calls on Corvid Cloud cost +15% from mid-January.".into();
        let mut new = old.clone();
        new.effective = Some("2027-02-01".into());
        new.sources[0].evidence =
            "Nimbus-7 calls on Corvid Cloud now cost +20% from February.".into();
        assert_eq!(
            before_after(&old, &new),
            vec!["+15% from 15 Jan 2027 is now +20% from 1 Feb 2027"]
        );
        assert!(before_after(&old, &old).is_empty());
    }
}
