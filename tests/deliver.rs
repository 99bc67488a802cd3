//! The deliver stage against real peers: a real SMTP server
//! (mailin-embedded), one that requires STARTTLS or TLS and a login
//! (`tls_smtp`), and a real webhook receiver (axum) on loopback, SQLite on
//! disk. Signatures are checked with the `standardwebhooks` crate.

#[path = "fixtures/deliver/support.rs"]
mod support;
#[path = "fixtures/deliver/tls_smtp.rs"]
mod tls_smtp;

use std::net::SocketAddr;
use std::time::Duration;

use support::{HookSink, SmtpSink, insert_delivery, insert_digest, status, wait_until};
use termwatch::deliver::{Config, Deliverer, Security, SmtpConfig};
use termwatch::pipeline::deliver::deliver_due;
use termwatch::store::Store;
use termwatch::store::deliveries::{self, RetryOutcome};

const NOW: i64 = 1_800_000_000;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn smtp(addr: SocketAddr) -> SmtpConfig {
    SmtpConfig {
        host: addr.ip().to_string(),
        port: Some(addr.port()),
        security: Security::Plain,
        username: None,
        password_env: None,
        password_file: None,
        timeout_secs: 3,
        ca_file: None,
    }
}

fn config(smtp_at: Option<SocketAddr>, allow_private: bool) -> Config {
    let mut c = Config {
        smtp: smtp_at.map(smtp),
        ..Config::default()
    };
    c.webhook.allow_private_targets = allow_private;
    c.email.from = "Termwatch <digests@termwatch.example>".into();
    c.email.reply_to = Some("Desk <desk@termwatch.example>".into());
    c
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_in(dir.path()).await.unwrap();
    (dir, s)
}

#[tokio::test(flavor = "multi_thread")]
async fn email_over_smtp_is_multipart_with_stable_message_id_and_one_click_unsubscribe() {
    let sink = SmtpSink::start(Duration::ZERO);
    let (dir, s) = store().await;
    insert_digest(&s, "dg-1", "corvid").await;
    insert_delivery(
        &s,
        "dl-1",
        "dg-1",
        "corvid",
        "email",
        "ana@corvid.example, ben@corvid.example",
        None,
        None,
        NOW,
    )
    .await;
    let mut cfg = config(Some(sink.addr), false);
    cfg.email.unsubscribe_base_url = Some("https://termwatch.example/unsubscribe".into());
    let d = Deliverer::new(&cfg, dir.path()).unwrap();

    let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
    assert_eq!(sum.sent, 1, "{sum:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.to.len(), 2, "{:?}", m.to);
    assert_eq!(
        m.header("Message-ID").as_deref(),
        Some("<dg-1@termwatch.example>")
    );
    assert_eq!(
        m.header("From").as_deref(),
        Some("Termwatch <digests@termwatch.example>")
    );
    assert_eq!(
        m.header("Reply-To").as_deref(),
        Some("Desk <desk@termwatch.example>")
    );
    assert_eq!(
        m.header("List-Unsubscribe").as_deref(),
        Some("<https://termwatch.example/unsubscribe?client=corvid&delivery=dl-1>")
    );
    assert_eq!(
        m.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        m.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{}",
        m.raw
    );
    assert!(m.raw.contains("Content-Type: text/plain"), "{}", m.raw);
    assert!(m.raw.contains("Content-Type: text/html"), "{}", m.raw);
    assert!(m.raw.contains("Digest dg-1"), "{}", m.raw);
    let (st, attempts, err, _) = status(&s, "dl-1").await;
    assert_eq!((st.as_str(), attempts, err), ("sent", 1, None));
    assert_eq!(
        deliver_due(&s, &d, &cfg, NOW + 10).await.unwrap().sent,
        0,
        "sent once only"
    );
}

#[tokio::test]
async fn without_smtp_digests_go_to_the_outbox_and_a_resend_overwrites() {
    let (dir, s) = store().await;
    insert_digest(&s, "dg-2", "corvid").await;
    insert_delivery(
        &s,
        "dl-2",
        "dg-2",
        "corvid",
        "email",
        "ana@corvid.example",
        None,
        None,
        NOW,
    )
    .await;
    let cfg = config(None, false);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().sent, 1);

    let outbox = dir.path().join("outbox");
    let eml = std::fs::read_to_string(outbox.join("dl-2.eml")).unwrap();
    assert!(
        eml.contains("Message-ID: <dg-2@termwatch.example>"),
        "{eml}"
    );
    assert!(
        eml.contains("Subject: Termwatch weekly for corvid"),
        "{eml}"
    );
    assert!(eml.contains("multipart/alternative"), "{eml}");

    // A resend (as after a crash before marking) replaces the file.
    sqlx::query("UPDATE deliveries SET status = 'pending' WHERE id = 'dl-2'")
        .execute(s.pool())
        .await
        .unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW + 5).await.unwrap().sent, 1);
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![std::ffi::OsString::from("dl-2.eml")]);
}

