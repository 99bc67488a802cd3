//! `/api/v1/sources`: each source file entry with its stored health.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::page::{ApiError, PageQuery, json_with_etag, paginate};
use crate::collect::{Kind, SourceDef, SourceState};
use crate::store::articles;

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let all = views(&state).await?;
    let page = paginate(all, &q, |v| {
        v["id"].as_str().unwrap_or_default().to_string()
    })?;
    Ok(json_with_etag(&headers, &page))
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let found = views(&state)
        .await?
        .into_iter()
        .find(|v| v["id"] == id.as_str())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no source \"{id}\"; GET /api/v1/sources lists them"
            ))
        })?;
    Ok(json_with_etag(&headers, &found))
}

/// Every source, by id, as the API shows it.
async fn views(state: &AppState) -> Result<Vec<Value>, ApiError> {
    let (mut sources, _) = crate::collect::load_sources(&state.paths.sources_dir);
    sources.sort_by(|a, b| a.id.cmp(&b.id));
    let states = articles::load_states(&state.store).await?;
    let counts = articles::article_counts(&state.store).await?;
    Ok(sources
        .iter()
        .map(|s| {
            let st = states.get(&s.id).cloned().unwrap_or_default();
            view(s, &st, counts.get(&s.id).copied().unwrap_or(0))
        })
        .collect())
}

fn view(s: &SourceDef, st: &SourceState, articles: i64) -> Value {
    let health = match (&st.last_error, st.last_success) {
        (Some(_), _) => "failing",
        (None, Some(_)) => "ok",
        (None, None) => "not polled yet",
    };
    let ts = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
    json!({
        "id": s.id,
        "name": s.name,
        "url": s.url.as_str(),
        "kind": match s.kind { Kind::Feed => "feed", Kind::Html => "html" },
        "trust": s.trust.as_str(),
        "organisation": s.organisation,
        "health": health,
        "last_success": ts(st.last_success),
        "last_attempt": ts(st.last_attempt),
        "last_error": st.last_error,
        "consecutive_failures": st.consecutive_failures,
        "next_due": ts(st.next_due),
        "retry_after": ts(st.retry_after),
        "item_errors": st.item_errors,
        "articles": articles,
    })
}
