//! Issue 14, "digests a client can act on": each point checked in every body
//! a client can get (HTML, text, JSON, Slack, Teams), over hand-made events
//! about invented vendors (Nimbus Labs, Corvid Cloud).

#[path = "fixtures/tailor/support.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;

use support::*;
use termwatch::deliver::StoredDigest;
use termwatch::deliver::webhook::{Format, payload};
use termwatch::digest::{self, Change, Notes, Renderer, Window, WindowKind};
use termwatch::model::{ChangeKind, Claim, ClientProfile, Digest, Event, Role, Status, Trust};
use termwatch::route::{self, Playbook};

fn playbook() -> Playbook {
    route::load_playbook(&route::Config { playbook: None }).expect("shipped playbook")
}

/// 1 Dec 2026, 14:00 UTC: 1 Dec in Chicago and in Berlin.
fn now() -> jiff::Timestamp {
    ts("2026-12-01T14:00:00Z")
}

fn window() -> Window {
    Window {
        start: ts("2026-11-30T14:00:00Z"),
        end: now(),
        kind: WindowKind::Regular,
    }
}

/// Every body of one digest: HTML, text, JSON, Slack, Teams.
struct Bodies {
    digest: Digest,
    html: String,
    text: String,
    json: String,
    slack: String,
    teams: String,
}

impl Bodies {
    fn all(&self) -> [(&str, &str); 5] {
        [
            ("html", &self.html),
            ("text", &self.text),
            ("json", &self.json),
            ("slack", &self.slack),
            ("teams", &self.teams),
        ]
    }

    /// Every body says `what` (HTML with its entities decoded, JSON and
    /// the cards with their escapes undone).
    fn all_say(&self, what: &str) {
        for (name, body) in self.all() {
            let plain = body
                .replace("&#x27;", "'")
                .replace("&#x2f;", "/")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("\\\"", "\"")
                .replace("\\u2019", "’")
                .replace('\\', "");
            assert!(plain.contains(what), "{name} lacks {what:?}:\n{body}");
        }
    }

    fn none_say(&self, what: &str) {
        for (name, body) in self.all() {
            assert!(!body.contains(what), "{name} says {what:?}:\n{body}");
        }
    }
}

fn bodies<'a>(
    client: &ClientProfile,
    events: impl IntoIterator<Item = (&'a Arc<Event>, Change)>,
    notes: Notes<'_>,
) -> Bodies {
    let d = digest::build_digest(client, &playbook(), events, &window(), now(), notes)
        .expect("something for the client");
    let r = Renderer::load(&digest::Config::default())
        .expect("templates")
        .render(&d, &client.timezone)
        .expect("renders");
    let stored = StoredDigest {
        id: d.id.clone(),
        client_id: d.client_id.clone(),
        subject: d.subject.clone(),
        html: r.html.clone(),
        text: r.text.clone(),
        json: r.json.clone(),
    };
    let card = |f| String::from_utf8(payload(f, &stored).expect("payload")).expect("utf-8");
    Bodies {
        slack: card(Format::Slack),
        teams: card(Format::Teams),
        digest: d,
        html: r.html,
        text: r.text,
        json: r.json,
    }
}

fn msp(tz: &str) -> ClientProfile {
    let mut c = client("ferry", Role::Msp, &["Nimbus Labs"]);
    c.name = "Ferry Lane Managed Services".into();
    c.platforms = vec!["Corvid Studio".into()];
    c.clouds = vec!["Corvid".into()];
    c.regimes = vec!["HIPAA".into()];
    c.timezone = tz.into();
    c
}

const LAUNCH: &str = "Corvid launch notes\n\nFrom today, Corvid customers can build with Nimbus Labs models. Ready now in Corvid Studio:\n- Nimbus Swift\n- Nimbus Deep\n\nBoth are served from the Corvid North and Corvid West regions, with a Lisbon region planned.";

/// Two list items of one launch, in context, as the pipeline passes them.
fn launch_events() -> (Vec<Arc<Event>>, HashMap<String, Vec<String>>) {
    let mut details = HashMap::new();
    let events = ["Nimbus Swift", "Nimbus Deep"]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut e = availability(
                &format!("ev-{i}"),
                p,
                "Corvid Studio",
                &["Corvid", "Nimbus Labs"],
            );
            e.sources[0].evidence = p.to_string();
            e.sources[0].url = "https://corvid.example/launch".into();
            e.sources[0].title = "Nimbus Labs models in Corvid Studio".into();
            let (e, found) = digest::enrich(&e, |_| Some(LAUNCH));
            details.insert(e.id.clone(), found);
            Arc::new(e)
        })
        .collect();
    (events, details)
}

