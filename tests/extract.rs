//! The extract stage from the outside: one test per kind and per failure
//! type (hedges, denials, history, several changes in a sentence, vendors in
//! no table, HTML furniture), a golden run over `tests/fixtures/extract/`,
//! the `termwatch extract` command, and a property test that extraction
//! never panics and every evidence span is the text it claims.

use std::path::Path;

use proptest::prelude::*;
use termwatch::extract::{self, Config};
use termwatch::model::{Article, ChangeKind, Extraction, Status, TermChange, Trust};

fn article(text: &str, published: &str) -> Article {
    let date: jiff::civil::Date = published.parse().expect("test date parses");
    Article {
        source_id: "test".into(),
        url: "https://example.test/a".into(),
        guid: None,
        title: String::new(),
        published: Some(
            date.to_zoned(jiff::tz::TimeZone::UTC)
                .expect("valid")
                .timestamp(),
        ),
        author: None,
        text: text.into(),
        content_hash: String::new(),
        fetched_at: jiff::Timestamp::UNIX_EPOCH,
        trust: Trust::Vendor,
        organisation: None,
    }
}

fn run(text: &str) -> Extraction {
    extract::extract(&article(text, "2026-05-04"), &Config::default())
}

fn of_kind(x: &Extraction, k: ChangeKind) -> Vec<&TermChange> {
    x.changes.iter().filter(|c| c.kind == k).collect()
}

fn assert_spans(text: &str, x: &Extraction) {
    for c in x.changes.iter().chain(x.denials.iter()) {
        let got: String = text
            .chars()
            .skip(c.span.start)
            .take(c.span.end - c.span.start)
            .collect();
        assert_eq!(
            got, c.evidence,
            "span must cut the evidence out of the text"
        );
    }
}

#[test]
fn exclusivity_end_between_unknown_vendors() {
    let text = "Nimbus Labs and Corvid Cloud rework their deal\n\nCorvid Cloud has given up its exclusive right to resell Nimbus Labs models, the companies said today.";
    let x = run(text);
    let ex = of_kind(&x, ChangeKind::Exclusivity);
    assert_eq!(ex.len(), 1, "{x:#?}");
    assert_eq!(ex[0].parties, vec!["Corvid Cloud", "Nimbus Labs"]);
    assert_eq!(ex[0].status, Status::Ended);
    assert_eq!(ex[0].exclusive, Some(false));
    assert_spans(text, &x);
}

#[test]
fn licence_roles_follow_the_ip_owner() {
    let x = run(
        "Corvid Cloud retains a licence to Nimbus Labs' models through 2030, and that licence is now non-exclusive.",
    );
    let l = of_kind(&x, ChangeKind::License);
    assert_eq!(l.len(), 1, "{x:#?}");
    assert_eq!(l[0].licensor.as_deref(), Some("Nimbus Labs"));
    assert_eq!(l[0].licensee.as_deref(), Some("Corvid Cloud"));
    assert_eq!(l[0].status, Status::NonExclusive);
    assert_eq!(l[0].until.as_deref(), Some("2030"));
}

#[test]
fn one_sentence_two_revenue_share_directions() {
    let x = run(
        "Helix Labs will no longer pay Corvid Cloud a revenue share, while Corvid Cloud's revenue share payments to Helix Labs continue through 2031 subject to a cap.",
    );
    let rs = of_kind(&x, ChangeKind::RevenueShare);
    assert_eq!(rs.len(), 2, "{x:#?}");
    let ended = rs
        .iter()
        .find(|c| c.payer.as_deref() == Some("Helix Labs"))
        .expect("Helix pays");
    assert_eq!(ended.payee.as_deref(), Some("Corvid Cloud"));
    assert_eq!(ended.status, Status::Ended);
    let capped = rs
        .iter()
        .find(|c| c.payer.as_deref() == Some("Corvid Cloud"))
        .expect("Corvid pays");
    assert_eq!(capped.status, Status::Capped);
    assert_eq!(capped.until.as_deref(), Some("2031"));
}

