//! Issue 11, "Secrets never leave" and "Two processes, one outbox": each test
//! is named for the finding it pins down. Real peers: mailin-embedded for
//! SMTP (slow where a test needs a send in flight), an SMTP stand-in only
//! where a login is needed (mailin offers AUTH only under TLS), an axum
//! webhook receiver, SQLite on disk, the release-shaped binary for what only
//! a process shows (its log, its exit, its signals, its lock).

#[path = "fixtures/deliver/support.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use support::{HookSink, SmtpSink, insert_delivery, insert_digest};
use termwatch::deliver::{Config, Deliverer, Security, SmtpConfig};
use termwatch::pipeline::deliver::{deliver_due, webhook_urls};
use termwatch::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_termwatch");
const NOW: i64 = 1_800_000_000;

/// An SMTP server that takes any login (AUTH PLAIN and LOGIN) over plain
/// TCP, and records what it was sent: the decoded logins and the messages.
struct LoginSmtp {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl LoginSmtp {
    fn start() -> LoginSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = serve_login_session(conn, &log);
                });
            }
        });
        LoginSmtp { addr, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_login_session(conn: std::net::TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut out = conn.try_clone()?;
    let mut lines = BufReader::new(conn);
    let mut next = move || -> std::io::Result<String> {
        let mut l = String::new();
        lines.read_line(&mut l)?;
        Ok(l.trim_end().to_string())
    };
    let b64 = |s: &str| {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .unwrap_or_default();
        String::from_utf8_lossy(&raw).replace('\0', " ")
    };
    out.write_all(b"220 stand-in ESMTP\r\n")?;
    loop {
        let line = next()?;
        let upper = line.to_ascii_uppercase();
        if line.is_empty() && upper.is_empty() {
            return Ok(());
        }
        if upper.starts_with("EHLO") {
            out.write_all(b"250-stand-in\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")?;
        } else if let Some(arg) = upper.strip_prefix("AUTH PLAIN") {
            let creds = if arg.trim().is_empty() {
                out.write_all(b"334 \r\n")?;
                next()?
            } else {
                line["AUTH PLAIN".len()..].to_string()
            };
            log.lock().unwrap().push(format!("login{}", b64(&creds)));
            out.write_all(b"235 2.7.0 ok\r\n")?;
        } else if upper.starts_with("AUTH LOGIN") {
            out.write_all(b"334 VXNlcm5hbWU6\r\n")?;
            let user = b64(&next()?);
            out.write_all(b"334 UGFzc3dvcmQ6\r\n")?;
            let pw = b64(&next()?);
            log.lock().unwrap().push(format!("login {user} {pw}"));
            out.write_all(b"235 2.7.0 ok\r\n")?;
        } else if upper.starts_with("DATA") {
            out.write_all(b"354 go ahead\r\n")?;
            while next()? != "." {}
            log.lock().unwrap().push("message".into());
            out.write_all(b"250 2.0.0 queued\r\n")?;
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"250 ok\r\n")?;
        }
    }
}

/// A data dir whose outbox holds one email delivery of one digest, due long ago.
async fn data_dir_with_one_email(dir: &Path, client: &str, to: &str) {
    let s = Store::open_in(dir).await.unwrap();
    insert_digest(&s, &format!("dg-{client}"), client).await;
    insert_delivery(
        &s,
        &format!("dl-{client}"),
        &format!("dg-{client}"),
        client,
        "email",
        to,
        None,
        None,
        0,
    )
    .await;
    s.pool().close().await;
}

/// The binary, from `dir`, on `dir/d` with `dir/termwatch.toml`, no
/// inherited logging or configuration.
fn termwatch(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("RUST_LOG")
        .args(["--config", "termwatch.toml", "--data-dir", "d"])
        .args(["--sources", "s", "--clients", "c"]);
    for (k, _) in std::env::vars() {
        if k.starts_with("TERMWATCH_") {
            c.env_remove(k);
        }
    }
    c
}

