//! A small made-up digest used to test-render templates in `check`, so a
//! template error surfaces before any client is due.

use crate::model::{
    Action, ChangeKind, Claim, Digest, DigestItem, Event, EventSource, Severity, Status, Trust,
};

/// A digest with one disputed, sourced event and one action.
pub fn sample_digest() -> Digest {
    let at = jiff::Timestamp::UNIX_EPOCH;
    let source = EventSource {
        article_id: 1,
        revision_id: 1,
        url: "https://nimbus.example/blog/terms".into(),
        title: "Nimbus Labs updates its Corvid Cloud terms".into(),
        trust: Trust::Vendor,
        published: at,
        evidence: "Nimbus Labs models are no longer exclusive to Corvid Cloud.".into(),
        confidence: 0.9,
        status: Status::Ended,
        exclusive: Some(false),
        until: Some("2030".into()),
    };
    let event = Event {
        id: "ev-sample".into(),
        kind: ChangeKind::Exclusivity,
        parties: vec!["Corvid Cloud".into(), "Nimbus Labs".into()],
        licensor: None,
        licensee: None,
        payer: None,
        payee: None,
        product: None,
        platform: None,
        status: Status::Ended,
        exclusive: Some(false),
        until: Some("2030".into()),
        effective: Some("2030-01-01".into()),
        severity: Severity::High,
        confidence: 0.9,
        disputed: true,
        claims: vec![Claim {
            field: "status".into(),
            value: "ended".into(),
            sources: vec![source.clone()],
        }],
        sources: vec![source],
        confirmations: Vec::new(),
        first_seen: at,
        last_seen: at,
        supersedes: Vec::new(),
    };
    Digest {
        id: "dg-sample".into(),
        client_id: "sample".into(),
        client_name: "Sample Client".into(),
        role: "msp".into(),
        window_start: at,
        window_end: at,
        generated_at: at,
        subject: "[termwatch] Sample".into(),
        items: vec![DigestItem {
            headline: super::headline(&event, jiff::civil::date(1970, 1, 1)),
            event: std::sync::Arc::new(event),
            change: "new".into(),
            urgency: Severity::High,
            reasons: vec!["you depend on Nimbus Labs".into()],
            actions: vec![Action {
                rule_id: "sample".into(),
                title: "Review the Corvid Cloud contract".into(),
                why: "Exclusivity ended.".into(),
                owner: "counsel".into(),
                due: Some("2030-01-01".into()),
                overdue: false,
                severity: Severity::High,
            }],
            details: vec!["Where: the Corvid North region".into()],
            disputes: vec!["Vendor post (1 Jan 1970): ended.".into()],
            changes: Vec::new(),
            grouped: Vec::new(),
        }],
        immediate: false,
        timezone: "UTC".into(),
    }
}
