//! `/api/v1/clients` and the outbox routes.
//!
//! A client is read and written in the shape of its file (`clients/*.toml`
//! as JSON), so what a GET returns a PUT accepts, with one exception: a
//! webhook URL is a bearer secret (Slack, Teams) and comes back reduced to
//! its origin; a PUT must give it whole. Writes are checked as `check`
//! checks a client file and land atomically (a temporary file renamed over
//! the old one); `If-Match` with a GET's ETag refuses a write over a newer
//! version.

use std::path::{Path as FsPath, PathBuf};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::AppState;
use super::page::{ApiError, PageQuery, json_with_etag, paginate};
use crate::route::parse_client;
use crate::store::deliveries::{self, RetryOutcome};

/// One client file: where it is, its text, and the id it declares.
struct ClientFile {
    path: PathBuf,
    text: String,
    id: String,
}

/// Every valid client file, by id (invalid ones are `check`'s business).
fn client_files(dir: &FsPath) -> Vec<ClientFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<ClientFile> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let id = parse_client(&path, &text).ok()?.id;
            Some(ClientFile { path, text, id })
        })
        .collect();
    files.sort_by(|a, b| a.id.cmp(&b.id));
    files
}

fn find(state: &AppState, id: &str) -> Result<ClientFile, ApiError> {
    client_files(&state.paths.clients_dir)
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no client \"{id}\"; GET /api/v1/clients lists them"
            ))
        })
}

/// The file as JSON, webhook URLs reduced to their origin.
fn view(f: &ClientFile) -> Result<Value, ApiError> {
    let toml: toml::Value = toml::from_str(&f.text).map_err(ApiError::internal)?;
    let mut v = serde_json::to_value(toml).map_err(ApiError::internal)?;
    if let Some(hooks) = v.get_mut("webhooks").and_then(Value::as_array_mut) {
        for h in hooks {
            if let Some(url) = h.get("url").and_then(Value::as_str) {
                h["url"] = Value::String(origin_only(url));
            }
        }
    }
    Ok(v)
}

fn origin_only(url: &str) -> String {
    url::Url::parse(url).map_or_else(
        |_| "(hidden)".into(),
        |u| format!("{}/…", u.origin().ascii_serialization()),
    )
}

fn etag_of(text: &str) -> String {
    format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(text.as_bytes()))[..32]
    )
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let views = client_files(&state.paths.clients_dir)
        .iter()
        .map(view)
        .collect::<Result<Vec<_>, _>>()?;
    let page = paginate(views, &q, |v| {
        v["id"].as_str().unwrap_or_default().to_string()
    })?;
    Ok(json_with_etag(&headers, &page))
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let f = find(&state, &id)?;
    let etag = etag_of(&f.text);
    Ok(([(header::ETAG, etag)], Json(view(&f)?)).into_response())
}

pub async fn put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!("the body must be a JSON object: {}", e.body_text()))
    })?;
    if !valid_id(&id) {
        return Err(ApiError::bad_request(
            "a client id is letters, digits, '-' or '_' (for example northwind-clinic)",
        ));
    }
    let mut body = body;
    let Some(obj) = body.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object shaped like a client file",
        ));
    };
    match obj.get("id") {
        None => {
            obj.insert("id".into(), Value::String(id.clone()));
        }
        Some(Value::String(s)) if *s == id => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "the body's id {other} differs from the URL's \"{id}\"; an id cannot be changed, create a new client instead"
            )));
        }
    }
    let text = toml::to_string(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body cannot be a client file: {e} (null values are not allowed; leave the key out)"
        ))
    })?;
    let _writing = state.client_writes.lock().await;
    let existing = client_files(&state.paths.clients_dir)
        .into_iter()
        .find(|f| f.id == id);
    if let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        let current = existing.as_ref().map(|f| etag_of(&f.text));
        if current.as_deref() != Some(want.trim()) {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "the client changed since that ETag was read; GET it again and reapply your edit",
            ));
        }
    }
    let path = existing.as_ref().map_or_else(
        || state.paths.clients_dir.join(format!("{id}.toml")),
        |f| f.path.clone(),
    );
    if let Err(problems) = parse_client(&path, &text) {
        let list: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": format!("the client is not valid: {}", list.join("; ")), "problems": list })),
        )
            .into_response());
    }
    write_atomically(&path, &text)
        .map_err(|e| ApiError::internal(format!("could not write {}: {e}", path.display())))?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let saved = ClientFile { path, text, id };
    Ok((
        status,
        [(header::ETAG, etag_of(&saved.text))],
        Json(view(&saved)?),
    )
        .into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let _writing = state.client_writes.lock().await;
    let f = find(&state, &id)?;
    std::fs::remove_file(&f.path)
        .map_err(|e| ApiError::internal(format!("could not remove {}: {e}", f.path.display())))?;
    Ok(Json(json!({ "deleted": id })).into_response())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Writes beside the target, then renames over it: a reader (the worker)
/// sees the old file or the new one, never half of one.
fn write_atomically(path: &FsPath, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(FsPath::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    since: Option<String>,
}

pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, ApiError> {
    let since = q
        .since
        .as_deref()
        .map(|s| {
            crate::model::parse_timestamp(s)
                .map_err(|e| ApiError::bad_request(format!("since: {e}")))
        })
        .transpose()?;
    find(&state, &id)?;
    let now = jiff::Timestamp::now();
    let got = crate::pipeline::route::preview(
        &state.store,
        &state.config,
        &state.paths.clients_dir,
        &id,
        since,
        now,
    )
    .await
    .map_err(ApiError::internal)?;
    let body = match got {
        None => {
            json!({ "digest": null, "reason": "no new or changed event applies to this client in this window; try ?since=2026-01-01" })
        }
        Some((_, rendered)) => {
            // The webhook document wraps the digest with its type and version.
            let mut doc: Value =
                serde_json::from_str(&rendered.json).map_err(ApiError::internal)?;
            json!({ "digest": doc["digest"].take() })
        }
    };
    Ok(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

const STATUSES: &[&str] = &["pending", "sent", "failed", "dead"];

pub async fn deliveries(
    State(state): State<AppState>,
    Query(q): Query<DeliveryQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::bad_request(format!(
            "status \"{s}\": use one of {}",
            STATUSES.join(", ")
        )));
    }
    let rows = deliveries::list(&state.store, q.status.as_deref(), i64::MAX).await?;
    let ts = |s: i64| crate::store::from_secs(s).to_string();
    let items: Vec<Value> = rows
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id, "digest_id": d.digest_id, "client_id": d.client_id,
                "channel": d.channel, "format": d.format, "target": d.target,
                "status": d.status, "attempts": d.attempts,
                "next_attempt_at": ts(d.next_attempt_at), "last_error": d.last_error,
                "sent_at": d.sent_at.map(ts), "created_at": ts(d.created_at),
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

pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now().as_second();
    match deliveries::retry(&state.store, &id, now).await? {
        RetryOutcome::Queued => Ok(Json(json!({ "id": id, "status": "pending" })).into_response()),
        RetryOutcome::NotFound => Err(ApiError::not_found(format!(
            "no delivery \"{id}\"; GET /api/v1/deliveries lists them"
        ))),
        RetryOutcome::AlreadySent => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already sent; a sent delivery is final",
        )),
        RetryOutcome::InFlight => Err(ApiError::new(
            StatusCode::CONFLICT,
            "a worker is sending it now; look again after its lease ends",
        )),
    }
}
