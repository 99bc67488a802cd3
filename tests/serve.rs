//! `termwatch serve` over a real socket: the API's auth, filters, pagination
//! and ETags, client writes, the OpenAPI document against the router, the
//! metrics page and the per-client Atom feed (parsed back with feed-rs).

use std::path::Path;

use assert_cmd::Command;
use reqwest::StatusCode;
use serde_json::{Value, json};
use termwatch::config::{Config, Paths};
use termwatch::serve::{self, AppState, auth};
use termwatch::store::{Store, tokens};

struct Served {
    base: String,
    store: Store,
    dir: tempfile::TempDir,
    _shutdown: tokio::sync::watch::Sender<bool>,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn token(&self, name: &str, scope: &str) -> String {
        let t = auth::new_token("tw");
        assert!(
            tokens::create(&self.store, name, &auth::hash(&t), scope, 0)
                .await
                .unwrap()
        );
        t
    }
}

/// A data dir with the events of three invented announcements (ingested by
/// the real binary), an empty clients dir, and `serve` on 127.0.0.1:0.
async fn start() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/correlate/nimbus-ends-corvid-exclusivity.txt");
    let more = [
        (
            "quillon.txt",
            "Quillon AI widens its reach\n\nQuillon AI said its Quillon Large 3 model is now generally available on Amazon Bedrock.\n",
        ),
        (
            "arbor.txt",
            "Arbor Systems retires an old model\n\nArbor Systems will retire the Arbor Chat 2 model on Google Vertex AI on June 30, 2027.\n",
        ),
    ];
    for (name, text) in more {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_termwatch"))
        .current_dir(dir.path())
        .env_remove("TERMWATCH_CONFIG")
        .env("RUST_LOG", "warn")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        // Recent, so it falls inside the feeds' 90 days whenever this runs.
        .args(["ingest", "--trust", "vendor", "--published", &recent_day()])
        .arg(&fixture)
        .args(more.map(|(name, _)| dir.path().join(name)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::create_dir_all(dir.path().join("clients")).unwrap();
    let store = Store::open_in(&dir.path().join("data")).await.unwrap();
    let paths = Paths {
        config_file: None,
        data_dir: dir.path().join("data"),
        sources_dir: dir.path().join("sources"),
        clients_dir: dir.path().join("clients"),
    };
    let state = AppState::new(store.clone(), Config::default(), paths);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve::serve(listener, state, rx));
    Served {
        base,
        store,
        dir,
        _shutdown: tx,
    }
}

fn recent_day() -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_sub(jiff::Span::new().days(2))
        .unwrap()
        .to_string()
}

fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; termwatch uses ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test]
async fn api_routes_need_a_known_token_with_enough_scope() {
    let s = start().await;
    let c = client();
    let r = c.get(s.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("token create"));

    let r = c
        .get(s.url("/api/v1/events"))
        .bearer_auth("tw_not-a-real-one")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let read = s.token("reader", "read").await;
    let r = c
        .get(s.url("/api/v1/events"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A read token cannot write, nor read the review queue.
    let r = c
        .post(s.url("/api/v1/deliveries/x/retry"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("needs admin"),
        "{body}"
    );
    let r = c
        .get(s.url("/api/v1/signals"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let admin = s.token("admin", "admin").await;
    let r = c
        .post(s.url("/api/v1/deliveries/nope/retry"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Revoked: refused at once.
    assert!(tokens::revoke(&s.store, "reader").await.unwrap());
    let r = c
        .get(s.url("/api/v1/events"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn events_filter_paginate_and_answer_304_to_their_etag() {
    let s = start().await;
    let c = client();
    let t = s.token("reader", "read").await;
    let get = |path: String| c.get(s.url(&path)).bearer_auth(&t).send();

    let all: Value = get("/api/v1/events?limit=500".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let all = all["items"].as_array().unwrap().clone();
    assert!(
        all.len() >= 2,
        "the fixture states several changes: {all:?}"
    );

    // Walking one item at a time visits every event once, in order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let page: Value = get(format!("/api/v1/events?limit=1{q}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        walked.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(walked, ids);

    // A filter keeps exactly the events it names.
    let kind = all[0]["kind"].as_str().unwrap();
    let filtered: Value = get(format!("/api/v1/events?kind={kind}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let filtered = filtered["items"].as_array().unwrap();
    assert_eq!(
        filtered.len(),
        all.iter().filter(|e| e["kind"] == kind).count()
    );
    assert!(filtered.iter().all(|e| e["kind"] == kind));
    let none: Value = get("/api/v1/events?party=Nobody%20Inc".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // Bad input says what to write instead.
    let r = get("/api/v1/events?kind=merger".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("exclusivity"),
        "{body}"
    );
    let r = get("/api/v1/events?since=yesterday".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // One event, with its history; its ETag gives 304 next time.
    let id = all[0]["id"].as_str().unwrap();
    let r = get(format!("/api/v1/events/{id}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let one: Value = r.json().await.unwrap();
    assert_eq!(one["id"], id);
    assert!(one["history"].is_array());
    let r = c
        .get(s.url(&format!("/api/v1/events/{id}")))
        .bearer_auth(&t)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = get("/api/v1/events/ev-missing".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Fills `{param}`s so the route matches.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let s = start().await;
    let c = client();
    let doc: Value = c
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    let (_, routes) = serve::router(AppState::new(
        s.store.clone(),
        Config::default(),
        Paths {
            config_file: None,
            data_dir: s.dir.path().join("data"),
            sources_dir: s.dir.path().join("sources"),
            clients_dir: s.dir.path().join("clients"),
        },
    ));
    let mut served: Vec<(String, String)> = routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    served.push(("get".into(), "/openapi.json".into()));
    let mut a = documented.clone();
    a.sort();
    served.sort();
    assert_eq!(a, served);

    // Every documented operation is routed: with an admin token, none ends
    // in the router's fallback (its 404 says "no such route").
    let admin = s.token("admin", "admin").await;
    for (method, path) in &documented {
        let url = s.url(&concrete(path));
        let req = match method.as_str() {
            "get" => c.get(url),
            "post" => c.post(url),
            "put" => c.put(url).json(&json!({})),
            "delete" => c.delete(url),
            m => panic!("unexpected method {m}"),
        };
        let r = req.bearer_auth(&admin).send().await.unwrap();
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("no such route"),
            "{method} {path} is documented but not routed"
        );
    }
    let r = c.get(s.url("/api/v1/merger")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("/openapi.json"));
}

fn client_body(vendor: &str) -> Value {
    json!({
        "name": "Example Legal",
        "role": "legal",
        "recipients": ["counsel@legal.example"],
        "vendors": [vendor],
        "cadence": "daily",
        "send_time": "08:00",
        "timezone": "Europe/Berlin",
        "min_severity": "info",
        "webhooks": [{ "url": "https://hooks.slack.example/services/T000/B000/secretpart", "format": "slack" }]
    })
}

#[tokio::test]
async fn clients_are_validated_written_whole_and_shown_without_webhook_secrets() {
    let s = start().await;
    let c = client();
    let admin = s.token("admin", "admin").await;
    let read = s.token("reader", "read").await;
    let put = |id: &str, body: Value| {
        c.put(s.url(&format!("/api/v1/clients/{id}")))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };

    // Invalid: the problems come back, nothing is written.
    let mut bad = client_body("Nimbus Labs");
    bad["timezone"] = json!("Mars/Olympus");
    let r = put("example-legal", bad).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("IANA"), "{body}");
    assert_eq!(
        std::fs::read_dir(s.dir.path().join("clients"))
            .unwrap()
            .count(),
        0
    );
    let r = put("../escape", client_body("Nimbus Labs")).await.unwrap();
    assert!(r.status() == StatusCode::BAD_REQUEST || r.status() == StatusCode::NOT_FOUND);

    let r = put("example-legal", client_body("Nimbus Labs"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let file = std::fs::read_to_string(s.dir.path().join("clients/example-legal.toml")).unwrap();
    assert!(file.contains("secretpart"), "the file keeps the whole URL");

    // Read back: the webhook URL shows only its origin.
    let r = c
        .get(s.url("/api/v1/clients/example-legal"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let text = r.text().await.unwrap();
    assert!(!text.contains("secretpart"), "{text}");
    assert!(text.contains("https://hooks.slack.example/"));

    // Concurrent writes: each lands whole, the last one wins, the file parses.
    let mut writes = Vec::new();
    for i in 0..8 {
        let mut b = client_body("Nimbus Labs");
        b["name"] = json!(format!("Example Legal {i}"));
        writes.push(put("example-legal", b));
    }
    for r in futures_util::future::join_all(writes).await {
        assert_eq!(r.unwrap().status(), StatusCode::OK);
    }
    let text = std::fs::read_to_string(s.dir.path().join("clients/example-legal.toml")).unwrap();
    termwatch::route::parse_client(Path::new("example-legal.toml"), &text)
        .expect("a whole, valid file");

    // A write against a stale ETag is refused.
    let r = c
        .put(s.url("/api/v1/clients/example-legal"))
        .bearer_auth(&admin)
        .header("if-match", &etag)
        .json(&client_body("Nimbus Labs"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);

    let r = c
        .delete(s.url("/api/v1/clients/example-legal"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .delete(s.url("/api/v1/clients/example-legal"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!s.dir.path().join("clients/example-legal.toml").exists());
}

#[tokio::test]
async fn a_clients_atom_feed_parses_and_carries_its_events() {
    let s = start().await;
    let c = client();
    let admin = s.token("admin", "admin").await;
    // A client of the invented vendors, on the platform one of them launched on.
    let mut body = client_body("Nimbus Labs");
    body["vendors"] = json!(["Nimbus Labs", "Corvid Cloud", "Quillon AI"]);
    body["platforms"] = json!(["Amazon Bedrock"]);
    let r = c
        .put(s.url("/api/v1/clients/feed-reader"))
        .bearer_auth(&admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let token = auth::new_token("twf");
    tokens::set_feed(&s.store, "feed-reader", &auth::hash(&token), 0)
        .await
        .unwrap();
    let r = c
        .get(s.url(&format!("/feeds/{token}/events.atom")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let xml = r.bytes().await.unwrap();
    let feed = feed_rs::parser::parse(&xml[..]).expect("the feed parses");
    assert!(
        !feed.entries.is_empty(),
        "events of a vendor the client depends on"
    );
    assert!(feed.entries.iter().all(|e| e.title.is_some()));

    // The same token serves the actions' due dates as iCalendar.
    let r = c
        .get(s.url(&format!("/feeds/{token}/actions.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ics = r.text().await.unwrap();
    let cal: icalendar::Calendar = ics.parse().expect("the calendar parses");
    let preview: Value = c
        .get(s.url("/api/v1/clients/feed-reader/preview?since=2026-01-01"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dated = preview["digest"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["actions"].as_array().unwrap())
        .filter(|a| a["due"].is_string())
        .count();
    let mut events = 0;
    for comp in &cal.components {
        if let icalendar::CalendarComponent::Event(ev) = comp {
            use icalendar::Component as _;
            assert!(ev.get_summary().is_some_and(|s| !s.is_empty()));
            assert!(
                ev.get_start().is_some(),
                "every action event has its due day"
            );
            events += 1;
        }
    }
    assert!(
        dated > 0,
        "the playbook gives some actions a due date: {preview}"
    );
    assert_eq!(events, dated, "one calendar event per dated action");
    assert!(
        ics.lines().all(|l| l.len() <= 76),
        "lines folded at 75 octets"
    );

    // Rotated: the old link stops working.
    let newer = auth::new_token("twf");
    tokens::set_feed(&s.store, "feed-reader", &auth::hash(&newer), 0)
        .await
        .unwrap();
    let r = c
        .get(s.url(&format!("/feeds/{token}/events.atom")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_list_every_family_from_the_start_and_health_answers() {
    let s = start().await;
    let c = client();
    let r = c.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = c
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for family in [
        "termwatch_polls_total",
        "termwatch_articles_stored_total",
        "termwatch_term_changes_extracted_total",
        "termwatch_events_opened_total",
        "termwatch_digests_built_total",
        "termwatch_deliveries_total",
        "termwatch_outbox_oldest_due_seconds",
        "termwatch_up",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    // Gauges read from the store: the ingested events are counted by kind.
    assert!(text.contains("termwatch_events{"), "{text}");
    assert!(text.contains("termwatch_up 1"));
}
