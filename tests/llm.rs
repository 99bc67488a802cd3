//! Model-assisted extraction against a scripted OpenAI-compatible server on
//! loopback: what termwatch stores, counts and shows for a correct answer,
//! invented evidence, an almost-quote, malformed JSON, a schema violation,
//! 429 with Retry-After, a reply slower than the timeout, a 500 and a
//! budget spent mid-pass; and that the API key never reaches the logs.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use termwatch::extract::llm::{Backend, Config as LlmConfig};
use termwatch::model::{Article, ChangeKind, Trust};
use termwatch::store::{Store, changes, llm as llm_store};

const TITLE: &str = "Pellucid Labs lists Heron 3 on the Ostrava Cloud Store";
const BODY: &str = "Pellucid Labs lists Heron 3 on the Ostrava Cloud Store\n\n\
Heron 3 is available on the Ostrava Cloud Store from today, Pellucid Labs told its partners.\n\n\
Under the revenue share in the listing agreement, Ostrava keeps a quarter of every Heron 3 \
subscription and passes the rest to Pellucid Labs each quarter, through 2029.";
/// The sentence stating the revenue share, as the article writes it.
const TRUE_QUOTE: &str = "Under the revenue share in the listing agreement, Ostrava keeps a quarter of every Heron 3 subscription and passes the rest to Pellucid Labs each quarter, through 2029.";

/// One scripted reply.
#[derive(Clone)]
enum Reply {
    /// A completion whose message content is this text.
    Content(String),
    /// A bare status with headers.
    Status(u16, Vec<(&'static str, &'static str)>),
    /// A correct-looking completion sent only after this long.
    Slow(Duration, String),
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    /// The reply once the queue is empty.
    then: Option<Reply>,
    /// Authorization headers and user messages received, in order.
    asked: Vec<(String, String)>,
}

#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl Server {
    async fn start(replies: Vec<Reply>, then: Option<Reply>) -> Server {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            then,
            asked: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { addr, script }
    }

    fn asked(&self) -> usize {
        self.script.lock().unwrap().asked.len()
    }

    fn config(&self, key_file: &Path) -> termwatch::extract::Config {
        termwatch::extract::Config {
            backend: Backend::Llm,
            llm: LlmConfig {
                base_url: Some(format!("http://{}/v1", self.addr)),
                model: Some("scripted".into()),
                api_key: Some(format!("file:{}", key_file.display())),
                timeout_secs: 1,
                concurrency: 1,
                ..LlmConfig::default()
            },
            ..termwatch::extract::Config::default()
        }
    }
}

