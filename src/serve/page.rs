//! What every JSON route shares: errors that say what to fix, cursor
//! pagination, and ETags on GET.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

/// An error as JSON: `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A store or render failure: logged in full, answered in general terms
    /// (the detail may name files and paths).
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("API request failed: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has the detail",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(e: crate::store::Error) -> ApiError {
        ApiError::internal(e)
    }
}

/// `?limit=&cursor=` of a list route.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// One page of a list, and where the next one starts.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Cuts `items` (already in the route's order) into the page after the
/// cursor. A cursor is the opaque form of the last item's sort key, so a
/// page stays correct while new items arrive ahead of it.
pub fn paginate<T>(
    items: Vec<T>,
    q: &PageQuery,
    key: impl Fn(&T) -> String,
) -> Result<Page<T>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let start = match &after {
        None => 0,
        // Keys are in the list's order: the page starts at the first item
        // past the cursor's key.
        Some(k) => items
            .iter()
            .position(|i| key(i) == *k)
            .map(|p| p + 1)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "cursor points at an item that no longer exists; start again without cursor",
                )
            })?,
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next_cursor = if more {
        rest.last().map(|i| URL_SAFE_NO_PAD.encode(key(i)))
    } else {
        None
    };
    Ok(Page {
        items: rest,
        next_cursor,
    })
}

fn decode_cursor(c: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::bad_request("cursor is not one this server gave; use next_cursor as given")
        })
}

/// A JSON body with a strong ETag; 304 when the client already has it.
pub fn json_with_etag(req: &HeaderMap, value: &impl Serialize) -> Response {
    let body = match serde_json::to_vec(value) {
        Ok(b) => b,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let tag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let matches = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let etag = HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::ETAG, etag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: usize, cursor: Option<String>) -> PageQuery {
        PageQuery {
            limit: Some(limit),
            cursor,
        }
    }

    #[test]
    fn pages_walk_the_whole_list_once() {
        let items: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = paginate(items.clone(), &q(3, cursor), |i| i.to_string()).unwrap();
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn bad_limits_and_cursors_say_what_to_do() {
        let e = paginate(vec![1], &q(0, None), |i| i.to_string()).unwrap_err();
        assert!(e.message.contains("between 1 and"));
        let e = paginate(vec![1], &q(5, Some("!!".into())), |i| i.to_string()).unwrap_err();
        assert!(e.message.contains("next_cursor"), "{}", e.message);
    }
}
