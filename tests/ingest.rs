//! `termwatch ingest` and `termwatch events` as a user runs them: the real
//! binary over a SQLite store in a temporary data dir.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use termwatch::correlate::Config;
use termwatch::model::{Article, ChangeKind, Extraction, Span, Status, TermChange, Trust};
use termwatch::store::Store;

/// url, source_id, title, trust, published, extracted_at, text
type RevisionRow = (
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/correlate")
        .join(name)
}

/// The binary, run from an empty directory so no stray `termwatch.toml` or
/// `TERMWATCH_*` variable changes what it does.
fn termwatch(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_termwatch"));
    cmd.current_dir(dir)
        .env_remove("TERMWATCH_CONFIG")
        .env_remove("TERMWATCH_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .arg("--data-dir")
        .arg(dir.join("data"));
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

async fn store(dir: &Path) -> Store {
    Store::open_in(&dir.join("data"))
        .await
        .expect("store opens")
}

#[tokio::test]
async fn text_and_html_files_become_articles_like_collected_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(
        termwatch(dir.path())
            .args(["ingest", "--trust", "vendor", "--published", "2026-03-02"])
            .arg(fixture("nimbus-ends-corvid-exclusivity.txt"))
            .arg(fixture("heron-hub-listing.html")),
    );
    assert_eq!(out.matches("new article").count(), 2, "{out}");
    assert!(out.contains("from 2 revision(s)"), "{out}");

    let s = store(dir.path()).await;
    let rows: Vec<RevisionRow> = sqlx::query_as(
        "SELECT a.url, r.source_id, r.title, r.trust, r.published, r.extracted_at, r.text \
         FROM revisions r JOIN articles a ON a.id = r.article_id ORDER BY r.id",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let (url, source, title, trust, published, extracted, _) = &rows[0];
    let abs = std::path::absolute(fixture("nimbus-ends-corvid-exclusivity.txt")).unwrap();
    assert_eq!(url, &format!("file://{}", abs.display()));
    assert_eq!(source, "ingest");
    assert_eq!(
        title,
        "Nimbus Labs and Corvid Cloud open up their partnership"
    );
    assert_eq!(trust, "vendor");
    assert_eq!(*published, Some(1_772_409_600), "2026-03-02T00:00:00Z");
    assert!(extracted.is_some(), "extract ran on the new revision");
    let (_, _, title, _, _, _, text) = &rows[1];
    assert_eq!(title, "Heron AI Hub adds Nimbus-2 Pro and Nimbus-2 Mini");
    assert!(
        text.contains("Nimbus-1 will be retired") && !text.contains('<'),
        "{text}"
    );
}

#[tokio::test]
async fn the_same_file_again_is_unchanged_and_an_edit_is_a_new_revision() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::copy(fixture("nimbus-ends-corvid-exclusivity.txt"), &file).unwrap();
    let ingest = |d: &Path| {
        let mut c = termwatch(d);
        c.args(["ingest", "--url", "https://mail.example/nimbus"])
            .arg(&file);
        c
    };
    assert!(stdout(&mut ingest(dir.path())).contains("new article https://mail.example/nimbus"));
    assert!(stdout(&mut ingest(dir.path())).contains("unchanged"));
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\nUpdate: the cap is now lower.\n");
    std::fs::write(&file, text).unwrap();
    assert!(stdout(&mut ingest(dir.path())).contains("new revision"));

    let s = store(dir.path()).await;
    let counts: (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM revisions)")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(counts, (1, 2));
}

#[tokio::test]
async fn a_feed_is_commentary_and_a_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = termwatch(dir.path())
        .args(["ingest", "--trust", "feed"])
        .arg(dir.path().join("missing.txt"))
        .arg(fixture("nimbus-ends-corvid-exclusivity.txt"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a missing file fails the command");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing.txt") && err.contains("check the path"),
        "{err}"
    );
    let s = store(dir.path()).await;
    let trust: (String,) = sqlx::query_as("SELECT trust FROM revisions")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(trust.0, "commentary");
}

