//! Issue 11, "operator mistakes get a clear error, never lost work": the
//! real binary (assert_cmd) on real directories, and a real webhook
//! receiver (axum on 127.0.0.1) whose requests are verified with the
//! `standardwebhooks` crate.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use termwatch::deliver::StoredDigest;
use termwatch::deliver::webhook::{Format, Sender, payload};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DIGEST_JSON: &str = include_str!("fixtures/deliver/digest.json");

/// `termwatch` with every path inside `dir` (created); no config file.
fn tw(dir: &Path) -> Command {
    for sub in ["d", "s", "c"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mut c = Command::cargo_bin("termwatch").unwrap();
    c.current_dir(dir).env_remove("TERMWATCH_CONFIG").args([
        "--data-dir",
        "d",
        "--sources",
        "s",
        "--clients",
        "c",
    ]);
    c
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

// --- demo ---------------------------------------------------------------------------------------

#[test]
fn demo_wipes_dir_no_more_a_deployment_is_refused_untouched() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("deploy");
    std::fs::create_dir_all(d.join("sources")).unwrap();
    std::fs::create_dir_all(d.join("clients")).unwrap();
    let source = "[[source]]\nid = \"mine\"\nname = \"Mine\"\nurl = \"http://127.0.0.1:9/f.xml\"\nkind = \"feed\"\nschedule = \"0 * * * *\"\n";
    std::fs::write(d.join("sources/x.toml"), source).unwrap();
    std::fs::write(d.join("clients/y.toml"), "id = \"y\"\n").unwrap();

    let (rc, out) = run(tw(work.path()).args(["demo", d.to_str().unwrap()]));
    assert_ne!(rc, 0, "{out}");
    assert!(out.contains("refusing to run the demo"), "{out}");
    assert!(out.contains(".termwatch-demo"), "says why: {out}");
    assert!(out.contains("new directory"), "says what to do: {out}");
    assert_eq!(
        std::fs::read_to_string(d.join("sources/x.toml")).unwrap(),
        source
    );
    assert_eq!(
        std::fs::read_to_string(d.join("clients/y.toml")).unwrap(),
        "id = \"y\"\n"
    );
    assert!(!d.join("data").exists(), "nothing written");
}

/// A `termwatch run` worker, stopped when dropped (also when a test fails).
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_on_a_dir_a_running_worker_owns_refuses_before_deleting_anything() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("demo");
    std::fs::create_dir_all(d.join("sources")).unwrap();
    std::fs::create_dir_all(d.join("clients")).unwrap();
    // An earlier demo's directory (the marker), now a worker's.
    std::fs::write(d.join(".termwatch-demo"), "made by an earlier demo\n").unwrap();
    let source = "[[source]]\nid = \"mine\"\nname = \"Mine\"\nurl = \"http://127.0.0.1:9/f.xml\"\nkind = \"feed\"\nschedule = \"0 0 1 1 *\"\n";
    std::fs::write(d.join("sources/mine.toml"), source).unwrap();
    let worker = Worker(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("termwatch"))
            .current_dir(&d)
            .env_remove("TERMWATCH_CONFIG")
            .args([
                "--data-dir",
                "data",
                "--sources",
                "sources",
                "--clients",
                "clients",
                "run",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = worker.0.id().to_string();
    let lock = d.join("data/termwatch.lock");
    let db = d.join("data/termwatch.db");
    // Polls a real process's lock file: up to 30 s for a loaded machine.
    let owned = (0..300).any(|_| {
        let done = std::fs::read_to_string(&lock).is_ok_and(|p| p == pid) && db.exists();
        if !done {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        done
    });
    assert!(owned, "the worker took its data dir");

    let mut demo = Command::cargo_bin("termwatch").unwrap();
    demo.env_remove("TERMWATCH_CONFIG")
        .args(["demo", d.to_str().unwrap()]);
    let (rc, out) = run(&mut demo);
    assert_ne!(rc, 0, "{out}");
    assert!(out.contains("refusing to run the demo"), "{out}");
    assert!(
        out.contains("already owns the data dir") && out.contains(&pid),
        "names the worker: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("sources/mine.toml")).unwrap(),
        source,
        "the worker's sources are untouched"
    );
    assert!(db.exists(), "the worker's database is untouched");
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), pid);
    assert!(!d.join("webhooks").exists(), "nothing written");
}

// --- import-opml --------------------------------------------------------------------------------

#[test]
fn opml_bad_url_is_refused_and_a_second_import_writes_no_duplicate_id() {
    let work = tempfile::tempdir().unwrap();
    let opml = "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><body>\n<outline text=\"Evil\" type=\"rss\" xmlUrl=\"javascript:alert(1)\"/>\n<outline text=\"Good\" type=\"rss\" xmlUrl=\"http://127.0.0.1:9/good.xml\"/>\n<outline text=\"Nothing\"/>\n</body></opml>\n";
    std::fs::write(work.path().join("subs.opml"), opml).unwrap();
    let (rc1, out1) = run(tw(work.path()).args(["import-opml", "subs.opml"]));
    let (_, out2) = run(tw(work.path()).args(["import-opml", "subs.opml"]));
    assert_eq!(rc1, 1, "refused outlines make the import fail: {out1}");
    assert!(
        out1.contains("line 3") && out1.contains("javascript"),
        "{out1}"
    );
    assert!(
        out1.contains("line 5") && out1.contains("no xmlUrl"),
        "{out1}"
    );
    assert!(out1.contains("imported 1 sources"), "{out1}");
    assert!(
        out2.contains("line 4") && out2.contains("already a source"),
        "{out2}"
    );

    let mut ids = Vec::new();
    for e in std::fs::read_dir(work.path().join("s")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        for s in doc["source"].as_array().unwrap() {
            let url = s["url"].as_str().unwrap();
            assert!(
                url.starts_with("http://") || url.starts_with("https://"),
                "{url}"
            );
            ids.push(s["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(ids, ["good"]);
    let (rc, out) = run(tw(work.path()).arg("check"));
    assert_eq!(rc, 0, "{out}");
}

// --- check --------------------------------------------------------------------------------------

fn client(dir: &Path, vendor: &str, hook: &str, secret_ref: &str) {
    std::fs::create_dir_all(dir.join("c")).unwrap();
    let text = format!(
        "id = \"typo\"\nname = \"Typo\"\nrole = \"msp\"\ntimezone = \"UTC\"\nvendors = [\"{vendor}\", \"OpenAI\"]\nclouds = [\"Azure\"]\ncadence = \"immediate\"\n\n[[webhooks]]\nurl = \"{hook}\"\nsecret_ref = \"{secret_ref}\"\n"
    );
    std::fs::write(dir.join("c/typo.toml"), text).unwrap();
}

#[test]
fn check_catches_typos_unset_secrets_and_refused_webhooks() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let check = |args: &[&str]| {
        run(tw(w)
            .env("TW_OPERATOR_SET_SECRET", "s3cret")
            .env_remove("TW_OPERATOR_UNSET")
            .arg("check")
            .args(args))
    };
    client(
        w,
        "Microsoft",
        "https://hooks.example/x",
        "env:TW_OPERATOR_SET_SECRET",
    );
    let (rc, out) = check(&[]);
    assert_eq!(rc, 0, "a correct client passes: {out}");

    client(
        w,
        "Microsfot",
        "https://hooks.example/x",
        "env:TW_OPERATOR_SET_SECRET",
    );
    let (rc, out) = check(&[]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("line 5: vendor Microsfot: did you mean Microsoft?"),
        "{out}"
    );

    client(
        w,
        "Nimbus Labs",
        "https://hooks.example/x",
        "env:TW_OPERATOR_SET_SECRET",
    );
    let (rc, out) = check(&[]);
    assert_eq!(rc, 0, "an unknown vendor is only a warning: {out}");
    assert!(
        out.contains("warning:") && out.contains("Nimbus Labs"),
        "{out}"
    );

    client(
        w,
        "Microsoft",
        "https://hooks.example/x",
        "env:TW_OPERATOR_UNSET",
    );
    let (rc, out) = check(&[]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("line 11") && out.contains("TW_OPERATOR_UNSET"),
        "{out}"
    );
    let (rc, out) = check(&["--no-secrets"]);
    assert_eq!(rc, 0, "--no-secrets skips only the secret: {out}");

    let missing = w.join("no-such-secret");
    client(
        w,
        "Microsoft",
        "https://hooks.example/x",
        &format!("file:{}", missing.display()),
    );
    let (rc, out) = check(&[]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("no-such-secret"), "{out}");

    for hook in [
        "http://10.1.2.3/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/",
    ] {
        client(w, "Microsoft", hook, "env:TW_OPERATOR_SET_SECRET");
        let (rc, out) = check(&["--no-secrets"]);
        assert_eq!(rc, 1, "{hook}: {out}");
        assert!(
            out.contains("line 10") && out.contains("refusing webhook target"),
            "{hook}: {out}"
        );
    }
}

#[test]
fn check_reports_templates_playbook_and_deliver_problems_together() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir_all(w.join("t")).unwrap();
    std::fs::write(
        w.join("t/digest.txt"),
        "{{ digest.subject }}\n{{ recipient_name }}\n",
    )
    .unwrap();
    std::fs::write(
        w.join("tw.toml"),
        "[digest]\ntemplates_dir = \"t\"\n\n[route]\nplaybook = \"rules/missing.toml\"\n\n[deliver.email]\nfrom = \"not an address\"\n",
    )
    .unwrap();
    let (rc, out) = run(tw(w).args(["--config", "tw.toml", "check"]));
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("line 2: template variable recipient_name"),
        "{out}"
    );
    assert!(out.contains("rules/missing.toml does not exist"), "{out}");
    assert!(out.contains("deliver.email.from"), "{out}");
    assert!(out.contains("3 problems"), "{out}");
}

#[test]
fn check_goes_past_toml_syntax_errors_in_one_client_file_and_checks_the_others() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir_all(w.join("c")).unwrap();
    // Two syntax errors (an unclosed array, a doubled '=') and a schema
    // mistake between them, in one file.
    std::fs::write(
        w.join("c/broken.toml"),
        "id = \"b\"\nname = \"B\"\nvendors = [\"Microsoft\"\nclouds = [\"Azure\"]\ncadence = \"sometimes\"\ntimezone = = \"UTC\"\n",
    )
    .unwrap();
    std::fs::write(
        w.join("c/typo.toml"),
        "id = \"t\"\nname = \"T\"\nrole = \"msp\"\nrecipients = [\"t@example.com\"]\ntimezone = \"UTC\"\nvendors = [\"Microsfot\"]\n",
    )
    .unwrap();
    let (rc, out) = run(tw(w).args(["check", "--no-secrets"]));
    assert_eq!(rc, 1, "{out}");
    for want in [
        "broken.toml line 4:",
        "broken.toml line 5: unknown variant `sometimes`",
        "broken.toml line 6:",
        "typo.toml line 6: vendor Microsfot: did you mean Microsoft?",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert_eq!(
        out.matches("broken.toml line 4:").count(),
        1,
        "a syntax error is reported once, not once per line after it: {out}"
    );
}

#[test]
fn check_reports_every_problem_in_a_client_file_not_the_first_only() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir_all(w.join("c")).unwrap();
    std::fs::write(
        w.join("c/a.toml"),
        "id = \"a\"\nname = \"A\"\nrole = \"msp\"\nrecipents = [\"a@example.com\"]\ntimezone = \"Mars/Base\"\ncolour = 3\nvendors = [\"Amazn\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(w.join("s")).unwrap();
    let entry = "[[source]]\nid = \"ID\"\nname = \"N\"\nurl = \"https://n.example/f.xml\"\nkind = \"feed\"\nschedule = \"0 * * * *\"\n";
    std::fs::write(
        w.join("s/x.toml"),
        format!(
            "{}shade = 1\n{}tint = 2\n",
            entry.replace("ID", "one"),
            entry.replace("ID", "two")
        ),
    )
    .unwrap();
    let (rc, out) = run(tw(w).arg("check"));
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("line 7:") && out.contains("shade"), "{out}");
    assert!(out.contains("line 14:") && out.contains("tint"), "{out}");
    for want in [
        "line 4:",
        "recipents",
        "line 6:",
        "colour",
        "line 5:",
        "Mars/Base",
        "line 7: vendor Amazn: did you mean Amazon?",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

// --- webhook: a 413 trims, never loses the digest ------------------------------------------------

/// The fixture digest with `n` copies of its item, each its own event.
fn big_digest(n: usize) -> StoredDigest {
    let mut d: Value = serde_json::from_str(DIGEST_JSON).unwrap();
    let item = d["items"][0].clone();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut it = item.clone();
            it["event"]["id"] = format!("ev-{i}").into();
            it
        })
        .collect();
    d["items"] = items.into();
    d["client_id"] = "corvid".into();
    StoredDigest {
        id: "dg-big".into(),
        client_id: "corvid".into(),
        subject: "s".into(),
        html: String::new(),
        text: String::new(),
        json: d.to_string(),
    }
}

/// One request the receiver answered: status, headers, body.
type Seen = (u16, HeaderMap, Vec<u8>);

/// A receiver that answers 413 to a body longer than `max`.
#[derive(Clone, Default)]
struct Limited {
    max: usize,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn limited(
    state: axum::extract::State<Limited>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let code = if body.len() > state.max {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::NO_CONTENT
    };
    state
        .seen
        .lock()
        .unwrap()
        .push((code.as_u16(), headers, body.to_vec()));
    code
}

async fn receiver(max: usize) -> (SocketAddr, Limited) {
    let state = Limited {
        max,
        ..Limited::default()
    };
    let app = axum::Router::new()
        .fallback(limited)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state)
}

#[tokio::test]
async fn webhook_413_sends_the_digest_trimmed_under_the_same_id() {
    let digest = big_digest(40);
    let full = payload(Format::Standard, &digest).unwrap().len();
    let (addr, state) = receiver(full / 3).await;
    // SAFETY: set before any thread of this test reads it; the name is unique to this test.
    unsafe { std::env::set_var("TW_OPERATOR_413_SECRET", SECRET) };
    let cfg = termwatch::deliver::WebhookConfig {
        allow_private_targets: true,
        ..Default::default()
    };
    let sender = Sender::new(&cfg).unwrap();
    sender
        .send(
            "dl-big",
            &format!("http://{addr}/hook"),
            Format::Standard,
            Some("env:TW_OPERATOR_413_SECRET"),
            &digest,
        )
        .await
        .expect("a trimmed digest is delivered, not dead-lettered");

    let seen = state.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, 413, "the whole digest was refused first");
    let (code, headers, body) = seen.last().unwrap();
    assert_eq!(*code, 204);
    for (_, h, _) in &seen {
        assert_eq!(
            h["webhook-id"], "dl-big",
            "every attempt under the same webhook-id"
        );
    }
    standardwebhooks::Webhook::new(SECRET)
        .unwrap()
        .verify(body, headers)
        .expect("the trimmed body is signed");
    let v: Value = serde_json::from_slice(body).unwrap();
    let d = &v["data"];
    let kept = d["items"].as_array().unwrap().len();
    assert!(kept > 0 && kept < 40, "kept {kept}");
    assert_eq!(d["omitted"]["events"], 40 - kept);
    assert_eq!(d["omitted"]["see"], "termwatch digest preview corvid");
}

