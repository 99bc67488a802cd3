//! Digests: cadence windows across time zones and DST, the immediate
//! override, storing with deliveries on a real SQLite file, escaping of
//! hostile scraped text, template errors, and a preview that records nothing.

#[path = "fixtures/tailor/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::*;
use termwatch::config::Config;
use termwatch::digest::{self, Window, WindowKind};
use termwatch::model::{Cadence, ChangeKind, ClientProfile, Event, Role, Severity, Status};
use termwatch::pipeline::route::{preview, step};
use termwatch::store::Store;

async fn insert_event(store: &Store, e: &Event, fingerprint: &str, updated_at: jiff::Timestamp) {
    sqlx::query(
        "INSERT INTO events (id, kind, body, fingerprint, first_seen, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body,
           fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
    )
    .bind(&e.id)
    .bind(e.kind.as_str())
    .bind(serde_json::to_string(e).unwrap())
    .bind(fingerprint)
    .bind(e.first_seen.as_second())
    .bind(updated_at.as_second())
    .execute(store.pool())
    .await
    .unwrap();
}

/// channel, target, format, secret_ref, status, next_attempt_at
type DeliveryRow = (String, String, Option<String>, Option<String>, String, i64);

async fn count(store: &Store, table: &str) -> i64 {
    let n: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(store.pool())
        .await
        .unwrap();
    n.0
}

fn write_client(dir: &Path, id: &str, body: &str) {
    std::fs::write(
        dir.join(format!("{id}.toml")),
        format!("id = \"{id}\"\n{body}"),
    )
    .unwrap();
}

const DAILY_NY: &str = r#"
name = "Harbor IT"
role = "msp"
recipients = ["ops@harbor.example", "cto@harbor.example"]
vendors = ["Nimbus Labs"]
min_severity = "low"
cadence = "daily"
send_time = "08:00"
timezone = "America/New_York"
quiet_hours = { start = "21:00", end = "07:00" }

[[webhooks]]
url = "https://hooks.harbor.example/tw"
format = "slack"
secret_ref = "env:HARBOR_HOOK_SECRET"
"#;

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    clients: PathBuf,
    config: Config,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let clients = dir.path().join("clients");
    std::fs::create_dir(&clients).unwrap();
    let mut config = Config::default();
    config.route.playbook = None;
    config.digest.templates_dir = PathBuf::from("templates");
    Env {
        _dir: dir,
        store,
        clients,
        config,
    }
}

fn ny_daily() -> ClientProfile {
    ClientProfile {
        cadence: Cadence::Daily,
        send_time: Some("08:00".parse().unwrap()),
        timezone: "America/New_York".into(),
        ..client("ny", Role::Msp, &[])
    }
}

#[test]
fn daily_window_spans_23_hours_on_spring_forward() {
    let c = ny_daily();
    // 2026-03-08: New York moves from EST (-5) to EDT (-4).
    let slot = digest::latest_slot(&c, ts("2026-03-08T15:00:00Z")).unwrap();
    assert_eq!(slot, ts("2026-03-08T12:00:00Z"), "08:00 EDT");
    let w = digest::due_window(&c, None, ts("2026-03-08T15:00:00Z")).unwrap();
    assert_eq!(
        w.start,
        ts("2026-03-07T13:00:00Z"),
        "08:00 EST the day before"
    );
    assert_eq!(w.end.duration_since(w.start).as_hours(), 23);
}

#[test]
fn send_time_in_the_dst_gap_moves_forward() {
    let mut c = ny_daily();
    c.send_time = Some("02:30".parse().unwrap());
    // 02:30 does not exist on 2026-03-08 in New York: sent at 03:30 EDT.
    let slot = digest::latest_slot(&c, ts("2026-03-08T12:00:00Z")).unwrap();
    assert_eq!(slot, ts("2026-03-08T07:30:00Z"));
}

#[test]
fn weekly_window_spans_169_hours_across_autumn_change_in_berlin() {
    let c = ClientProfile {
        cadence: Cadence::Weekly,
        send_day: Some(1),
        send_time: Some("09:00".parse().unwrap()),
        timezone: "Europe/Berlin".into(),
        ..client("berlin", Role::Legal, &[])
    };
    // Monday 2026-10-26 09:00 CET, the day after clocks went back.
    let w = digest::due_window(&c, None, ts("2026-10-28T10:00:00Z")).unwrap();
    assert_eq!(w.end, ts("2026-10-26T08:00:00Z"));
    assert_eq!(
        w.start,
        ts("2026-10-19T07:00:00Z"),
        "previous Monday 09:00 CEST"
    );
    assert_eq!(w.end.duration_since(w.start).as_hours(), 169);
    // Once that window is done, nothing is due until the next Monday.
    assert_eq!(
        digest::due_window(&c, Some(w.end), ts("2026-11-01T10:00:00Z")),
        None
    );
    let next = digest::due_window(&c, Some(w.end), ts("2026-11-02T08:00:00Z")).unwrap();
    assert_eq!(next.end, ts("2026-11-02T08:00:00Z"));
}

