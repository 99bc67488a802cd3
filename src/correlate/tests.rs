//! Helpers shared by the stage's unit tests, and the order-independence test.

use crate::model::{ChangeKind, Report, Span, Status, TermChange, Trust};

use super::*;

pub(crate) fn change(kind: ChangeKind, parties: &[&str]) -> TermChange {
    TermChange {
        kind,
        parties: parties.iter().map(|p| p.to_string()).collect(),
        licensor: None,
        licensee: None,
        payer: None,
        payee: None,
        product: None,
        platform: None,
        status: Status::Changed,
        exclusive: None,
        until: None,
        effective: None,
        evidence: format!("{} evidence", kind.as_str()),
        span: Span::default(),
        confidence: 0.8,
    }
}

fn report(change: TermChange, url: &str, day: &str, trust: Trust) -> Report {
    Report {
        change,
        denial: false,
        article_id: 1,
        revision_id: 1,
        source_id: "test".into(),
        url: url.into(),
        title: url.into(),
        trust,
        published: format!("{day}T00:00:00Z").parse().unwrap(),
    }
}

#[test]
fn any_order_of_the_same_reports_gives_the_same_events() {
    use proptest::prelude::*;
    let mut base = Vec::new();
    for i in 0..40 {
        let mut c = change(ChangeKind::Availability, &["Nimbus Labs"]);
        c.product = Some(format!("Nimbus {}", i % 4));
        c.platform = Some(
            if i % 3 == 0 {
                "Corvid Cloud"
            } else {
                "Heron AI Hub"
            }
            .into(),
        );
        c.status = if i % 5 == 0 {
            Status::Withdrawn
        } else {
            Status::Available
        };
        c.until = (i % 7 == 0).then(|| "2031".to_string());
        let trust = [Trust::Vendor, Trust::News, Trust::Commentary][i % 3];
        let day = format!("2026-{:02}-{:02}", 1 + (i * 7 / 28) % 12, 1 + (i * 7) % 28);
        base.push(report(c, &format!("https://news.example/{i}"), &day, trust));
    }
    let want = correlate(&base, &Config::default());
    assert!(want.len() > 4, "the fixture should give several events");
    proptest!(|(seed in 0u64..10_000)| {
        let mut shuffled = base.clone();
        // A cheap deterministic shuffle: the order is all that varies.
        shuffled.sort_by_key(|r| {
            let h = r.url.bytes().fold(seed, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            h.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        });
        prop_assert_eq!(&correlate(&shuffled, &Config::default()), &want);
    });
}

#[test]
fn the_config_section_reads_from_toml_with_defaults_for_the_rest() {
    let text = r#"
[correlate]
window_days = 45

[correlate.severity]
"cloud_priority.continues" = "medium"

[correlate.aliases]
"Bedrock" = "Amazon Bedrock"
"#;
    let cfg = crate::config::parse(std::path::Path::new("termwatch.toml"), text).unwrap();
    let c = &cfg.correlate;
    assert_eq!(c.window_days, 45);
    assert_eq!(c.trust_weight, TrustWeights::default());
    assert_eq!(c.severity["cloud_priority.continues"], Severity::Medium);
    assert!(c.check().is_ok());
    let bad = "[correlate]\nwindow = 3\n";
    let err = crate::config::parse(std::path::Path::new("termwatch.toml"), bad).unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
}
