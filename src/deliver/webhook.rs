//! Webhook delivery: the digest as Standard Webhooks JSON, a Slack Block Kit
//! message or a Microsoft Teams Adaptive Card, POSTed and signed per the
//! Standard Webhooks specification (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`).
//!
//! `webhook-id` is the delivery id, so a resend after a crash carries the
//! same id and the receiver can drop the duplicate. Every target goes through
//! [`crate::guard`]: at resolution and on each redirect.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::secrets::{Secret, SecretRef};
use super::{Error, SendError, StoredDigest, WebhookConfig, retry};
use crate::guard::{self, Guard};
use crate::model::{Digest, truncate};
use serde::Deserialize as _;

/// Payload shape, chosen per webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `{"type":"digest.created","timestamp":...,"data":<Digest>}`.
    #[default]
    Standard,
    Slack,
    Teams,
}

impl Format {
    /// Parses the `format` column; empty means standard.
    pub fn parse(s: Option<&str>) -> Option<Format> {
        match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("standard") => Some(Format::Standard),
            Some("slack") => Some(Format::Slack),
            Some("teams") => Some(Format::Teams),
            _ => None,
        }
    }
}

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Signs `id.timestamp.body` per Standard Webhooks; the secret is
/// `whsec_<base64>` (the prefix is optional).
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SendError> {
    let b64 = secret.expose().trim();
    let b64 = b64.strip_prefix("whsec_").unwrap_or(b64);
    let key = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            SendError::permanent(
                "the webhook secret is not a Standard Webhooks secret; write whsec_ followed by base64",
            )
        })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| SendError::permanent("the webhook secret is empty"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(format!("v1,{sig}"))
}

/// The request body for a format.
pub fn payload(format: Format, digest: &StoredDigest) -> Result<Vec<u8>, SendError> {
    payload_keeping(format, digest, None)
}

/// The request body with only the first `keep` items (all when `None`),
/// saying how many were left out and where to read them.
fn payload_keeping(
    format: Format,
    digest: &StoredDigest,
    keep: Option<usize>,
) -> Result<Vec<u8>, SendError> {
    let unreadable = |e: serde_json::Error| {
        SendError::permanent(format!(
            "stored digest {} has unreadable JSON ({e}); re-render the digest",
            digest.id
        ))
    };
    // The stored document is what `templates/digest.json` rendered: the
    // digest itself, or (the shipped template) an envelope with it under
    // `digest`. Slack and Teams cards are built from the digest inside.
    let mut data: Value = serde_json::from_str(&digest.json).map_err(unreadable)?;
    let omitted = match keep {
        Some(keep) => trim_items(&mut data, keep, &digest.client_id),
        None => 0,
    };
    let inner = data
        .get("digest")
        .filter(|d| d.is_object())
        .unwrap_or(&data);
    let body = match format {
        Format::Standard => {
            let timestamp = inner.get("generated_at").cloned().unwrap_or(Value::Null);
            json!({"type": "digest.created", "timestamp": timestamp, "data": data})
        }
        Format::Slack => slack(&Digest::deserialize(inner).map_err(unreadable)?, omitted),
        Format::Teams => teams(&Digest::deserialize(inner).map_err(unreadable)?, omitted),
    };
    serde_json::to_vec(&body).map_err(|e| SendError::permanent(format!("JSON: {e}")))
}

/// Where an operator reads a digest a receiver could not take whole.
fn preview_hint(client_id: &str) -> String {
    format!("termwatch digest preview {client_id}")
}

/// Keeps the first `keep` items of the digest in `data` (the digest, or an
/// envelope with it under `digest`) and records in it how many were left
/// out and where to see them; returns that number.
fn trim_items(data: &mut Value, keep: usize, client_id: &str) -> usize {
    let digest = match data.get("digest").is_some_and(Value::is_object) {
        true => &mut data["digest"],
        false => data,
    };
    let Some(Value::Array(items)) = digest.get_mut("items") else {
        return 0;
    };
    let omitted = items.len().saturating_sub(keep);
    items.truncate(keep);
    if omitted > 0
        && let Value::Object(d) = digest
    {
        d.insert(
            "omitted".into(),
            json!({
                "events": omitted,
                "reason": "the receiver refused the whole digest as too large (HTTP 413)",
                "see": preview_hint(client_id),
            }),
        );
    }
    omitted
}