fn printed(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_config(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir.join("s")).unwrap();
    std::fs::create_dir_all(dir.join("c")).unwrap();
    std::fs::write(dir.join("termwatch.toml"), text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_auth_and_message_bodies_never_reach_the_log_at_any_verbosity() {
    let smtp = LoginSmtp::start();
    let dir = tempfile::tempdir().unwrap();
    let password = "Correct-Horse-7f3e-SMTP";
    write_config(
        dir.path(),
        &format!(
            "[deliver.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"tw\"\npassword_env = \"TW_TEST_SMTP_PW\"\n",
            smtp.addr.port()
        ),
    );
    data_dir_with_one_email(&dir.path().join("d"), "corvid", "ana@corvid.example").await;
    let out = termwatch(dir.path())
        .env("TW_TEST_SMTP_PW", password)
        .args(["-vvv", "run", "--once"])
        .output()
        .unwrap();
    let log = printed(&out);
    assert!(out.status.success(), "{log}");
    // The password did go to the server, so its absence below means something.
    let seen = smtp.seen();
    assert!(
        seen.iter().any(|l| l.contains(password)),
        "no login reached the server: {seen:?}\n{log}"
    );
    assert!(seen.contains(&"message".to_string()), "{seen:?}\n{log}");
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [
        password.to_string(),
        b64.encode(format!("\0tw\0{password}")),
        b64.encode(password),
    ] {
        assert!(!log.contains(&secret), "{secret} printed:\n{log}");
    }
    assert!(
        !log.contains("exclusivity ended"),
        "a message body was logged:\n{log}"
    );
}

#[test]
fn database_url_password_and_env_values_are_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    for verbosity in [None, Some("-vv")] {
        let mut c = termwatch(dir.path());
        c.env(
            "TERMWATCH_DATABASE_URL",
            "postgres://tw:SECRETPW@127.0.0.1:1/x",
        );
        c.args(verbosity).arg("deliveries");
        let out = c.output().unwrap();
        let text = printed(&out);
        assert!(!text.contains("SECRETPW"), "{verbosity:?}: {text}");
        assert!(text.contains("tw:***@127.0.0.1"), "{verbosity:?}: {text}");
    }
    let out = termwatch(dir.path())
        .env("TERMWATCH_DELIVER__SMTP__PORT", "hunter2-in-the-port")
        .arg("deliveries")
        .output()
        .unwrap();
    let text = printed(&out);
    assert!(!out.status.success());
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("TERMWATCH_DELIVER__SMTP__PORT") && text.contains("expected u16"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_smtp_login_to_a_remote_host_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        smtp: Some(SmtpConfig {
            host: "192.0.2.25".into(),
            port: Some(25),
            security: Security::Plain,
            username: Some("tw".into()),
            password_env: Some("PATH".into()),
            password_file: None,
            timeout_secs: 3,
            ca_file: None,
        }),
        ..Config::default()
    };
    let err = Deliverer::new(&cfg, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("in the clear") && err.contains("security = \"starttls\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_urls_are_resolved_from_the_profile_never_stored_in_the_outbox() {
    let hooks = HookSink::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients");
    std::fs::create_dir_all(&clients).unwrap();
    let url = hooks.url("/services/T0AAA/B0BBB/BearerTokenXYZ123");
    std::fs::write(
        clients.join("harbor.toml"),
        format!(
            "id = \"harbor\"\nname = \"Harbor IT\"\nrole = \"msp\"\nvendors = [\"Microsoft\"]\ncadence = \"immediate\"\ntimezone = \"Europe/Berlin\"\n\n[[webhooks]]\nformat = \"slack\"\nurl = \"{url}\"\n"
        ),
    )
    .unwrap();
    let (profiles, problems) = termwatch::route::load_clients(&clients);
    assert!(problems.is_empty(), "{problems:?}");
    let rows = termwatch::pipeline::route::deliveries_for(&profiles[0]);
    assert!(!rows[0].target.contains("BearerTokenXYZ123"), "{rows:?}");

    let data = dir.path().join("data");
    let s = Store::open_in(&data).await.unwrap();
    insert_digest(&s, "dg-h", "harbor").await;
    insert_delivery(
        &s,
        "dl-h",
        "dg-h",
        "harbor",
        "webhook",
        &rows[0].target,
        Some("slack"),
        None,
        NOW,
    )
    .await;
    let mut cfg = Config::default();
    cfg.webhook.allow_private_targets = true;
    let d = Deliverer::new(&cfg, &data)
        .unwrap()
        .with_webhook_urls(webhook_urls(&clients));
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().sent, 1);
    let got = hooks.hooks();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/services/T0AAA/B0BBB/BearerTokenXYZ123");
    s.pool().close().await;
    for f in std::fs::read_dir(&data).unwrap().flatten() {
        if f.path().is_file() {
            let bytes = std::fs::read(f.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("BearerTokenXYZ123"),
                "the webhook token is in {}",
                f.path().display()
            );
        }
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_data_dir_database_and_outbox_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Store::open_in(&data).await.unwrap();
    insert_digest(&s, "dg-o", "corvid").await;
    insert_delivery(
        &s,
        "dl-o",
        "dg-o",
        "corvid",
        "email",
        "ana@corvid.example",
        None,
        None,
        NOW,
    )
    .await;
    let cfg = Config::default();
    let d = Deliverer::new(&cfg, &data).unwrap();
    assert_eq!(deliver_due(&s, &d, &cfg, NOW).await.unwrap().sent, 1);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&data.join("termwatch.db")), 0o600, "database");
    let outbox = cfg.outbox_dir(&data);
    assert_eq!(mode(&outbox), 0o700, "outbox dir");
    for f in std::fs::read_dir(&outbox).unwrap().flatten() {
        assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
    }
}

/// Two workers, each with its own pool on the same SQLite file, one send at
/// a time each, a lease of 1 s and a server taking 2.5 s a message: on the
/// old code the second took the first's claims, born expired or run out
/// while the first was sending, and sent them again.
#[tokio::test(flavor = "multi_thread")]
async fn leases_shorter_than_a_slow_send_never_let_a_second_claimer_resend() {
    let sink = SmtpSink::start(Duration::from_millis(2500));
    let dir = tempfile::tempdir().unwrap();
    let clients = ["c1", "c2", "c3", "c4"];
    {
        let s = Store::open_in(dir.path()).await.unwrap();
        for c in clients {
            insert_digest(&s, &format!("dg-{c}"), c).await;
            insert_delivery(
                &s,
                &format!("dl-{c}"),
                &format!("dg-{c}"),
                c,
                "email",
                &format!("{c}@example.com"),
                None,
                None,
                NOW,
            )
            .await;
        }
    }
    let mut cfg = Config {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(sink.addr.port()),
            security: Security::Plain,
            username: None,
            password_env: None,
            password_file: None,
            timeout_secs: 30,
            ca_file: None,
        }),
        ..Config::default()
    };
    cfg.lease_secs = 1;
    cfg.concurrency = 1;
    let worker = |start_after: Duration| {
        let cfg = cfg.clone();
        let path = dir.path().to_path_buf();
        tokio::spawn(async move {
            tokio::time::sleep(start_after).await;
            let s = Store::open_in(&path).await.unwrap();
            let d = Deliverer::new(&cfg, &path).unwrap();
            deliver_due(&s, &d, &cfg, NOW).await.unwrap()
        })
    };
    // The second starts once the first is sending, past the first's lease.
    let (a, b) = (worker(Duration::ZERO), worker(Duration::from_millis(1500)));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mails = sink.mails();
    let mut seen = std::collections::HashMap::new();
    for m in &mails {
        for to in &m.to {
            *seen
                .entry((to.clone(), m.header("Message-ID").unwrap_or_default()))
                .or_insert(0) += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?} ({a:?}, {b:?})");
    assert_eq!(seen.len(), clients.len(), "{seen:?}");
    assert_eq!(a.sent + b.sent, clients.len(), "{a:?} {b:?}");
}

