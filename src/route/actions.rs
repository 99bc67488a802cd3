//! Playbook rules applied to one event for one client: which rules match and
//! the actions they produce, with texts rendered from the rule's templates.

use std::sync::Arc;

use std::collections::HashMap;

use jiff::civil::Date;
use minijinja::Value;
use minijinja::value::{Enumerator, Object};

use super::Routed;
use super::playbook::{Anchor, CompiledRule, Playbook, Uses, template_name};
use crate::model::{Action, ChangeKind, ClientProfile, Event, Status};

/// Due dates already given to one client: event id, then rule id, to the
/// ISO date first delivered. Reminders, calendars and acknowledgements rely
/// on a due date staying what it was when the client first saw it.
pub type StoredDues = HashMap<String, HashMap<String, String>>;

/// When the client is told: its local date today, and the due dates it was
/// given before (kept as they were).
#[derive(Debug, Clone, Copy)]
pub struct Told<'a> {
    pub today: Date,
    pub stored: Option<&'a StoredDues>,
}

impl Told<'_> {
    /// Told on `today`, with no due dates given before.
    pub fn on(today: Date) -> Told<'static> {
        Told {
            today,
            stored: None,
        }
    }
}

/// Every name in an action template's context, in a fixed order: the
/// string values, then the `has_*` flags.
const KEYS: [&str; N_KEYS] = [
    "client",
    "client_id",
    "role",
    "kind",
    "status",
    "parties",
    "vendor",
    "product",
    "platform",
    "until",
    "effective",
    "licensor",
    "licensee",
    "payer",
    "payee",
    "regime",
    "regimes",
    "residency",
    "due",
    "severity",
    "state",
    "has_product",
    "has_platform",
    "has_until",
];
const N_KEYS: usize = 24;
const REGIME: usize = 15;
const DUE: usize = 18;
const SEVERITY: usize = 19;
/// `KEYS` before this index have string values; the rest are booleans.
const STRING_KEYS: usize = 21;

/// Names an action template may use, listed in `check` errors.
pub const CONTEXT_NAMES: &[&str] = KEYS.split_at(STRING_KEYS).0;

/// What an action template sees: every name of `KEYS` is always present
/// (absent event fields get a readable stand-in) so strict templates never
/// fail at send time. A small object over prepared values rather than a
/// serialised map: an item's values are made once and shared by all the
/// rules that match it, only `regime`, `due` and `severity` differ per rule.
#[derive(Debug)]
struct Context {
    values: [Value; N_KEYS],
}

impl Object for Context {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        KEYS.iter()
            .position(|k| *k == key)
            .map(|i| self.values[i].clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&KEYS)
    }
}

/// A context with every name filled, used to test-render templates at load.
pub(crate) fn sample_context() -> Value {
    let s = Value::from;
    Value::from_object(Context {
        values: [
            s("Sample Client"),
            s("sample"),
            s("msp"),
            s("license"),
            s("non_exclusive"),
            s("Nimbus Labs and Corvid Cloud"),
            s("Nimbus Labs"),
            s("Nimbus-7"),
            s("Corvid Cloud"),
            s("2030"),
            s("2030-01-01"),
            s("Nimbus Labs"),
            s("Corvid Cloud"),
            s("Corvid Cloud"),
            s("Nimbus Labs"),
            s("GDPR"),
            s("GDPR"),
            s("eu"),
            s("2030-01-01"),
            s("high"),
            s("will be retired on 30 Jun 2030"),
            Value::from(true),
            Value::from(true),
            Value::from(true),
        ],
    })
}

/// The context values that depend only on the event and the client, in
/// `KEYS` order (the per-rule ones are left undefined).
fn item_values(
    event: &Event,
    client: &ClientProfile,
    routed: &Routed,
    today: Date,
) -> [Value; N_KEYS] {
    // For an investment, the vendor whose ownership changes is the one
    // invested in, not the investor.
    let vendor = (event.kind == ChangeKind::Investment)
        .then(|| investee(event))
        .flatten()
        .or(routed.vendor.as_deref())
        .or(event.parties.first().map(String::as_str))
        .unwrap_or("the vendor");
    let s = Value::from;
    [
        s(client.name.as_str()),
        s(client.id.as_str()),
        s(client.role.as_str()),
        // Readable words in sentences: "non exclusive", "revenue share".
        Value::from(event.kind.as_str().replace('_', " ")),
        Value::from(status_words(event.status)),
        Value::from(event.parties.join(" and ")),
        s(vendor),
        s(or(&event.product, "the affected products")),
        s(or(&event.platform, "the named platform")),
        s(or(&event.until, "the stated end date")),
        s(or(&event.effective, "the effective date")),
        s(or(&event.licensor, "the licensor")),
        s(or(&event.licensee, "the licensee")),
        s(or(&event.payer, "the payer")),
        s(or(&event.payee, "the payee")),
        Value::UNDEFINED,
        Value::from(client.regimes.join(", ")),
        Value::from(client.residency.join(", ")),
        Value::UNDEFINED,
        Value::UNDEFINED,
        Value::from(state(event, today)),
        Value::from(event.product.is_some()),
        Value::from(event.platform.is_some()),
        Value::from(event.until.is_some()),
    ]
}

