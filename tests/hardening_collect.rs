//! Hostile pages and feeds against the collector (issue 11): deep nesting,
//! huge fields, ill-formed XML, items waiting for a retry, repeated guids
//! and articles owned by another source. Real fixture servers on
//! 127.0.0.1, real SQLite in a temp dir, `pipeline::run_once`.

mod common;

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

/// An RSS feed of the given `<item>` bodies.
fn rss(items: &[String]) -> String {
    let items: String = items.iter().map(|i| format!("<item>{i}</item>")).collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>http://x/</link><description>d</description>{items}</channel></rss>"
    )
}

/// An item with full content, so no page is fetched for it.
fn full_item(title: &str, link: &str, guid: &str, text: &str) -> String {
    format!(
        "<title>{title}</title><link>{link}</link><guid>{guid}</guid><description>{text}</description><content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><![CDATA[<p>{text}</p>]]></content:encoded>"
    )
}

/// An item with no text: its page is fetched.
fn teaser_item(title: &str, link: &str) -> String {
    format!("<title>{title}</title><link>{link}</link><guid>{link}</guid>")
}

const TEXT: &str = "Nimbus Labs and Corvid Cloud agree new exclusive compute terms for the coming year, replacing the old arrangement.";

fn nested_divs(n: usize, inner: &str) -> String {
    format!("{}{inner}{}", "<div>".repeat(n), "</div>".repeat(n))
}

#[tokio::test]
async fn deep_html_teaser_page_is_read_and_the_next_pass_survives_too() {
    let s = FixtureServer::start().await;
    let page = format!(
        "<html><body>{}</body></html>",
        nested_divs(100_000, &format!("<p>{TEXT}</p>"))
    );
    s.set("/deep", Route::ok("text/html", page));
    s.set(
        "/feed.xml",
        Route::ok(
            "application/rss+xml",
            rss(&[teaser_item("Deep", &s.url("/deep"))]),
        ),
    );
    let ws = Workspace::new();
    ws.sources("f.toml", &feed_source("deep", &s.url("/feed.xml")));
    let first = pass(&ws).await;
    assert!(first.collect.failed.is_empty(), "{:?}", first.collect);
    let second = pass(&ws).await;
    assert!(second.collect.failed.is_empty(), "{:?}", second.collect);
    assert_eq!(s.statuses("/deep"), [200], "read once, then known");
    let store = ws.store().await;
    let revs = articles::revisions(&store, &s.url("/deep")).await.unwrap();
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].text, TEXT);
}

#[tokio::test]
async fn deep_html_listing_is_parsed_in_bounded_depth() {
    let s = FixtureServer::start().await;
    let listing = format!(
        "<html><body><div class=\"post-card\"><a class=\"more\" href=\"/news/a\">Terms renewed</a></div>{}</body></html>",
        nested_divs(
            100_000,
            "<div class=\"post-card\"><a class=\"more\" href=\"/news/deep\">Too deep</a></div>"
        )
    );
    s.set("/news/", Route::ok("text/html", listing));
    s.set(
        "/news/a",
        Route::ok(
            "text/html",
            format!(
                "<html><body><article><h1>Terms renewed</h1><p>{TEXT}</p></article></body></html>"
            ),
        ),
    );
    let ws = Workspace::new();
    ws.sources(
        "l.toml",
        &format!(
            "[[source]]\nid = \"ibis\"\nurl = \"{}\"\nkind = \"html\"\nschedule = \"0 * * * *\"\ntrust = \"vendor\"\norganisation = \"Ibis Systems\"\nselectors = {{ item = \"div.post-card\", link = \"a.more\" }}\n",
            s.url("/news/")
        ),
    );
    let report = pass(&ws).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.collect.failed.is_empty(), "{:?}", report.collect);
    let store = ws.store().await;
    let revs = articles::revisions(&store, &s.url("/news/a"))
        .await
        .unwrap();
    assert_eq!(revs.len(), 1, "the shallow item is read");
}