fn spawn_worker(dir: &Path) -> Child {
    termwatch(dir)
        .arg("run")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits for the process to end; kills it and fails after `secs` (a hang).
fn wait_exit(mut child: Child, secs: u64) -> Output {
    for _ in 0..secs * 10 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("still running after {secs} s: {}", printed(&out));
}

/// A backlog of `n` email deliveries to a server taking `delay` a message,
/// one send at a time, with `extra` in `[deliver]`.
async fn backlog(dir: &Path, n: usize, delay: Duration, extra: &str) -> SmtpSink {
    let sink = SmtpSink::start(delay);
    write_config(
        dir,
        &format!(
            "[deliver]\nconcurrency = 1\n{extra}\n[deliver.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n",
            sink.addr.port()
        ),
    );
    let data = dir.join("d");
    let s = Store::open_in(&data).await.unwrap();
    for i in 0..n {
        insert_digest(&s, &format!("dg-{i}"), &format!("c{i}")).await;
        insert_delivery(
            &s,
            &format!("dl-{i}"),
            &format!("dg-{i}"),
            &format!("c{i}"),
            "email",
            &format!("c{i}@example.com"),
            None,
            None,
            0,
        )
        .await;
    }
    s.pool().close().await;
    sink
}

async fn statuses(data: &Path) -> Vec<(String, Option<i64>)> {
    let s = Store::open_in(data).await.unwrap();
    let rows = sqlx::query_as("SELECT status, claimed_until FROM deliveries ORDER BY id")
        .fetch_all(s.pool())
        .await
        .unwrap();
    s.pool().close().await;
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_claiming_at_once_and_the_backlog_stays_pending() {
    let dir = tempfile::tempdir().unwrap();
    let sink = backlog(dir.path(), 6, Duration::from_millis(1500), "").await;
    let child = spawn_worker(dir.path());
    assert!(
        support::wait_until(60, || !sink.mails().is_empty()).await,
        "no send started"
    );
    signal(&child, "-TERM");
    let out = wait_exit(child, 60);
    assert!(out.status.success(), "{}", printed(&out));
    let rows = statuses(&dir.path().join("d")).await;
    let sent = rows.iter().filter(|(s, _)| s == "sent").count();
    assert_eq!(
        sent,
        sink.mails().len(),
        "every send that happened is recorded"
    );
    assert!(
        sent < rows.len(),
        "the backlog was sent to the end: {rows:?}"
    );
    assert!(
        rows.iter()
            .all(|(s, c)| s == "sent" || (s == "pending" && c.is_none())),
        "left pending and unclaimed: {rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_longer_than_the_shutdown_grace_is_cut_off_and_released() {
    let dir = tempfile::tempdir().unwrap();
    let sink = backlog(
        dir.path(),
        2,
        Duration::from_secs(120),
        "shutdown_grace_secs = 1",
    )
    .await;
    let child = spawn_worker(dir.path());
    let lock = dir.path().join("d/termwatch.lock");
    assert!(
        support::wait_until(30, || std::fs::read_to_string(&lock)
            .is_ok_and(|pid| pid == child.id().to_string()))
        .await
    );
    // The first message is in flight once the server holds its claim.
    let data = dir.path().join("d");
    let mut in_flight = false;
    for _ in 0..300 {
        if statuses(&data).await.iter().any(|(_, c)| c.is_some()) {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(in_flight, "no send started");
    signal(&child, "-TERM");
    let out = wait_exit(child, 60);
    assert!(out.status.success(), "{}", printed(&out));
    assert!(sink.mails().is_empty());
    let rows = statuses(&data).await;
    assert!(
        rows.iter().all(|(s, c)| s == "pending" && c.is_none()),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let _sink = backlog(
        dir.path(),
        1,
        Duration::from_secs(120),
        "shutdown_grace_secs = 600",
    )
    .await;
    let child = spawn_worker(dir.path());
    let data = dir.path().join("d");
    let mut in_flight = false;
    for _ in 0..300 {
        if statuses(&data).await.iter().any(|(_, c)| c.is_some()) {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(in_flight, "no send started");
    signal(&child, "-TERM");
    signal(&child, "-INT");
    let out = wait_exit(child, 60);
    // 143 or 130, for whichever of the two it took second; never success.
    assert!(
        matches!(out.status.code(), Some(130 | 143)),
        "{:?}: {}",
        out.status,
        printed(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_worker_on_the_same_data_dir_refuses_naming_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    data_dir_with_one_email(&dir.path().join("d"), "corvid", "ana@corvid.example").await;
    let first = spawn_worker(dir.path());
    let lock = dir.path().join("d/termwatch.lock");
    let pid = first.id().to_string();
    assert!(
        support::wait_until(30, || std::fs::read_to_string(&lock)
            .is_ok_and(|p| p == pid))
        .await
    );
    for args in [
        &["deliveries", "send"][..],
        &["run", "--once"][..],
        &["run"][..],
    ] {
        let out = termwatch(dir.path()).args(args).output().unwrap();
        let text = printed(&out);
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(
            text.contains("already owns the data dir") && text.contains(&pid),
            "{args:?}: {text}"
        );
    }
    let out = termwatch(dir.path()).arg("deliveries").output().unwrap();
    assert!(
        out.status.success(),
        "reading beside a worker: {}",
        printed(&out)
    );
    signal(&first, "-TERM");
    assert!(wait_exit(first, 60).status.success());
    let out = termwatch(dir.path())
        .args(["deliveries", "send"])
        .output()
        .unwrap();
    assert!(out.status.success(), "free again: {}", printed(&out));
}
