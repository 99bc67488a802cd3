//! `/api/v1/events` and `/api/v1/signals`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::page::{ApiError, PageQuery, json_with_etag, paginate};
use crate::model::{ChangeKind, Event, Severity, parse_timestamp};

/// Filters of the events list; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    kind: Option<String>,
    /// Any party (or licensor, licensee, payer, payee), case-insensitive.
    party: Option<String>,
    platform: Option<String>,
    product: Option<String>,
    /// Minimum severity.
    severity: Option<String>,
    disputed: Option<bool>,
    /// Seen (last report) on or after.
    since: Option<String>,
    /// First seen on or before.
    until: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<EventQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = Filter::from_query(&q)?;
    let mut events: Vec<Event> = crate::store::events::list(&state.store)
        .await?
        .into_iter()
        .filter(|e| filter.keeps(e))
        .collect();
    // Newest first; the id breaks ties so the order (and the cursor) is total.
    events.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.id.cmp(&b.id)));
    let page_q = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let page = paginate(events, &page_q, |e| e.id.clone())?;
    Ok(json_with_etag(&headers, &page))
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let event = crate::store::events::get(&state.store, std::slice::from_ref(&id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::not_found(format!("no event \"{id}\"; GET /api/v1/events lists them"))
        })?;
    let mut history = crate::store::events::history(&state.store).await?;
    let mut v: Value = serde_json::to_value(&event).map_err(ApiError::internal)?;
    v["history"] = serde_json::to_value(history.remove(&id).unwrap_or_default())
        .map_err(ApiError::internal)?;
    Ok(json_with_etag(&headers, &v))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalQuery {
    since: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn signals(
    State(state): State<AppState>,
    Query(q): Query<SignalQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let since = q.since.as_deref().map(|s| time("since", s)).transpose()?;
    let rows = crate::store::signals::list(&state.store, since).await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "id": format!("{}-{}", s.revision_id, s.signal.span.start),
                "revision_id": s.revision_id,
                "url": s.url,
                "title": s.title,
                "at": s.at.to_string(),
                "kind": s.signal.kind.as_str(),
                "evidence": s.signal.evidence,
                "names": s.signal.names,
                "missing": s.signal.missing,
            })
        })
        .collect();
    let page_q = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = paginate(items, &page_q, |v| {
        v["id"].as_str().unwrap_or_default().to_string()
    })?;
    Ok(json_with_etag(&headers, &page))
}

/// The parsed filters.
struct Filter {
    kind: Option<ChangeKind>,
    party: Option<String>,
    platform: Option<String>,
    product: Option<String>,
    severity: Option<Severity>,
    disputed: Option<bool>,
    since: Option<jiff::Timestamp>,
    until: Option<jiff::Timestamp>,
}

impl Filter {
    fn from_query(q: &EventQuery) -> Result<Filter, ApiError> {
        let kind = q
            .kind
            .as_deref()
            .map(|k| {
                ChangeKind::parse(k).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "kind \"{k}\" is not one termwatch knows; use one of {}",
                        ChangeKind::ALL
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .transpose()?;
        let severity = q
            .severity
            .as_deref()
            .map(|s| {
                Severity::parse(s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "severity \"{s}\": use info, low, medium, high or critical"
                    ))
                })
            })
            .transpose()?;
        Ok(Filter {
            kind,
            party: q.party.clone(),
            platform: q.platform.clone(),
            product: q.product.clone(),
            severity,
            disputed: q.disputed,
            since: q.since.as_deref().map(|s| time("since", s)).transpose()?,
            until: q.until.as_deref().map(|s| time("until", s)).transpose()?,
        })
    }

    fn keeps(&self, e: &Event) -> bool {
        let same = |want: &Option<String>, have: Option<&String>| {
            want.as_ref()
                .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        let party_ok = self.party.as_ref().is_none_or(|p| {
            e.parties
                .iter()
                .chain(
                    [&e.licensor, &e.licensee, &e.payer, &e.payee]
                        .into_iter()
                        .flatten(),
                )
                .any(|x| x.eq_ignore_ascii_case(p))
        });
        self.kind.is_none_or(|k| e.kind == k)
            && party_ok
            && same(&self.platform, e.platform.as_ref())
            && same(&self.product, e.product.as_ref())
            && self.severity.is_none_or(|s| e.severity >= s)
            && self.disputed.is_none_or(|d| e.disputed == d)
            && self.since.is_none_or(|s| e.last_seen >= s)
            && self.until.is_none_or(|u| e.first_seen <= u)
    }
}

fn time(name: &str, s: &str) -> Result<jiff::Timestamp, ApiError> {
    parse_timestamp(s).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}