#[test]
fn three_products_on_one_platform_are_three_changes() {
    let x = run("Falcon 3, Falcon 3 Mini and Kestrel 2 are now available on Amazon Bedrock.");
    let av = of_kind(&x, ChangeKind::Availability);
    let mut products: Vec<&str> = av.iter().filter_map(|c| c.product.as_deref()).collect();
    products.sort();
    assert_eq!(
        products,
        vec!["Falcon 3", "Falcon 3 Mini", "Kestrel 2"],
        "{x:#?}"
    );
    assert!(
        av.iter()
            .all(|c| c.platform.as_deref() == Some("Amazon Bedrock"))
    );
}

#[test]
fn list_lead_in_gives_the_platform_to_each_bullet() {
    let text = "Launch notes\n\nStarting today these models are available in Vertex AI:\n\n- Gemma 4: small and open.\n- Gemini 4 Ultra (preview): the largest one.\n";
    let x = run(text);
    let av = of_kind(&x, ChangeKind::Availability);
    assert_eq!(av.len(), 2, "{x:#?}");
    let ultra = av
        .iter()
        .find(|c| c.product.as_deref() == Some("Gemini 4 Ultra"))
        .expect("ultra");
    assert_eq!(ultra.status, Status::Preview);
    assert_eq!(ultra.platform.as_deref(), Some("Vertex AI"));
    assert_spans(text, &x);
}

#[test]
fn aliases_are_canonical() {
    let x = run(
        "Amazon Web Services will supply $4 billion of GPU capacity to Nimbus Labs under a new agreement.",
    );
    let cc = of_kind(&x, ChangeKind::ComputeCommitment);
    assert_eq!(cc.len(), 1, "{x:#?}");
    assert_eq!(cc[0].parties, vec!["Amazon", "Nimbus Labs"]);
    let x = run("Kestrel 2 is now available on AWS Bedrock.");
    assert_eq!(
        of_kind(&x, ChangeKind::Availability)[0].platform.as_deref(),
        Some("Amazon Bedrock")
    );
}

#[test]
fn hedge_lowers_confidence_but_keeps_the_change() {
    let plain = run("Corvid Cloud will invest $2 billion in Nimbus Labs.");
    let hedged = run(
        "Corvid Cloud will reportedly invest $2 billion in Nimbus Labs, people familiar with the talks said.",
    );
    let p = of_kind(&plain, ChangeKind::Investment);
    let h = of_kind(&hedged, ChangeKind::Investment);
    assert_eq!((p.len(), h.len()), (1, 1), "{plain:#?} {hedged:#?}");
    assert!(h[0].confidence < p[0].confidence - 0.2);
}

#[test]
fn denial_is_not_a_change() {
    let x = run(
        "Nimbus Labs said its exclusive cloud agreement with Corvid Cloud does not change after the new funding round.",
    );
    assert!(x.changes.is_empty(), "{x:#?}");
    assert!(
        !x.denials.is_empty(),
        "the denial is kept for correlate: {x:#?}"
    );
}

#[test]
fn history_is_not_a_change() {
    let x = run(
        "In 2021, Corvid Cloud became the exclusive cloud provider of Nimbus Labs and invested $300 million in it.",
    );
    assert!(x.changes.is_empty(), "{x:#?}");
    let x = run(
        "Nimbus Labs at ten\n\nBackground\n\nCorvid Cloud was the exclusive cloud provider of Nimbus Labs for years.",
    );
    assert!(x.changes.is_empty(), "{x:#?}");
}

#[test]
fn retirement_with_explicit_date_is_effective_then() {
    let x = run("Kestrel 1 will be retired from Azure OpenAI on July 31, 2026.");
    let d = of_kind(&x, ChangeKind::Deprecation);
    assert_eq!(d.len(), 1, "{x:#?}");
    assert_eq!(d[0].effective.as_deref(), Some("2026-07-31"));
    assert_eq!(d[0].status, Status::Retired);
}

#[test]
fn immediate_availability_takes_the_article_date() {
    let x = run("Kestrel 2 is now available on Vertex AI.");
    assert_eq!(
        of_kind(&x, ChangeKind::Availability)[0]
            .effective
            .as_deref(),
        Some("2026-05-04")
    );
}

