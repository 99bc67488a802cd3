//! Per-client feeds behind an unguessable token: the client's events as
//! Atom, for people who would rather read a feed than an email, and its
//! actions' due dates as iCalendar, for their calendar. The token
//! (`termwatch token feed CLIENT`) is stored hashed and rotated by making
//! a new one.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::page::ApiError;
use crate::model::{Digest, DigestItem};

/// How far back a feed reaches.
const FEED_DAYS: i64 = 90;

pub async fn atom(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (client, digest, now) = feed_digest(&state, &token).await?;
    let body = render(&client, digest.as_ref(), now);
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

pub async fn ics(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (client, digest, now) = feed_digest(&state, &token).await?;
    let body = calendar(&client, digest.as_ref(), now);
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response())
}

/// The client a feed token belongs to and what it would be told about the
/// last [`FEED_DAYS`] days.
async fn feed_digest(
    state: &AppState,
    token: &str,
) -> Result<(String, Option<Digest>, jiff::Timestamp), ApiError> {
    let client = crate::store::tokens::feed_client(&state.store, &super::auth::hash(token))
        .await?
        // The same answer for a wrong token as for a missing route: a
        // guesser learns nothing.
        .ok_or_else(|| {
            ApiError::not_found("no such feed; ask for a new link (`termwatch token feed CLIENT`)")
        })?;
    let now = jiff::Timestamp::now();
    let since = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * FEED_DAYS))
        .unwrap_or(now);
    let got = crate::pipeline::route::preview(
        &state.store,
        &state.config,
        &state.paths.clients_dir,
        &client,
        Some(since),
        now,
    )
    .await
    .map_err(|e| match e {
        crate::pipeline::route::Error::UnknownClient { .. } => {
            ApiError::new(StatusCode::GONE, "this feed's client no longer exists")
        }
        e => ApiError::internal(e),
    })?;
    Ok((client, got.map(|(d, _)| d), now))
}

/// The Atom document. Every scraped string is escaped and stripped of the
/// control characters XML 1.0 forbids (a feed reader would reject the feed).
fn render(client: &str, digest: Option<&Digest>, now: jiff::Timestamp) -> String {
    let title = digest.map_or(client, |d| d.client_name.as_str());
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    out.push_str(&format!("  <id>urn:termwatch:feed:{}</id>\n", text(client)));
    out.push_str(&format!("  <title>termwatch: {}</title>\n", text(title)));
    out.push_str(&format!("  <updated>{}</updated>\n", atom_time(now)));
    for item in digest.map_or(&[][..], |d| d.items.as_slice()) {
        out.push_str(&entry(item));
    }
    out.push_str("</feed>\n");
    out
}

fn entry(item: &DigestItem) -> String {
    let e = &item.event;
    let headline = if item.headline.is_empty() {
        e.kind.as_str()
    } else {
        item.headline.as_str()
    };
    let mut summary = String::new();
    for r in &item.reasons {
        summary.push_str(&format!("Why you: {r}\n"));
    }
    for a in &item.actions {
        let due = a
            .due
            .as_deref()
            .map(|d| format!(" (due {d})"))
            .unwrap_or_default();
        summary.push_str(&format!("- {}{due}\n", a.title));
    }
    if let Some(s) = e.sources.first() {
        summary.push_str(&format!("\n\u{201c}{}\u{201d}\n", s.evidence));
    }
    let mut links = String::new();
    for s in &e.sources {
        links.push_str(&format!(
            "    <link rel=\"related\" href=\"{}\"/>\n",
            attr(&s.url)
        ));
    }
    format!(
        "  <entry>\n    <id>urn:termwatch:event:{}</id>\n    <title>{}</title>\n    <updated>{}</updated>\n    <published>{}</published>\n{links}    <summary>{}</summary>\n  </entry>\n",
        text(&e.id),
        text(headline),
        atom_time(e.last_seen),
        atom_time(e.first_seen),
        text(&summary),
    )
}

fn atom_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn clean(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
        })
        .collect()
}

fn text(s: &str) -> String {
    html_escape::encode_text(&clean(s)).into_owned()
}

fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(&clean(s)).into_owned()
}

/// One all-day VEVENT per action with a due date.
fn calendar(client: &str, digest: Option<&Digest>, now: jiff::Timestamp) -> String {
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//termwatch//actions//EN".to_string(),
        format!(
            "X-WR-CALNAME:{}",
            ics_text(&format!("termwatch actions: {client}"))
        ),
    ];
    for item in digest.map_or(&[][..], |d| d.items.as_slice()) {
        for a in &item.actions {
            let Some(day) = a
                .due
                .as_deref()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            else {
                continue;
            };
            let next = day.tomorrow().unwrap_or(day);
            lines.extend([
                "BEGIN:VEVENT".to_string(),
                format!(
                    "UID:{}-{}@termwatch",
                    ics_text(&item.event.id),
                    ics_text(&a.rule_id)
                ),
                format!("DTSTAMP:{stamp}"),
                format!("DTSTART;VALUE=DATE:{}", day.strftime("%Y%m%d")),
                format!("DTEND;VALUE=DATE:{}", next.strftime("%Y%m%d")),
                format!("SUMMARY:{}", ics_text(&a.title)),
                format!(
                    "DESCRIPTION:{}",
                    ics_text(&format!("{}\nOwner: {}", a.why, a.owner))
                ),
                "END:VEVENT".to_string(),
            ]);
        }
    }
    lines.push("END:VCALENDAR".to_string());
    lines.iter().map(|l| fold(l)).collect()
}

/// RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped.
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (never inside a character), CRLF-ended.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}