/// The item's headline as the email gives it, with its urgency:
/// "HIGH · GPT-5.5 and Codex on Amazon Bedrock availability: available".
fn headline(item: &crate::model::DigestItem) -> String {
    // A digest stored before items carried their headline has none.
    let told = match item.headline.as_str() {
        "" => {
            let today = jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date();
            crate::digest::headline(&item.event, today)
        }
        h => h.to_string(),
    };
    format!("{} · {told}", item.urgency.as_str().to_uppercase())
}

/// A time in the client's zone, as the email's period line gives it.
fn local(t: jiff::Timestamp, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    t.to_zoned(tz).strftime("%-d %b %Y %H:%M").to_string()
}

/// "1 Dec 2026 07:30 to 2 Dec 2026 07:30 (America/Chicago)".
fn period(d: &Digest) -> String {
    let tz = if d.timezone.is_empty() {
        "UTC"
    } else {
        d.timezone.as_str()
    };
    format!(
        "{} to {} ({tz})",
        local(d.window_start, tz),
        local(d.window_end, tz)
    )
}

/// Quotes shown per item, one per source, as in the email.
const MAX_QUOTES: usize = 3;

/// `(quote, link title, url, "vendor, 28 Apr 2026")` of the item's first sources.
fn quotes(
    item: &crate::model::DigestItem,
    timezone: &str,
) -> Vec<(String, String, String, String)> {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    item.event
        .sources
        .iter()
        .take(MAX_QUOTES)
        .map(|s| {
            let day = crate::route::day_text(s.published.to_zoned(tz.clone()).date());
            let title = if s.title.is_empty() {
                s.url.clone()
            } else {
                s.title.clone()
            };
            (
                truncate(&s.evidence, 600).into_owned(),
                title,
                s.url.clone(),
                format!("{}, {day}", s.trust.as_str()),
            )
        })
        .collect()
}

/// "Owner: counsel · due 2026-12-31 (overdue)".
fn action_line(a: &crate::model::Action) -> String {
    let mut s = format!("Owner: {}", a.owner);
    if let Some(due) = &a.due {
        s.push_str(&format!(" · due {due}"));
        if a.overdue {
            s.push_str(" (overdue)");
        }
    }
    s
}

/// Slack mrkdwn treats `&`, `<` and `>` as control characters (`<!channel>`,
/// `<@U123>`, `<url|text>`); scraped text also must not ping a channel
/// with a bare `@here`, so a word joiner goes after every `@`.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{2060}")
}

/// A URL inside a Slack `<url|text>` link: `&` as the entity Slack decodes
/// (a query string keeps its meaning), the characters that would end the
/// link percent-encoded.
fn slack_url(url: &str) -> String {
    url.replace('&', "&amp;")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
}

