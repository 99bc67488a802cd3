//! The collect stage end to end: real fixture servers on 127.0.0.1, real
//! SQLite in a temp dir, `pipeline::run_once` and the binary's commands.

mod common;

use std::time::Duration;

use common::{FixtureServer, Route, Workspace, feed_source};
use indicatif::ProgressBar;
use termwatch::pipeline::{self, PassReport};
use termwatch::store::articles;
use tokio::sync::watch;

async fn pass(ws: &Workspace) -> PassReport {
    let (_tx, rx) = watch::channel(false);
    pipeline::run_once(&ws.config, &ws.paths, &ProgressBar::hidden(), rx)
        .await
        .expect("a pass never fails because of a source")
}

fn failure<'a>(report: &'a PassReport, id: &str) -> &'a str {
    report
        .collect
        .failed
        .iter()
        .find(|(s, _)| s == id)
        .map(|(_, e)| e.as_str())
        .unwrap_or_else(|| panic!("{id} did not fail: {:?}", report.collect))
}

async fn server_with_formats() -> FixtureServer {
    let s = FixtureServer::start().await;
    s.fixture("/nimbus.xml", "application/rss+xml", "rss-nimbus.xml");
    s.fixture("/corvid.atom", "application/atom+xml", "atom-corvid.atom");
    s.fixture("/heron.json", "application/feed+json", "json-heron.json");
    s.fixture("/news/", "text/html", "listing-ibis.html");
    s.fixture(
        "/news/ibis-gpu-capacity",
        "text/html",
        "article-ibis-gpu-capacity.html",
    );
    s.fixture(
        "/news/ibis-exclusive-ends",
        "text/html",
        "article-ibis-exclusive-ends.html",
    );
    s
}

fn html_source(id: &str, url: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nurl = \"{url}\"\nkind = \"html\"\nschedule = \"0 * * * *\"\ntrust = \"vendor\"\norganisation = \"Ibis Systems\"\nselectors = {{ item = \"div.post-card\", link = \"a.more\", title = \"h3\", date = \"time\", body = \"article.story\" }}\n\n"
    )
}

