//! Shared test helpers: a real HTTP server on 127.0.0.1:0 serving fixtures,
//! with per-path status, headers, ETag, delay and a log of what was asked.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

/// How one path answers.
#[derive(Debug, Clone)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sent as ETag; a matching If-None-Match gets 304.
    pub etag: Option<String>,
    pub delay: Option<Duration>,
}

impl Route {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            etag: None,
            delay: None,
        }
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            etag: None,
            delay: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn etag(mut self, etag: &str) -> Route {
        self.etag = Some(etag.into());
        self
    }

    pub fn delay(mut self, d: Duration) -> Route {
        self.delay = Some(d);
        self
    }
}

/// One request the server saw: path and the status it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub path: String,
    pub status: u16,
    pub user_agent: String,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    hits: Mutex<Vec<Hit>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A fixture server; stops when dropped with the test's runtime.
pub struct FixtureServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FixtureServer {
    pub async fn start() -> FixtureServer {
        FixtureServer::start_on("127.0.0.1").await
    }

    /// A server on another loopback address (`127.0.0.2`: Linux answers on
    /// all of 127.0.0.0/8), a stand-in for an internal host.
    pub async fn start_on(ip: &str) -> FixtureServer {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FixtureServer { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, route: Route) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.into(), route);
    }

    /// Serves a file from `tests/fixtures/collect/`.
    pub fn fixture(&self, path: &str, content_type: &str, file: &str) {
        self.set(
            path,
            Route::ok(content_type, std::fs::read(fixture(file)).unwrap()),
        );
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    /// Statuses answered for `path`, in order.
    pub fn statuses(&self, path: &str) -> Vec<u16> {
        self.hits()
            .into_iter()
            .filter(|h| h.path == path)
            .map(|h| h.status)
            .collect()
    }

    /// Most requests the server was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn clear_hits(&self) {
        self.shared.hits.lock().unwrap().clear();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    drop(req);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let user_agent = header("user-agent");
    let if_none_match = header("if-none-match");
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let route = shared.routes.lock().unwrap().get(&path).cloned();
    let (status, resp) = match route {
        None => (404, plain(404, Vec::new())),
        Some(route) => {
            if let Some(d) = route.delay {
                tokio::time::sleep(d).await;
            }
            if route.etag.as_deref().is_some_and(|e| e == if_none_match) {
                (304, plain(304, Vec::new()))
            } else {
                let mut resp = plain(route.status, route.body.clone());
                for (k, v) in &route.headers {
                    resp.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                        HeaderValue::from_str(v).unwrap(),
                    );
                }
                if let Some(e) = &route.etag {
                    resp.headers_mut()
                        .insert("etag", HeaderValue::from_str(e).unwrap());
                }
                (route.status, resp)
            }
        }
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    shared.hits.lock().unwrap().push(Hit {
        path,
        status,
        user_agent,
    });
    resp
}

fn plain(status: u16, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    resp
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/collect")
        .join(name)
}

/// A data dir and a sources dir in a temp dir, with configuration and paths.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub config: termwatch::config::Config,
    pub paths: termwatch::config::Paths,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("sources");
        std::fs::create_dir_all(&sources).unwrap();
        let paths = termwatch::config::Paths {
            config_file: None,
            data_dir: dir.path().join("data"),
            sources_dir: sources,
            clients_dir: dir.path().join("clients"),
        };
        let mut config = termwatch::config::Config::default();
        config.collect.total_timeout_secs = 5;
        config.collect.connect_timeout_secs = 2;
        // Fixture servers are on loopback, which the collector refuses unless
        // allowed (the `allow_private_hosts` tests set their own lists).
        config.collect.allow_private_hosts = loopback_allowance();
        Workspace { dir, config, paths }
    }

    /// Writes `sources/<name>` with the given text.
    pub fn sources(&self, name: &str, text: &str) {
        std::fs::write(self.paths.sources_dir.join(name), text).unwrap();
    }

    pub async fn store(&self) -> termwatch::store::Store {
        termwatch::store::Store::open(&self.paths.database_url(&self.config))
            .await
            .unwrap()
    }
}

/// `[collect] allow_private_hosts` for fixture servers: the IPv4 loopback range.
pub fn loopback_allowance() -> Vec<termwatch::guard::Allowed> {
    vec![termwatch::guard::Allowed::try_from("127.0.0.0/8".to_string()).unwrap()]
}

/// The same allowance for a `termwatch` process, as its environment sets it.
pub const LOOPBACK_ENV: (&str, &str) = (
    "TERMWATCH_COLLECT__ALLOW_PRIVATE_HOSTS",
    "[\"127.0.0.0/8\"]",
);

/// A `[[source]]` table for a feed.
pub fn feed_source(id: &str, url: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"{url}\"\nkind = \"feed\"\nschedule = \"*/30 * * * *\"\njitter = \"5m\"\ntrust = \"news\"\n\n"
    )
}
