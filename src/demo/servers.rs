//! The demo's two loopback servers: one serving the sample feeds and pages,
//! one receiving signed webhooks. Each runs until `stop`, which waits for it
//! to close its listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One bundled announcement: which feed carries it and the page itself.
struct Sample {
    feed: &'static str,
    slug: &'static str,
    published: &'static str,
    html: &'static str,
}

const SAMPLES: &[Sample] = &[
    Sample {
        feed: "microsoft",
        slug: "partnership-update",
        published: "Mon, 27 Apr 2026 16:00:00 GMT",
        html: include_str!("samples/partnership-update.html"),
    },
    Sample {
        feed: "aws",
        slug: "bedrock-launch",
        published: "Tue, 28 Apr 2026 15:00:00 GMT",
        html: include_str!("samples/bedrock-launch.html"),
    },
    Sample {
        feed: "news",
        slug: "analyst-take",
        published: "Tue, 28 Apr 2026 18:30:00 GMT",
        html: include_str!("samples/analyst-take.html"),
    },
];

/// (feed id, name, trust, organisation it speaks for)
const FEEDS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "microsoft",
        "Microsoft Official Blog (demo)",
        "vendor",
        Some("Microsoft"),
    ),
    ("aws", "AWS What's New (demo)", "vendor", Some("Amazon")),
    ("news", "Cloud Buyer Weekly (demo)", "news", None),
];

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn serve(router: Router) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("could not open a loopback port for the demo")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Running { addr, stop, task })
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves `/robots.txt`, one RSS feed per demo source and the article pages.
pub struct FeedServer {
    running: Running,
}

impl FeedServer {
    pub async fn start() -> anyhow::Result<FeedServer> {
        let router = Router::new()
            .route("/robots.txt", get(|| async { "User-agent: *\nAllow: /\n" }))
            .route("/{feed}/feed.xml", get(feed))
            .route("/posts/{slug}", get(page));
        let running = serve(router).await?;
        Ok(FeedServer { running })
    }

    fn base(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The collector's allowance for this server's loopback address, and
    /// nothing else.
    pub fn allowance(&self) -> crate::guard::Allowed {
        crate::guard::Allowed::Net(self.running.addr.ip().into())
    }

    /// A source file for the demo's feeds.
    pub fn sources_toml(&self) -> String {
        let mut out = String::from("# Written by `termwatch demo`: its loopback feeds.\n");
        for (id, name, trust, org) in FEEDS {
            out.push_str(&format!(
                "\n[[source]]\nid = \"demo-{id}\"\nname = \"{name}\"\nurl = \"{}/{id}/feed.xml\"\n\
                 kind = \"feed\"\nschedule = \"*/30 * * * *\"\ntrust = \"{trust}\"\n",
                self.base()
            ));
            if let Some(org) = org {
                out.push_str(&format!("organisation = \"{org}\"\n"));
            }
        }
        out
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

async fn feed(UrlPath(feed): UrlPath<String>, headers: HeaderMap) -> impl IntoResponse {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let Some((_, name, _, _)) = FEEDS.iter().find(|f| f.0 == feed) else {
        return (StatusCode::NOT_FOUND, HeaderMap::new(), String::new());
    };
    let mut items = String::new();
    for s in SAMPLES.iter().filter(|s| s.feed == feed) {
        let title = between(s.html, "<title>", "</title>").unwrap_or(s.slug);
        let body = between(s.html, "<article>", "</article>")
            .or_else(|| between(s.html, "<main>", "</main>"))
            .unwrap_or(s.html);
        items.push_str(&format!(
            "<item><title>{}</title><link>http://{host}/posts/{}</link><guid>http://{host}/posts/{}</guid>\
             <pubDate>{}</pubDate><description><![CDATA[{}]]></description></item>",
            html_escape::encode_text(title),
            s.slug,
            s.slug,
            s.published,
            body
        ));
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{}</title>\
         <link>http://{host}/</link><description>termwatch demo feed</description>{items}</channel></rss>",
        html_escape::encode_text(name)
    );
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        "application/rss+xml; charset=utf-8"
            .parse()
            .expect("static header"),
    );
    (StatusCode::OK, h, xml)
}

async fn page(UrlPath(slug): UrlPath<String>) -> impl IntoResponse {
    match SAMPLES.iter().find(|s| s.slug == slug) {
        Some(s) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            s.html,
        ),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "not found",
        ),
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// A fresh Standard Webhooks secret (`whsec_` + base64 of 24 random bytes).
pub fn webhook_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Receives webhooks, checks their Standard Webhooks signature and writes
/// each verified body to `<dir>/<client>-<webhook-id>.json`.
pub struct WebhookReceiver {
    running: Running,
}

struct Receiver {
    key: Vec<u8>,
    dir: PathBuf,
}

impl WebhookReceiver {
    pub async fn start(secret: &str, dir: PathBuf) -> anyhow::Result<WebhookReceiver> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .context("the demo secret is not base64")?;
        let state = Arc::new(Receiver { key, dir });
        let router = Router::new()
            .route("/hooks/{client}", post(receive))
            .with_state(state);
        Ok(WebhookReceiver {
            running: serve(router).await?,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.running.addr)
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

async fn receive(
    State(rx): State<Arc<Receiver>>,
    UrlPath(client): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (id, ts, sig) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    if !verify(&rx.key, &id, &ts, &body, &sig) {
        return StatusCode::UNAUTHORIZED;
    }
    let safe = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    let path = rx.dir.join(format!("{}-{}.json", safe(&client), safe(&id)));
    match std::fs::write(&path, &body) {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The Standard Webhooks check: HMAC-SHA256 over `id.timestamp.body`,
/// compared in constant time against each `v1,` signature given.
fn verify(key: &[u8], id: &str, ts: &str, body: &[u8], header: &str) -> bool {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    header.split_whitespace().any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|given| constant_eq(&given, &expected))
    })
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