#[tokio::test]
async fn rss_atom_json_feed_and_html_listing_become_articles() {
    let s = server_with_formats().await;
    let ws = Workspace::new();
    ws.sources(
        "vendors.toml",
        &[
            feed_source("nimbus", &s.url("/nimbus.xml")),
            feed_source("corvid", &s.url("/corvid.atom")),
            feed_source("heron", &s.url("/heron.json")),
            html_source("ibis", &s.url("/news/")),
        ]
        .concat(),
    );
    let report = pass(&ws).await;
    let c = &report.collect;
    assert_eq!(
        (c.polled, c.new_articles, c.failed.len()),
        (4, 8, 0),
        "{c:?}"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let store = ws.store().await;
    // RSS: content:encoded wins over the teaser description; utm_ dropped.
    let nimbus = articles::revisions(&store, "https://nimbus.example/blog/corvid-partnership")
        .await
        .unwrap();
    assert_eq!(nimbus.len(), 1);
    assert_eq!(
        nimbus[0].text,
        "Nimbus Labs models will be available on Corvid Cloud from June.\n\nThe arrangement is no longer exclusive & other clouds may follow."
    );
    assert_eq!(
        nimbus[0].published,
        Some("2026-05-01T09:00:00Z".parse().unwrap())
    );
    let drizzle = articles::revisions(&store, "https://nimbus.example/blog/drizzle-retired")
        .await
        .unwrap();
    assert!(
        drizzle[0]
            .text
            .contains("- Migrate to Drizzle-2.\n- Pricing is unchanged."),
        "{}",
        drizzle[0].text
    );
    // Atom: relative links resolved against the feed URL, HTML title decoded.
    let corvid = articles::revisions(&store, &s.url("/updates/heron-compute"))
        .await
        .unwrap();
    assert_eq!(
        corvid[0].title,
        "Corvid Cloud & Heron AI sign a compute deal"
    );
    assert_eq!(corvid[0].author.as_deref(), Some("Corvid Cloud newsroom"));
    assert!(corvid[0].text.contains("through 2030"));
    // JSON Feed, both content_html and content_text.
    let heron = articles::revisions(&store, "https://heron.example/journal/revenue-share")
        .await
        .unwrap();
    assert_eq!(
        heron[0].text,
        "Partners keep 80 percent of marketplace revenue from August."
    );
    // HTML listing: article pages fetched, body selector keeps boilerplate out.
    let ibis = articles::revisions(&store, &s.url("/news/ibis-gpu-capacity"))
        .await
        .unwrap();
    assert_eq!(
        ibis[0].title,
        "Ibis Systems doubles GPU capacity for partners"
    );
    assert!(ibis[0].text.contains("western region"), "{}", ibis[0].text);
    assert!(
        !ibis[0].text.contains("Related articles"),
        "{}",
        ibis[0].text
    );
    assert!(
        !ibis[0].text.contains("Share on social"),
        "{}",
        ibis[0].text
    );
    assert_eq!(ibis[0].organisation.as_deref(), Some("Ibis Systems"));
    assert_eq!(ibis[0].trust, termwatch::model::Trust::Vendor);
    // Every request carried our descriptive User-Agent.
    assert!(
        s.hits()
            .iter()
            .all(|h| h.user_agent.starts_with("termwatch/") && h.user_agent.contains("+http"))
    );
}

#[tokio::test]
async fn teaser_item_gets_its_page_fetched_once() {
    let s = FixtureServer::start().await;
    s.fixture("/kestrel.xml", "application/rss+xml", "rss-teaser.xml");
    s.fixture(
        "/posts/new-region",
        "text/html",
        "article-kestrel-new-region.html",
    );
    let ws = Workspace::new();
    ws.sources("k.toml", &feed_source("kestrel", &s.url("/kestrel.xml")));
    pass(&ws).await;
    let store = ws.store().await;
    let revs = articles::revisions(&store, &s.url("/posts/new-region"))
        .await
        .unwrap();
    assert!(
        revs[0].text.contains("new northern region"),
        "{}",
        revs[0].text
    );
    assert_eq!(revs[0].author.as_deref(), Some("Kestrel team"));
    pass(&ws).await;
    assert_eq!(
        s.statuses("/posts/new-region"),
        vec![200],
        "a known page is not fetched again"
    );
}

#[tokio::test]
async fn second_run_gets_304_and_parses_nothing() {
    let s = FixtureServer::start().await;
    let body = std::fs::read(common::fixture("rss-nimbus.xml")).unwrap();
    s.set(
        "/nimbus.xml",
        Route::ok("application/rss+xml", body).etag("\"v1\""),
    );
    s.set(
        "/corvid.atom",
        Route::ok(
            "application/atom+xml",
            std::fs::read(common::fixture("atom-corvid.atom")).unwrap(),
        )
        .header("last-modified", "Sun, 03 May 2026 10:00:00 GMT"),
    );
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("nimbus", &s.url("/nimbus.xml")),
            feed_source("corvid", &s.url("/corvid.atom")),
        ]
        .concat(),
    );
    let first = pass(&ws).await;
    assert_eq!(first.collect.new_articles, 4);
    // Serve the ETag route with a body that would fail to parse: a 304 must
    // not be parsed at all, so the pass still succeeds.
    s.set(
        "/nimbus.xml",
        Route::ok("application/rss+xml", "not a feed").etag("\"v1\""),
    );
    let second = pass(&ws).await;
    assert_eq!(s.statuses("/nimbus.xml"), vec![200, 304]);
    let c = &second.collect;
    assert_eq!(
        (c.polled, c.not_modified, c.new_articles, c.failed.len()),
        (2, 1, 0, 0),
        "{c:?}"
    );
    // The Last-Modified source has no 304 support on this server: it is
    // fetched and parsed again but adds nothing.
    assert_eq!(c.new_revisions, 0);
}