#[test]
fn same_instant_different_zones_different_windows() {
    let now = ts("2026-06-01T20:00:00Z");
    let tokyo = ClientProfile {
        timezone: "Asia/Tokyo".into(),
        ..ny_daily()
    };
    let la = ClientProfile {
        timezone: "America/Los_Angeles".into(),
        ..ny_daily()
    };
    // 05:00 on 2 June in Tokyo (before 08:00): the slot is 1 June 08:00 JST.
    assert_eq!(
        digest::latest_slot(&tokyo, now),
        Some(ts("2026-05-31T23:00:00Z"))
    );
    // 13:00 on 1 June in Los Angeles: today's 08:00 PDT.
    assert_eq!(
        digest::latest_slot(&la, now),
        Some(ts("2026-06-01T15:00:00Z"))
    );
}

#[test]
fn digest_id_is_stable_per_client_and_window() {
    let w = Window {
        start: ts("2026-06-01T00:00:00Z"),
        end: ts("2026-06-02T00:00:00Z"),
        kind: WindowKind::Regular,
    };
    assert_eq!(digest::digest_id("a", &w), digest::digest_id("a", &w));
    assert_ne!(digest::digest_id("a", &w), digest::digest_id("b", &w));
    let imm = Window {
        kind: WindowKind::Immediate,
        ..w
    };
    assert_ne!(digest::digest_id("a", &w), digest::digest_id("a", &imm));
}

