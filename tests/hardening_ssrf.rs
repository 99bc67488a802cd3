//! The collector must not reach internal addresses (issue 11): a feed on an
//! allowed host cannot send termwatch to another private address through an
//! item link, a redirect or a moved feed, nor to another site's pages unless
//! the source allows it. Stand-ins for internal hosts listen on 127.0.0.2,
//! 127.0.0.3 and 127.0.0.5 (all of 127.0.0.0/8 answers on Linux); each test
//! sets `[collect] allow_private_hosts` itself.

mod common;

use common::{FixtureServer, Route, Workspace, feed_source};
use indicatif::ProgressBar;
use termwatch::guard::Allowed;
use termwatch::pipeline::{self, PassReport};
use termwatch::store::articles;
use tokio::sync::watch;

/// What a stand-in for an internal service would leak if it were fetched.
const SECRET: &str = "AccessKeyId=AKIA-STAND-IN";

async fn pass(ws: &Workspace) -> PassReport {
    let (_tx, rx) = watch::channel(false);
    pipeline::run_once(&ws.config, &ws.paths, &ProgressBar::hidden(), rx)
        .await
        .expect("a pass never fails because of a source")
}

fn allow(ws: &mut Workspace, entries: &[&str]) {
    ws.config.collect.allow_private_hosts = entries
        .iter()
        .map(|e| Allowed::try_from(e.to_string()).unwrap())
        .collect();
}

/// An RSS feed whose items are teasers (short summaries), so each item's
/// page is fetched for the full text.
fn teaser_feed(links: &[String]) -> Route {
    let items: String = links
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<item><title>Item {i}</title><link>{l}</link><guid>{l}</guid><description>Summary {i}.</description></item>"
            )
        })
        .collect();
    Route::ok(
        "application/rss+xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><link>http://127.0.0.1/</link><description>d</description>{items}</channel></rss>"
        ),
    )
}

fn page(text: &str) -> Route {
    Route::ok(
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html><html><head><title>Page</title></head><body><main><article><h1>Page</h1><p>{text}</p></article></main></body></html>"
        ),
    )
}

/// An internal stand-in on `ip` that would answer every path it is asked.
async fn internal(ip: &str) -> FixtureServer {
    let s = FixtureServer::start_on(ip).await;
    for path in ["/robots.txt", "/latest/meta-data/", "/admin", "/feed.xml"] {
        s.set(path, page(&format!("{SECRET} Nimbus Labs ends its deal.")));
    }
    s
}

async fn stored_text(ws: &Workspace, url: &str) -> String {
    let store = ws.store().await;
    articles::revisions(&store, url)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.text)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn ssrf_item_link_to_another_loopback_address_gets_no_request() {
    let own = FixtureServer::start().await;
    let inside = internal("127.0.0.2").await;
    let bad = inside.url("/latest/meta-data/");
    own.set(
        "/feed.xml",
        teaser_feed(&[own.url("/ok-page"), bad.clone()]),
    );
    own.set("/ok-page", page("Corvid Cloud and Heron AI sign a deal."));
    let mut ws = Workspace::new();
    // Only the source's own host; other sites allowed, so the address guard
    // alone must stop the second link.
    allow(&mut ws, &["127.0.0.1"]);
    ws.sources(
        "s.toml",
        &format!(
            "{}follow_other_sites = true\n",
            feed_source("f", &own.url("/feed.xml"))
        ),
    );
    let report = pass(&ws).await;
    assert!(report.collect.failed.is_empty(), "{:?}", report.collect);
    assert!(
        inside.hits().is_empty(),
        "the internal stand-in was asked: {:?}",
        inside.hits()
    );
    assert!(
        own.hits().iter().any(|h| h.path == "/ok-page"),
        "the teaser page on the allowed host is still fetched: {:?}",
        own.hits()
    );
    assert!(
        stored_text(&ws, &own.url("/ok-page"))
            .await
            .contains("Heron AI")
    );
    let kept = stored_text(&ws, &bad).await;
    assert!(!kept.contains(SECRET), "{kept}");
    // The operator is told, in the source's health, which setting would allow it.
    let store = ws.store().await;
    let states = termwatch::store::articles::load_states(&store)
        .await
        .unwrap();
    let skipped = states["f"].item_errors.clone().unwrap_or_default();
    assert!(
        skipped.contains("127.0.0.2") && skipped.contains("allow_private_hosts"),
        "{skipped}"
    );
}