#[tokio::test]
async fn robots_disallow_is_honoured() {
    let s = FixtureServer::start().await;
    s.set(
        "/robots.txt",
        Route::ok("text/plain", "User-agent: *\nDisallow: /private/\n"),
    );
    s.fixture("/private/feed.xml", "application/rss+xml", "rss-nimbus.xml");
    s.fixture(
        "/public/feed.atom",
        "application/atom+xml",
        "atom-corvid.atom",
    );
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("hidden", &s.url("/private/feed.xml")),
            feed_source("open", &s.url("/public/feed.atom")),
        ]
        .concat(),
    );
    let report = pass(&ws).await;
    let err = failure(&report, "hidden");
    assert!(
        err.contains("robots.txt") && err.contains("/private/feed.xml"),
        "{err}"
    );
    assert!(
        s.statuses("/private/feed.xml").is_empty(),
        "the disallowed path was never requested"
    );
    assert_eq!(
        s.statuses("/robots.txt").len(),
        1,
        "robots.txt is fetched once per host"
    );
    assert_eq!(
        report.collect.new_articles, 2,
        "the allowed source still works"
    );
}

#[tokio::test]
async fn too_many_requests_with_retry_after_defers_the_source() {
    let s = FixtureServer::start().await;
    s.set("/busy.xml", Route::status(429).header("retry-after", "120"));
    let ws = Workspace::new();
    ws.sources("s.toml", &feed_source("busy", &s.url("/busy.xml")));
    let report = pass(&ws).await;
    let err = failure(&report, "busy");
    assert!(err.contains("429") && err.contains("slow down"), "{err}");
    let store = ws.store().await;
    let state = articles::load_states(&store)
        .await
        .unwrap()
        .remove("busy")
        .unwrap();
    let wait = state
        .retry_after
        .unwrap()
        .duration_since(jiff::Timestamp::now())
        .as_secs();
    assert!((100..=120).contains(&wait), "retry_after {wait}s from now");
    assert_eq!(state.consecutive_failures, 1);
    // `run --once` still honours what the server asked for.
    let again = pass(&ws).await;
    assert_eq!(again.collect.deferred.len(), 1);
    assert_eq!(again.collect.polled, 0);
    assert_eq!(s.statuses("/busy.xml"), vec![429]);
}

#[tokio::test]
async fn gzip_body_over_the_cap_is_cut_off() {
    let s = FixtureServer::start().await;
    // 4 KiB on the wire, 4 MiB once decompressed.
    let gz = std::fs::read(common::fixture("bomb-over-cap.xml.gz")).unwrap();
    s.set(
        "/bomb.xml",
        Route::ok("application/rss+xml", gz).header("content-encoding", "gzip"),
    );
    let mut ws = Workspace::new();
    ws.config.collect.max_body_bytes = 1024 * 1024;
    ws.sources("s.toml", &feed_source("bomb", &s.url("/bomb.xml")));
    let report = pass(&ws).await;
    let err = failure(&report, "bomb");
    assert!(
        err.contains("larger than 1048576 bytes") && err.contains("after decompression"),
        "{err}"
    );
}

#[tokio::test]
async fn slow_server_times_out_and_others_are_unaffected() {
    let s = FixtureServer::start().await;
    s.set(
        "/slow.xml",
        Route::ok("application/rss+xml", "<rss/>").delay(Duration::from_secs(10)),
    );
    s.fixture("/fast.json", "application/feed+json", "json-heron.json");
    let mut ws = Workspace::new();
    ws.config.collect.total_timeout_secs = 1;
    ws.sources(
        "s.toml",
        &[
            feed_source("slow", &s.url("/slow.xml")),
            feed_source("fast", &s.url("/fast.json")),
        ]
        .concat(),
    );
    let started = std::time::Instant::now();
    let report = pass(&ws).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the pass did not wait for the slow server"
    );
    let err = failure(&report, "slow");
    assert!(
        err.contains("no answer") && err.contains("within 1 s"),
        "{err}"
    );
    assert_eq!(report.collect.new_articles, 2);
}