#[test]
fn price_cut_is_pricing_and_comparison_is_not() {
    let x = run("From June 1, Kestrel 2 on Vertex AI drops to $0.30 per million input tokens.");
    assert_eq!(of_kind(&x, ChangeKind::Pricing).len(), 1, "{x:#?}");
    let x = run("Kestrel 2 on Vertex AI is 40% cheaper than comparable models.");
    assert!(of_kind(&x, ChangeKind::Pricing).is_empty(), "{x:#?}");
}

#[test]
fn cloud_priority_and_governance() {
    let x = run(
        "Corvid Cloud remains the primary cloud provider for Nimbus Labs, and the AGI clause is replaced by an expert panel.",
    );
    let cp = of_kind(&x, ChangeKind::CloudPriority);
    assert_eq!(cp.len(), 1, "{x:#?}");
    assert_eq!(cp[0].status, Status::Continues);
    assert_eq!(of_kind(&x, ChangeKind::Governance).len(), 1, "{x:#?}");
}

#[test]
fn user_aliases_from_config_are_used() {
    let cfg: Config =
        toml::from_str("[[organisations]]\nname = \"Nimbus Labs\"\naliases = [\"NimbusCo\"]\n")
            .expect("parses");
    let x = extract::extract(
        &article(
            "NimbusCo will buy $1 billion of Azure compute capacity.",
            "2026-05-04",
        ),
        &cfg,
    );
    let cc: Vec<_> = x
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::ComputeCommitment)
        .collect();
    assert_eq!(cc.len(), 1, "{x:#?}");
    assert_eq!(cc[0].parties, vec!["Microsoft", "Nimbus Labs"]);
}

#[test]
fn html_furniture_is_not_the_article() {
    let html = r#"<html><body><nav><a href="/">Home</a></nav><article><h1>Kestrel 2 lands on Vertex AI</h1>
<p>Kestrel 2 is now generally available on Vertex AI.</p></article>
<aside class="related"><ul><li>Falcon 9 is now available on Amazon Bedrock</li></ul></aside>
<div id="comments"><p>Corvid Cloud will invest $9 billion in Nimbus Labs, I bet.</p></div></body></html>"#;
    let text = termwatch::html::main_text(html);
    let x = run(&text);
    assert!(
        x.changes
            .iter()
            .all(|c| c.product.as_deref() == Some("Kestrel 2")),
        "{x:#?}"
    );
    assert!(!x.changes.is_empty());
    assert_spans(&text, &x);
}

/// Labelled fixtures, matched on the spec's keys.
fn key(c: &serde_json::Value) -> String {
    let s = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_lowercase()
            .replace('-', " ")
    };
    let kind = s("kind");
    match kind.as_str() {
        "availability" | "pricing" | "deprecation" => {
            format!("{kind}|{}|{}", s("product"), s("platform"))
        }
        "revenue_share" => format!("{kind}|{}|{}", s("payer"), s("payee")),
        "license" => format!("{kind}|{}|{}", s("licensor"), s("licensee")),
        _ => {
            let mut p: Vec<String> = c["parties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .map(str::to_lowercase)
                .collect();
            p.sort();
            format!("{kind}|{}", p.join("|"))
        }
    }
}

fn fixture_article(path: &Path, label: &serde_json::Value) -> Article {
    let raw = std::fs::read_to_string(path).expect("fixture reads");
    let published = label["published"].as_str().expect("label has a date");
    let mut a = article("", published);
    if path.extension().is_some_and(|e| e == "html") {
        a.title = termwatch::html::metadata(&raw).title.unwrap_or_default();
        a.text = termwatch::html::main_text(&raw);
    } else {
        a.title = extract::text_header(&raw).0.unwrap_or_default();
        a.text = raw;
    }
    a.trust = Trust::parse(label["source"].as_str().unwrap_or("news")).unwrap_or_default();
    a
}

