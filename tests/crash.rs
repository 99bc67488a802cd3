//! Nothing is lost and nothing is received under two ids across crashes:
//! the real binary delivers a batch to a real SMTP server and a real webhook
//! receiver on loopback, is killed with SIGKILL mid-batch (twice), restarted,
//! and then every receipt is counted.

#[path = "fixtures/deliver/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::time::Duration;

use support::{HookSink, SmtpSink, insert_delivery, insert_digest, wait_until};
use termwatch::store::Store;

const DIGESTS: usize = 80;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn spawn(config: &std::path::Path, data: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_termwatch"))
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["deliveries", "send"])
        .env("TW_CRASH_HOOK_SECRET", SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Delivery ids received so far, by either channel, with repeats.
fn received(smtp: &SmtpSink, hooks: &HookSink) -> Vec<String> {
    let mut ids: Vec<String> = smtp
        .mails()
        .iter()
        .map(|m| m.header("X-Termwatch-Delivery").unwrap())
        .collect();
    ids.extend(
        hooks
            .hooks()
            .iter()
            .map(|h| h.headers["webhook-id"].to_str().unwrap().to_string()),
    );
    ids
}

async fn sent_in_db(store: &Store) -> BTreeSet<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM deliveries WHERE status = 'sent'")
        .fetch_all(store.pool())
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_loses_nothing_and_resends_carry_the_same_ids() {
    // Slow receivers so that a kill lands while sends are in flight.
    let smtp = SmtpSink::start(Duration::from_millis(25));
    let hooks = HookSink::start(Duration::from_millis(40)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("termwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[deliver]
concurrency = 4
# Short leases so the restarted worker can take over the killed one's claims.
lease_secs = 1

[deliver.email]
from = "Termwatch <digests@termwatch.example>"

[deliver.smtp]
host = "127.0.0.1"
port = {}
security = "plain"
timeout_secs = 5

[deliver.webhook]
allow_private_targets = true
"#,
            smtp.addr.port()
        ),
    )
    .unwrap();

    let store = Store::open_in(&data).await.unwrap();
    let due = jiff::Timestamp::now().as_second() - 10;
    for i in 0..DIGESTS {
        let (dg, client) = (format!("dg-{i:03}"), format!("client-{}", i % 7));
        insert_digest(&store, &dg, &client).await;
        insert_delivery(
            &store,
            &format!("mail-{i:03}"),
            &dg,
            &client,
            "email",
            &format!("ops{i}@client.example"),
            None,
            None,
            due,
        )
        .await;
        insert_delivery(
            &store,
            &format!("hook-{i:03}"),
            &dg,
            &client,
            "webhook",
            &hooks.url("/hook"),
            Some("standard"),
            Some("env:TW_CRASH_HOOK_SECRET"),
            due,
        )
        .await;
    }
    let total = DIGESTS * 2;

    // Two kills mid-batch; after each, what was received but not marked
    // sent is where a duplicate may legitimately appear.
    let mut may_repeat: BTreeSet<String> = BTreeSet::new();
    for stop_at in [total / 4, total * 3 / 5] {
        let mut child = spawn(&config, &data);
        assert!(
            wait_until(60, || received(&smtp, &hooks).len() >= stop_at).await,
            "the worker should have sent {stop_at} messages"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Let requests the receivers were still handling finish recording.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got: BTreeSet<String> = received(&smtp, &hooks).into_iter().collect();
        assert!(
            got.len() < total,
            "the kill must land mid-batch ({} of {total})",
            got.len()
        );
        let sent = sent_in_db(&store).await;
        assert!(
            sent.is_subset(&got),
            "marked sent but never received: {:?}",
            sent.difference(&got).collect::<Vec<_>>()
        );
        may_repeat.extend(got.difference(&sent).cloned());
        // Past the killed worker's leases: lease_secs plus the 2 s of clock
        // slack every claim carries.
        tokio::time::sleep(Duration::from_millis(4100)).await;
    }

    let mut child = spawn(&config, &data);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "the last run finishes the batch");

    // Every delivery sent and marked.
    assert_eq!(sent_in_db(&store).await.len(), total);
    // Every digest received by both channels.
    let mails = smtp.mails();
    let hook_list = hooks.hooks();
    let mut message_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &mails {
        message_ids
            .entry(m.header("X-Termwatch-Digest").unwrap())
            .or_default()
            .insert(m.header("Message-ID").unwrap());
    }
    let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
    let mut webhook_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for h in &hook_list {
        verifier
            .verify(&h.body, &h.headers)
            .expect("every webhook is signed");
        let body: serde_json::Value = serde_json::from_slice(&h.body).unwrap();
        webhook_ids
            .entry(body["data"]["id"].as_str().unwrap().to_string())
            .or_default()
            .insert(h.headers["webhook-id"].to_str().unwrap().to_string());
    }
    assert_eq!(message_ids.len(), DIGESTS, "every digest received by email");
    assert_eq!(
        webhook_ids.len(),
        DIGESTS,
        "every digest received by webhook"
    );
    // No digest received under two different ids.
    for (dg, ids) in message_ids.iter().chain(webhook_ids.iter()) {
        assert_eq!(
            ids.len(),
            1,
            "digest {dg} arrived under several ids: {ids:?}"
        );
    }
    // Duplicates only where a kill landed between send and mark.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for id in received(&smtp, &hooks) {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), total);
    let repeated: BTreeSet<String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        repeated.is_subset(&may_repeat),
        "unexpected duplicates: {:?}",
        repeated.difference(&may_repeat).collect::<Vec<_>>()
    );
    assert!(
        counts.values().all(|n| *n <= 3),
        "at most one resend per kill: {counts:?}"
    );
    eprintln!(
        "crash test: {total} deliveries, {} receipts, {} duplicated (allowed: {})",
        counts.values().sum::<usize>(),
        repeated.len(),
        may_repeat.len()
    );
}