#[tokio::test]
async fn malformed_feed_beside_good_ones() {
    let s = server_with_formats().await;
    s.fixture("/broken.xml", "application/rss+xml", "malformed-feed.xml");
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("nimbus", &s.url("/nimbus.xml")),
            feed_source("broken", &s.url("/broken.xml")),
            feed_source("heron", &s.url("/heron.json")),
        ]
        .concat(),
    );
    let report = pass(&ws).await;
    let err = failure(&report, "broken");
    assert!(
        err.contains("is not a feed termwatch can read") && err.contains("kind = \"html\""),
        "{err}"
    );
    let c = &report.collect;
    assert_eq!((c.polled, c.new_articles, c.failed.len()), (3, 4, 1));
    let store = ws.store().await;
    let state = articles::load_states(&store)
        .await
        .unwrap()
        .remove("broken")
        .unwrap();
    assert_eq!(state.last_error.as_deref(), Some(err));
    assert!(
        state.next_due.unwrap() > jiff::Timestamp::now(),
        "backed off"
    );
}

#[tokio::test]
async fn a_redirect_to_another_site_obeys_that_sites_robots_txt() {
    let first = FixtureServer::start().await;
    let other = FixtureServer::start().await;
    other.set(
        "/robots.txt",
        Route::ok("text/plain", "User-agent: *\nDisallow: /members/\n"),
    );
    other.fixture("/members/feed.xml", "application/rss+xml", "rss-nimbus.xml");
    other.fixture(
        "/open/feed.atom",
        "application/atom+xml",
        "atom-corvid.atom",
    );
    first.set(
        "/moved.xml",
        Route::status(301).header("location", &other.url("/members/feed.xml")),
    );
    first.set(
        "/also-moved.atom",
        Route::status(302).header("location", &other.url("/open/feed.atom")),
    );
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("moved", &first.url("/moved.xml")),
            feed_source("also", &first.url("/also-moved.atom")),
        ]
        .concat(),
    );
    let report = pass(&ws).await;
    let err = failure(&report, "moved");
    assert!(
        err.contains("robots.txt") && err.contains("/members/feed.xml"),
        "{err}"
    );
    assert!(
        other.statuses("/members/feed.xml").is_empty(),
        "the path the other site disallows was never requested"
    );
    assert_eq!(
        other.statuses("/open/feed.atom"),
        [200],
        "an allowed redirect target is fetched"
    );
    assert!(report.collect.new_articles > 0, "{:?}", report.collect);
}

#[tokio::test]
async fn redirect_loop_is_reported() {
    let s = FixtureServer::start().await;
    s.set("/a.xml", Route::status(302).header("location", "/b.xml"));
    s.set("/b.xml", Route::status(302).header("location", "/a.xml"));
    let ws = Workspace::new();
    ws.sources("s.toml", &feed_source("loop", &s.url("/a.xml")));
    let report = pass(&ws).await;
    let err = failure(&report, "loop");
    assert!(
        err.contains("redirects") && err.contains("final address"),
        "{err}"
    );
    assert!(
        s.hits().len() <= 12,
        "the loop was cut short: {} requests",
        s.hits().len()
    );
}