#[tokio::test]
async fn ssrf_redirect_from_the_allowed_host_to_127_0_0_3_is_refused() {
    let own = FixtureServer::start().await;
    let inside = internal("127.0.0.3").await;
    own.set(
        "/feed.xml",
        teaser_feed(&[own.url("/ok-page"), own.url("/redir-internal")]),
    );
    own.set("/ok-page", page("Corvid Cloud and Heron AI sign a deal."));
    own.set(
        "/redir-internal",
        Route::status(302).header("location", &inside.url("/admin")),
    );
    let mut ws = Workspace::new();
    allow(&mut ws, &["127.0.0.1"]);
    ws.sources(
        "s.toml",
        &format!(
            "{}follow_other_sites = true\n",
            feed_source("f", &own.url("/feed.xml"))
        ),
    );
    pass(&ws).await;
    assert!(
        own.hits().iter().any(|h| h.path == "/redir-internal"),
        "the redirecting link was fetched: {:?}",
        own.hits()
    );
    assert!(own.hits().iter().any(|h| h.path == "/ok-page"));
    assert!(
        inside.hits().is_empty(),
        "the redirect target was asked: {:?}",
        inside.hits()
    );
    let kept = stored_text(&ws, &own.url("/redir-internal")).await;
    assert!(!kept.contains(SECRET), "{kept}");
}

#[tokio::test]
async fn ssrf_feed_url_redirecting_to_a_non_allowed_address_is_refused() {
    let own = FixtureServer::start().await;
    let inside = internal("127.0.0.3").await;
    own.set(
        "/feed-moved.xml",
        Route::status(302).header("location", &inside.url("/feed.xml")),
    );
    let mut ws = Workspace::new();
    allow(&mut ws, &["127.0.0.1"]);
    ws.sources("s.toml", &feed_source("moved", &own.url("/feed-moved.xml")));
    let report = pass(&ws).await;
    assert!(inside.hits().is_empty(), "{:?}", inside.hits());
    let (_, err) = report
        .collect
        .failed
        .iter()
        .find(|(id, _)| id == "moved")
        .unwrap_or_else(|| panic!("the source did not fail: {:?}", report.collect));
    assert!(err.contains("127.0.0.3"), "{err}");
    assert!(err.contains("[collect] allow_private_hosts"), "{err}");
    // The refusal is the source's error, shown by `sources`.
    let states = articles::load_states(&ws.store().await).await.unwrap();
    let last = states["moved"].last_error.clone().unwrap_or_default();
    assert!(last.contains("allow_private_hosts"), "{last}");
}

#[tokio::test]
async fn ssrf_nothing_private_is_fetched_by_default() {
    let own = FixtureServer::start().await;
    own.set("/feed.xml", teaser_feed(&[own.url("/ok-page")]));
    let mut ws = Workspace::new();
    allow(&mut ws, &[]);
    ws.sources("s.toml", &feed_source("local", &own.url("/feed.xml")));
    let report = pass(&ws).await;
    assert!(
        own.hits().is_empty(),
        "not even robots.txt: {:?}",
        own.hits()
    );
    let (_, err) = &report.collect.failed[0];
    assert!(
        err.contains("loopback") && err.contains("allow_private_hosts = [\"127.0.0.1\"]"),
        "the refusal says how to allow it: {err}"
    );
}