#[tokio::test]
async fn webhook_413_even_for_one_event_fails_with_the_status() {
    let digest = big_digest(2);
    let (addr, state) = receiver(10).await;
    let cfg = termwatch::deliver::WebhookConfig {
        allow_private_targets: true,
        ..Default::default()
    };
    let err = Sender::new(&cfg)
        .unwrap()
        .send(
            "dl-x",
            &format!("http://{addr}/h"),
            Format::Slack,
            None,
            &digest,
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("413"), "{}", err.message);
    let n = state.seen.lock().unwrap().len();
    assert_eq!(n, 3, "2 items, then 1, then 0, then it gives up");
}

// --- Slack and Teams escape what they quote -------------------------------------------------------

#[test]
fn slack_and_teams_escape_scraped_text() {
    let hostile =
        "<!channel> @here [click](https://evil.example) <https://evil.example|login> & *bold*";
    let mut d: Value = serde_json::from_str(DIGEST_JSON).unwrap();
    d["items"][0]["event"]["parties"][0] = hostile.into();
    d["items"][0]["reasons"] = vec![hostile].into();
    d["items"][0]["event"]["sources"][0]["title"] = hostile.into();
    let digest = StoredDigest {
        id: "dg".into(),
        client_id: "corvid".into(),
        subject: "s".into(),
        html: String::new(),
        text: String::new(),
        json: d.to_string(),
    };
    let slack = String::from_utf8(payload(Format::Slack, &digest).unwrap()).unwrap();
    let slack: Value = serde_json::from_str(&slack).unwrap();
    let mut texts = Vec::new();
    collect_strings(&slack, &mut texts);
    let joined = texts.join("\n");
    assert!(!joined.contains("<!channel>"), "{joined}");
    assert!(!joined.contains("<https://evil.example"), "{joined}");
    assert!(!joined.contains("@here"), "a bare @here pings: {joined}");
    assert!(joined.contains("&lt;!channel&gt;"), "{joined}");
    assert!(joined.contains(" &amp; "), "{joined}");

    let teams = String::from_utf8(payload(Format::Teams, &digest).unwrap()).unwrap();
    let teams: Value = serde_json::from_str(&teams).unwrap();
    let mut texts = Vec::new();
    collect_strings(&teams, &mut texts);
    let joined = texts.join("\n");
    assert!(!joined.contains("[click](https"), "{joined}");
    assert!(
        joined.contains("\\[click\\](https://evil.example)"),
        "{joined}"
    );
    assert!(!joined.contains("<!channel>"), "{joined}");
}