#[tokio::test]
async fn edited_article_becomes_a_second_revision() {
    let s = FixtureServer::start().await;
    let original = std::fs::read_to_string(common::fixture("json-heron.json")).unwrap();
    s.set(
        "/heron.json",
        Route::ok("application/feed+json", original.clone()),
    );
    let ws = Workspace::new();
    ws.sources("s.toml", &feed_source("heron", &s.url("/heron.json")));
    pass(&ws).await;
    let edited = original.replace("80 percent", "70 percent");
    s.set("/heron.json", Route::ok("application/feed+json", edited));
    let report = pass(&ws).await;
    assert_eq!(
        (report.collect.new_articles, report.collect.new_revisions),
        (0, 1)
    );
    let store = ws.store().await;
    let revs = articles::revisions(&store, "https://heron.example/journal/revenue-share")
        .await
        .unwrap();
    assert_eq!(revs.len(), 2, "both revisions kept");
    assert!(revs[0].text.contains("80 percent") && revs[1].text.contains("70 percent"));
    assert_ne!(revs[0].content_hash, revs[1].content_hash);
    // The same pass extracts every new revision, the edited one included.
    let pending: (i64, i64) = sqlx::query_as("SELECT count(*), count(extracted_at) FROM revisions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(pending, (3, 3), "every revision extracted once");
}

#[tokio::test]
async fn mislabelled_encoding_is_decoded() {
    let s = FixtureServer::start().await;
    // windows-1252 bytes declared as UTF-8 in the header and prolog.
    let text = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Crème</title><item><title>Café “Ibis” rôle</title><link>https://ibis.example/cafe</link><description>Déjà vu for naïve partners, with a much longer description that goes on and on about the partnership so that it is not considered a teaser by the collector at all, no page fetch is needed for this item because its summary is already more than four hundred characters long once we pad it with a few more sentences about Ibis Systems and its reseller programme which now covers every certified partner in every region, from June onwards, under the same terms as before and with no exclusivity.</description></item></channel></rss>";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    s.set(
        "/latin.xml",
        Route::ok("application/rss+xml; charset=utf-8", bytes.into_owned()),
    );
    let ws = Workspace::new();
    ws.sources("s.toml", &feed_source("latin", &s.url("/latin.xml")));
    let report = pass(&ws).await;
    assert!(
        report.collect.failed.is_empty(),
        "{:?}",
        report.collect.failed
    );
    let store = ws.store().await;
    let revs = articles::revisions(&store, "https://ibis.example/cafe")
        .await
        .unwrap();
    assert_eq!(revs[0].title, "Café “Ibis” rôle");
    assert!(revs[0].text.starts_with("Déjà vu for naïve"));
}