/// The actions every matching rule produces, most severe first.
pub fn actions_for(
    playbook: &Playbook,
    event: &Event,
    client: &ClientProfile,
    routed: &Routed,
    told: Told<'_>,
) -> Vec<Action> {
    let mut base: Option<[Value; N_KEYS]> = None;
    let mut out: Vec<Action> = playbook
        .rules
        .iter()
        .filter(|r| rule_matches(r, event, client, routed))
        .map(|r| {
            let base = base.get_or_insert_with(|| item_values(event, client, routed, told.today));
            render(playbook, r, event, client, base, told)
        })
        .collect();
    out.sort_by_key(|a| std::cmp::Reverse(a.severity));
    out
}

/// True when a rule's event and profile conditions all hold.
pub fn rule_matches(
    r: &CompiledRule,
    event: &Event,
    client: &ClientProfile,
    routed: &Routed,
) -> bool {
    let rule = &r.rule;
    (rule.kinds.is_empty() || rule.kinds.contains(&event.kind))
        && (rule.statuses.is_empty() || rule.statuses.contains(&event.status))
        && event.severity >= rule.min_severity
        && rule.exclusive.is_none_or(|x| event.exclusive == Some(x))
        && (r.parties_lc.is_empty()
            || event
                .parties
                .iter()
                .any(|p| r.parties_lc.contains(&p.to_lowercase())))
        && (r.platforms_lc.is_empty()
            || event
                .platform
                .as_ref()
                .is_some_and(|p| r.platforms_lc.contains(&p.to_lowercase())))
        && (rule.roles.is_empty() || rule.roles.contains(&client.role))
        && (r.regimes_lc.is_empty() || matching_regime(r, client).is_some())
        && (rule.residency.is_empty()
            || rule
                .residency
                .iter()
                .any(|x| client.residency.contains(&x.to_lowercase())))
        && match rule.uses {
            Uses::Any => true,
            Uses::Vendor => routed.vendor.is_some(),
            Uses::Platform => routed.platform,
            Uses::Product => routed.product,
        }
}

fn matching_regime<'a>(r: &CompiledRule, client: &'a ClientProfile) -> Option<&'a str> {
    client
        .regimes
        .iter()
        .find(|c| r.regimes_lc.contains(&c.to_lowercase()))
        .map(String::as_str)
}

fn render(
    playbook: &Playbook,
    r: &CompiledRule,
    event: &Event,
    client: &ClientProfile,
    base: &[Value; N_KEYS],
    told: Told<'_>,
) -> Action {
    let stored = told
        .stored
        .and_then(|s| s.get(&event.id))
        .and_then(|rules| rules.get(&r.rule.id));
    let due = match stored {
        Some(d) => Some(d.clone()),
        None => r
            .due
            .and_then(|d| due_date(event, d.anchor, d.days, told.today)),
    };
    let overdue = due
        .as_deref()
        .and_then(|d| d.parse::<Date>().ok())
        .is_some_and(|d| d < told.today);
    let due_text = due.as_deref().unwrap_or("no fixed date");
    let regime = if r.regimes_lc.is_empty() {
        client.regimes.first().map(String::as_str)
    } else {
        matching_regime(r, client)
    };
    let severity = r.rule.severity.unwrap_or(event.severity);
    let regime = regime.unwrap_or("your compliance programme");
    // Only templates with more than plain `{{ name }}` need minijinja; the
    // context is made once, on first use.
    let mut ctx: Option<Value> = None;
    let mut text = |field: &str, raw: &str, plain: &Option<Vec<Segment>>| -> String {
        if let Some(segments) = plain {
            return one_line_owned(concat(segments, |i| match i {
                REGIME => regime,
                DUE => due_text,
                SEVERITY => severity.as_str(),
                _ => base[i].as_str().unwrap_or_default(),
            }));
        }
        let ctx = ctx.get_or_insert_with(|| {
            let mut values = base.clone();
            values[REGIME] = Value::from(regime);
            values[DUE] = Value::from(due_text);
            values[SEVERITY] = Value::from(severity.as_str());
            Value::from_object(Context { values })
        });
        let name = template_name(&r.rule.id, field);
        let rendered = playbook
            .env
            .get_template(&name)
            .and_then(|t| t.render(ctx.clone()));
        match rendered {
            Ok(s) => one_line_owned(s),
            Err(e) => {
                // Templates are test-rendered at load, so this is rare; the
                // raw text still tells the client what to do.
                tracing::warn!(rule = %r.rule.id, error = %e, "action template failed; sending its raw text");
                one_line(raw)
            }
        }
    };
    Action {
        rule_id: r.rule.id.clone(),
        title: text("title", &r.rule.title, &r.title_plain),
        why: text("why", &r.rule.why, &r.why_plain),
        owner: r.rule.owner.clone(),
        due,
        overdue,
        severity,
    }
}

