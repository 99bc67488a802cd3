//! The correlate stage: reports in, events out (pure), then the same through
//! a real SQLite store with article edits, denials and re-runs.

use termwatch::correlate::{Config, correlate};
use termwatch::model::{ChangeKind, Event, Report, Span, Status, TermChange, Trust};
use termwatch::store::Store;

fn ts(day: &str) -> jiff::Timestamp {
    format!("{day}T00:00:00Z")
        .parse()
        .expect("test dates are valid")
}

fn change(kind: ChangeKind, status: Status) -> TermChange {
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
        exclusive: None,
        until: None,
        effective: None,
        evidence: format!(
            "Nimbus Labs and Corvid Cloud: {} {}",
            kind.as_str(),
            status.as_str()
        ),
        span: Span { start: 0, end: 10 },
        confidence: 0.8,
    }
}

fn available(product: &str, platform: &str) -> TermChange {
    let mut c = change(ChangeKind::Availability, Status::Available);
    c.parties = vec!["Nimbus Labs".into()];
    c.product = Some(product.into());
    c.platform = Some(platform.into());
    c
}

fn report(change: TermChange, url: &str, day: &str, trust: Trust) -> Report {
    Report {
        change,
        denial: false,
        article_id: 0,
        revision_id: 0,
        source_id: "test".into(),
        url: format!("https://{url}"),
        title: format!("report at {url}"),
        trust,
        published: ts(day),
    }
}

fn run(reports: &[Report]) -> Vec<Event> {
    correlate(reports, &Config::default())
}

fn urls(e: &Event) -> Vec<&str> {
    e.sources.iter().map(|s| s.url.as_str()).collect()
}

#[test]
fn three_reports_of_one_change_merge_into_one_event() {
    let ended = || change(ChangeKind::Exclusivity, Status::Ended);
    let reports = [
        report(ended(), "nimbus.example/blog", "2026-03-02", Trust::Vendor),
        report(ended(), "wire.example/story", "2026-03-03", Trust::News),
        report(
            ended(),
            "pundit.example/take",
            "2026-03-09",
            Trust::Commentary,
        ),
    ];
    let events = run(&reports);
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e.kind, ChangeKind::Exclusivity);
    assert_eq!(e.status, Status::Ended);
    assert_eq!(urls(e).len(), 3);
    assert_eq!(e.first_seen, ts("2026-03-02"));
    assert_eq!(e.last_seen, ts("2026-03-09"));
    assert!(!e.disputed);
    let alone = run(&reports[..1]);
    assert!(
        e.confidence > alone[0].confidence,
        "corroboration must raise confidence: {} vs {}",
        e.confidence,
        alone[0].confidence
    );
    let commentary_only = run(&reports[2..]);
    assert!(
        alone[0].confidence > commentary_only[0].confidence,
        "vendor outweighs commentary"
    );
}

#[test]
fn same_parties_different_kinds_stay_apart() {
    let events = run(&[
        report(
            change(ChangeKind::Exclusivity, Status::Ended),
            "a.example/1",
            "2026-03-02",
            Trust::News,
        ),
        report(
            change(ChangeKind::License, Status::NonExclusive),
            "a.example/1",
            "2026-03-02",
            Trust::News,
        ),
    ]);
    let mut kinds: Vec<ChangeKind> = events.iter().map(|e| e.kind).collect();
    kinds.sort();
    assert_eq!(kinds, [ChangeKind::Exclusivity, ChangeKind::License]);
}

#[test]
fn same_kind_different_products_stay_apart_but_spellings_meet() {
    let events = run(&[
        report(
            available("Nimbus-2 Pro", "Corvid Cloud"),
            "a.example/1",
            "2026-03-02",
            Trust::News,
        ),
        report(
            available("nimbus 2  pro", "corvid cloud"),
            "b.example/2",
            "2026-03-04",
            Trust::News,
        ),
        report(
            available("Nimbus-2 Mini", "Corvid Cloud"),
            "a.example/1",
            "2026-03-02",
            Trust::News,
        ),
    ]);
    assert_eq!(events.len(), 2, "{events:#?}");
    let pro = events
        .iter()
        .find(|e| e.sources.len() == 2)
        .expect("one event has both spellings");
    assert_eq!(
        urls(pro),
        ["https://a.example/1", "https://b.example/2"],
        "both spellings of the product are one event"
    );
    let mini = events
        .iter()
        .find(|e| e.product.as_deref() == Some("Nimbus-2 Mini"))
        .expect("mini event");
    assert_eq!(urls(mini), ["https://a.example/1"]);
}