#[tokio::test]
async fn deep_feed_xml_is_an_error_or_items_never_an_abort() {
    let s = FixtureServer::start().await;
    let deep = format!(
        "<title>Deep</title><link>{}</link><description>{}</description>",
        s.url("/a"),
        format_args!("{}{TEXT}{}", "<x>".repeat(100_000), "</x>".repeat(100_000))
    );
    s.set("/feed.xml", Route::ok("application/rss+xml", rss(&[deep])));
    let ws = Workspace::new();
    ws.sources("f.toml", &feed_source("deepxml", &s.url("/feed.xml")));
    pass(&ws).await;
    assert_polled(&ws, &["deepxml"]).await;
}

/// Every source has a stored outcome: parsed (a last success) or failed
/// with an error that names its URL and is not a parser crash.
async fn assert_polled(ws: &Workspace, ids: &[&str]) {
    let store = ws.store().await;
    let states = articles::load_states(&store).await.unwrap();
    for id in ids {
        let st = states
            .get(*id)
            .unwrap_or_else(|| panic!("{id}: no result stored"));
        match &st.last_error {
            None => assert!(st.last_success.is_some(), "{id}: {st:?}"),
            Some(e) => {
                assert!(e.contains("http://127.0.0.1"), "{id}: {e}");
                assert!(!e.contains(" failed on "), "{id}: a parser crashed: {e}");
            }
        }
    }
}

#[tokio::test]
async fn ill_formed_feeds_each_get_a_readable_error_or_items() {
    let s = FixtureServer::start().await;
    let good = rss(&[full_item("Renewal", &s.url("/a"), "g-a", TEXT)]);
    let utf16: Vec<u8> = good
        .replacen(
            "<?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
            1,
        )
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let garbage: Vec<u8> = (0u32..8192)
        .map(|i| (i.wrapping_mul(7919) % 251) as u8)
        .collect();
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"aaaaaaaaaa\">{}]><rss version=\"2.0\"><channel><title>&z;</title><item><title>&z;</title><link>{}</link></item></channel></rss>",
        (b'b'..=b'z')
            .map(|c| {
                let prev = (c - 1) as char;
                format!(
                    "<!ENTITY {} \"{}\">",
                    c as char,
                    format!("&{prev};").repeat(10)
                )
            })
            .collect::<String>(),
        s.url("/bomb")
    );
    let deep = format!(
        "<?xml version=\"1.0\"?><rss><channel>{}</channel></rss>",
        "<item>".repeat(100_000)
    );
    let fixtures: Vec<(&str, Vec<u8>)> = vec![
        ("utf16", utf16),
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
        ("garbage", garbage),
        ("bomb", bomb.into_bytes()),
        ("deep", deep.into_bytes()),
        (
            "mismatched",
            b"<?xml version=\"1.0\"?><rss><channel><item><title>A</item></channel></rss>".to_vec(),
        ),
        ("empty", Vec::new()),
    ];
    let ws = Workspace::new();
    let mut toml = String::new();
    for (id, body) in &fixtures {
        let path = format!("/{id}.xml");
        s.set(&path, Route::ok("application/rss+xml", body.clone()));
        toml.push_str(&feed_source(id, &s.url(&path)));
    }
    ws.sources("f.toml", &toml);
    pass(&ws).await;
    let ids: Vec<&str> = fixtures.iter().map(|(id, _)| *id).collect();
    assert_polled(&ws, &ids).await;
    // UTF-16 without a byte-order mark is read, not lost.
    let store = ws.store().await;
    let revs = articles::revisions(&store, &s.url("/a")).await.unwrap();
    assert_eq!(revs.len(), 1, "the UTF-16BE feed's item is stored");
    assert_eq!(revs[0].title, "Renewal");
}