#[tokio::test]
async fn schedules_with_jitter_and_restart_keep_state() {
    let s = FixtureServer::start().await;
    s.fixture("/nimbus.xml", "application/rss+xml", "rss-nimbus.xml");
    s.fixture("/heron.json", "application/feed+json", "json-heron.json");
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("nimbus", &s.url("/nimbus.xml")),
            feed_source("heron", &s.url("/heron.json")),
        ]
        .concat(),
    );
    // The long-running worker: polls both (never polled, so due), then waits.
    let (tx, rx) = watch::channel(false);
    let (config, paths) = (ws.config.clone(), ws.paths.clone());
    let worker = tokio::spawn(async move { pipeline::run(&config, &paths, rx).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.hits().iter().filter(|h| h.path != "/robots.txt").count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not poll"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("worker stops on shutdown")
        .unwrap()
        .unwrap();

    let store = ws.store().await;
    let states = articles::load_states(&store).await.unwrap();
    for id in ["nimbus", "heron"] {
        let st = &states[id];
        let polled = st.last_success.expect("polled");
        // Next due: the next half hour after the poll, plus up to 5 minutes of jitter.
        let cron = termwatch::collect::schedule::Schedule::parse("*/30 * * * *", None).unwrap();
        let base = cron.next_cron(polled).unwrap();
        let due = st.next_due.unwrap();
        assert!(
            due >= base && due < base + jiff::SignedDuration::from_secs(300),
            "{id}: {due} vs {base}"
        );
    }
    let stored: (i64,) = sqlx::query_as("SELECT count(*) FROM articles")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(stored.0, 4, "the round was written before exit");

    // A restart finds nothing due and fetches nothing.
    s.clear_hits();
    let (tx, rx) = watch::channel(false);
    let (config, paths) = (ws.config.clone(), ws.paths.clone());
    let worker = tokio::spawn(async move { pipeline::run(&config, &paths, rx).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(s.hits().is_empty(), "restart re-polled: {:?}", s.hits());
}

#[test]
fn check_names_file_and_line_and_exits_1() {
    let ws = Workspace::new();
    ws.sources(
        "good.toml",
        &feed_source("good", "https://nimbus.example/feed.xml"),
    );
    ws.sources(
        "vendors.toml",
        "[[source]]\nid = \"ok\"\nurl = \"https://corvid.example/feed\"\nschedule = \"@hourly\"\n\n[[source]]\nid = \"Bad Id\"\nurl = \"ftp://x\"\nkind = \"rss\"\nschedule = \"*/30 * * * *\"\ntrust = \"gospel\"\n",
    );
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .args(["--sources", ws.paths.sources_dir.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "vendors.toml line 7: id \"Bad Id\"",
        "vendors.toml line 8: url \"ftp://x\"",
        "vendors.toml line 9: kind \"rss\" is unknown; write kind = \"feed\"",
        "vendors.toml line 11: trust \"gospel\"",
        "4 problems",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }

    std::fs::remove_file(ws.paths.sources_dir.join("vendors.toml")).unwrap();
    let ok = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .args(["--sources", ws.paths.sources_dir.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok:"));
}

#[test]
fn opml_import_writes_sources_and_skips_duplicates() {
    let ws = Workspace::new();
    let run = || {
        assert_cmd::Command::cargo_bin("termwatch")
            .unwrap()
            .args([
                "--sources",
                ws.paths.sources_dir.to_str().unwrap(),
                "import-opml",
            ])
            .arg(common::fixture("feeds.opml"))
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains(
            "https://nimbus.example/feed.xml is already a source (id \"nimbus-labs-blog\")"
        ),
        "{out}"
    );
    assert!(out.contains("imported 3 sources"), "{out}");
    let (defs, problems) = termwatch::collect::load_sources(&ws.paths.sources_dir);
    assert!(problems.is_empty(), "{problems:?}");
    let ids: Vec<_> = defs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "nimbus-labs-blog",
            "corvid-cloud-updates",
            "heron-ai-journal"
        ]
    );
    assert!(defs[0].tags.contains(&"Vendors".to_string()));

    let second = run();
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        out.contains("imported 0 sources") && out.contains("4 duplicates skipped"),
        "{out}"
    );
}

#[test]
fn run_once_prints_failures_then_the_summary_last() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(server_with_formats());
    s.fixture("/broken.xml", "application/rss+xml", "malformed-feed.xml");
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("nimbus", &s.url("/nimbus.xml")),
            feed_source("broken", &s.url("/broken.xml")),
        ]
        .concat(),
    );
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .env(common::LOOPBACK_ENV.0, common::LOOPBACK_ENV.1)
        .args(["--sources", ws.paths.sources_dir.to_str().unwrap()])
        .args([
            "--data-dir",
            ws.paths.data_dir.to_str().unwrap(),
            "run",
            "--once",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "exit 0 even with a failed source"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<_> = text.lines().collect();
    assert!(lines[0].starts_with("failed broken: "), "{text}");
    assert!(
        lines.last().unwrap().starts_with(
            "polled 2 sources: 2 new articles, 0 new revisions, 0 not modified, 1 failed; "
        ),
        "{text}"
    );

    // `sources` shows each source's health.
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .args(["--sources", ws.paths.sources_dir.to_str().unwrap()])
        .args(["--data-dir", ws.paths.data_dir.to_str().unwrap(), "sources"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nimbus  [ok]") && text.contains("articles: 2"),
        "{text}"
    );
    assert!(text.contains("broken  [failing (1 in a row)]"), "{text}");
    assert!(
        text.contains("last error: ") && text.contains("is not a feed"),
        "{text}"
    );
    drop(rt);
}

#[tokio::test]
async fn shutdown_before_a_pass_starts_nothing_and_writes_nothing_half() {
    let s = server_with_formats().await;
    let ws = Workspace::new();
    ws.sources("s.toml", &feed_source("nimbus", &s.url("/nimbus.xml")));
    let (tx, rx) = watch::channel(false);
    tx.send(true).unwrap();
    let report = pipeline::run_once(&ws.config, &ws.paths, &ProgressBar::hidden(), rx)
        .await
        .unwrap();
    assert_eq!(report.collect.polled, 0);
    assert!(s.hits().is_empty());
    let store = ws.store().await;
    assert!(articles::load_states(&store).await.unwrap().is_empty());
}

#[tokio::test]
async fn unreachable_host_says_so_rather_than_blaming_robots() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &feed_source("down", &format!("http://{addr}/feed.xml")),
    );
    let report = pass(&ws).await;
    let err = failure(&report, "down");
    assert!(
        err.starts_with("could not connect to") && !err.contains("disallow"),
        "{err}"
    );
}

#[tokio::test]
async fn per_host_limit_caps_requests_in_flight() {
    let s = FixtureServer::start().await;
    let body = std::fs::read(common::fixture("json-heron.json")).unwrap();
    let mut sources = String::new();
    for i in 0..6 {
        let path = format!("/feed-{i}.json");
        s.set(
            &path,
            Route::ok("application/feed+json", body.clone()).delay(Duration::from_millis(200)),
        );
        sources.push_str(&feed_source(&format!("f{i}"), &s.url(&path)));
    }
    let mut ws = Workspace::new();
    ws.config.collect.per_host_concurrency = 2;
    ws.sources("s.toml", &sources);
    let report = pass(&ws).await;
    assert_eq!(report.collect.polled, 6);
    assert_eq!(
        s.max_in_flight(),
        2,
        "never more than the per-host limit, and it was reached"
    );
}

#[tokio::test]
async fn crawl_delay_spaces_requests_to_a_host() {
    let s = FixtureServer::start().await;
    s.set(
        "/robots.txt",
        Route::ok("text/plain", "User-agent: termwatch\nCrawl-delay: 1\n"),
    );
    s.fixture("/a.json", "application/feed+json", "json-heron.json");
    s.fixture("/b.xml", "application/rss+xml", "rss-nimbus.xml");
    let ws = Workspace::new();
    ws.sources(
        "s.toml",
        &[
            feed_source("a", &s.url("/a.json")),
            feed_source("b", &s.url("/b.xml")),
        ]
        .concat(),
    );
    let started = std::time::Instant::now();
    let report = pass(&ws).await;
    assert_eq!(report.collect.new_articles, 4);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "second request waited for the crawl delay"
    );
}

#[tokio::test]
async fn fetch_article_reads_one_page() {
    let s = server_with_formats().await;
    let fetcher = termwatch::collect::Fetcher::new(&Workspace::new().config.collect).unwrap();
    let a = fetcher
        .fetch_article(&s.url("/news/ibis-gpu-capacity"))
        .await
        .unwrap();
    assert_eq!(
        a.url,
        s.url("/news/ibis-gpu-capacity"),
        "canonical link resolved"
    );
    assert_eq!(a.title, "Ibis Systems doubles GPU capacity for partners");
    assert!(a.text.contains("western region"), "{}", a.text);
    assert_eq!(
        a.content_hash,
        termwatch::model::Article::hash_content(&a.title, &a.text)
    );
    let missing = fetcher
        .fetch_article(&s.url("/news/nope"))
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("HTTP 404")
            && missing.to_string().contains("remove the source"),
        "{missing}"
    );
}
