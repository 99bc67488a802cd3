//! Bearer tokens and their scopes. A token is 32 random bytes shown once;
//! the store keeps its SHA-256 (a high-entropy secret needs no slow hash).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use super::AppState;
use super::page::ApiError;
use crate::store::tokens;

/// What a token may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// GET routes.
    Read,
    /// Read, plus the review queue (signals, held events).
    Review,
    /// Everything, writes included.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Review => "review",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "review" => Some(Scope::Review),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A new token: a prefix a reader recognises in a config file, then 256
/// random bits.
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}_{}", hex::encode(bytes))
}

/// What the store keeps of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The route's required scope, handed to [`require`] by the router.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub scope: Scope,
}

/// Middleware: 401 without a known token, 403 when its scope is too small.
pub async fn require(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    match check(&guard, req.headers()).await {
        Ok(()) => next.run(req).await,
        Err(resp) => resp,
    }
}

async fn check(guard: &Guard, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = bearer(headers) else {
        return Err(unauthorized(
            "this route needs a token: send `Authorization: Bearer TOKEN` (make one with `termwatch token create NAME --scope read`)",
        ));
    };
    let row = tokens::find(&guard.state.store, &hash(token))
        .await
        .map_err(|e| ApiError::internal(e).into_response())?;
    let Some(row) = row else {
        return Err(unauthorized(
            "unknown or revoked token; `termwatch token list` shows the tokens that exist",
        ));
    };
    let have = Scope::parse(&row.scope).unwrap_or(Scope::Read);
    if have < guard.scope {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "token \"{}\" has scope {}; this route needs {}",
                row.name,
                have.as_str(),
                guard.scope.as_str()
            ),
        )
        .into_response());
    }
    Ok(())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

fn unauthorized(message: &str) -> Response {
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"termwatch\""),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_include_the_smaller_ones() {
        assert!(Scope::Admin > Scope::Review && Scope::Review > Scope::Read);
        for s in [Scope::Read, Scope::Review, Scope::Admin] {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("write"), None);
    }

    #[test]
    fn tokens_are_long_random_and_hashed_stably() {
        let (a, b) = (new_token("tw"), new_token("tw"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(&a[3..]));
    }

    #[test]
    fn bearer_is_read_case_insensitively_and_needs_a_value() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer  ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