#[tokio::test]
async fn huge_title_is_capped_and_huge_link_and_guid_are_item_errors() {
    let s = FixtureServer::start().await;
    let long_link = s.url(&format!("/{}", "l".repeat(64 * 1024)));
    let items = [
        full_item(&"T".repeat(1 << 20), &s.url("/long-title"), "g1", TEXT),
        full_item("Long link", &long_link, "g2", TEXT),
        full_item(
            "Long guid",
            &s.url("/long-guid"),
            &"g".repeat(1 << 20),
            TEXT,
        ),
    ];
    s.set("/feed.xml", Route::ok("application/rss+xml", rss(&items)));
    let ws = Workspace::new();
    ws.sources("f.toml", &feed_source("huge", &s.url("/feed.xml")));
    let report = pass(&ws).await;
    assert_eq!(report.collect.new_articles, 1, "{:?}", report.collect);
    let store = ws.store().await;
    let revs = articles::revisions(&store, &s.url("/long-title"))
        .await
        .unwrap();
    let title = &revs[0].title;
    assert_eq!(
        title.chars().count(),
        termwatch::collect::parse::MAX_TITLE_CHARS
    );
    assert!(title.ends_with('…'), "a visible ellipsis");
    let states = articles::load_states(&store).await.unwrap();
    let skipped = states["huge"].item_errors.clone().unwrap_or_default();
    assert!(skipped.contains("its link is 65"), "{skipped}");
    assert!(skipped.contains("its guid is 1048576 bytes"), "{skipped}");
    assert!(skipped.len() < 1000, "the health line names items briefly");
    // `sources` shows them beside the source's own (good) health.
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .unwrap()
        .args([
            "--data-dir",
            ws.paths.data_dir.to_str().unwrap(),
            "--sources",
            ws.paths.sources_dir.to_str().unwrap(),
            "sources",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("huge  [ok]") && text.contains("items skipped: "),
        "{text}"
    );
}

#[tokio::test]
async fn item_waiting_for_a_retry_keeps_the_old_etag() {
    let s = FixtureServer::start().await;
    s.set(
        "/feed.xml",
        Route::ok(
            "application/rss+xml",
            rss(&[teaser_item("Later", &s.url("/page"))]),
        )
        .etag("\"v1\""),
    );
    s.set("/page", Route::status(503));
    let ws = Workspace::new();
    ws.sources("f.toml", &feed_source("retry", &s.url("/feed.xml")));
    let first = pass(&ws).await;
    assert_eq!(first.collect.new_articles, 0, "an empty item waits");
    s.set(
        "/page",
        Route::ok(
            "text/html",
            format!("<html><body><article><p>{TEXT}</p></article></body></html>"),
        ),
    );
    let second = pass(&ws).await;
    assert_eq!(
        s.statuses("/feed.xml"),
        [200, 200],
        "the feed is read again, not answered 304"
    );
    assert_eq!(second.collect.new_articles, 1, "{:?}", second.collect);
    // Nothing waits any more: now the ETag is kept and used.
    pass(&ws).await;
    assert_eq!(s.statuses("/feed.xml"), [200, 200, 304]);
}

#[tokio::test]
async fn items_sharing_one_guid_are_one_article() {
    let s = FixtureServer::start().await;
    let items: Vec<String> = (0..50)
        .map(|i| {
            full_item(
                &format!("Copy {i}"),
                &s.url(&format!("/copy/{i}")),
                "same-guid",
                TEXT,
            )
        })
        .collect();
    s.set("/feed.xml", Route::ok("application/rss+xml", rss(&items)));
    let ws = Workspace::new();
    ws.sources("f.toml", &feed_source("copies", &s.url("/feed.xml")));
    let report = pass(&ws).await;
    assert_eq!(report.collect.new_articles, 1, "{:?}", report.collect);
}

/// `n` full items sharing one guid, their links under `/{path}/`.
fn same_guid_items(s: &FixtureServer, path: &str, n: usize, text: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            full_item(
                &format!("Copy {i}"),
                &s.url(&format!("/{path}/{i}")),
                "same-guid",
                text,
            )
        })
        .collect()
}

