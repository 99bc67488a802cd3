//! Per-client feeds behind an unguessable token: the client's events as
//! Atom, for people who would rather read a feed than an email. The token
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
    let client = crate::store::tokens::feed_client(&state.store, &super::auth::hash(&token))
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
    let body = render(&client, got.as_ref().map(|(d, _)| d), now);
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
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