#[test]
fn due_dates_are_never_before_tomorrow_in_the_clients_zone_and_kept_once_given() {
    let (events, details) = launch_events();
    let c = msp("America/Chicago");
    let notes = Notes {
        details: Some(&details),
        ..Notes::default()
    };
    let b = bodies(&c, events.iter().map(|e| (e, Change::New)), notes);
    // The launch was in April; told on 1 Dec, event+14d is 15 Dec, and
    // nothing is due before 2 Dec.
    for item in &b.digest.items {
        for a in &item.actions {
            let due = a.due.as_deref().expect("dated");
            assert!(due >= "2026-12-02", "{} due {due}", a.rule_id);
            assert!(!a.overdue);
        }
    }
    b.all_say("2026-12-15");
    // A due date delivered before stays, and once past it is marked overdue.
    let mut stored: route::StoredDues = HashMap::new();
    stored
        .entry("ev-0".into())
        .or_default()
        .insert("hipaa-baa-coverage".into(), "2026-11-20".into());
    let notes = Notes {
        details: Some(&details),
        dues: Some(&stored),
        ..Notes::default()
    };
    let b = bodies(&c, events.iter().map(|e| (e, Change::Updated)), notes);
    let baa = b.digest.items[0]
        .actions
        .iter()
        .find(|a| a.rule_id == "hipaa-baa-coverage")
        .expect("baa action");
    assert_eq!(
        (baa.due.as_deref(), baa.overdue),
        (Some("2026-11-20"), true)
    );
    b.all_say("2026-11-20");
    for (name, body) in b.all() {
        assert!(body.to_lowercase().contains("overdue"), "{name}:\n{body}");
    }
}

#[test]
fn evidence_is_the_lead_in_with_its_items_and_the_regions_come_along() {
    let (events, details) = launch_events();
    let notes = Notes {
        details: Some(&details),
        ..Notes::default()
    };
    let b = bodies(&msp("UTC"), events.iter().map(|e| (e, Change::New)), notes);
    b.all_say("Ready now in Corvid Studio: Nimbus Swift; Nimbus Deep");
    b.all_say("Corvid North and Corvid West regions, with a Lisbon region planned");
    b.all_say("https://corvid.example/launch");
}

#[test]
fn items_with_one_family_and_the_same_actions_are_one_item() {
    let (events, details) = launch_events();
    let notes = Notes {
        details: Some(&details),
        ..Notes::default()
    };
    let b = bodies(&msp("UTC"), events.iter().map(|e| (e, Change::New)), notes);
    assert_eq!(b.digest.items.len(), 1, "{:#?}", b.digest.items);
    assert_eq!(b.digest.items[0].grouped, vec!["ev-1".to_string()]);
    b.all_say("Nimbus Swift and Nimbus Deep on Corvid Studio");
    // A platform and its own sub-platform are one fact, named the longer way.
    let wide = Arc::new(availability(
        "ev-wide",
        "Nimbus Swift",
        "Corvid",
        &["Corvid", "Nimbus Labs"],
    ));
    let narrow = Arc::new(availability(
        "ev-narrow",
        "Nimbus Swift",
        "Corvid Studio",
        &["Corvid", "Nimbus Labs"],
    ));
    let b = bodies(
        &msp("UTC"),
        [(&wide, Change::New), (&narrow, Change::New)],
        Notes::default(),
    );
    assert_eq!(b.digest.items.len(), 1, "{:#?}", b.digest.items);
    b.all_say("Nimbus Swift on Corvid Studio");
}

#[test]
fn a_regime_check_applies_only_on_a_platform_the_client_uses_and_why_names_it() {
    let elsewhere = Arc::new(availability(
        "ev-x",
        "Nimbus Swift",
        "Heron Cloud",
        &["Heron", "Nimbus Labs"],
    ));
    let ours = Arc::new(availability(
        "ev-y",
        "Nimbus Deep",
        "Corvid Studio",
        &["Corvid", "Nimbus Labs"],
    ));
    let b = bodies(
        &msp("UTC"),
        [(&elsewhere, Change::New), (&ours, Change::New)],
        Notes::default(),
    );
    let baa: Vec<&str> = b
        .digest
        .items
        .iter()
        .filter(|i| i.actions.iter().any(|a| a.rule_id == "hipaa-baa-coverage"))
        .map(|i| i.event.id.as_str())
        .collect();
    assert_eq!(baa, vec!["ev-y"]);
    b.all_say("you use Corvid Studio");
    b.all_say("you are under HIPAA");
}