#[test]
fn revenue_share_directions_are_separate_events() {
    let mut to_corvid = change(ChangeKind::RevenueShare, Status::Ended);
    to_corvid.payer = Some("Nimbus Labs".into());
    to_corvid.payee = Some("Corvid Cloud".into());
    let mut to_nimbus = change(ChangeKind::RevenueShare, Status::Capped);
    to_nimbus.payer = Some("Corvid Cloud".into());
    to_nimbus.payee = Some("Nimbus Labs".into());
    let events = run(&[
        report(to_corvid, "a.example/1", "2026-03-02", Trust::News),
        report(to_nimbus, "a.example/1", "2026-03-02", Trust::News),
    ]);
    assert_eq!(events.len(), 2);
    assert!(
        events.iter().all(|e| !e.disputed),
        "opposite directions are not a contradiction"
    );
}

#[test]
fn reports_outside_the_window_are_a_new_event() {
    let ended = || change(ChangeKind::Exclusivity, Status::Ended);
    let close = run(&[
        report(ended(), "a.example/1", "2026-03-01", Trust::News),
        report(ended(), "b.example/2", "2026-03-29", Trust::News),
    ]);
    assert_eq!(close.len(), 1, "28 days apart is inside the default 30");
    let far = [
        report(ended(), "a.example/1", "2026-03-01", Trust::News),
        report(ended(), "b.example/2", "2026-04-20", Trust::News),
    ];
    assert_eq!(
        run(&far).len(),
        2,
        "50 days apart is outside the default 30"
    );
    let wide = Config {
        window_days: 60,
        ..Config::default()
    };
    assert_eq!(
        correlate(&far, &wide).len(),
        1,
        "the window is configurable"
    );
}

#[test]
fn a_later_change_of_terms_supersedes_the_earlier_events_newest_first() {
    let mut started = change(ChangeKind::Exclusivity, Status::Started);
    started.exclusive = Some(true);
    let mut extended = change(ChangeKind::Exclusivity, Status::Extended);
    extended.exclusive = Some(true);
    extended.until = Some("2030".into());
    let mut ended = change(ChangeKind::Exclusivity, Status::Ended);
    ended.exclusive = Some(false);
    let events = run(&[
        report(ended, "c.example/3", "2026-04-27", Trust::Vendor),
        report(started, "a.example/1", "2019-07-22", Trust::Vendor),
        report(extended, "b.example/2", "2023-01-23", Trust::Vendor),
    ]);
    assert_eq!(events.len(), 3);
    let (first, second, last) = (&events[0], &events[1], &events[2]);
    assert_eq!(last.status, Status::Ended);
    assert_eq!(last.supersedes, [second.id.clone(), first.id.clone()]);
    assert_eq!(second.supersedes, std::slice::from_ref(&first.id));
    assert!(first.supersedes.is_empty());
}

#[test]
fn the_most_trusted_source_wins_then_the_most_corroborated() {
    let status = |s| change(ChangeKind::CloudPriority, s);
    // One news report outranks two commentaries, even though they agree.
    let events = run(&[
        report(
            status(Status::Extended),
            "wire.example/1",
            "2026-03-02",
            Trust::News,
        ),
        report(
            status(Status::Continues),
            "blog.example/1",
            "2026-03-02",
            Trust::Commentary,
        ),
        report(
            status(Status::Continues),
            "blog.example/2",
            "2026-03-03",
            Trust::Commentary,
        ),
    ]);
    assert_eq!(events[0].status, Status::Extended);
    // Among equals, the value more articles carry wins, whatever the order.
    let reports = [
        report(
            status(Status::Capped),
            "blog.example/1",
            "2026-03-02",
            Trust::Commentary,
        ),
        report(
            status(Status::Continues),
            "blog.example/2",
            "2026-03-03",
            Trust::Commentary,
        ),
        report(
            status(Status::Capped),
            "blog.example/3",
            "2026-03-04",
            Trust::Commentary,
        ),
    ];
    assert_eq!(run(&reports)[0].status, Status::Capped);
    let mut reversed = reports.to_vec();
    reversed.reverse();
    assert_eq!(run(&reversed), run(&reports));
}