#[tokio::test]
async fn standard_webhook_signature_verifies_with_the_standardwebhooks_crate() {
    let hooks = HookSink::start(Duration::ZERO).await;
    let (dir, s) = store().await;
    // SAFETY: set before any thread of this test reads the environment;
    // the name is unique to this test.
    unsafe { std::env::set_var("TW_TEST_HOOK_SECRET_STD", SECRET) };
    insert_digest(&s, "dg-3", "corvid").await;
    insert_delivery(
        &s,
        "dl-3",
        "dg-3",
        "corvid",
        "webhook",
        &hooks.url("/hook"),
        Some("standard"),
        Some("env:TW_TEST_HOOK_SECRET_STD"),
        NOW,
    )
    .await;
    let cfg = config(None, true);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().sent, 1);

    let got = hooks.hooks();
    assert_eq!(got.len(), 1);
    let h = &got[0];
    assert_eq!(h.headers["webhook-id"], "dl-3");
    assert_eq!(h.headers["content-type"], "application/json");
    standardwebhooks::Webhook::new(SECRET)
        .unwrap()
        .verify(&h.body, &h.headers)
        .expect("signature verifies");
    let wrong = standardwebhooks::Webhook::new("whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==").unwrap();
    assert!(
        wrong.verify(&h.body, &h.headers).is_err(),
        "another secret must not verify"
    );
    let body: serde_json::Value = serde_json::from_slice(&h.body).unwrap();
    assert_eq!(body["type"], "digest.created");
    assert_eq!(body["data"]["id"], "dg-3");
    assert_eq!(body["timestamp"], "2026-11-23T08:00:00Z");
    let digest: termwatch::model::Digest = serde_json::from_value(body["data"].clone()).unwrap();
    assert_eq!(digest.items.len(), 1);
}