#[test]
fn wording_reads_as_sentences_in_every_body() {
    let mut c = msp("UTC");
    c.clouds = vec!["Azure".into()];
    let mut retire = availability("ev-r", "Nimbus Old", "Azure", &["Microsoft", "Nimbus Labs"]);
    retire.kind = ChangeKind::Deprecation;
    retire.status = Status::Retired;
    retire.effective = Some("2027-06-30".into());
    let mut license = event(
        "ev-l",
        ChangeKind::License,
        Status::NonExclusive,
        &["Corvid", "Nimbus Labs"],
    );
    license.licensor = Some("Nimbus Labs".into());
    license.licensee = Some("Corvid".into());
    license.until = Some("2031".into());
    let (retire, license) = (Arc::new(retire), Arc::new(license));
    let b = bodies(
        &c,
        [(&retire, Change::New), (&license, Change::New)],
        Notes::default(),
    );
    b.all_say("will be retired on 30 Jun 2027");
    b.all_say("non-exclusive");
    b.none_say("non exclusive");
    b.none_say("Azure runs on Azure");
    b.all_say("you use Azure");
    // One vocabulary: the item's level is its urgency everywhere.
    for (name, body) in [("html", &b.html), ("text", &b.text)] {
        assert!(body.contains("urgency high"), "{name}:\n{body}");
    }
    assert!(b.json.contains("\"urgency\":\"high\""));
    assert!(b.slack.contains("HIGH ·") && b.teams.contains("HIGH ·"));
    // The client's name at most once per action.
    for item in &b.digest.items {
        for a in &item.actions {
            let n = format!("{} {}", a.title, a.why).matches(&c.name).count();
            assert!(n <= 1, "{}: {n} times", a.rule_id);
        }
    }
}

#[test]
fn an_investment_risk_action_names_the_company_invested_in() {
    let mut e = event(
        "ev-i",
        ChangeKind::Investment,
        Status::Continues,
        &["Corvid", "Nimbus Labs"],
    );
    e.sources[0].evidence = "Corvid keeps its large shareholding in Nimbus Labs.".into();
    let c = client("k", Role::Msp, &["Corvid"]);
    let e = Arc::new(e);
    let b = bodies(&c, [(&e, Change::New)], Notes::default());
    b.all_say("Refresh the vendor risk assessment for Nimbus Labs");
    b.none_say("vendor risk assessment for Corvid");
}

#[test]
fn a_dispute_says_who_claims_what_in_the_clients_zone() {
    let mut e = event(
        "ev-d",
        ChangeKind::License,
        Status::NonExclusive,
        &["Corvid", "Nimbus Labs"],
    );
    e.disputed = true;
    e.until = Some("2028".into());
    let mut vendor = e.sources[0].clone();
    vendor.published = ts("2026-04-30T23:30:00Z");
    let mut news = vendor.clone();
    news.trust = Trust::News;
    news.url = "https://wire.example/nimbus".into();
    news.published = ts("2026-05-02T09:00:00Z");
    e.claims = vec![
        Claim {
            field: "until".into(),
            value: "2028".into(),
            sources: vec![news.clone()],
        },
        Claim {
            field: "until".into(),
            value: "2030".into(),
            sources: vec![vendor],
        },
    ];
    e.sources.push(news);
    let e = Arc::new(e);
    let c = msp("Europe/Berlin");
    let b = bodies(&c, [(&e, Change::New)], Notes::default());
    // 23:30 UTC on 30 Apr is 1 May in Berlin.
    b.all_say("Vendor post (1 May 2026): until 2030.");
    b.all_say("News report (2 May 2026): until 2028.");
    let (html, text) = (&b.html, &b.text);
    for body in [html, text] {
        let v = body.find("Vendor post (1 May").expect("vendor claim");
        assert!(
            v < body.find("News report (2 May").expect("news claim"),
            "most trusted first"
        );
    }
    assert!(
        b.digest.items[0].headline.contains("until 2030"),
        "{}",
        b.digest.items[0].headline
    );
}