#[tokio::test]
async fn due_window_stores_one_digest_with_its_deliveries_once() {
    let env = env().await;
    write_client(&env.clients, "harbor", DAILY_NY);
    let e = event(
        "ev-1",
        ChangeKind::Exclusivity,
        Status::Ended,
        &["Nimbus Labs", "Corvid Cloud"],
    );
    insert_event(&env.store, &e, "fp1", ts("2026-06-01T20:00:00Z")).await;
    let other = event(
        "ev-2",
        ChangeKind::Pricing,
        Status::Changed,
        &["Someone Else"],
    );
    insert_event(&env.store, &other, "fp1", ts("2026-06-01T20:00:00Z")).await;

    // 2 June 07:59 EDT: the 1 June window has already been sent? No history,
    // so the due window is 1 June 08:00 EDT, which excludes the event at 20:00Z.
    let s = step(
        &env.store,
        &env.config,
        &env.clients,
        ts("2026-06-02T11:59:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((s.digests, s.empty_windows), (0, 1), "{s:?}");

    let now = ts("2026-06-02T12:05:00Z");
    let s = step(&env.store, &env.config, &env.clients, now)
        .await
        .unwrap();
    assert_eq!((s.digests, s.deliveries), (1, 2), "{s:?}");

    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT channel, target, format, secret_ref, status, next_attempt_at FROM deliveries ORDER BY channel",
    )
    .fetch_all(env.store.pool())
    .await
    .unwrap();
    assert_eq!(rows[0].0, "email");
    assert_eq!(rows[0].1, "ops@harbor.example,cto@harbor.example");
    assert_eq!(rows[1].0, "webhook");
    assert_eq!(rows[1].2.as_deref(), Some("slack"));
    assert_eq!(rows[1].3.as_deref(), Some("env:HARBOR_HOOK_SECRET"));
    assert!(
        rows.iter()
            .all(|r| r.4 == "pending" && r.5 == now.as_second())
    );

    let (id, window_end, subject, text, json): (String, i64, String, String, String) =
        sqlx::query_as("SELECT id, window_end, subject, text, json FROM digests")
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    assert_eq!(
        window_end,
        ts("2026-06-02T12:00:00Z").as_second(),
        "08:00 EDT"
    );
    assert!(id.starts_with("dg-"));
    assert!(subject.contains("Harbor IT") && !subject.contains('\n'));
    assert!(
        text.contains("Corvid Cloud and Nimbus Labs")
            || text.contains("Nimbus Labs and Corvid Cloud"),
        "{text}"
    );
    assert!(
        !text.contains("Someone Else"),
        "unrelated event leaked: {text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["digest"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(doc["digest"]["items"][0]["change"], "new");

    // Running the same step again stores nothing more.
    let s = step(&env.store, &env.config, &env.clients, now)
        .await
        .unwrap();
    assert_eq!(s.digests + s.immediate_digests, 0, "{s:?}");
    assert_eq!(count(&env.store, "digests").await, 1);
    assert_eq!(count(&env.store, "deliveries").await, 2);

    // The event changes: the next day's digest marks it updated.
    let mut changed = e.clone();
    changed.until = Some("2029".into());
    insert_event(&env.store, &changed, "fp2", ts("2026-06-02T18:00:00Z")).await;
    let s = step(
        &env.store,
        &env.config,
        &env.clients,
        ts("2026-06-03T12:01:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(s.digests, 1);
    let json: (String,) =
        sqlx::query_as("SELECT json FROM digests ORDER BY window_end DESC LIMIT 1")
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json.0).unwrap();
    assert_eq!(doc["digest"]["items"][0]["change"], "updated");
}

#[tokio::test]
async fn critical_event_goes_out_immediately_and_not_again() {
    let env = env().await;
    write_client(&env.clients, "harbor", DAILY_NY);
    // The client's window closed at 2 June 08:00 EDT.
    termwatch::store::digests::advance_window(&env.store, "harbor", ts("2026-06-02T12:00:00Z"))
        .await
        .unwrap();
    let mut crit = event(
        "ev-crit",
        ChangeKind::Deprecation,
        Status::Retired,
        &["Nimbus Labs"],
    );
    crit.severity = Severity::Critical;
    crit.product = Some("Nimbus-7".into());
    crit.effective = Some("2026-07-01".into());
    let calm = event(
        "ev-calm",
        ChangeKind::Investment,
        Status::Continues,
        &["Nimbus Labs"],
    );
    insert_event(&env.store, &crit, "c1", ts("2026-06-02T14:00:00Z")).await;
    insert_event(&env.store, &calm, "c1", ts("2026-06-02T14:00:00Z")).await;

    // 2 June 02:00 local (quiet hours): held back.
    let s = step(
        &env.store,
        &env.config,
        &env.clients,
        ts("2026-06-03T06:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(s.immediate_digests, 0, "quiet hours: {s:?}");

    // 2 June 11:00 local: the critical one goes out, alone.
    let s = step(
        &env.store,
        &env.config,
        &env.clients,
        ts("2026-06-02T15:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((s.digests, s.immediate_digests), (0, 1), "{s:?}");
    let (subject, json): (String, String) = sqlx::query_as("SELECT subject, json FROM digests")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert!(subject.contains("Urgent"), "{subject}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ids: Vec<&str> = doc["digest"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ev-crit"]);
    assert_eq!(doc["digest"]["immediate"], true);

    // The regular digest next morning carries the calm one only.
    let s = step(
        &env.store,
        &env.config,
        &env.clients,
        ts("2026-06-03T12:30:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((s.digests, s.immediate_digests), (1, 0), "{s:?}");
    let json: (String,) =
        sqlx::query_as("SELECT json FROM digests ORDER BY window_end DESC LIMIT 1")
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json.0).unwrap();
    let ids: Vec<&str> = doc["digest"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ev-calm"]);
}

#[tokio::test]
async fn empty_window_sends_nothing() {
    let env = env().await;
    write_client(&env.clients, "harbor", DAILY_NY);
    let e = event(
        "ev-x",
        ChangeKind::Pricing,
        Status::Changed,
        &["Unrelated Vendor"],
    );
    insert_event(&env.store, &e, "f", ts("2026-06-01T20:00:00Z")).await;
    let s = step(
        &env.store,
        &env.config,
        &env.clients,
        ts("2026-06-02T12:30:00Z"),
    )
    .await
    .unwrap();
    assert_eq!((s.digests, s.empty_windows), (0, 1));
    assert_eq!(count(&env.store, "digests").await, 0);
    assert_eq!(count(&env.store, "deliveries").await, 0);
    assert_eq!(
        count(&env.store, "client_state").await,
        1,
        "the window is still closed"
    );
}

fn hostile_event() -> Event {
    let mut e = availability(
        "ev-evil",
        "Nimbus-7\r\nBcc: victim@example.com",
        "Corvid <b>Cloud</b>",
        &["Nimbus Labs"],
    );
    e.sources = vec![source(
        "javascript:alert(1)",
        "Nimbus says <script>alert('x')</script> & \"quotes\" <img src=https://evil.example/p.png>",
    )];
    e.disputed = true;
    e
}

#[test]
fn hostile_scraped_text_is_escaped_and_subject_has_no_newlines() {
    let pb = termwatch::route::load_playbook(&termwatch::route::Config { playbook: None }).unwrap();
    let c = client("h", Role::Msp, &["Nimbus Labs"]);
    let w = Window {
        start: ts("2026-06-01T00:00:00Z"),
        end: ts("2026-06-02T00:00:00Z"),
        kind: WindowKind::Regular,
    };
    let e = std::sync::Arc::new(hostile_event());
    let d = digest::build_digest(
        &c,
        &pb,
        [(&e, digest::Change::New)],
        &w,
        w.end,
        digest::Notes::default(),
    )
    .unwrap();
    assert!(
        !d.subject.contains('\r') && !d.subject.contains('\n'),
        "{:?}",
        d.subject
    );
    let r = digest::Renderer::load(&digest::Config::default())
        .unwrap()
        .render(&d, "UTC")
        .unwrap();
    assert!(!r.html.contains("<script>"), "script survived");
    assert!(r.html.contains("&lt;script&gt;"));
    assert!(!r.html.contains("<img"), "remote image survived");
    assert!(
        !r.html.contains("<b>Cloud"),
        "markup in a platform name survived"
    );
    assert!(!r.html.contains("javascript:"), "javascript: link survived");
    assert!(r.html.contains("href=\"#\""));
    assert!(r.html.contains("Disputed"));
    assert!(r.text.contains("DISPUTED"));
    // The text body keeps scraped text on one line: no header-like line injected.
    assert!(!r.text.lines().any(|l| l.starts_with("Bcc:")), "{}", r.text);
    let doc: serde_json::Value = serde_json::from_str(&r.json).unwrap();
    assert_eq!(
        doc["digest"]["items"][0]["event"]["sources"][0]["url"],
        "javascript:alert(1)"
    );
}

#[test]
fn template_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "tests/fixtures/tailor/broken-digest.html",
        dir.path().join("digest.html"),
    )
    .unwrap();
    let cfg = digest::Config {
        templates_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let problems = digest::validate_templates(&cfg);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].file, dir.path().join("digest.html"));
    assert_eq!(problems[0].line, Some(4), "{}", problems[0]);
    assert!(digest::Renderer::load(&cfg).is_err());
    // The other two fall back to the built-in templates: no problem there.
    assert!(digest::validate_templates(&digest::Config::default()).is_empty());
}

#[test]
fn unknown_filter_is_caught_by_check_not_by_a_send() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("digest.txt"),
        "Hello\n{{ digest.client_name|shout }}\n",
    )
    .unwrap();
    let cfg = digest::Config {
        templates_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let problems = digest::validate_templates(&cfg);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, Some(2), "{}", problems[0]);
    assert!(problems[0].to_string().contains("digest.txt"));
}

#[tokio::test]
async fn preview_records_nothing() {
    let env = env().await;
    write_client(&env.clients, "harbor", DAILY_NY);
    let mut e = event(
        "ev-1",
        ChangeKind::License,
        Status::NonExclusive,
        &["Nimbus Labs", "Corvid Cloud"],
    );
    e.until = Some("2032".into());
    insert_event(&env.store, &e, "f", ts("2026-05-01T00:00:00Z")).await;
    let (d, r) = preview(
        &env.store,
        &env.config,
        &env.clients,
        "harbor",
        Some(ts("2026-01-01T00:00:00Z")),
        ts("2026-06-02T12:30:00Z"),
    )
    .await
    .unwrap()
    .expect("something to preview");
    assert_eq!(d.items.len(), 1);
    assert!(r.text.contains("2032"));
    for table in ["digests", "deliveries", "client_state", "client_sent"] {
        assert_eq!(
            count(&env.store, table).await,
            0,
            "{table} written by preview"
        );
    }
    let err = preview(
        &env.store,
        &env.config,
        &env.clients,
        "nobody",
        None,
        ts("2026-06-02T12:30:00Z"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("harbor"), "{err}");
}

#[test]
fn preview_command_prints_text_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open_in(&data).await.unwrap();
        let mut e = event(
            "ev-1",
            ChangeKind::License,
            Status::NonExclusive,
            &["Microsoft", "OpenAI"],
        );
        e.licensor = Some("OpenAI".into());
        e.licensee = Some("Microsoft".into());
        e.until = Some("2032".into());
        insert_event(&store, &e, "f", jiff::Timestamp::now()).await;
    });
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .args(["--data-dir"])
        .arg(&data)
        .args([
            "--clients",
            "clients.example",
            "digest",
            "preview",
            "harbor-clinic",
            "--text",
            "--since",
            "2026-01-01",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("Subject: [termwatch]"), "{stdout}");
    assert!(stdout.contains("until 2032"), "{stdout}");
    assert!(
        stdout.contains("Update licensing audit records"),
        "{stdout}"
    );
    rt.block_on(async {
        let store = Store::open_in(&data).await.unwrap();
        for table in ["digests", "deliveries", "client_state", "client_sent"] {
            assert_eq!(count(&store, table).await, 0, "{table}");
        }
    });
}