#[test]
fn contradicting_reports_are_disputed_side_by_side_until_a_vendor_settles_it() {
    let news_ended = report(
        change(ChangeKind::RevenueShare, Status::Ended),
        "wire.example/1",
        "2026-03-02",
        Trust::News,
    );
    let news_goes_on = report(
        change(ChangeKind::RevenueShare, Status::Continues),
        "paper.example/1",
        "2026-03-03",
        Trust::News,
    );
    let disputed = run(&[news_ended.clone(), news_goes_on.clone()]);
    assert_eq!(disputed.len(), 1);
    let e = &disputed[0];
    assert!(e.disputed);
    let claims: Vec<(&str, &str, Vec<&str>)> = e
        .claims
        .iter()
        .map(|c| {
            (
                c.field.as_str(),
                c.value.as_str(),
                c.sources.iter().map(|s| s.url.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        claims,
        [
            ("status", "continues", vec!["https://paper.example/1"]),
            ("status", "ended", vec!["https://wire.example/1"]),
        ]
    );
    // A commentary cannot settle it ...
    let pundit = report(
        change(ChangeKind::RevenueShare, Status::Continues),
        "pundit.example/1",
        "2026-03-04",
        Trust::Commentary,
    );
    let still = run(&[news_ended.clone(), news_goes_on.clone(), pundit]);
    assert!(still[0].disputed, "only a vendor settles a dispute");
    // ... the vendor's own post does, and its value is the event's.
    let vendor = report(
        change(ChangeKind::RevenueShare, Status::Ended),
        "nimbus.example/news",
        "2026-03-05",
        Trust::Vendor,
    );
    let settled = run(&[news_ended, news_goes_on, vendor]);
    assert!(!settled[0].disputed, "{:#?}", settled[0].claims);
    assert!(settled[0].claims.is_empty());
    assert_eq!(settled[0].status, Status::Ended);
    assert!(settled[0].confidence > e.confidence);
}

#[test]
fn vendors_that_disagree_with_each_other_do_not_settle_anything() {
    let mut yes = change(ChangeKind::License, Status::Continues);
    yes.exclusive = Some(true);
    let mut no = change(ChangeKind::License, Status::Continues);
    no.exclusive = Some(false);
    let events = run(&[
        report(yes, "nimbus.example/a", "2026-03-02", Trust::Vendor),
        report(no, "corvid.example/b", "2026-03-02", Trust::Vendor),
    ]);
    assert!(events[0].disputed);
    assert!(
        events[0].claims.iter().all(|c| c.field == "exclusive"),
        "{:#?}",
        events[0].claims
    );
}

#[test]
fn different_until_dates_are_a_dispute_but_a_precise_date_agrees_with_its_year() {
    let until = |u: &str| {
        let mut c = change(ChangeKind::License, Status::Extended);
        c.until = Some(u.into());
        c
    };
    let agree = run(&[
        report(until("2031"), "a.example/1", "2026-03-02", Trust::News),
        report(
            until("2031-12-31"),
            "b.example/1",
            "2026-03-02",
            Trust::News,
        ),
    ]);
    assert!(!agree[0].disputed);
    let differ = run(&[
        report(until("2031"), "a.example/1", "2026-03-02", Trust::News),
        report(
            until("2033"),
            "b.example/1",
            "2026-03-02",
            Trust::Commentary,
        ),
    ]);
    assert!(differ[0].disputed);
    assert_eq!(
        differ[0].until.as_deref(),
        Some("2031"),
        "news outranks commentary"
    );
}

#[test]
fn an_article_that_contradicts_itself_is_flagged_without_flipping_the_event() {
    let capped = || {
        let mut c = change(ChangeKind::RevenueShare, Status::Capped);
        c.payer = Some("Corvid Cloud".into());
        c.payee = Some("Nimbus Labs".into());
        c.until = Some("2030".into());
        c
    };
    let mut ended = capped();
    ended.status = Status::Ended;
    ended.until = None;
    ended.evidence = "payments are discontinued".into();
    let events = run(&[
        report(capped(), "wire.example/1", "2026-03-02", Trust::News),
        report(capped(), "blog.example/1", "2026-03-02", Trust::Commentary),
        report(ended, "blog.example/2", "2026-03-02", Trust::Commentary),
        report(capped(), "blog.example/2", "2026-03-02", Trust::Commentary),
    ]);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        e.status,
        Status::Capped,
        "the contradiction must not flip the event"
    );
    assert!(e.disputed);
    let ended_claim = e
        .claims
        .iter()
        .find(|c| c.value == "ended")
        .expect("ended claim");
    assert_eq!(ended_claim.sources[0].url, "https://blog.example/2");
    assert_eq!(ended_claim.sources[0].evidence, "payments are discontinued");
}

#[test]
fn a_denial_confirms_the_event_and_never_opens_one() {
    let ended = report(
        change(ChangeKind::Exclusivity, Status::Ended),
        "wire.example/1",
        "2026-03-02",
        Trust::News,
    );
    let mut denial = report(
        change(ChangeKind::Exclusivity, Status::Continues),
        "nimbus.example/faq",
        "2026-03-10",
        Trust::Vendor,
    );
    denial.denial = true;
    assert!(
        run(&[denial.clone()]).is_empty(),
        "a denial alone is no event"
    );
    let with = run(&[ended.clone(), denial.clone()]);
    assert_eq!(with.len(), 1);
    let e = &with[0];
    assert_eq!(e.confirmations.len(), 1);
    assert_eq!(e.confirmations[0].url, "https://nimbus.example/faq");
    assert_eq!(
        urls(e),
        ["https://wire.example/1"],
        "a denial is not a source"
    );
    assert!(!e.disputed, "a denial does not contradict");
    assert_eq!(e.status, Status::Ended);
    assert!(e.confidence > run(&[ended])[0].confidence);
}

#[test]
fn severity_comes_from_kind_status_and_date() {
    let mut retired = available("Nimbus-1", "Corvid Cloud");
    retired.kind = ChangeKind::Deprecation;
    retired.status = Status::Retired;
    retired.effective = Some("2026-06-30".into());
    let events = run(&[
        report(retired, "a.example/1", "2026-03-02", Trust::Vendor),
        report(
            change(ChangeKind::CloudPriority, Status::Continues),
            "a.example/1",
            "2026-03-02",
            Trust::Vendor,
        ),
    ]);
    let sev = |k| events.iter().find(|e| e.kind == k).expect("event").severity;
    assert!(sev(ChangeKind::Deprecation) > sev(ChangeKind::CloudPriority));
}

#[test]
fn a_bad_severity_key_names_the_fix() {
    let mut config = Config::default();
    config
        .severity
        .insert("exclusivity.over".into(), termwatch::model::Severity::High);
    let err = config.check().unwrap_err().to_string();
    assert!(
        err.contains("exclusivity.over") && err.contains("statuses are"),
        "{err}"
    );
}

/// The same stage through a real SQLite store.
#[path = "correlate/store_steps.rs"]
mod store_steps;

#[test]
fn a_revenue_share_without_direction_joins_the_only_known_direction() {
    let directed = || {
        let mut c = change(ChangeKind::RevenueShare, Status::Ended);
        c.payer = Some("Nimbus Labs".into());
        c.payee = Some("Corvid Cloud".into());
        c
    };
    let vague = report(
        change(ChangeKind::RevenueShare, Status::Ended),
        "pundit.example/1",
        "2026-03-03",
        Trust::Commentary,
    );
    let one_way = run(&[
        report(directed(), "wire.example/1", "2026-03-02", Trust::News),
        vague.clone(),
    ]);
    assert_eq!(one_way.len(), 1, "{one_way:#?}");
    assert_eq!(
        urls(&one_way[0]),
        ["https://wire.example/1", "https://pundit.example/1"]
    );
    assert_eq!(one_way[0].payer.as_deref(), Some("Nimbus Labs"));

    let mut back = directed();
    std::mem::swap(&mut back.payer, &mut back.payee);
    let both_ways = run(&[
        report(directed(), "wire.example/1", "2026-03-02", Trust::News),
        report(back, "wire.example/1", "2026-03-02", Trust::News),
        vague,
    ]);
    assert_eq!(
        both_ways.len(),
        3,
        "with two directions known, a vague report is not guessed"
    );
}