#[tokio::test]
async fn items_sharing_one_guid_across_passes_are_one_article_and_one_source_of_one_event() {
    let s = FixtureServer::start().await;
    let feed = |path: &str, text: &str| {
        Route::ok(
            "application/rss+xml",
            rss(&same_guid_items(&s, path, 50, text)),
        )
    };
    s.set("/feed.xml", feed("copy", TEXT));
    let ws = Workspace::new();
    ws.sources("f.toml", &feed_source("copies", &s.url("/feed.xml")));
    let first = pass(&ws).await;
    assert_eq!(first.collect.new_articles, 1, "{:?}", first.collect);
    // The next pass lists the same guid under 50 new links: the same article.
    s.set("/feed.xml", feed("moved", TEXT));
    let second = pass(&ws).await;
    assert!(second.collect.failed.is_empty(), "{:?}", second.collect);
    assert_eq!(
        (second.collect.new_articles, second.collect.new_revisions),
        (0, 0),
        "{:?}",
        second.collect
    );
    let store = ws.store().await;
    let events = termwatch::store::events::list(&store).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].sources.len(), 1, "{:?}", events[0].sources);
    // Changed text under that guid is a new revision of it, not an article.
    let edited = "Nimbus Labs and Corvid Cloud agree new exclusive compute terms for the next two years, replacing the old arrangement.";
    s.set("/feed.xml", feed("again", edited));
    let third = pass(&ws).await;
    assert_eq!(
        (third.collect.new_articles, third.collect.new_revisions),
        (0, 1),
        "{:?}",
        third.collect
    );
    let revs = articles::revisions(&store, &s.url("/copy/0"))
        .await
        .unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[1].text, edited);
}

#[tokio::test]
async fn the_same_guid_in_another_source_is_that_sources_own_article() {
    let s = FixtureServer::start().await;
    s.set(
        "/a.xml",
        Route::ok(
            "application/rss+xml",
            rss(&[full_item("A", &s.url("/a/1"), "shared", TEXT)]),
        ),
    );
    s.set(
        "/b.xml",
        Route::ok(
            "application/rss+xml",
            rss(&[full_item("B", &s.url("/b/1"), "shared", TEXT)]),
        ),
    );
    let ws = Workspace::new();
    ws.sources("a.toml", &feed_source("a", &s.url("/a.xml")));
    ws.sources("b.toml", &feed_source("b", &s.url("/b.xml")));
    let report = pass(&ws).await;
    assert_eq!(report.collect.new_articles, 2, "{:?}", report.collect);
}

#[tokio::test]
async fn another_source_cannot_add_a_revision_to_an_article_it_does_not_own() {
    let s = FixtureServer::start().await;
    let post = s.url("/blog/terms");
    let vendor_feed = |text: &str| rss(&[full_item("New terms", &post, "v1", text)]);
    s.set(
        "/vendor.xml",
        Route::ok("application/rss+xml", vendor_feed(TEXT)),
    );
    s.set(
        "/other.xml",
        Route::ok(
            "application/rss+xml",
            rss(&[full_item(
                "New terms",
                &post,
                "o1",
                "Corvid Cloud ends every exclusive deal today, says a site elsewhere.",
            )]),
        ),
    );
    let ws = Workspace::new();
    let vendor = feed_source("vendor", &s.url("/vendor.xml")).replace(
        "trust = \"news\"",
        "trust = \"vendor\"\norganisation = \"Nimbus Labs\"",
    );
    ws.sources("v.toml", &vendor);
    let first = pass(&ws).await;
    assert_eq!(first.collect.new_articles, 1, "{:?}", first.collect);
    ws.sources("o.toml", &feed_source("elsewhere", &s.url("/other.xml")));
    let report = pass(&ws).await;
    assert_eq!(report.collect.new_revisions, 0, "{:?}", report.collect);
    // The owner's own edit is still a revision.
    s.set(
        "/vendor.xml",
        Route::ok(
            "application/rss+xml",
            vendor_feed("Edited terms text for the coming year."),
        ),
    );
    pass(&ws).await;
    let store = ws.store().await;
    let revs = articles::revisions(&store, &post).await.unwrap();
    let by: Vec<(&str, &str)> = revs
        .iter()
        .map(|r| (r.source_id.as_str(), r.trust.as_str()))
        .collect();
    assert_eq!(by, [("vendor", "vendor"), ("vendor", "vendor")]);
}