/// A piece of an action template that is only text and `{{ name }}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    Text(String),
    /// Index into `KEYS` of a name whose value is a string.
    Name(usize),
}

/// The template as text and names when it is nothing more (most are), so
/// rendering it is string concatenation instead of a minijinja run; `None`
/// for anything else (filters, tests, blocks, comments, whitespace control),
/// which minijinja renders. The output is the same: every string name is
/// always defined and printed as is (no auto-escaping for action texts).
pub(crate) fn plain_template(src: &str) -> Option<Vec<Segment>> {
    if src.contains("{%") || src.contains("{#") {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Segment::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let inner = &after[..close];
        if inner.starts_with(['-', '+']) || inner.ends_with(['-', '+']) {
            return None;
        }
        let i = KEYS.iter().position(|k| *k == inner.trim())?;
        if i >= STRING_KEYS {
            return None;
        }
        out.push(Segment::Name(i));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_string()));
    }
    Some(out)
}

/// A plain template's text with each name's value from `value`.
fn concat<'a>(segments: &'a [Segment], value: impl Fn(usize) -> &'a str) -> String {
    let mut out = String::with_capacity(256);
    for seg in segments {
        out.push_str(match seg {
            Segment::Text(t) => t,
            Segment::Name(i) => value(*i),
        });
    }
    out
}

fn or<'a>(v: &'a Option<String>, stand_in: &'static str) -> &'a str {
    v.as_deref().unwrap_or(stand_in)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `one_line` without copying when the text already is one line.
fn one_line_owned(s: String) -> String {
    if s.is_ascii() {
        // Same test as below on bytes: ASCII whitespace is 9..=13 and space.
        let b = s.as_bytes();
        let ws = |c: u8| c == b' ' || (9..=13).contains(&c);
        let clean = !b.first().is_some_and(|&c| ws(c))
            && !b.last().is_some_and(|&c| ws(c))
            && !b.iter().any(|&c| (9..=13).contains(&c))
            && !s.contains("  ");
        return if clean { s } else { one_line(&s) };
    }
    let clean = !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s.char_indices().any(|(i, c)| {
            c.is_whitespace() && (c != ' ' || s[i + 1..].starts_with(char::is_whitespace))
        });
    if clean { s } else { one_line(&s) }
}

/// The due date for an anchor and offset, `None` when the anchor is absent.
/// `event` counts from the day the client is told (an announcement from
/// April reaching a client in December gives it the playbook's time from
/// December); whatever the anchor, nothing is due before the day after the
/// client is told, since a due date already past cannot be acted on.
pub fn due_date(event: &Event, anchor: Anchor, days: i64, today: Date) -> Option<String> {
    let event_day = event.first_seen.to_zoned(jiff::tz::TimeZone::UTC).date();
    let heard = event_day.max(today);
    let base = match anchor {
        Anchor::Event => heard,
        Anchor::Effective => event
            .effective
            .as_deref()
            .and_then(parse_loose_date)
            .unwrap_or(heard),
        Anchor::Until => event.until.as_deref().and_then(parse_loose_date)?,
    };
    let due = base.checked_add(jiff::Span::new().days(days)).ok()?;
    let earliest = today.tomorrow().ok()?;
    Some(due.max(earliest).strftime("%Y-%m-%d").to_string())
}

/// A status as words in a sentence: "non-exclusive", "revenue share".
pub fn status_words(s: Status) -> &'static str {
    match s {
        Status::NonExclusive => "non-exclusive",
        other => other.as_str(),
    }
}