#[test]
fn bad_flags_say_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture("nimbus-ends-corvid-exclusivity.txt");
    let err = |args: &[&str]| {
        let out = termwatch(dir.path()).args(args).arg(&f).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(err(&["ingest", "--published", "2026-13-40"]).contains("write YYYY-MM-DD"));
    assert!(err(&["ingest", "--trust", "rumour"]).contains("vendor, news or commentary"));
    assert!(err(&["ingest", "--url", "not a url"]).contains("https://host/path"));
    let two = termwatch(dir.path())
        .args(["ingest", "--url", "https://a.example/1"])
        .arg(&f)
        .arg(&f)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&two.stderr).contains("once per file"));
}

fn change(kind: ChangeKind, status: Status, evidence: &str) -> TermChange {
    TermChange {
        kind,
        parties: vec!["Corvid Cloud".into(), "Nimbus Labs".into()],
        licensor: None,
        licensee: None,
        payer: None,
        payee: None,
        product: None,
        platform: None,
        status,
        exclusive: Some(false),
        until: None,
        effective: None,
        evidence: evidence.into(),
        span: Span {
            start: 0,
            end: evidence.chars().count(),
        },
        confidence: 0.9,
    }
}

/// Two newsrooms disagree on an exclusivity; one vendor post announces a
/// listing. Stored through the library, since the extractor is not ours.
async fn seed(dir: &Path) {
    let s = store(dir).await;
    let day = |d: &str| -> jiff::Timestamp { format!("{d}T00:00:00Z").parse().unwrap() };
    let items = [
        (
            "https://wire.example/1",
            "2026-03-02",
            Trust::News,
            change(
                ChangeKind::Exclusivity,
                Status::Ended,
                "Corvid no longer holds exclusive rights.",
            ),
        ),
        (
            "https://paper.example/2",
            "2026-03-03",
            Trust::News,
            change(
                ChangeKind::Exclusivity,
                Status::Continues,
                "Corvid keeps its exclusive rights.",
            ),
        ),
        ("https://nimbus.example/3", "2026-01-10", Trust::Vendor, {
            let mut c = change(
                ChangeKind::Availability,
                Status::Available,
                "Nimbus-2 Pro is available on Heron AI Hub.",
            );
            c.product = Some("Nimbus-2 Pro".into());
            c.platform = Some("Heron AI Hub".into());
            c.exclusive = None;
            c
        }),
    ];
    for (url, d, trust, c) in items {
        let text = c.evidence.clone();
        let a = Article {
            source_id: "test".into(),
            url: url.into(),
            guid: None,
            title: format!("Title of {url}"),
            content_hash: Article::hash_content(url, &text),
            published: Some(day(d)),
            author: None,
            text,
            fetched_at: day(d),
            trust,
            organisation: None,
        };
        termwatch::store::changes::store_article(&s, &a)
            .await
            .unwrap();
        let c = c.clone();
        termwatch::pipeline::extract::run_with(&s, day(d), move |_| Extraction {
            changes: vec![c.clone()],
            ..Extraction::default()
        })
        .await
        .unwrap();
    }
    termwatch::pipeline::correlate::run(&s, &Config::default(), day("2026-03-04"))
        .await
        .unwrap();
}

