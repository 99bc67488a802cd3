//! Playbook rules applied to one event for one client: which rules match and
//! the actions they produce, with texts rendered from the rule's templates.

use serde::Serialize;

use super::Routed;
use super::playbook::{Anchor, CompiledRule, Playbook, Uses, template_name};
use crate::model::{Action, ClientProfile, Event};

/// Names an action template may use, listed in `check` errors.
pub const CONTEXT_NAMES: &[&str] = &[
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
];

/// What an action template sees. Every name is always present (absent event
/// fields get a readable stand-in) so strict templates never fail at send time.
#[derive(Debug, Serialize)]
struct Context<'a> {
    client: &'a str,
    client_id: &'a str,
    role: &'a str,
    kind: &'a str,
    status: &'a str,
    parties: String,
    vendor: &'a str,
    product: &'a str,
    platform: &'a str,
    until: &'a str,
    effective: &'a str,
    licensor: &'a str,
    licensee: &'a str,
    payer: &'a str,
    payee: &'a str,
    regime: &'a str,
    regimes: String,
    residency: String,
    due: &'a str,
    severity: &'a str,
    has_product: bool,
    has_platform: bool,
    has_until: bool,
}

/// A context with every name filled, used to test-render templates at load.
pub(crate) fn sample_context() -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(Context {
        client: "Sample Client",
        client_id: "sample",
        role: "msp",
        kind: "license",
        status: "non_exclusive",
        parties: "Nimbus Labs and Corvid Cloud".into(),
        vendor: "Nimbus Labs",
        product: "Nimbus-7",
        platform: "Corvid Cloud",
        until: "2030",
        effective: "2030-01-01",
        licensor: "Nimbus Labs",
        licensee: "Corvid Cloud",
        payer: "Corvid Cloud",
        payee: "Nimbus Labs",
        regime: "GDPR",
        regimes: "GDPR".into(),
        residency: "eu".into(),
        due: "2030-01-01",
        severity: "high",
        has_product: true,
        has_platform: true,
        has_until: true,
    }))
}

/// The actions every matching rule produces, most severe first.
pub fn actions_for(
    playbook: &Playbook,
    event: &Event,
    client: &ClientProfile,
    routed: &Routed,
) -> Vec<Action> {
    let mut out: Vec<Action> = playbook
        .rules
        .iter()
        .filter(|r| rule_matches(r, event, client, routed))
        .map(|r| render(playbook, r, event, client, routed))
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
    routed: &Routed,
) -> Action {
    let due = r.due.and_then(|d| due_date(event, d.anchor, d.days));
    let due_text = due.as_deref().unwrap_or("no fixed date");
    let regime = if r.regimes_lc.is_empty() {
        client.regimes.first().map(String::as_str)
    } else {
        matching_regime(r, client)
    };
    let vendor = routed
        .vendor
        .as_deref()
        .or(event.parties.first().map(String::as_str))
        .unwrap_or("the vendor");
    let severity = r.rule.severity.unwrap_or(event.severity);
    // Readable words in sentences: "non exclusive", "revenue share".
    let kind = event.kind.as_str().replace('_', " ");
    let status = event.status.as_str().replace('_', " ");
    let ctx = minijinja::Value::from(minijinja::value::Serde(Context {
        client: &client.name,
        client_id: &client.id,
        role: client.role.as_str(),
        kind: &kind,
        status: &status,
        parties: event.parties.join(" and "),
        vendor,
        product: or(&event.product, "the affected products"),
        platform: or(&event.platform, "the named platform"),
        until: or(&event.until, "the stated end date"),
        effective: or(&event.effective, "the effective date"),
        licensor: or(&event.licensor, "the licensor"),
        licensee: or(&event.licensee, "the licensee"),
        payer: or(&event.payer, "the payer"),
        payee: or(&event.payee, "the payee"),
        regime: regime.unwrap_or("your compliance programme"),
        regimes: client.regimes.join(", "),
        residency: client.residency.join(", "),
        due: due_text,
        severity: severity.as_str(),
        has_product: event.product.is_some(),
        has_platform: event.platform.is_some(),
        has_until: event.until.is_some(),
    }));
    let text = |field: &str, raw: &str| -> String {
        let name = template_name(&r.rule.id, field);
        let rendered = playbook
            .env
            .get_template(&name)
            .and_then(|t| t.render(ctx.clone()));
        match rendered {
            Ok(s) => one_line(&s),
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
        title: text("title", &r.rule.title),
        why: text("why", &r.rule.why),
        owner: r.rule.owner.clone(),
        due,
        severity,
    }
}

fn or<'a>(v: &'a Option<String>, stand_in: &'static str) -> &'a str {
    v.as_deref().unwrap_or(stand_in)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The due date for an anchor and offset, `None` when the anchor is absent.
pub fn due_date(event: &Event, anchor: Anchor, days: i64) -> Option<String> {
    let event_day = event.first_seen.to_zoned(jiff::tz::TimeZone::UTC).date();
    let base = match anchor {
        Anchor::Event => event_day,
        Anchor::Effective => event
            .effective
            .as_deref()
            .and_then(parse_loose_date)
            .unwrap_or(event_day),
        Anchor::Until => event.until.as_deref().and_then(parse_loose_date)?,
    };
    let due = base.checked_add(jiff::Span::new().days(days)).ok()?;
    Some(due.strftime("%Y-%m-%d").to_string())
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