#[tokio::test]
async fn ssrf_cross_site_article_pages_are_refused_unless_the_source_allows_it() {
    let own = FixtureServer::start().await;
    let other = FixtureServer::start_on("127.0.0.2").await;
    other.set("/post", page("Heron AI moves its models to Nimbus Cloud."));
    own.set("/feed.xml", teaser_feed(&[other.url("/post")]));
    // Both addresses allowed: only the site rule is under test.
    let mut ws = Workspace::new();
    allow(&mut ws, &["127.0.0.0/8"]);
    ws.sources("s.toml", &feed_source("strict", &own.url("/feed.xml")));
    pass(&ws).await;
    assert!(
        other.hits().is_empty(),
        "another site's page was fetched: {:?}",
        other.hits()
    );
    assert!(
        !stored_text(&ws, &other.url("/post"))
            .await
            .contains("Nimbus Cloud")
    );

    let mut ws = Workspace::new();
    allow(&mut ws, &["127.0.0.0/8"]);
    ws.sources(
        "s.toml",
        &format!(
            "{}follow_other_sites = true\n",
            feed_source("open", &own.url("/feed.xml"))
        ),
    );
    pass(&ws).await;
    assert!(
        other.hits().iter().any(|h| h.path == "/post"),
        "{:?}",
        other.hits()
    );
    assert!(
        stored_text(&ws, &other.url("/post"))
            .await
            .contains("Nimbus Cloud")
    );
}

#[tokio::test]
async fn ssrf_allowance_by_cidr_covers_its_network_only() {
    let own = FixtureServer::start().await;
    let inside = FixtureServer::start_on("127.0.0.2").await;
    let outside = internal("127.0.0.5").await;
    inside.set("/post", page("Heron AI moves its models to Nimbus Cloud."));
    own.set(
        "/feed.xml",
        teaser_feed(&[inside.url("/post"), outside.url("/admin")]),
    );
    let mut ws = Workspace::new();
    // 127.0.0.0-127.0.0.3: the source and the first link, not 127.0.0.5.
    allow(&mut ws, &["127.0.0.0/30"]);
    ws.sources(
        "s.toml",
        &format!(
            "{}follow_other_sites = true\n",
            feed_source("f", &own.url("/feed.xml"))
        ),
    );
    let report = pass(&ws).await;
    assert!(report.collect.failed.is_empty(), "{:?}", report.collect);
    assert!(inside.hits().iter().any(|h| h.path == "/post"));
    assert!(outside.hits().is_empty(), "{:?}", outside.hits());
}

#[tokio::test]
async fn ssrf_allowance_by_host_name_covers_that_name_only() {
    let own = FixtureServer::start().await;
    let port = own.addr.port();
    // The same server by name (allowed) and by address (not listed).
    let by_name = format!("http://localhost:{port}");
    let by_addr = format!("http://127.0.0.1:{port}");
    own.set(
        "/feed.xml",
        teaser_feed(&[
            format!("{by_name}/named-page"),
            format!("{by_addr}/address-page"),
        ]),
    );
    own.set(
        "/named-page",
        page("Corvid Cloud and Heron AI sign a deal."),
    );
    own.set("/address-page", page(SECRET));
    let mut ws = Workspace::new();
    allow(&mut ws, &["localhost"]);
    ws.sources(
        "s.toml",
        &format!(
            "{}follow_other_sites = true\n",
            feed_source("f", &format!("{by_name}/feed.xml"))
        ),
    );
    let report = pass(&ws).await;
    assert!(report.collect.failed.is_empty(), "{:?}", report.collect);
    let paths: Vec<String> = own.hits().into_iter().map(|h| h.path).collect();
    assert!(paths.contains(&"/feed.xml".to_string()), "{paths:?}");
    assert!(paths.contains(&"/named-page".to_string()), "{paths:?}");
    assert!(!paths.contains(&"/address-page".to_string()), "{paths:?}");
}
