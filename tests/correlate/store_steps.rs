//! The correlate step through a real SQLite store: article edits, removals,
//! stored denials and a vendor settling a stored dispute.

use super::*;
use termwatch::model::{Article, Extraction};
use termwatch::pipeline;
use termwatch::store::changes::{Stored, store_article};

fn article(url: &str, text: &str, day: &str, trust: Trust) -> Article {
    let title = text.lines().next().unwrap_or_default().to_string();
    Article {
        source_id: "test".into(),
        url: url.into(),
        guid: None,
        content_hash: Article::hash_content(&title, text),
        title,
        published: Some(ts(day)),
        author: None,
        text: text.into(),
        fetched_at: ts(day),
        trust,
        organisation: None,
    }
}

/// A stand-in extractor: each line "kind status [until]" or "deny kind
/// status" is one change of Nimbus Labs and Corvid Cloud.
fn lines_to_changes(a: &Article) -> Extraction {
    let mut out = Extraction::default();
    for line in a.text.lines().skip(1) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (deny, words) = match words.split_first() {
            Some((&"deny", rest)) => (true, rest),
            _ => (false, &words[..]),
        };
        let [kind, status, rest @ ..] = words else {
            continue;
        };
        let Some(kind) = ChangeKind::parse(kind) else {
            continue;
        };
        let status: Status =
            serde_json::from_value(serde_json::json!(status)).expect("status word");
        let mut c = change(kind, status);
        c.until = rest.first().map(|u| u.to_string());
        c.evidence = line.to_string();
        if deny {
            out.denials.push(c)
        } else {
            out.changes.push(c)
        }
    }
    out
}

async fn step(store: &Store, now: &str) -> pipeline::correlate::Applied {
    pipeline::extract::run_with(store, ts(now), lines_to_changes)
        .await
        .expect("extract");
    pipeline::correlate::run(store, &Config::default(), ts(now))
        .await
        .expect("correlate")
}

async fn history(store: &Store, id: &str) -> Vec<String> {
    let mut h = termwatch::store::events::history(store)
        .await
        .expect("history");
    h.remove(id)
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.what)
        .collect()
}

#[tokio::test]
async fn an_edited_article_updates_its_event_and_the_history_says_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let v1 = article(
        "https://wire.example/1",
        "Nimbus update\nlicense extended 2030",
        "2026-03-02",
        Trust::News,
    );
    assert_eq!(
        store_article(&store, &v1).await.unwrap().0,
        Stored::NewArticle
    );
    let other = article(
        "https://blog.example/1",
        "Pundit\nlicense extended",
        "2026-03-03",
        Trust::Commentary,
    );
    store_article(&store, &other).await.unwrap();
    let first = step(&store, "2026-03-04").await;
    assert_eq!(first.new.len(), 1);
    let id = first.new[0].clone();

    // The same content again is no new revision and changes nothing.
    assert_eq!(
        store_article(&store, &v1).await.unwrap().0,
        Stored::Unchanged
    );
    assert_eq!(step(&store, "2026-03-05").await, Default::default());

    // The newsroom corrects the date: a new revision replaces the old one.
    let v2 = article(
        "https://wire.example/1",
        "Nimbus update (corrected)\nlicense extended 2032",
        "2026-03-02",
        Trust::News,
    );
    assert_eq!(
        store_article(&store, &v2).await.unwrap().0,
        Stored::NewRevision
    );
    let second = step(&store, "2026-03-06").await;
    assert_eq!(
        second.changed,
        std::slice::from_ref(&id),
        "same event, updated in place"
    );
    let events = termwatch::store::events::list(&store).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].until.as_deref(), Some("2032"));
    assert_eq!(
        events[0].sources.len(),
        2,
        "the old revision no longer counts"
    );
    let lines = history(&store, &id).await;
    assert!(
        lines.iter().any(|l| l == "until changed from 2030 to 2032"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("source https://wire.example/1 was edited")),
        "{lines:?}"
    );
    let revisions: (i64,) = sqlx::query_as("SELECT count(*) FROM revisions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(revisions.0, 3, "every revision is kept for the record");
}

#[tokio::test]
async fn an_edit_that_drops_the_only_report_removes_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    store_article(
        &store,
        &article(
            "https://wire.example/1",
            "Scoop\nexclusivity ended",
            "2026-03-02",
            Trust::News,
        ),
    )
    .await
    .unwrap();
    let id = step(&store, "2026-03-02").await.new[0].clone();
    store_article(
        &store,
        &article(
            "https://wire.example/1",
            "Scoop (retracted)\nnothing to see",
            "2026-03-02",
            Trust::News,
        ),
    )
    .await
    .unwrap();
    let applied = step(&store, "2026-03-03").await;
    assert_eq!(applied.removed, std::slice::from_ref(&id));
    assert!(
        termwatch::store::events::list(&store)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        history(&store, &id)
            .await
            .last()
            .unwrap()
            .starts_with("removed")
    );
}

#[tokio::test]
async fn a_stored_denial_confirms_and_a_vendor_settles_a_stored_dispute() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    store_article(
        &store,
        &article(
            "https://wire.example/1",
            "A\nrevenue_share ended",
            "2026-03-02",
            Trust::News,
        ),
    )
    .await
    .unwrap();
    store_article(
        &store,
        &article(
            "https://paper.example/1",
            "B\nrevenue_share continues",
            "2026-03-02",
            Trust::News,
        ),
    )
    .await
    .unwrap();
    let id = step(&store, "2026-03-02").await.new[0].clone();
    assert!(termwatch::store::events::list(&store).await.unwrap()[0].disputed);

    store_article(
        &store,
        &article(
            "https://nimbus.example/faq",
            "FAQ\nrevenue_share continues\ndeny revenue_share changed",
            "2026-03-04",
            Trust::Vendor,
        ),
    )
    .await
    .unwrap();
    let applied = step(&store, "2026-03-04").await;
    assert_eq!(applied.changed, std::slice::from_ref(&id));
    assert!(applied.new.is_empty(), "the denial opened no event");
    let e = &termwatch::store::events::list(&store).await.unwrap()[0];
    assert!(!e.disputed);
    assert_eq!(e.status, Status::Continues);
    assert_eq!(e.confirmations.len(), 1);
    let lines = history(&store, &id).await;
    assert!(
        lines
            .iter()
            .any(|l| l == "disputed: status continues vs ended"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "dispute settled by vendor source https://nimbus.example/faq"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "confirmed unchanged by vendor source https://nimbus.example/faq"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_pass_with_nothing_new_skips_correlating_but_a_new_config_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let a = article(
        "https://wire.example/9",
        "Nimbus update\nlicense extended 2030",
        "2026-03-02",
        Trust::News,
    );
    store_article(&store, &a).await.unwrap();
    assert_eq!(step(&store, "2026-03-04").await.new.len(), 1);

    // Take the event away behind the step's back: a pass that re-read the
    // reports would put it back, a skipped one leaves the table empty.
    sqlx::query("DELETE FROM events")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(step(&store, "2026-03-05").await, Default::default());
    assert!(
        termwatch::store::events::list(&store)
            .await
            .unwrap()
            .is_empty()
    );

    // Other settings are other inputs: the step runs again.
    let config = Config {
        window_days: Config::default().window_days + 1,
        ..Config::default()
    };
    let again = pipeline::correlate::run(&store, &config, ts("2026-03-06"))
        .await
        .expect("correlate");
    assert_eq!(again.new.len(), 1);
    assert_eq!(
        termwatch::store::events::list(&store).await.unwrap().len(),
        1
    );
}