/// "1 Feb 2027": how digests print a date.
pub fn day_text(d: Date) -> String {
    d.strftime("%-d %b %Y").to_string()
}

/// The event's status as the rest of a sentence about its product or
/// parties, in the right tense: "will be retired on 30 Jun 2027", "was
/// withdrawn on 1 Mar 2026", "is now available", "is now non-exclusive".
pub fn state(event: &Event, today: Date) -> String {
    let word = status_words(event.status);
    let ending = matches!(
        event.status,
        Status::Retired | Status::Withdrawn | Status::Ended
    );
    let on = event.effective.as_deref().and_then(parse_loose_date);
    match (ending, on) {
        (true, Some(d)) if d > today => format!("will be {word} on {}", day_text(d)),
        (true, Some(d)) => format!("was {word} on {}", day_text(d)),
        (true, None) => format!("is {word}"),
        _ if event.status == Status::Preview => "is now in preview".to_string(),
        _ => format!("is now {word}"),
    }
}

/// The party invested in, read from the evidence: the one named after
/// "in" ("Microsoft keeps its stake in OpenAI").
fn investee(event: &Event) -> Option<&str> {
    let evidence = &event.sources.first()?.evidence;
    event
        .parties
        .iter()
        .filter_map(|p| {
            let at = evidence.find(&format!(" in {p}"))?;
            Some((at, p.as_str()))
        })
        .min()
        .map(|(_, p)| p)
}

/// `2032` (the end of that year), `2032-06` (end of month) or `2032-06-30`.
pub fn parse_loose_date(s: &str) -> Option<jiff::civil::Date> {
    let s = s.trim();
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y] => jiff::civil::Date::new(y.parse().ok()?, 12, 31).ok(),
        [y, m] => jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, 1)
            .ok()
            .map(|d| d.last_of_month()),
        [_, _, _] => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_templates_are_only_text_and_names() {
        assert_eq!(
            plain_template("Check {{ product }} for {{client}}."),
            Some(vec![
                Segment::Text("Check ".into()),
                Segment::Name(7),
                Segment::Text(" for ".into()),
                Segment::Name(0),
                Segment::Text(".".into()),
            ])
        );
        assert_eq!(
            plain_template("no names"),
            Some(vec![Segment::Text("no names".into())])
        );
        for not_plain in [
            "{{ residency|upper }}",
            "{% if has_platform %}x{% endif %}",
            "{# note #}x",
            "{{- client }}",
            "{{ client -}}",
            "{{ has_platform }}",
            "{{ prodcut }}",
            "{{ client ",
            "{{ \"}}\" }}",
        ] {
            assert_eq!(plain_template(not_plain), None, "{not_plain}");
        }
    }

    /// Every shipped template the fast path takes renders exactly as
    /// minijinja renders it, for a context where each name has its own value.
    #[test]
    fn plain_templates_render_as_minijinja_does() {
        let pb = super::super::load_playbook(&super::super::Config { playbook: None }).unwrap();
        let values: Vec<String> = KEYS.iter().map(|k| format!("<{k} value>")).collect();
        let mut ctx = [(); N_KEYS].map(|_| Value::from(true));
        for (i, v) in values.iter().enumerate().take(STRING_KEYS) {
            ctx[i] = Value::from(v.as_str());
        }
        let ctx = Value::from_object(Context { values: ctx });
        let mut plain = 0;
        for r in &pb.rules {
            for (field, seg) in [("title", &r.title_plain), ("why", &r.why_plain)] {
                let Some(seg) = seg else { continue };
                plain += 1;
                let expected = pb
                    .env
                    .get_template(&template_name(&r.rule.id, field))
                    .unwrap()
                    .render(&ctx)
                    .unwrap();
                assert_eq!(
                    concat(seg, |i| values[i].as_str()),
                    expected,
                    "{}",
                    r.rule.id
                );
            }
        }
        assert!(plain > 40, "only {plain} plain templates");
    }

    #[test]
    fn one_line_owned_equals_one_line() {
        for s in [
            "a b", " a", "a ", "a  b", "a\tb", "a\nb", "a\u{b}b", "a\u{1f}b", "", "é b", "é  b",
            "a\u{a0}b", "a\u{85}b",
        ] {
            assert_eq!(one_line_owned(s.to_string()), one_line(s), "{s:?}");
        }
    }
}