async fn complete(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        request["temperature"], 0,
        "extraction runs at temperature 0"
    );
    assert_eq!(request["response_format"]["type"], "json_schema");
    let user = request["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let reply = {
        let mut s = script.lock().unwrap();
        s.asked.push((auth, user));
        s.replies.pop_front().or_else(|| s.then.clone())
    };
    match reply {
        Some(Reply::Content(c)) => completion(&c),
        Some(Reply::Status(code, hs)) => {
            let mut r = StatusCode::from_u16(code).unwrap().into_response();
            for (k, v) in hs {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
        Some(Reply::Slow(d, c)) => {
            tokio::time::sleep(d).await;
            completion(&c)
        }
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn completion(content: &str) -> Response {
    axum::Json(serde_json::json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }))
    .into_response()
}

fn change(kind: &str, evidence: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({
        "kind": kind, "parties": [], "licensor": null, "licensee": null, "payer": null,
        "payee": null, "product": null, "platform": null, "status": "started",
        "exclusive": null, "until": null, "effective": null, "evidence": evidence,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn true_change() -> serde_json::Value {
    change(
        "revenue_share",
        // Spaced and quoted differently from the article: still the same words.
        &TRUE_QUOTE.replace("the listing", "the  listing\n"),
        serde_json::json!({"parties": ["Ostrava", "Pellucid Labs"], "payer": "Ostrava",
                           "payee": "Pellucid Labs", "until": "2029"}),
    )
}

fn answer(changes: Vec<serde_json::Value>) -> Reply {
    Reply::Content(serde_json::json!({ "changes": changes }).to_string())
}

fn article(url: &str, body: &str) -> Article {
    let now = jiff::Timestamp::now();
    Article {
        source_id: "ostrava-news".into(),
        url: url.into(),
        guid: None,
        title: TITLE.into(),
        published: None,
        author: None,
        content_hash: Article::hash_content(TITLE, body),
        text: body.into(),
        fetched_at: now,
        trust: Trust::Vendor,
        organisation: None,
    }
}

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    key: std::path::PathBuf,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "sk-test-KEY-4711\n").unwrap();
    Env {
        _dir: dir,
        store,
        key,
    }
}

async fn ingest(store: &Store, n: usize) {
    for i in 0..n {
        // Each article a distinct content, so the cache cannot answer for another.
        let body = format!("{BODY}\n\nRef {i}.");
        changes::store_article(
            store,
            &article(&format!("https://ostrava.example/{i}"), &body),
        )
        .await
        .unwrap();
    }
}

async fn stored(store: &Store) -> Vec<termwatch::model::TermChange> {
    changes::reports(store)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| !r.denial)
        .map(|r| r.change)
        .collect()
}

fn rules_reading(n: usize) -> Vec<termwatch::model::TermChange> {
    let body = format!("{BODY}\n\nRef {n}.");
    termwatch::extract::extract(
        &article("https://ostrava.example/0", &body),
        &Default::default(),
    )
    .changes
}

async fn usage(store: &Store) -> llm_store::UsageDelta {
    llm_store::usage_by_day(store, jiff::Timestamp::UNIX_EPOCH)
        .await
        .unwrap()
        .into_iter()
        .fold(Default::default(), |mut a, d| {
            a.requests += d.usage.requests;
            a.input_tokens += d.usage.input_tokens;
            a.output_tokens += d.usage.output_tokens;
            a.dropped += d.usage.dropped;
            a.failures += d.usage.failures;
            a
        })
}

async fn waiting(store: &Store) -> Option<llm_store::Waiting> {
    llm_store::retries_by_source(store)
        .await
        .unwrap()
        .remove("ostrava-news")
}

async fn pass(env: &Env, server: &Server) {
    termwatch::pipeline::extract::run(&env.store, &server.config(&env.key), jiff::Timestamp::now())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_correct_answer_is_stored_with_offsets_and_never_asked_twice() {
    let env = env().await;
    let server = Server::start(vec![answer(vec![true_change()])], None).await;
    ingest(&env.store, 1).await;
    pass(&env, &server).await;
    let got = stored(&env.store).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let c = &got[0];
    assert_eq!(c.kind, ChangeKind::RevenueShare);
    assert_eq!(
        (c.payer.as_deref(), c.payee.as_deref()),
        (Some("Ostrava"), Some("Pellucid Labs"))
    );
    assert_eq!(c.until.as_deref(), Some("2029"), "read from the quote");
    // The evidence is the article's own text at offsets termwatch computed.
    assert_eq!(c.evidence, TRUE_QUOTE);
    let chars: Vec<char> = BODY.chars().collect();
    assert_eq!(
        chars[c.span.start..c.span.end].iter().collect::<String>(),
        TRUE_QUOTE
    );
    let (auth, user) = server.script.lock().unwrap().asked[0].clone();
    assert_eq!(auth, "Bearer sk-test-KEY-4711");
    assert!(user.contains(TITLE) && user.contains("Ostrava keeps a quarter"));
    let u = usage(&env.store).await;
    assert_eq!(
        (u.requests, u.input_tokens, u.output_tokens, u.dropped),
        (1, 100, 50, 0)
    );
    // Re-extraction reads the cached answer: the revision is not sent again.
    let cfg = server.config(&env.key);
    let again = termwatch::pipeline::extract::reextract(
        &env.store,
        &cfg,
        jiff::Timestamp::UNIX_EPOCH,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!((again.revisions, again.changes), (1, 1));
    assert_eq!(server.asked(), 1);
    assert!(waiting(&env.store).await.is_none());
}

#[tokio::test]
async fn invented_evidence_is_dropped_and_counted() {
    let env = env().await;
    let invented = change(
        "license",
        "Pellucid Labs grants Oracle an exclusive licence to the Heron weights through 2031.",
        serde_json::json!({"parties": ["Oracle", "Pellucid Labs"], "licensor": "Pellucid Labs", "licensee": "Oracle"}),
    );
    let server = Server::start(vec![answer(vec![true_change(), invented])], None).await;
    ingest(&env.store, 1).await;
    pass(&env, &server).await;
    let got = stored(&env.store).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].kind, ChangeKind::RevenueShare);
    assert!(got.iter().all(|c| !c.parties.iter().any(|p| p == "Oracle")));
    assert_eq!(usage(&env.store).await.dropped, 1);
}

#[tokio::test]
async fn a_quote_only_almost_in_the_text_is_dropped() {
    let env = env().await;
    // One word differs ("third" for "quarter"): not the article's words.
    let almost = change(
        "revenue_share",
        &TRUE_QUOTE.replace("a quarter", "a third"),
        serde_json::json!({"parties": ["Ostrava", "Pellucid Labs"], "payer": "Ostrava", "payee": "Pellucid Labs"}),
    );
    let server = Server::start(vec![answer(vec![almost])], None).await;
    ingest(&env.store, 1).await;
    pass(&env, &server).await;
    assert!(
        stored(&env.store).await.is_empty(),
        "the model's only change was unsupported"
    );
    assert_eq!(usage(&env.store).await.dropped, 1);
    assert!(
        waiting(&env.store).await.is_none(),
        "a checked answer is not a failure"
    );
}

/// A reply the article cannot be read from: the rules' changes are stored,
/// the revision waits for a retry with the reason in words, and the next
/// pass that gets a good answer replaces the rules' reading.
async fn falls_back(reply: Reply, reason: &str) {
    let env = env().await;
    let server = Server::start(vec![reply], Some(answer(vec![true_change()]))).await;
    ingest(&env.store, 1).await;
    pass(&env, &server).await;
    assert_eq!(
        stored(&env.store).await,
        rules_reading(0),
        "the rules stand in"
    );
    let w = waiting(&env.store).await.expect("marked for a retry");
    assert_eq!(w.revisions, 1);
    assert!(
        w.last_reason.contains(reason),
        "{:?} lacks {reason:?}",
        w.last_reason
    );
    assert_eq!(usage(&env.store).await.failures, 1);
    // The retry happens at a later pass (a later second: `failed_at` is in seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    pass(&env, &server).await;
    let got = stored(&env.store).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].evidence, TRUE_QUOTE);
    assert!(
        waiting(&env.store).await.is_none(),
        "the retry cleared the mark"
    );
}