#[tokio::test]
async fn events_json_has_what_clients_cite_and_filters_work() {
    let dir = tempfile::tempdir().unwrap();
    let empty: serde_json::Value =
        serde_json::from_str(&stdout(termwatch(dir.path()).args(["events", "--json"]))).unwrap();
    assert_eq!(empty, serde_json::json!({ "events": [] }));

    seed(dir.path()).await;
    let all: serde_json::Value =
        serde_json::from_str(&stdout(termwatch(dir.path()).args(["events", "--json"]))).unwrap();
    let events = all["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let excl = events.iter().find(|e| e["kind"] == "exclusivity").unwrap();
    for field in [
        "id",
        "parties",
        "licensor",
        "payer",
        "product",
        "platform",
        "status",
        "exclusive",
        "until",
        "effective",
        "severity",
        "confidence",
        "disputed",
        "claims",
        "sources",
        "history",
    ] {
        assert!(excl.get(field).is_some(), "missing {field}: {excl:#}");
    }
    assert_eq!(excl["disputed"], true);
    assert_eq!(excl["claims"].as_array().unwrap().len(), 2);
    let src = &excl["sources"][0];
    assert_eq!(src["url"], "https://wire.example/1");
    assert_eq!(src["title"], "Title of https://wire.example/1");
    assert_eq!(src["trust"], "news");
    assert_eq!(
        src["confidence"],
        serde_json::json!(0.9),
        "printed as written, not widened"
    );
    assert_eq!(src["evidence"], "Corvid no longer holds exclusive rights.");
    assert!(src["published"].as_str().unwrap().starts_with("2026-03-02"));

    let disputed: serde_json::Value = serde_json::from_str(&stdout(termwatch(dir.path()).args([
        "events",
        "--json",
        "--disputed",
    ])))
    .unwrap();
    assert_eq!(disputed["events"].as_array().unwrap().len(), 1);
    let since: serde_json::Value = serde_json::from_str(&stdout(termwatch(dir.path()).args([
        "events",
        "--json",
        "--since",
        "2026-02-01",
    ])))
    .unwrap();
    assert_eq!(
        since["events"][0]["kind"], "exclusivity",
        "the January listing is older"
    );
    assert_eq!(since["events"].as_array().unwrap().len(), 1);

    let table = stdout(termwatch(dir.path()).arg("events"));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("KIND") && lines[0].contains("SEVERITY"),
        "{table}"
    );
    let excl_line = lines.iter().find(|l| l.contains("exclusivity")).unwrap();
    assert!(
        excl_line.contains("Corvid Cloud + Nimbus Labs") && excl_line.ends_with("DISPUTED"),
        "{table}"
    );
    let listing = lines.iter().find(|l| l.contains("availability")).unwrap();
    assert!(
        listing.contains("Nimbus-2 Pro on Heron AI Hub") && !listing.contains("DISPUTED"),
        "{table}"
    );
}

/// Issue 12: signals are stored with the revision they were read from and
/// listed by `termwatch signals`, as a table and as JSON, filtered by date.
#[test]
fn ingested_article_signals_are_stored_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("talvik.txt");
    std::fs::write(
        &file,
        "Talvik Labs news\n\nTalvik Labs announced an exclusive arrangement for its Orca models.\n",
    )
    .unwrap();
    stdout(
        termwatch(dir.path())
            .args(["ingest", "--trust", "vendor", "--published", "2026-03-02"])
            .arg(&file),
    );

    let table = stdout(termwatch(dir.path()).arg("signals"));
    assert!(table.contains("exclusivity"), "{table}");
    assert!(table.contains("a second party"), "{table}");
    assert!(table.contains("talvik.txt"), "{table}");

    let json = stdout(termwatch(dir.path()).args(["signals", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let list = v["signals"].as_array().expect("signals array");
    assert_eq!(list.len(), 1, "{json}");
    let s = &list[0];
    assert_eq!(s["kind"], "exclusivity");
    assert_eq!(s["missing"], "a second party");
    assert_eq!(
        s["evidence"],
        "Talvik Labs announced an exclusive arrangement for its Orca models."
    );
    assert!(s["url"].as_str().unwrap().ends_with("talvik.txt"), "{json}");

    // Extracted today: a date after today filters it out.
    let later = stdout(termwatch(dir.path()).args(["signals", "--json", "--since", "2999-01-01"]));
    let v: serde_json::Value = serde_json::from_str(&later).expect("json");
    assert!(v["signals"].as_array().unwrap().is_empty(), "{later}");

    // Ingesting the same file again does not double them.
    stdout(termwatch(dir.path()).args(["ingest"]).arg(&file));
    let again = stdout(termwatch(dir.path()).args(["signals", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&again).expect("json");
    assert_eq!(v["signals"].as_array().unwrap().len(), 1, "{again}");
}