#[test]
fn golden_fixtures_match_their_labels() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut n = 0;
    let entries = ["extract", "extract-holdout", "extract-holdout2"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).expect("fixture dir"));
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let label: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("label"))
                .expect("label json");
        let doc = ["txt", "html"]
            .iter()
            .map(|e| path.with_extension(e))
            .find(|p| p.exists())
            .expect("document beside label");
        let a = fixture_article(&doc, &label);
        let x = extract::extract(&a, &Config::default());
        let got = serde_json::to_value(&x.changes).expect("serialises");
        let mut got_keys: Vec<String> = got.as_array().expect("array").iter().map(key).collect();
        let mut want_keys: Vec<String> = label["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(key)
            .collect();
        got_keys.sort();
        want_keys.sort();
        assert_eq!(got_keys, want_keys, "{}", doc.display());
        for want in label["changes"].as_array().expect("changes") {
            let g = got
                .as_array()
                .expect("array")
                .iter()
                .find(|g| key(g) == key(want))
                .expect("matched");
            for slot in ["status", "exclusive", "until"] {
                if let Some(w) = want.get(slot) {
                    assert_eq!(
                        g.get(slot),
                        Some(w),
                        "{} slot {slot} of {}",
                        doc.display(),
                        key(want)
                    );
                }
            }
        }
        assert_spans(&a.text, &x);
        n += 1;
    }
    assert!(n >= 26, "expected the three fixture sets, found {n}");
}

#[test]
fn command_prints_the_spec_json_shape() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/extract/feed-one-line-gigawatt-compute.txt");
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .expect("binary builds")
        .args(["extract", "--json"])
        .arg(&fixture)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["signals"].is_array(), "signals beside changes: {v}");
    let c = &v["changes"][0];
    assert_eq!(c["kind"], "compute_commitment");
    for field in [
        "parties",
        "licensor",
        "licensee",
        "payer",
        "payee",
        "product",
        "platform",
        "status",
        "exclusive",
        "until",
        "effective",
        "evidence",
        "confidence",
        "span",
    ] {
        assert!(c.get(field).is_some(), "missing {field}");
    }
    assert_eq!(c["effective"], serde_json::Value::Null);
}

#[test]
fn command_reads_stdin_and_explains_an_unreachable_url() {
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .expect("binary builds")
        .args(["extract", "--json", "-"])
        .write_stdin("Kestrel 2 is now available on Vertex AI.")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["changes"][0]["platform"], "Vertex AI");
    let out = assert_cmd::Command::cargo_bin("termwatch")
        .expect("binary builds")
        // Port 1 on loopback: nothing listens, so the fetch fails at once.
        .env(common::LOOPBACK_ENV.0, common::LOOPBACK_ENV.1)
        .args(["extract", "http://127.0.0.1:1/post"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not fetch http://127.0.0.1:1/post"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_and_spans_are_substrings(text in "\\PC{0,400}") {
        let x = run(&text);
        assert_spans(&text, &x);
    }

    #[test]
    fn never_panics_on_announcement_shaped_text(
        parts in proptest::collection::vec(prop_oneof![
            Just("Nimbus Labs ".to_string()), Just("AWS ".to_string()), Just("Claude Opus 5".to_string()),
            Just(" is now available on ".to_string()), Just("Azure AI Foundry".to_string()), Just(", while ".to_string()),
            Just(" revenue share to ".to_string()), Just(" through 2030. ".to_string()), Just("\n- ".to_string()),
            Just(": ".to_string()), Just("\u{2019}s ".to_string()), Just(" | ".to_string()), Just("\n\n".to_string()),
            Just("non\u{2011}exclusive licence ".to_string()), Just("March 9, 2027".to_string()), "\\PC{0,12}",
        ], 0..40)
    ) {
        let text: String = parts.concat();
        let x = run(&text);
        assert_spans(&text, &x);
    }
}

#[path = "common/mod.rs"]
mod common;

/// `extract URL` goes through the collector's polite fetcher: the page is
/// fetched over a real socket, its main text read, and the furniture left out.
#[tokio::test]
async fn extract_command_fetches_a_url() {
    let server = common::FixtureServer::start().await;
    server.set(
        "/press/heron-on-corvid",
        common::Route::ok(
            "text/html; charset=utf-8",
            "<html><head><title>Heron models on Corvid Cloud</title></head><body>\
             <nav>Home | Press</nav><article><h1>Heron models on Corvid Cloud</h1>\
             <p>Heron Labs said its Heron-3 model is now available on Corvid Cloud.</p>\
             </article><aside><h2>Related articles</h2><p>Heron Labs is now available on \
             Nimbus Cloud, from 2019.</p></aside></body></html>",
        ),
    );
    let url = server.url("/press/heron-on-corvid");
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("termwatch")
            .expect("binary built")
            .env(common::LOOPBACK_ENV.0, common::LOOPBACK_ENV.1)
            .args(["extract", "--json", &url])
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON out");
    let changes = json["changes"].as_array().expect("changes array");
    assert_eq!(changes.len(), 1, "{json}");
    assert_eq!(changes[0]["kind"], "availability");
    assert_eq!(changes[0]["platform"], "Corvid Cloud");
    assert!(
        server.hits().iter().any(|h| h.path == "/robots.txt"),
        "robots.txt asked first"
    );
}