/// Every string a chat client renders as markup: `text` (Slack mrkdwn,
/// Teams TextBlock) and `value` (Teams facts); button titles are plain.
fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                match x {
                    Value::String(s) if k == "text" || k == "value" => out.push(s.clone()),
                    _ => collect_strings(x, out),
                }
            }
        }
        _ => {}
    }
}

// --- render: one item adds a bounded amount to a digest --------------------------------------------

#[test]
fn one_huge_item_adds_a_bounded_amount_to_a_digest() {
    let mut d: Value = serde_json::from_str(DIGEST_JSON).unwrap();
    let base: termwatch::model::Digest = serde_json::from_value(d.clone()).unwrap();
    let huge = "Nimbus ".repeat(150_000);
    d["items"][0]["event"]["sources"][0]["title"] = huge.as_str().into();
    d["items"][0]["event"]["sources"][0]["evidence"] = huge.as_str().into();
    let src = d["items"][0]["event"]["sources"][0].clone();
    d["items"][0]["event"]["sources"] = vec![src; 500].into();
    let digest: termwatch::model::Digest = serde_json::from_value(d).unwrap();
    let renderer = termwatch::digest::Renderer::load(&termwatch::digest::Config {
        templates_dir: "/nonexistent".into(),
        ..Default::default()
    })
    .unwrap();
    let small = renderer.render(&base, "UTC").unwrap();
    let big = renderer.render(&digest, "UTC").unwrap();
    for (name, a, b) in [
        ("json", &small.json, &big.json),
        ("html", &small.html, &big.html),
        ("text", &small.text, &big.text),
    ] {
        assert!(
            b.len() < a.len() + 100_000,
            "{name}: {} bytes from one item",
            b.len()
        );
    }
    assert!(big.text.contains('…'), "a cut title shows an ellipsis");
}