/// Teams renders TextBlock text as Markdown: scraped text could add links
/// (`[x](https://evil)`), emphasis or HTML-looking `<at>` tags. The
/// characters that open them get a backslash (CommonMark escapes); escaped
/// brackets cannot start a link, so parentheses stay as written.
fn teams_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\`*_[]<>#|~&".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Slack allows 50 blocks a message; each item takes three.
const SLACK_MAX_ITEMS: usize = 15;

/// Block Kit: a section per item (headline, what changed, why you, the
/// actions with owners and due dates, the quotes) and a context line with
/// the linked sources.
fn slack(d: &Digest, omitted: usize) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&d.subject, 150)}}),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(&format!(
            "{} · {} · {} item(s)", d.client_name, period(d), d.items.len()))}]}),
    ];
    for item in d.items.iter().take(SLACK_MAX_ITEMS) {
        let mut text = format!("*{}*", slack_escape(&headline(item)));
        for line in item
            .changes
            .iter()
            .map(|c| format!("What changed: {c}"))
            .chain(item.disputes.iter().map(|d| format!("Disputed: {d}")))
            .chain(item.details.iter().cloned())
        {
            text.push_str(&format!("\n{}", slack_escape(&line)));
        }
        if !item.reasons.is_empty() {
            text.push_str(&format!(
                "\n_Why you: {}_",
                slack_escape(&item.reasons.join("; "))
            ));
        }
        for a in &item.actions {
            text.push_str(&format!(
                "\n• *{}*\n   {}",
                slack_escape(&a.title),
                slack_escape(&action_line(a))
            ));
        }
        let tz = if d.timezone.is_empty() {
            "UTC"
        } else {
            d.timezone.as_str()
        };
        let sources = quotes(item, tz);
        for (quote, _, _, _) in &sources {
            text.push_str(&format!("\n> {}", slack_escape(quote)));
        }
        blocks.push(json!({"type": "divider"}));
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&text, 3000)}}),
        );
        let links: Vec<String> = sources
            .iter()
            .filter(|(_, _, url, _)| url.starts_with("https://") || url.starts_with("http://"))
            .map(|(_, title, url, about)| {
                format!(
                    "<{}|{}> ({})",
                    slack_url(url),
                    slack_escape(title),
                    slack_escape(about)
                )
            })
            .collect();
        if !links.is_empty() {
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&links.join(" · "), 3000)}]}));
        }
    }
    if d.items.len() > SLACK_MAX_ITEMS {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!(
            "…and {} more; see the email digest.", d.items.len() - SLACK_MAX_ITEMS)}}),
        );
    }
    if omitted > 0 {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(&omitted_note(omitted, &d.client_id))}]}));
    }
    json!({"text": slack_escape(&d.subject), "blocks": blocks})
}

/// The line a trimmed message ends with.
fn omitted_note(omitted: usize, client_id: &str) -> String {
    format!(
        "{omitted} more event(s) were left out: the receiver refused the whole digest as too large. See them all with `{}`.",
        preview_hint(client_id)
    )
}

/// An Adaptive Card: a container per item with its headline, what changed,
/// why you, the actions as facts (title: owner and due date), the quotes,
/// and buttons to the sources.
fn teams(d: &Digest, omitted: usize) -> Value {
    let tz = if d.timezone.is_empty() {
        "UTC"
    } else {
        d.timezone.as_str()
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": teams_escape(&d.subject), "weight": "Bolder", "size": "Medium", "wrap": true}),
        json!({"type": "TextBlock", "text": teams_escape(&format!("{} · {}", d.client_name, period(d))),
               "isSubtle": true, "wrap": true, "spacing": "None"}),
    ];
    let text = |t: &str, subtle: bool| json!({"type": "TextBlock", "text": teams_escape(t), "isSubtle": subtle, "wrap": true});
    for item in &d.items {
        let mut items = vec![
            json!({"type": "TextBlock", "text": teams_escape(&headline(item)), "weight": "Bolder", "wrap": true}),
        ];
        for c in &item.changes {
            items.push(text(&format!("What changed: {c}"), false));
        }
        for l in &item.disputes {
            items.push(text(&format!("Disputed: {l}"), false));
        }
        for l in &item.details {
            items.push(text(l, false));
        }
        if !item.reasons.is_empty() {
            items.push(text(&format!("Why you: {}", item.reasons.join("; ")), true));
        }
        let facts: Vec<Value> = item
            .actions
            .iter()
            .map(|a| json!({"title": teams_escape(&a.title), "value": teams_escape(&action_line(a))}))
            .collect();
        if !facts.is_empty() {
            items.push(json!({"type": "FactSet", "facts": facts}));
        }
        let sources = quotes(item, tz);
        for (quote, _, _, about) in &sources {
            items.push(text(&format!("\u{201c}{quote}\u{201d} ({about})"), false));
        }
        let links: Vec<Value> = sources
            .iter()
            .filter(|(_, _, url, _)| url.starts_with("https://") || url.starts_with("http://"))
            .map(|(_, title, url, _)| json!({"type": "Action.OpenUrl", "title": truncate(title, 80), "url": url}))
            .collect();
        if !links.is_empty() {
            items.push(json!({"type": "ActionSet", "actions": links}));
        }
        body.push(json!({"type": "Container", "separator": true, "items": items}));
    }
    if omitted > 0 {
        body.push(json!({"type": "TextBlock", "text": teams_escape(&omitted_note(omitted, &d.client_id)), "isSubtle": true, "wrap": true}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

/// The HTTP client, guarded; built once.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: Guard,
}

impl Sender {
    pub fn new(config: &WebhookConfig) -> Result<Sender, Error> {
        // reqwest is built without a default crypto provider; a second
        // install (another Sender) fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let guard = Guard::webhook(config.allow_private_targets);
        let client = guard
            .client_builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .user_agent(concat!("termwatch/", env!("CARGO_PKG_VERSION")))
            .redirect(guard.redirect_policy(MAX_REDIRECTS))
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        Ok(Sender { client, guard })
    }

    pub async fn send(
        &self,
        delivery_id: &str,
        target: &str,
        format: Format,
        secret_ref: Option<&str>,
        digest: &StoredDigest,
    ) -> Result<(), SendError> {
        let url = url::Url::parse(target).map_err(|e| {
            SendError::permanent(format!(
                "webhook URL is invalid ({e}); fix the client's webhook url"
            ))
        })?;
        // Webhook URLs often carry a token in the path (Slack's do): errors
        // name only the origin.
        let origin = url.origin().ascii_serialization();
        self.guard
            .check_url(&url)
            .map_err(|r| SendError::permanent(r.to_string()))?;
        let secret = match secret_ref {
            Some(r) if !r.trim().is_empty() => Some(
                SecretRef::parse(r)
                    .and_then(|r| r.resolve())
                    .map_err(|e| SendError::permanent(format!("webhook secret: {e}")))?,
            ),
            _ => None,
        };
        // A 413 is the size, not the digest: send fewer items under the
        // same webhook-id (halving each time) rather than lose them all.
        let total = item_count(digest);
        let mut keep = None;
        loop {
            let body = payload_keeping(format, digest, keep)?;
            let resp = self.post(&url, delivery_id, secret.as_ref(), body).await?;
            let status = resp.status();
            if status.is_success() {
                if let Some(k) = keep {
                    tracing::warn!(
                        delivery = delivery_id,
                        sent = k,
                        omitted = total - k,
                        "webhook {origin} refused the whole digest as too large; sent it trimmed"
                    );
                }
                return Ok(());
            }
            match keep.unwrap_or(total) {
                n if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE && n > 0 => {
                    keep = Some(n / 2)
                }
                _ => return Err(status_error(&origin, &resp)),
            }
        }
    }

    async fn post(
        &self,
        url: &url::Url,
        delivery_id: &str,
        secret: Option<&Secret>,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, SendError> {
        let ts = jiff::Timestamp::now().as_second();
        let mut req = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", delivery_id)
            .header("webhook-timestamp", ts.to_string());
        if let Some(secret) = secret {
            req = req.header("webhook-signature", sign(secret, delivery_id, ts, &body)?);
        }
        let origin = url.origin().ascii_serialization();
        req.body(body)
            .send()
            .await
            .map_err(|e| request_error(&origin, e))
    }
}

/// How many items the stored digest holds (0 when unreadable: the payload
/// reports that).
fn item_count(digest: &StoredDigest) -> usize {
    let data: Value = serde_json::from_str(&digest.json).unwrap_or(Value::Null);
    let inner = data.get("digest").unwrap_or(&data);
    inner
        .get("items")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// A receiver's error answer, and whether trying again can help.
fn status_error(origin: &str, resp: &reqwest::Response) -> SendError {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::parse_retry_after(v, jiff::Timestamp::now()));
    let code = status.as_u16();
    let message = format!("webhook {origin} answered {status}");
    // 4xx means the request itself is wrong (bad URL, bad signature):
    // retrying the same bytes cannot help, except for these.
    let permanent = status.is_client_error() && !matches!(code, 408 | 409 | 425 | 429);
    SendError {
        message: if permanent {
            format!("{message}; fix the webhook, then run `termwatch deliveries retry ID`")
        } else {
            message
        },
        permanent,
        retry_after,
    }
}

/// A failed request: a guard refusal (at resolution or on a redirect) is
/// permanent, anything else (timeout, connection refused) transient.
fn request_error(origin: &str, e: reqwest::Error) -> SendError {
    if let Some(r) = guard::refusal_in(&e) {
        return SendError::permanent(r.to_string());
    }
    let e = e.without_url();
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    SendError::transient(format!("webhook {origin}: {chain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_spec_vector() {
        // The test vector of the Standard Webhooks specification.
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let sig = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn bad_secret_is_permanent() {
        let err = sign(&Secret::new("whsec_***"), "id", 1, b"{}").unwrap_err();
        assert!(err.permanent);
        assert!(err.message.contains("whsec_"), "{}", err.message);
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse(None), Some(Format::Standard));
        assert_eq!(Format::parse(Some("Slack")), Some(Format::Slack));
        assert_eq!(Format::parse(Some("teams")), Some(Format::Teams));
        assert_eq!(Format::parse(Some("discord")), None);
    }
}