/// An article that says a payment stops in one place and goes on in another
/// keeps one change and hands the other statement over as a conflict, so
/// correlate can flag the dispute instead of silently picking a side.
#[test]
fn self_contradiction_is_kept_as_a_conflict() {
    let text = "Heron Labs and Corvid Cloud revised their agreement.\n\n\
        Heron Labs will continue to pay Corvid Cloud a revenue share through 2029.\n\n\
        Revenue share payments from Heron Labs to Corvid Cloud are discontinued.";
    let out = extract::extract(&article(text, "2027-02-01"), &Config::default());
    let rs: Vec<_> = out
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::RevenueShare)
        .collect();
    assert_eq!(rs.len(), 1, "{out:#?}");
    assert_eq!(out.conflicts.len(), 1, "{out:#?}");
    let (kept, other) = (rs[0], &out.conflicts[0]);
    assert_eq!(
        (kept.payer.as_deref(), kept.payee.as_deref()),
        (Some("Heron Labs"), Some("Corvid Cloud"))
    );
    assert_eq!(
        (other.payer.as_deref(), other.payee.as_deref()),
        (Some("Heron Labs"), Some("Corvid Cloud"))
    );
    assert_ne!(kept.status, other.status);
    let chars: Vec<char> = text.chars().collect();
    let span: String = chars[other.span.start..other.span.end].iter().collect();
    assert_eq!(
        span, other.evidence,
        "the conflict's evidence is cut from the text"
    );
}

#[test]
fn filler_without_triggers_yields_nothing_and_a_late_trigger_is_still_read() {
    let filler = "The team shipped a new dashboard this week. Readers asked about keyboard shortcuts, and the docs now cover them.\n\n";
    let quiet = extract::extract(
        &article(&filler.repeat(20), "2026-05-01"),
        &Config::default(),
    );
    assert!(quiet.changes.is_empty() && quiet.denials.is_empty());

    let mut text = filler.repeat(20);
    text.push_str(
        "Marrow Systems will stop sharing revenue with Tessellate AI from next quarter.\n",
    );
    let x = extract::extract(&article(&text, "2026-05-01"), &Config::default());
    let rs = x
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::RevenueShare)
        .expect("the revenue-share sentence after the filler is read");
    assert_eq!(rs.payer.as_deref(), Some("Marrow Systems"));
    assert_eq!(rs.payee.as_deref(), Some("Tessellate AI"));
    assert_eq!(rs.status, Status::Ended);
}

/// Issue 11: thousands of names after one trigger sentence took time that
/// grew with the square of their number. The result must be the one change
/// the trigger sentence states, whatever follows (the time is shown by
/// `cargo bench --bench extract`, not asserted here).
#[test]
fn quadratic_name_scan_many_names_after_a_trigger_give_the_one_change() {
    let mut text = String::from("Kestrel Labs will license its models to Harbor Cloud.\n\n");
    let unit = "Microsoft and Acme Corp, ";
    text.push_str(&unit.repeat((1 << 20) / unit.len()));
    let x = run(&text);
    let lic = of_kind(&x, ChangeKind::License);
    assert_eq!(lic.len(), 1, "{:#?}", x.changes);
    assert_eq!(lic[0].licensor.as_deref(), Some("Kestrel Labs"));
    assert_eq!(lic[0].licensee.as_deref(), Some("Harbor Cloud"));
    assert_eq!(x.changes.len(), 1, "{:#?}", x.changes);
    assert!(x.cut.is_none());
}

