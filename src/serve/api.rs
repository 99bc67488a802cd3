//! Every route, in one table. [`Api`] adds a route to the router and its
//! description to the list `/openapi.json` is built from, in one call, so a
//! route cannot exist undocumented (or be documented without existing).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};

use super::auth::{Guard, Scope};
use super::page::ApiError;
use super::{AppState, clients, events, feeds, openapi, sources};

/// One route as the OpenAPI document describes it.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// Lower-case HTTP method, as OpenAPI writes it.
    pub method: &'static str,
    /// axum's path syntax, which is OpenAPI's (`/api/v1/events/{id}`).
    pub path: &'static str,
    pub summary: &'static str,
    /// `None`: open to anyone.
    pub scope: Option<Scope>,
    /// Query parameters, for the document.
    pub query: &'static [&'static str],
    /// What a 200 carries: `list` (a page of items), `object`, or `text`.
    pub body: Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    List,
    Object,
    Text,
    /// A write that accepts a JSON object.
    JsonIn,
}

struct Api {
    state: AppState,
    router: Router<AppState>,
    docs: Vec<RouteDoc>,
}

impl Api {
    fn add(mut self, doc: RouteDoc, route: MethodRouter<AppState>) -> Api {
        let route = match doc.scope {
            Some(scope) => route.route_layer(axum::middleware::from_fn_with_state(
                Guard {
                    state: self.state.clone(),
                    scope,
                },
                super::auth::require,
            )),
            None => route,
        };
        self.router = self.router.route(doc.path, route);
        self.docs.push(doc);
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, doc: Doc, h: H) -> Api {
        self.add(doc.with("get"), routing::get(h))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, doc: Doc, h: H) -> Api {
        self.add(doc.with("post"), routing::post(h))
    }

    fn put<H: Handler<T, AppState>, T: 'static>(self, doc: Doc, h: H) -> Api {
        self.add(doc.with("put"), routing::put(h))
    }

    fn delete<H: Handler<T, AppState>, T: 'static>(self, doc: Doc, h: H) -> Api {
        self.add(doc.with("delete"), routing::delete(h))
    }
}

/// A [`RouteDoc`] before its method is known.
struct Doc(
    &'static str,
    Option<Scope>,
    &'static str,
    &'static [&'static str],
    Body,
);

impl Doc {
    fn with(self, method: &'static str) -> RouteDoc {
        RouteDoc {
            method,
            path: self.0,
            scope: self.1,
            summary: self.2,
            query: self.3,
            body: self.4,
        }
    }
}

const READ: Option<Scope> = Some(Scope::Read);
const REVIEW: Option<Scope> = Some(Scope::Review);
const ADMIN: Option<Scope> = Some(Scope::Admin);
const OPEN: Option<Scope> = None;
const PAGE: &[&str] = &["limit", "cursor"];

