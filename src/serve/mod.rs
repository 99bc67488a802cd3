//! `termwatch serve`: what termwatch knows, over HTTP. A JSON API under
//! `/api/v1/` behind bearer tokens, Prometheus metrics, health and
//! readiness, the OpenAPI document, and per-client Atom feeds.
//!
//! The router is built by [`api::Api`], which records every route it adds;
//! `/openapi.json` is generated from that record, so the document and the
//! routes cannot drift apart. [`serve`] takes its listener and a shutdown
//! signal, like mini-redis's `server::run`: tests bind `127.0.0.1:0`.

mod api;
pub mod auth;
mod clients;
mod events;
mod feeds;
mod openapi;
mod page;
mod sources;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config as AppConfig, Paths};
use crate::store::Store;

pub use api::RouteDoc;

/// Default address: loopback only, so nothing is exposed until the operator
/// says so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// A request that takes longer than this gets 408: a slow store query must
/// not hold a connection forever.
const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Request bodies (client profiles) are small; anything bigger is refused.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// `/readyz` fails when a due delivery has waited longer than this.
const DEFAULT_READY_MAX_OUTBOX_AGE_SECS: u64 = 3600;

/// `[serve]` section of `termwatch.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address `serve` listens on (`--listen` overrides).
    pub listen: String,
    /// Serve `/metrics` to any client, not only to loopback ones.
    pub metrics_public: bool,
    /// `/readyz` answers 503 when the oldest due delivery is older than this.
    pub ready_max_outbox_age_secs: u64,
    pub request_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            metrics_public: false,
            ready_max_outbox_age_secs: DEFAULT_READY_MAX_OUTBOX_AGE_SECS,
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
        }
    }
}

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<AppConfig>,
    pub paths: Arc<Paths>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Serialises writes to client files, so two concurrent PUTs of one
    /// client cannot interleave their check-then-write.
    pub client_writes: Arc<tokio::sync::Mutex<()>>,
}

impl AppState {
    pub fn new(store: Store, config: AppConfig, paths: Paths) -> AppState {
        AppState {
            store,
            config: Arc::new(config),
            paths: Arc::new(paths),
            metrics: crate::metrics::install()
                .map_err(|e| tracing::warn!("{e}; /metrics will be empty"))
                .ok(),
            client_writes: Arc::default(),
        }
    }
}

/// The whole router, with its documentation.
pub fn router(state: AppState) -> (Router, Vec<RouteDoc>) {
    let timeout = Duration::from_secs(state.config.serve.request_timeout_secs.max(1));
    let (router, docs) = api::routes(state);
    let router = router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    (router, docs)
}

/// Serves until `shutdown` turns true; requests in flight finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let (router, _) = router(state);
    serve_router(listener, router, shutdown).await
}

/// `/metrics` and `/healthz` alone, for `run --metrics-listen`.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_router(listener, api::metrics_routes(state), shutdown).await
}

async fn serve_router(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    })
    .await
}