/// Text over the extraction limit is cut at a paragraph boundary and said
/// to be cut; what stands before the cut is still read.
#[test]
fn text_over_the_extraction_limit_is_cut_at_a_paragraph_not_dropped() {
    let mut text = String::from("Kestrel Labs will license its models to Harbor Cloud.\n\n");
    let para = "Nothing in this paragraph is news for anyone at all.\n\n";
    while text.len() <= extract::MAX_TEXT_BYTES + 1000 {
        text.push_str(para);
    }
    let x = run(&text);
    let cut = x.cut.expect("the cut is reported");
    assert_eq!(cut.total_bytes, text.len());
    assert!(cut.read_bytes <= extract::MAX_TEXT_BYTES);
    assert!(
        text[..cut.read_bytes].ends_with("\n\n"),
        "cut at a paragraph"
    );
    assert_eq!(
        of_kind(&x, ChangeKind::License).len(),
        1,
        "{:#?}",
        x.changes
    );
}

/// Issue 12's safety net: a strong trigger and a name but no complete
/// change gives a signal (kind guess, the sentence verbatim with its
/// offsets, what was missing), never a change.
#[test]
fn incomplete_change_with_a_strong_trigger_is_a_signal_not_a_change() {
    let text =
        "Talvik Labs news\n\nTalvik Labs announced an exclusive arrangement for its Orca models.";
    let x = run(text);
    assert!(x.changes.is_empty(), "{:#?}", x.changes);
    let s = x
        .signals
        .iter()
        .find(|s| s.kind == ChangeKind::Exclusivity)
        .unwrap_or_else(|| panic!("an exclusivity signal: {:#?}", x.signals));
    assert_eq!(s.missing, "a second party");
    assert!(s.names.contains(&"Talvik Labs".to_string()), "{s:?}");
    let cut: String = text
        .chars()
        .skip(s.span.start)
        .take(s.span.end - s.span.start)
        .collect();
    assert_eq!(cut, s.evidence);
    assert!(s.evidence.starts_with("Talvik Labs announced"), "{s:?}");
}

/// A sentence that did give its change is no signal.
#[test]
fn a_complete_change_gives_no_signal() {
    let x = run("Talvik Labs has granted Morrow Cloud a licence to its Orca models.");
    assert_eq!(
        of_kind(&x, ChangeKind::License).len(),
        1,
        "{:#?}",
        x.changes
    );
    assert!(x.signals.is_empty(), "{:#?}", x.signals);
}

/// Issue 12: "will not be exclusive to Oracle" gave `exclusivity started`.
#[test]
fn negated_exclusivity_is_not_an_exclusivity_start() {
    let x = run("Pelican Labs said its Gannet models will not be exclusive to Moorland Cloud.");
    assert!(
        of_kind(&x, ChangeKind::Exclusivity).is_empty(),
        "{:#?}",
        x.changes
    );
    // Widening, not negating: "not only" leaves the trigger standing.
    let x = run(
        "Moorland Cloud is not only the exclusive host of Pelican Labs models but also their reseller.",
    );
    assert_eq!(
        of_kind(&x, ChangeKind::Exclusivity).len(),
        1,
        "{:#?}",
        x.changes
    );
}

/// Issue 12: "Until now, Gemini models were offered exclusively through
/// Vertex AI" gave a new exclusivity; it is the state before the news.
#[test]
fn until_now_exclusivity_is_history_and_the_change_follows() {
    let x = run(
        "Until now, Pelican Labs models were sold exclusively through Moorland Cloud, but starting today Pelican Gannet 2 is available on Vertex AI.",
    );
    assert!(
        of_kind(&x, ChangeKind::Exclusivity).is_empty(),
        "{:#?}",
        x.changes
    );
    let av = of_kind(&x, ChangeKind::Availability);
    assert_eq!(av.len(), 1, "{:#?}", x.changes);
    assert_eq!(av[0].platform.as_deref(), Some("Vertex AI"));
}

/// Issue 12: "a 20% reduction from Llama 4 pricing" gave a pricing change
/// for Llama 4.
#[test]
fn price_comparison_object_is_not_a_price_change() {
    let x = run(
        "Gannet 3 on Vertex AI now costs $0.20 per million input tokens, a 30% reduction from Gannet 2 pricing.",
    );
    let p = of_kind(&x, ChangeKind::Pricing);
    assert_eq!(p.len(), 1, "{:#?}", x.changes);
    assert_eq!(p[0].product.as_deref(), Some("Gannet 3"));
}

