//! Delivery throughput: 5,000 digests to a local SMTP server
//! (mailin-embedded) and 5,000 to a local webhook receiver (axum), through
//! the real outbox (SQLite on disk, claims, marks).
//!
//! `cargo bench --bench deliver` (release) or `cargo test --bench deliver`
//! (debug build). `BENCH_N` changes the count, `BENCH_CONCURRENCY` the sends
//! in flight per channel. `BENCH_SMTP_ADDR=127.0.0.1:8025` sends the email
//! to another SMTP server instead (e.g. `tests/fixtures/deliver/aiosmtpd_sink.py`),
//! to tell termwatch's cost from the in-process sink's.

#[path = "../tests/fixtures/deliver/support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{HookSink, SmtpSink, insert_delivery, insert_digest};
use termwatch::deliver::{Config, Deliverer, Security, SmtpConfig};
use termwatch::pipeline::deliver::deliver_due;
use termwatch::store::Store;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fill(store: &Store, n: usize, channel: &str, target: &str, now: i64) {
    for i in 0..n {
        let dg = format!("{channel}-dg-{i:05}");
        let client = format!("client-{}", i % 50);
        insert_digest(store, &dg, &client).await;
        let to = if channel == "email" {
            format!("ops{i}@client.example")
        } else {
            target.to_string()
        };
        let secret = (channel == "webhook").then_some("env:TW_BENCH_SECRET");
        insert_delivery(
            store,
            &format!("{channel}-{i:05}"),
            &dg,
            &client,
            channel,
            &to,
            None,
            secret,
            now,
        )
        .await;
    }
}

async fn measure(store: &Store, d: &Deliverer, cfg: &Config, label: &str, n: usize, now: i64) {
    let t = Instant::now();
    let s = deliver_due(store, d, cfg, now)
        .await
        .expect("delivery pass");
    let secs = t.elapsed().as_secs_f64();
    if s.sent != n {
        // The summary only counts; the errors say why.
        let errors: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(last_error, status), COUNT(*) FROM deliveries
             WHERE status != 'sent' GROUP BY 1 ORDER BY 2 DESC",
        )
        .fetch_all(store.pool())
        .await
        .expect("read the errors");
        for (error, count) in &errors {
            eprintln!("{label}: {count} not sent: {error}");
        }
        panic!("{label}: every message must be sent: {s:?} in {secs:.2}s");
    }
    println!(
        "{label:<28} {n} messages in {secs:.2}s = {:.0} messages/s",
        n as f64 / secs
    );
}

fn main() {
    // SAFETY: set before the runtime starts any thread.
    unsafe { std::env::set_var("TW_BENCH_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") };
    let n = env_or("BENCH_N", 5000);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        // As many sessions as termwatch opens connections (one per send in
        // flight), so a larger BENCH_CONCURRENCY is not held up by the sink.
        let smtp = SmtpSink::serving(
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
            Duration::ZERO,
            concurrency.max(32) as u32,
        );
        let hooks = HookSink::start(Duration::ZERO).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_in(dir.path()).await.expect("store");
        let mut cfg = Config {
            concurrency,
            ..Config::default()
        };
        cfg.webhook.allow_private_targets = true;
        cfg.email.from = "Termwatch <digests@termwatch.example>".into();
        let smtp_addr: std::net::SocketAddr = match std::env::var("BENCH_SMTP_ADDR") {
            Ok(a) => a
                .parse()
                .expect("BENCH_SMTP_ADDR is host:port, e.g. 127.0.0.1:8025"),
            Err(_) => smtp.addr,
        };
        cfg.smtp = Some(SmtpConfig {
            host: smtp_addr.ip().to_string(),
            port: Some(smtp_addr.port()),
            security: Security::Plain,
            username: None,
            password_env: None,
            password_file: None,
            timeout_secs: 30,
            ca_file: None,
        });
        let d = Deliverer::new(&cfg, dir.path()).expect("deliverer");
        let now = jiff::Timestamp::now().as_second();
        println!(
            "deliver bench: {n} per channel, concurrency {concurrency} per channel, SMTP server {}",
            if smtp_addr == smtp.addr {
                "in-process (mailin-embedded)".to_string()
            } else {
                smtp_addr.to_string()
            }
        );

        fill(&store, n, "email", "", now).await;
        measure(&store, &d, &cfg, "email (SMTP pool)", n, now).await;
        if smtp_addr == smtp.addr {
            assert_eq!(smtp.mails().len(), n);
        }

        fill(&store, n, "webhook", &hooks.url("/hook"), now).await;
        measure(&store, &d, &cfg, "webhook (signed, standard)", n, now).await;
        assert_eq!(hooks.hooks().len(), n);
    });
}