#[test]
fn an_update_says_what_it_was_and_what_it_is() {
    let mut old = availability(
        "ev-p",
        "Nimbus Swift",
        "Corvid Studio",
        &["Corvid", "Nimbus Labs"],
    );
    old.kind = ChangeKind::Pricing;
    old.status = Status::Changed;
    old.effective = Some("2027-01-15".into());
    old.sources[0].evidence =
        "Nimbus Swift calls in Corvid Studio rise by +15% from mid-January.".into();
    let mut new = old.clone();
    new.effective = Some("2027-02-01".into());
    new.sources[0].evidence =
        "Nimbus Swift calls in Corvid Studio rise by +20% from February.".into();
    let before: HashMap<String, Arc<Event>> = [("ev-p".to_string(), Arc::new(old))].into();
    let new = Arc::new(new);
    let notes = Notes {
        before: Some(&before),
        ..Notes::default()
    };
    let b = bodies(&msp("UTC"), [(&new, Change::Updated)], notes);
    b.all_say("+15% from 15 Jan 2027 is now +20% from 1 Feb 2027");
}

#[test]
fn cards_carry_the_headline_quote_actions_and_local_dates() {
    let (events, details) = launch_events();
    let notes = Notes {
        details: Some(&details),
        ..Notes::default()
    };
    let b = bodies(
        &msp("America/Chicago"),
        events.iter().map(|e| (e, Change::New)),
        notes,
    );
    for (name, body) in [("slack", &b.slack), ("teams", &b.teams)] {
        // 14:00 UTC is 08:00 in Chicago; no raw timestamps.
        assert!(body.contains("1 Dec 2026 08:00"), "{name}:\n{body}");
        assert!(!body.contains("T14:00:00Z"), "{name}:\n{body}");
        assert!(
            body.contains("Evaluate Nimbus Swift and Nimbus Deep on Corvid Studio"),
            "{name}:\n{body}"
        );
    }
    assert!(b.slack.contains("\"type\":\"section\"") && b.slack.contains("\"type\":\"context\""));
    assert!(b.teams.contains("\"type\":\"FactSet\""));
}

#[test]
fn client_filters_include_exclude_mute_and_confidence() {
    // Two launches with their own evidence, so a pattern can tell them apart.
    let events: Vec<Arc<Event>> = [
        ("ev-s", "Nimbus Swift", "Heron"),
        ("ev-d", "Nimbus Deep", "Corvid"),
    ]
    .iter()
    .map(|(id, product, party)| {
        let mut e = availability(id, product, "Corvid Studio", &[party, "Nimbus Labs"]);
        e.sources[0].url = "https://corvid.example/launch".into();
        e.sources[0].evidence = format!("{product} is ready now for every Corvid Studio customer.");
        Arc::new(e)
    })
    .collect();
    let notes = Notes::default();
    let mut c = msp("UTC");
    let count = |c: &ClientProfile| {
        digest::build_digest(
            c,
            &playbook(),
            events.iter().map(|e| (e, Change::New)),
            &window(),
            now(),
            notes,
        )
        .map_or(0, |d| {
            d.items.len() + d.items.iter().map(|i| i.grouped.len()).sum::<usize>()
        })
    };
    assert_eq!(count(&c), 2);
    c.filters.exclude = vec!["/swift/".into()];
    assert_eq!(count(&c), 1);
    c.filters.exclude.clear();
    c.filters.include = vec!["deep".into()];
    assert_eq!(count(&c), 1);
    c.filters.include.clear();
    c.filters.mute_sources = vec!["corvid.example".into()];
    assert_eq!(count(&c), 0);
    c.filters.mute_sources.clear();
    c.filters.mute_kinds = vec![ChangeKind::Availability];
    assert_eq!(count(&c), 0);
    c.filters.mute_kinds.clear();
    c.filters.min_confidence = 0.95;
    assert_eq!(count(&c), 0);
}

#[test]
fn check_names_a_bad_filter_with_its_line() {
    let text = "id = \"f\"\nname = \"F\"\nrole = \"msp\"\nrecipients = [\"a@f.example\"]\ntimezone = \"UTC\"\ncadence = \"immediate\"\n\n[filters]\nexclude = [\"/(unclosed/\"]\nmute_kinds = [\"pricng\"]\nmin_confidence = 2.0\n";
    let problems = route::parse_client(std::path::Path::new("clients/f.toml"), text).unwrap_err();
    let all: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all[0].contains("not a valid regex"), "{all:#?}");
    assert!(
        all[1].contains("\"pricng\" is not an event family"),
        "{all:#?}"
    );
    assert!(
        all[2].contains("min_confidence 2 is out of range"),
        "{all:#?}"
    );
    assert!(all.iter().all(|p| p.contains("line")), "{all:#?}");
}