#[tokio::test]
async fn slack_gets_block_kit_and_teams_an_adaptive_card() {
    let hooks = HookSink::start(Duration::ZERO).await;
    let (dir, s) = store().await;
    insert_digest(&s, "dg-4", "corvid").await;
    insert_delivery(
        &s,
        "dl-slack",
        "dg-4",
        "corvid",
        "webhook",
        &hooks.url("/slack"),
        Some("slack"),
        None,
        NOW,
    )
    .await;
    insert_delivery(
        &s,
        "dl-teams",
        "dg-4",
        "corvid",
        "webhook",
        &hooks.url("/teams"),
        Some("teams"),
        None,
        NOW,
    )
    .await;
    let cfg = config(None, true);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().sent, 2);

    let got = hooks.hooks();
    let body = |p: &str| -> serde_json::Value {
        serde_json::from_slice(&got.iter().find(|h| h.path == p).unwrap().body).unwrap()
    };
    let slack = body("/slack");
    assert_eq!(
        slack["text"],
        "Termwatch weekly: Nimbus Labs ends Corvid Cloud exclusivity"
    );
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let section = blocks.iter().find(|b| b["type"] == "section").unwrap();
    let text = section["text"]["text"].as_str().unwrap();
    assert!(
        text.contains("HIGH · Nimbus Large &lt;beta&gt; &amp; friends exclusivity: "),
        "{text}"
    );
    assert!(text.contains("• *Tell account managers"), "{text}");
    assert!(
        text.contains("> From December, Nimbus Labs models"),
        "{text}"
    );
    let links = blocks
        .iter()
        .filter(|b| b["type"] == "context")
        .map(|b| b["elements"][0]["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        links.contains(
            "<https://nimbus.example/blog/open-to-every-cloud|Nimbus models come to every cloud> (vendor,"
        ),
        "{links}"
    );

    let teams = body("/teams");
    assert_eq!(teams["type"], "message");
    let att = &teams["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(att["content"]["type"], "AdaptiveCard");
    let card = att["content"].to_string();
    assert!(
        card.contains(
            "{\"title\":\"Tell account managers that Nimbus models can be sold on other clouds\",\"value\":\"Owner: account manager · due 2026-12-01\"}"
        ),
        "{card}"
    );
    assert!(card.contains("Action.OpenUrl"), "{card}");
}