/// Issue 12: an organisation introduced in full and then called by a short
/// name is one party, named in full (corpus README rule 7).
#[test]
fn short_name_is_the_party_named_in_full_first() {
    let x = run(
        "Pelican Robotics Systems signs with Moorland Cloud\n\nPelican Robotics Systems and Moorland Cloud announced a partnership on Tuesday.\n\nPelican will license its control models to Moorland Cloud through 2031.",
    );
    let lic = of_kind(&x, ChangeKind::License);
    assert_eq!(lic.len(), 1, "{:#?}", x.changes);
    assert_eq!(lic[0].licensor.as_deref(), Some("Pelican Robotics Systems"));
    assert_eq!(lic[0].licensee.as_deref(), Some("Moorland Cloud"));
    assert!(
        x.changes
            .iter()
            .all(|c| c.parties.iter().all(|p| p != "Pelican")),
        "{:#?}",
        x.changes
    );
}

/// (product, platform) pairs of one kind, sorted, for the recall tests below.
fn pairs(x: &Extraction, k: ChangeKind) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = of_kind(x, k)
        .iter()
        .map(|c| {
            (
                c.product.clone().unwrap_or_default(),
                c.platform.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn retirement_table_under_a_rule_line_gives_one_change_per_row_not_the_replacement() {
    let text = "Retirements on Amazon Bedrock\n\nThese models retire on the dates below.\n\nModel                | Model ID          | Legacy since | Retirement date | Replacement\n---------------------|-------------------|--------------|-----------------|------------\nPlover Chat 1        | plover.chat-1     | 2026-01-10   | 2026-06-30      | Plover Chat 3\nPlover Embed 2       | plover.embed-2    | 2026-01-10   | 2026-07-31      | Plover Embed 4\n";
    let x = run(text);
    assert_eq!(
        pairs(&x, ChangeKind::Deprecation),
        vec![
            ("Plover Chat 1".to_string(), "Amazon Bedrock".to_string()),
            ("Plover Embed 2".to_string(), "Amazon Bedrock".to_string()),
        ],
        "{x:#?}"
    );
    let d = of_kind(&x, ChangeKind::Deprecation);
    let chat = d
        .iter()
        .find(|c| c.product.as_deref() == Some("Plover Chat 1"));
    assert_eq!(
        chat.and_then(|c| c.effective.as_deref()),
        Some("2026-06-30"),
        "the retirement column, not the legacy one, is the date"
    );
    assert_spans(text, &x);
}

#[test]
fn tab_separated_price_table_reads_each_row() {
    let text = "Price update for Vertex AI partner models\n\nThe rates below apply from June.\n\nModel\tNew price\tEffective\nWren Chat 2\t$0.30 per 1M input tokens\tJune 1, 2026\nWren Code 1\t$1.20 per 1M output tokens\tJune 8, 2026\n";
    let x = run(text);
    assert_eq!(
        pairs(&x, ChangeKind::Pricing),
        vec![
            ("Wren Chat 2".to_string(), "Vertex AI".to_string()),
            ("Wren Code 1".to_string(), "Vertex AI".to_string()),
        ],
        "{x:#?}"
    );
    assert_spans(text, &x);
}

#[test]
fn a_lone_pipe_line_without_a_header_is_not_a_price_table() {
    let x = run(
        "Pricing FAQ for Azure OpenAI\n\nApplies to: Azure OpenAI | Article | 05/01/2026 | 3 contributors\n\nThis page answers common billing questions.\n",
    );
    assert!(of_kind(&x, ChangeKind::Pricing).is_empty(), "{x:#?}");
}

#[test]
fn the_api_in_a_notice_is_the_makers_own_api() {
    let x = run(
        "Deprecations\n\n- We are deprecating gpt-orca-4-0312 and it will disappear from the API on July 1, 2026.\n",
    );
    assert_eq!(
        pairs(&x, ChangeKind::Deprecation),
        vec![("gpt-orca-4-0312".to_string(), "OpenAI API".to_string())],
        "{x:#?}"
    );
}

#[test]
fn retirement_list_of_model_ids_without_a_platform_lands_on_the_vendors_api() {
    let text = "Retirement notice\n\nFrom August 1, 2026 these models stop answering.\n\nRetired models:\n\n- command-orca-02-2025  (and its alias command-orca)\n- embed-heron-v1.0\n\nQuestions: support@cohere.com\n";
    let x = run(text);
    assert_eq!(
        pairs(&x, ChangeKind::Deprecation),
        vec![
            ("command-orca-02-2025".to_string(), "Cohere API".to_string()),
            ("embed-heron-v1.0".to_string(), "Cohere API".to_string()),
        ],
        "{x:#?}"
    );
    for c in of_kind(&x, ChangeKind::Deprecation) {
        assert_eq!(
            c.effective.as_deref(),
            Some("2026-08-01"),
            "date from above the lead-in"
        );
        assert_eq!(c.parties, vec!["Cohere"]);
    }
}

#[test]
fn a_bare_product_brand_after_from_is_the_platform_of_the_list() {
    let x = run("We will retire GPT-4.2 and GPT-4.2 mini from ChatGPT on March 1, 2026.");
    assert_eq!(
        pairs(&x, ChangeKind::Deprecation),
        vec![
            ("GPT-4.2".to_string(), "ChatGPT".to_string()),
            ("GPT-4.2 mini".to_string(), "ChatGPT".to_string()),
        ],
        "{x:#?}"
    );
}

#[test]
fn regions_and_amounts_are_neither_platforms_nor_products() {
    let x = run(
        "Corvid Market listings\n\nGenerally available today in the Oslo (no-osl-1) and Bergen regions: Tarn Chat 2.\n\nThe Tarn Chat 2 price drops to USD 0.40 per million tokens on Corvid Market.\n",
    );
    for c in &x.changes {
        assert_ne!(c.platform.as_deref(), Some("Oslo"), "{x:#?}");
        assert!(
            !c.product.as_deref().unwrap_or("").starts_with("USD"),
            "{x:#?}"
        );
    }
}

#[test]
fn subject_of_now_supports_hosts_the_product() {
    let x = run("Azure Databricks now supports Plover Chat 5 through Mosaic AI Model Serving.");
    assert_eq!(
        pairs(&x, ChangeKind::Availability),
        vec![("Plover Chat 5".to_string(), "Azure Databricks".to_string())],
        "{x:#?}"
    );
}

#[test]
fn these_models_take_the_products_of_the_headline() {
    let x = run(
        "Refreshed Tarn 3 and Tarn 3 Mini now on Vertex AI\n\nToday we are pleased to say that these models are available on Vertex AI.",
    );
    assert_eq!(
        pairs(&x, ChangeKind::Availability),
        vec![
            ("Tarn 3".to_string(), "Vertex AI".to_string()),
            ("Tarn 3 Mini".to_string(), "Vertex AI".to_string()),
        ],
        "{x:#?}"
    );
}

#[test]
fn a_preview_headline_marks_the_launches_under_it_preview() {
    let x = run(
        "Public Preview: Tarn 4 in Vertex AI\n\nCustomers can access Tarn 4 and Tarn 4 Mini in Vertex AI from today.",
    );
    let av = of_kind(&x, ChangeKind::Availability);
    assert_eq!(av.len(), 2, "{x:#?}");
    assert!(av.iter().all(|c| c.status == Status::Preview), "{x:#?}");
}

/// A capitalised "-ed" word opens a headline ("Refreshed Tarn 3"), but
/// mid-sentence it is part of the name: "Managed Pipelines" stays whole.
#[test]
fn an_ed_word_inside_a_sentence_stays_part_of_the_product_name() {
    let x = run(
        "Nimbus Labs expands its catalogue\n\nOn Monday Nimbus Labs said that Wren 4 and Managed Pipelines are now available on Corvid Cloud.",
    );
    let got = pairs(&x, ChangeKind::Availability);
    assert!(got.iter().any(|(p, _)| p == "Managed Pipelines"), "{got:?}");
    assert!(got.iter().all(|(p, _)| p != "Pipelines"), "{got:?}");
}