#[tokio::test]
async fn malformed_json_falls_back_to_the_rules_and_is_retried() {
    falls_back(Reply::Content("{not json".into()), "not the JSON asked for").await;
}

#[tokio::test]
async fn a_schema_violation_falls_back_to_the_rules_and_is_retried() {
    falls_back(
        Reply::Content("{\"result\": \"none\"}".into()),
        "does not follow the schema",
    )
    .await;
}

#[tokio::test]
async fn a_500_falls_back_to_the_rules_and_is_retried() {
    falls_back(Reply::Status(500, vec![]), "HTTP 500").await;
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_given_up_at_the_timeout() {
    falls_back(
        Reply::Slow(Duration::from_secs(5), "{\"changes\": []}".into()),
        "did not answer within 1 s",
    )
    .await;
}

#[tokio::test]
async fn a_429_stops_asking_for_the_rest_of_the_pass() {
    let env = env().await;
    let server = Server::start(vec![Reply::Status(429, vec![("retry-after", "30")])], None).await;
    ingest(&env.store, 3).await;
    pass(&env, &server).await;
    assert_eq!(server.asked(), 1, "after a 429 the pass does not ask again");
    let w = waiting(&env.store).await.expect("marked for a retry");
    assert_eq!(w.revisions, 3);
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT reason FROM llm_retries ORDER BY revision_id")
            .fetch_all(env.store.pool())
            .await
            .unwrap();
    assert!(
        reasons[0].contains("HTTP 429") && reasons[0].contains("wait 30 s"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("failed earlier in this pass"),
        "{reasons:?}"
    );
    let mut got = stored(&env.store).await;
    let mut expected: Vec<_> = (0..3).flat_map(rules_reading).collect();
    got.sort_by_key(|c| (c.evidence.clone(), c.span.start));
    expected.sort_by_key(|c| (c.evidence.clone(), c.span.start));
    assert_eq!(got, expected, "the rules stand in for all three");
}

#[tokio::test]
async fn a_budget_spent_mid_pass_leaves_the_rest_to_the_rules() {
    let env = env().await;
    let server = Server::start(vec![], Some(answer(vec![true_change()]))).await;
    ingest(&env.store, 3).await;
    let mut cfg = server.config(&env.key);
    // Each reply reports 150 tokens: two replies spend the day's budget.
    cfg.llm.max_tokens_per_day = 300;
    termwatch::pipeline::extract::run(&env.store, &cfg, jiff::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(server.asked(), 2);
    let u = usage(&env.store).await;
    assert_eq!((u.requests, u.input_tokens + u.output_tokens), (2, 300));
    let w = waiting(&env.store).await.expect("the third waits");
    assert_eq!(w.revisions, 1);
    assert!(
        w.last_reason.contains("token budget is spent"),
        "{}",
        w.last_reason
    );
    let from_model = stored(&env.store)
        .await
        .iter()
        .filter(|c| c.evidence == TRUE_QUOTE && c.until.as_deref() == Some("2029"))
        .count();
    assert!(
        from_model >= 2,
        "the two answered articles carry the model's change"
    );
}

#[tokio::test]
async fn an_article_without_a_term_word_is_not_sent() {
    let env = env().await;
    let server = Server::start(vec![], Some(answer(vec![]))).await;
    let quiet = "Pellucid Labs hires a new head of design\n\nThe studio moves to a larger office in spring.";
    changes::store_article(&env.store, &article("https://ostrava.example/q", quiet))
        .await
        .unwrap();
    pass(&env, &server).await;
    assert_eq!(server.asked(), 0);
}

/// The real binary at trace verbosity, on a failing and a working endpoint:
/// the key is sent to the server and printed nowhere; `sources` says why
/// the model failed in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_never_appears_in_logs_and_sources_shows_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        vec![Reply::Status(500, vec![]), answer(vec![true_change()])],
        None,
    )
    .await;
    let cfg = dir.path().join("tw.toml");
    std::fs::write(
        &cfg,
        format!(
            "[extract]\nbackend = \"both\"\n[extract.llm]\nbase_url = \"http://{}/v1\"\nmodel = \"scripted\"\napi_key = \"env:TW_LLM_TEST_KEY\"\ntimeout_secs = 2\n",
            server.addr
        ),
    )
    .unwrap();
    let sources = dir.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    std::fs::write(
        sources.join("ingest.toml"),
        "[[source]]\nid = \"ingest\"\nname = \"Local files\"\nurl = \"https://ostrava.example/feed\"\nkind = \"feed\"\nschedule = \"0 */30 * * * *\"\n",
    )
    .unwrap();
    let file = dir.path().join("heron.txt");
    std::fs::write(&file, BODY).unwrap();
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("termwatch")
            .unwrap()
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--sources")
            .arg(&sources)
            .arg("-vvv")
            .args(args)
            .env("TW_LLM_TEST_KEY", "sk-test-SECRET-991")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), all)
    };
    let f = file.to_str().unwrap();
    // Blocking here is fine: the server runs on the runtime's other thread.
    let (ok, ingest_out) = run(&["ingest", f]);
    assert!(ok, "{ingest_out}");
    assert!(
        ingest_out.contains("model extraction failed"),
        "{ingest_out}"
    );
    let (ok, sources_out) = run(&["sources"]);
    assert!(ok, "{sources_out}");
    assert!(
        sources_out.contains("waiting for a retry") && sources_out.contains("HTTP 500"),
        "{sources_out}"
    );
    let (ok, extract_out) = run(&["extract", "--json", "--backend", "llm", f]);
    assert!(ok, "{extract_out}");
    assert!(
        extract_out.contains("\"dropped_unverified\": 0"),
        "{extract_out}"
    );
    let (ok, usage_out) = run(&["usage"]);
    assert!(ok && usage_out.contains("REQUESTS"), "{usage_out}");
    let asked = server.script.lock().unwrap().asked.clone();
    assert_eq!(asked.len(), 2);
    assert!(
        asked
            .iter()
            .all(|(auth, _)| auth == "Bearer sk-test-SECRET-991")
    );
    for out in [&ingest_out, &sources_out, &extract_out, &usage_out] {
        assert!(!out.contains("sk-test-SECRET"), "the key leaked: {out}");
    }
}