#[tokio::test]
async fn private_targets_are_refused_by_default_and_the_refusal_names_the_setting() {
    let hooks = HookSink::start(Duration::ZERO).await;
    let (dir, s) = store().await;
    insert_digest(&s, "dg-5", "corvid").await;
    insert_delivery(
        &s,
        "dl-ip",
        "dg-5",
        "corvid",
        "webhook",
        &hooks.url("/hook"),
        None,
        None,
        NOW,
    )
    .await;
    // A name, refused only once resolved to loopback.
    let by_name = format!("http://localhost:{}/hook", hooks.addr.port());
    insert_delivery(
        &s, "dl-name", "dg-5", "corvid", "webhook", &by_name, None, None, NOW,
    )
    .await;
    let cfg = config(None, false);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
    assert_eq!(sum.dead, 2, "{sum:?}");
    for id in ["dl-ip", "dl-name"] {
        let (st, _, err, _) = status(&s, id).await;
        let err = err.unwrap();
        assert_eq!(st, "dead");
        assert!(err.contains("loopback"), "{err}");
        assert!(
            err.contains("[deliver.webhook] allow_private_targets = true"),
            "{err}"
        );
    }
    assert!(
        hooks.hooks().is_empty(),
        "nothing may reach a refused target"
    );
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_address_is_refused() {
    let hooks = HookSink::start(Duration::ZERO).await;
    // 0.0.0.0 reaches the local host on Linux: refused even when private
    // targets are allowed.
    hooks.redirect_to(&format!("http://0.0.0.0:{}/hook", hooks.addr.port()));
    let (dir, s) = store().await;
    insert_digest(&s, "dg-6", "corvid").await;
    insert_delivery(
        &s,
        "dl-6",
        "dg-6",
        "corvid",
        "webhook",
        &hooks.url("/redirect"),
        None,
        None,
        NOW,
    )
    .await;
    let cfg = config(None, true);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().dead, 1);
    let (st, _, err, _) = status(&s, "dl-6").await;
    assert_eq!(st, "dead");
    assert!(err.as_deref().unwrap().contains("unspecified"), "{err:?}");
    assert!(
        hooks.hooks().is_empty(),
        "the redirect must not be followed"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_then_dead_lettered_then_retried_by_hand() {
    let hooks = HookSink::start(Duration::ZERO).await;
    let (dir, s) = store().await;
    insert_digest(&s, "dg-7", "corvid").await;
    insert_delivery(
        &s,
        "dl-7",
        "dg-7",
        "corvid",
        "webhook",
        &hooks.url("/busy"),
        None,
        None,
        NOW,
    )
    .await;
    let mut cfg = config(None, true);
    cfg.max_attempts = 2;
    cfg.backoff_base_secs = 1;
    let d = Deliverer::new(&cfg, dir.path()).unwrap();

    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().retrying, 1);
    let (st, attempts, err, next) = status(&s, "dl-7").await;
    assert_eq!((st.as_str(), attempts), ("failed", 1));
    assert!(err.unwrap().contains("503"));
    assert!(
        next >= NOW + 120,
        "Retry-After: 120 must be honoured, next at +{}",
        next - NOW
    );
    assert_eq!(
        deliver_due(&s, &d, &cfg, NOW + 60).await.unwrap(),
        Default::default(),
        "not due yet"
    );

    assert_eq!(deliver_due(&s, &d, &cfg, next).await.unwrap().dead, 1);
    let (st, attempts, err, _) = status(&s, "dl-7").await;
    assert_eq!((st.as_str(), attempts), ("dead", 2));
    assert!(err.unwrap().contains("gave up after 2 attempts"));
    assert_eq!(hooks.hooks().len(), 2);

    assert_eq!(
        deliveries::retry(&s, "dl-7", next + 1).await.unwrap(),
        RetryOutcome::Queued
    );
    let (st, attempts, _, _) = status(&s, "dl-7").await;
    assert_eq!((st.as_str(), attempts), ("pending", 0));
}

#[tokio::test]
async fn a_4xx_answer_is_dead_lettered_at_once() {
    let hooks = HookSink::start(Duration::ZERO).await;
    let (dir, s) = store().await;
    insert_digest(&s, "dg-8", "corvid").await;
    insert_delivery(
        &s,
        "dl-8",
        "dg-8",
        "corvid",
        "webhook",
        &hooks.url("/gone"),
        None,
        None,
        NOW,
    )
    .await;
    let cfg = config(None, true);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().dead, 1);
    let (_, _, err, _) = status(&s, "dl-8").await;
    let err = err.unwrap();
    assert!(
        err.contains("410") && err.contains("deliveries retry"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_that_is_down_holds_up_no_webhook_and_mail_goes_out_when_it_returns() {
    let hooks = HookSink::start(Duration::ZERO).await;
    // A server that accepts connections but never greets: every send waits
    // for the SMTP timeout.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_addr = hung.local_addr().unwrap();
    let (dir, s) = store().await;
    insert_digest(&s, "dg-a", "corvid").await;
    insert_digest(&s, "dg-b", "nimbus").await;
    insert_delivery(
        &s,
        "dl-mail",
        "dg-a",
        "corvid",
        "email",
        "ana@corvid.example",
        None,
        None,
        NOW,
    )
    .await;
    insert_delivery(
        &s,
        "dl-hook",
        "dg-b",
        "nimbus",
        "webhook",
        &hooks.url("/hook"),
        None,
        None,
        NOW,
    )
    .await;
    let cfg = config(Some(smtp_addr), true);
    let d = std::sync::Arc::new(Deliverer::new(&cfg, dir.path()).unwrap());

    let pass = {
        let (s, d, cfg) = (s.clone(), d.clone(), cfg.clone());
        tokio::spawn(async move { deliver_due(&s, &d, &cfg, NOW).await.unwrap() })
    };
    assert!(
        wait_until(10, || !hooks.hooks().is_empty()).await,
        "webhook delivered"
    );
    assert!(
        !pass.is_finished(),
        "the webhook went out while the email was still waiting"
    );
    // Received is not yet marked: the mark follows the receipt by a moment.
    let mut st = String::new();
    for _ in 0..100 {
        st = status(&s, "dl-hook").await.0;
        if st == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(st, "sent");
    assert!(
        !pass.is_finished(),
        "the webhook was marked sent while the email was still waiting"
    );
    let sum = pass.await.unwrap();
    assert_eq!((sum.sent, sum.retrying), (1, 1), "{sum:?}");
    let (st, _, err, next) = status(&s, "dl-mail").await;
    assert_eq!(st, "failed", "{err:?}");

    // The server comes back on the same address.
    drop(hung);
    let sink = SmtpSink::on(
        std::net::TcpListener::bind(smtp_addr).unwrap(),
        Duration::ZERO,
    );
    let sum = deliver_due(&s, &d, &cfg, next).await.unwrap();
    assert_eq!(sum.sent, 1, "{sum:?}");
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(hooks.hooks().len(), 1, "the webhook was not sent twice");
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("smtp-password");
    std::fs::write(&pw, "correct-horse-battery\n").unwrap();
    let mut cfg = config(Some("127.0.0.1:2525".parse().unwrap()), false);
    let smtp = cfg.smtp.as_mut().unwrap();
    smtp.username = Some("mailer".into());
    smtp.password_file = Some(pw);
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    let shown = format!("{d:?} {cfg:?}");
    assert!(!shown.contains("correct-horse-battery"), "{shown}");
}

#[test]
fn cli_lists_deliveries_with_last_error_and_retries_one() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = Store::open_in(dir.path()).await.unwrap();
        insert_digest(&s, "dg-c", "corvid").await;
        insert_delivery(
            &s,
            "dl-cli",
            "dg-c",
            "corvid",
            "webhook",
            "https://hooks.example/T0/secret-token",
            Some("slack"),
            None,
            NOW,
        )
        .await;
        let claimed = deliveries::claim_due(&s, "webhook", NOW, NOW, 60, 10)
            .await
            .unwrap();
        let token = claimed[0].delivery.claim_token.clone().unwrap();
        deliveries::mark_failed(
            &s,
            "dl-cli",
            &token,
            "webhook https://hooks.example answered 410 Gone",
            None,
        )
        .await
        .unwrap();
    });
    let bin = env!("CARGO_BIN_EXE_termwatch");
    let out = std::process::Command::new(bin)
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["deliveries"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("dead 1"), "{text}");
    assert!(text.contains("dl-cli") && text.contains("dead"), "{text}");
    assert!(
        text.contains("last error: webhook https://hooks.example answered 410 Gone"),
        "{text}"
    );
    assert!(
        !text.contains("secret-token"),
        "webhook URL paths may hold tokens: {text}"
    );

    let out = std::process::Command::new(bin)
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["deliveries", "retry", "dl-cli"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(bin)
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["deliveries", "--status", "pending"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("dl-cli"));
    let out = std::process::Command::new(bin)
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["deliveries", "retry", "no-such-id"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("termwatch deliveries"),
        "error says how to list ids"
    );
}

/// A config for a [`tls_smtp::TlsSmtpSink`]: user `mailer`, the password in a
/// file under `dir`, the test CA trusted when `ca` is given.
fn tls_config(
    addr: SocketAddr,
    security: Security,
    dir: &std::path::Path,
    password: &str,
    ca: Option<&str>,
) -> Config {
    let mut cfg = config(Some(addr), false);
    let pw = dir.join("smtp-password");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    let smtp = cfg.smtp.as_mut().unwrap();
    smtp.security = security;
    smtp.username = Some("mailer".into());
    smtp.password_file = Some(pw);
    if let Some(pem) = ca {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, pem).unwrap();
        smtp.ca_file = Some(path);
    }
    cfg
}

async fn three_emails(s: &Store) {
    for i in 0..3 {
        insert_digest(s, &format!("dg-t{i}"), "corvid").await;
        insert_delivery(
            s,
            &format!("dl-t{i}"),
            &format!("dg-t{i}"),
            "corvid",
            "email",
            &format!("ana{i}@corvid.example"),
            None,
            None,
            NOW,
        )
        .await;
    }
}

async fn sends_encrypted_after_login(mode: tls_smtp::Mode, security: Security) {
    let pki = tls_smtp::TestPki::new();
    let sink = tls_smtp::TlsSmtpSink::start(mode, &pki, "mailer", "correct-horse");
    let (dir, s) = store().await;
    three_emails(&s).await;
    let cfg = tls_config(
        sink.addr,
        security,
        dir.path(),
        "correct-horse",
        Some(&pki.ca_pem),
    );
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
    assert_eq!(sum.sent, 3, "{sum:?} {:?}", status(&s, "dl-t0").await);

    let mut mails = sink.mails();
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(mails.len(), 3);
    for (i, m) in mails.iter().enumerate() {
        assert_eq!(m.to, vec![format!("ana{i}@corvid.example")]);
        assert!(m.encrypted, "{mode:?}: message {i} came over plain text");
        assert_eq!(m.user.as_deref(), Some("mailer"));
        assert!(
            m.raw.contains(&format!("X-Termwatch-Delivery: dl-t{i}")),
            "{}",
            m.raw
        );
    }
    let logins = sink.logins();
    assert!(!logins.is_empty() && logins.len() <= 3, "{logins:?}");
    for l in &logins {
        assert_eq!(
            l,
            &tls_smtp::Login {
                mechanism: "PLAIN",
                user: "mailer".into(),
                accepted: true
            }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_a_private_ca_and_auth_delivers_encrypted() {
    sends_encrypted_after_login(tls_smtp::Mode::StartTls, Security::Starttls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_a_private_ca_and_auth_delivers_encrypted() {
    sends_encrypted_after_login(tls_smtp::Mode::Tls, Security::Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_smtp_password_fails_readably_and_the_mail_goes_out_once_it_is_fixed() {
    let pki = tls_smtp::TestPki::new();
    let sink = tls_smtp::TlsSmtpSink::start(tls_smtp::Mode::StartTls, &pki, "mailer", "right");
    let (dir, s) = store().await;
    insert_digest(&s, "dg-pw", "corvid").await;
    insert_delivery(
        &s,
        "dl-pw",
        "dg-pw",
        "corvid",
        "email",
        "ana@corvid.example",
        None,
        None,
        NOW,
    )
    .await;
    let cfg = tls_config(
        sink.addr,
        Security::Starttls,
        dir.path(),
        "wrong",
        Some(&pki.ca_pem),
    );
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
    assert_eq!((sum.sent, sum.retrying, sum.dead), (0, 1, 0), "{sum:?}");
    let (st, _, err, next) = status(&s, "dl-pw").await;
    assert_eq!(st, "failed");
    let err = err.unwrap();
    assert!(err.contains("did not accept the login"), "{err}");
    assert!(err.contains("535"), "{err}");
    assert!(err.contains("password_file"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password is not in the error: {err}"
    );
    assert!(sink.mails().is_empty());
    assert_eq!(
        sink.logins(),
        vec![tls_smtp::Login {
            mechanism: "PLAIN",
            user: "mailer".into(),
            accepted: false
        }],
        "the server checked the password it was sent"
    );

    // The operator fixes the password; the waiting delivery goes out.
    let cfg = tls_config(
        sink.addr,
        Security::Starttls,
        dir.path(),
        "right",
        Some(&pki.ca_pem),
    );
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    let sum = deliver_due(&s, &d, &cfg, next).await.unwrap();
    assert_eq!(sum.sent, 1, "{sum:?}");
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(status(&s, "dl-pw").await.0, "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_an_untrusted_ca_is_refused_before_any_login() {
    let pki = tls_smtp::TestPki::new();
    for (mode, security) in [
        (tls_smtp::Mode::Tls, Security::Tls),
        (tls_smtp::Mode::StartTls, Security::Starttls),
    ] {
        let sink = tls_smtp::TlsSmtpSink::start(mode, &pki, "mailer", "right");
        let (dir, s) = store().await;
        insert_digest(&s, "dg-ca", "corvid").await;
        insert_delivery(
            &s,
            "dl-ca",
            "dg-ca",
            "corvid",
            "email",
            "ana@corvid.example",
            None,
            None,
            NOW,
        )
        .await;
        // No ca_file: the test CA is in no trust store.
        let cfg = tls_config(sink.addr, security, dir.path(), "right", None);
        let d = Deliverer::new(&cfg, dir.path()).unwrap();
        let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
        assert_eq!((sum.sent, sum.retrying), (0, 1), "{mode:?}: {sum:?}");
        let (st, _, err, _) = status(&s, "dl-ca").await;
        assert_eq!(st, "failed");
        let err = err.unwrap();
        assert!(err.contains("TLS with"), "{mode:?}: {err}");
        assert!(err.contains("ca_file"), "{mode:?}: {err}");
        assert!(
            sink.logins().is_empty(),
            "{mode:?}: credentials went to an unverified server"
        );
        assert!(sink.mails().is_empty());
    }
}

#[test]
fn an_unreadable_ca_file_is_a_configuration_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(Some("127.0.0.1:2525".parse().unwrap()), false);
    let smtp = cfg.smtp.as_mut().unwrap();
    smtp.security = Security::Starttls;
    smtp.ca_file = Some(dir.path().join("missing-ca.pem"));
    let err = Deliverer::new(&cfg, dir.path()).unwrap_err().to_string();
    assert!(err.contains("missing-ca.pem"), "{err}");
    assert!(err.contains("ca_file"), "{err}");

    std::fs::write(dir.path().join("not-a-cert.pem"), "hello").unwrap();
    cfg.smtp.as_mut().unwrap().ca_file = Some(dir.path().join("not-a-cert.pem"));
    let err = Deliverer::new(&cfg, dir.path()).unwrap_err().to_string();
    assert!(err.contains("no PEM certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_the_server_closed_is_replaced_without_failing_the_send() {
    let pki = tls_smtp::TestPki::new();
    let sink = tls_smtp::TlsSmtpSink::one_message_per_connection(
        tls_smtp::Mode::StartTls,
        &pki,
        "mailer",
        "right",
    );
    let (dir, s) = store().await;
    let mut cfg = tls_config(
        sink.addr,
        Security::Starttls,
        dir.path(),
        "right",
        Some(&pki.ca_pem),
    );
    // One connection: the second pass must take the parked one first.
    cfg.concurrency = 1;
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    for i in 0..3 {
        insert_digest(&s, &format!("dg-r{i}"), "corvid").await;
        insert_delivery(
            &s,
            &format!("dl-r{i}"),
            &format!("dg-r{i}"),
            "corvid",
            "email",
            "ana@corvid.example",
            None,
            None,
            NOW,
        )
        .await;
        let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
        assert_eq!(
            sum.sent,
            1,
            "pass {i}: {sum:?} {:?}",
            status(&s, &format!("dl-r{i}")).await
        );
    }
    assert_eq!(sink.mails().len(), 3);
    // One login per connection: each send after the first found its parked
    // connection closed and opened a new one.
    assert_eq!(sink.logins().len(), 3, "{:?}", sink.logins());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_never_opens_more_connections_than_concurrency() {
    // The sink serves two sessions; a third connection would never be
    // greeted and its send would fail on the timeout.
    let sink = SmtpSink::serving(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        Duration::ZERO,
        2,
    );
    let (dir, s) = store().await;
    let mut cfg = config(Some(sink.addr), false);
    cfg.concurrency = 2;
    for i in 0..200 {
        insert_digest(&s, &format!("dg-c{i}"), "corvid").await;
        insert_delivery(
            &s,
            &format!("dl-c{i}"),
            &format!("dg-c{i}"),
            "corvid",
            "email",
            &format!("ana{i}@corvid.example"),
            None,
            None,
            NOW,
        )
        .await;
    }
    let d = Deliverer::new(&cfg, dir.path()).unwrap();
    let sum = deliver_due(&s, &d, &cfg, NOW).await.unwrap();
    assert_eq!(sum.sent, 200, "{sum:?}");
    assert_eq!(sink.mails().len(), 200);
}