/// The router and what it serves.
pub fn routes(state: AppState) -> (Router, Vec<RouteDoc>) {
    use Body::*;
    let api = Api {
        state: state.clone(),
        router: Router::new(),
        docs: Vec::new(),
    };
    let api = api
        .get(
            Doc(
                "/healthz",
                OPEN,
                "Liveness: the process answers",
                &[],
                Object,
            ),
            healthz,
        )
        .get(
            Doc(
                "/readyz",
                OPEN,
                "Readiness: the store answers and the outbox keeps up",
                &[],
                Object,
            ),
            readyz,
        )
        .get(
            Doc(
                "/metrics",
                OPEN,
                "Prometheus metrics (loopback clients only unless [serve] metrics_public)",
                &[],
                Text,
            ),
            metrics,
        )
        .get(
            Doc(
                "/api/v1/sources",
                READ,
                "Sources with their health",
                PAGE,
                List,
            ),
            sources::list,
        )
        .get(
            Doc(
                "/api/v1/sources/{id}",
                READ,
                "One source with its health",
                &[],
                Object,
            ),
            sources::one,
        )
        .get(
            Doc(
                "/api/v1/events",
                READ,
                "Events, newest first, filtered",
                &[
                    "kind", "party", "platform", "product", "severity", "disputed", "since",
                    "until", "limit", "cursor",
                ],
                List,
            ),
            events::list,
        )
        .get(
            Doc(
                "/api/v1/events/{id}",
                READ,
                "One event with its sources, claims and history",
                &[],
                Object,
            ),
            events::one,
        )
        .get(
            Doc(
                "/api/v1/signals",
                REVIEW,
                "Possible changes the extractor could not complete",
                &["since", "limit", "cursor"],
                List,
            ),
            events::signals,
        )
        .get(
            Doc(
                "/api/v1/clients",
                READ,
                "Client profiles (webhook URLs reduced to their origin)",
                PAGE,
                List,
            ),
            clients::list,
        )
        .get(
            Doc(
                "/api/v1/clients/{id}",
                READ,
                "One client profile",
                &[],
                Object,
            ),
            clients::one,
        )
        .put(
            Doc(
                "/api/v1/clients/{id}",
                ADMIN,
                "Create or replace a client profile (validated as `check` does)",
                &[],
                JsonIn,
            ),
            clients::put,
        )
        .delete(
            Doc(
                "/api/v1/clients/{id}",
                ADMIN,
                "Delete a client profile",
                &[],
                Object,
            ),
            clients::delete,
        )
        .get(
            Doc(
                "/api/v1/clients/{id}/preview",
                READ,
                "The digest the client would get now (nothing sent)",
                &["since"],
                Object,
            ),
            clients::preview,
        )
        .get(
            Doc(
                "/api/v1/deliveries",
                READ,
                "Outbox deliveries, newest first",
                &["status", "limit", "cursor"],
                List,
            ),
            clients::deliveries,
        )
        .post(
            Doc(
                "/api/v1/deliveries/{id}/retry",
                ADMIN,
                "Queue a failed or dead delivery again",
                &[],
                Object,
            ),
            clients::retry,
        )
        .get(
            Doc(
                "/feeds/{token}/events.atom",
                OPEN,
                "A client's events as Atom (the token is the client's feed token)",
                &[],
                Text,
            ),
            feeds::atom,
        )
        .get(
            Doc(
                "/feeds/{token}/actions.ics",
                OPEN,
                "A client's action due dates as iCalendar",
                &[],
                Text,
            ),
            feeds::ics,
        );
    let docs = api.docs;
    let doc_json = openapi::document(&docs);
    let router = api
        .router
        .route(
            "/openapi.json",
            routing::get(move || async move { axum::Json(doc_json) }),
        )
        .fallback(|| async { ApiError::not_found("no such route; /openapi.json lists them") })
        .with_state(state);
    (router, docs)
}

/// The two routes `run --metrics-listen` serves.
pub fn metrics_routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", routing::get(healthz))
        .route("/metrics", routing::get(metrics))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let store = &state.store;
    if let Err(e) = crate::store::stats::ping(store).await {
        tracing::warn!("readyz: the store does not answer: {e}");
        return not_ready("the store does not answer");
    }
    let now = jiff::Timestamp::now().as_second();
    let max_age = state.config.serve.ready_max_outbox_age_secs as i64;
    match crate::store::stats::oldest_due(store, now).await {
        Ok(Some(due)) if now - due > max_age => not_ready(&format!(
            "the oldest due delivery has waited {} s (more than [serve] ready_max_outbox_age_secs = {max_age}); is a worker running?",
            now - due
        )),
        Ok(_) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn not_ready(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "status": "not ready", "error": why })),
    )
        .into_response()
}

async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !state.config.serve.metrics_public && !peer.ip().is_loopback() {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "metrics are served to loopback clients only; set [serve] metrics_public = true to open them",
        )
        .into_response();
    }
    let Some(handle) = &state.metrics else {
        return ApiError::internal("the metrics recorder is not installed").into_response();
    };
    snapshot(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Gauges read from the store at scrape time.
async fn snapshot(state: &AppState) {
    let store = &state.store;
    let now = jiff::Timestamp::now().as_second();
    let read = async {
        Ok::<_, crate::store::Error>(crate::metrics::StoreSnapshot {
            events: crate::store::stats::events_by_kind_status(store).await?,
            outbox: crate::store::deliveries::counts(store).await?,
            oldest_due_secs: crate::store::stats::oldest_due(store, now)
                .await?
                .map_or(0, |due| (now - due).max(0)),
        })
    };
    match read.await {
        Ok(s) => s.emit(),
        Err(e) => {
            tracing::warn!("metrics: could not read the store: {e}");
            crate::metrics::StoreSnapshot::down();
        }
    }
}
