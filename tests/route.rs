//! Routing and the playbook: who hears about an event, why, and what the
//! shipped rules tell them to do.

#[path = "fixtures/tailor/support.rs"]
mod support;

use std::path::Path;

use support::*;
use termwatch::model::{ChangeKind, ClientProfile, Event, Role, Severity, Status};
use termwatch::route::{self, Playbook};

fn playbook() -> Playbook {
    route::load_playbook(&route::Config { playbook: None }).expect("shipped playbook loads")
}

fn license_event() -> Event {
    let mut e = event(
        "ev-license",
        ChangeKind::License,
        Status::NonExclusive,
        &["Microsoft", "OpenAI"],
    );
    e.licensor = Some("OpenAI".into());
    e.licensee = Some("Microsoft".into());
    e.exclusive = Some(false);
    e.until = Some("2032".into());
    e
}

/// The day these tests' clients are told: before the fixtures' events'
/// anchors, so the playbook's offsets show.
fn told() -> jiff::civil::Date {
    jiff::civil::date(2026, 4, 20)
}

fn actions(pb: &Playbook, e: &Event, c: &ClientProfile) -> Vec<termwatch::model::Action> {
    let routed = route::route(e, c).expect("event routes to client");
    route::actions_for(pb, e, c, &routed, route::Told::on(told()))
}

#[test]
fn client_using_a_party_matches_with_reason() {
    let c = client("harbor", Role::Msp, &["OpenAI"]);
    let r = route::route(&license_event(), &c).expect("routes");
    assert_eq!(r.vendor.as_deref(), Some("OpenAI"));
    assert_eq!(r.reasons, vec!["you depend on OpenAI".to_string()]);
}

#[test]
fn unrelated_client_does_not_match() {
    let c = client("corvid-only", Role::Msp, &["Corvid Cloud"]);
    assert_eq!(route::route(&license_event(), &c), None);
}

#[test]
fn kinds_filter_and_minimum_severity_exclude() {
    let mut c = client("k", Role::Legal, &["Microsoft"]);
    c.kinds = vec![ChangeKind::Pricing];
    assert_eq!(route::route(&license_event(), &c), None);
    c.kinds = vec![ChangeKind::License];
    assert!(route::route(&license_event(), &c).is_some());
    c.min_severity = Severity::High;
    assert_eq!(
        route::route(&license_event(), &c),
        None,
        "medium event below a high minimum"
    );
}

#[test]
fn platform_reaches_client_through_its_cloud() {
    let mut c = client("fed", Role::Msp, &[]);
    c.clouds = vec!["AWS".into()];
    let e = availability(
        "ev-a",
        "Nimbus-7",
        "Amazon Bedrock",
        &["Amazon", "Nimbus Labs"],
    );
    let r = route::route(&e, &c).expect("routes via cloud");
    assert!(r.platform);
    assert_eq!(
        r.reasons,
        vec!["Amazon Bedrock runs on AWS, which you use".to_string()]
    );
    c.clouds = vec!["Azure".into()];
    assert_eq!(route::route(&e, &c), None);
}

#[test]
fn gdpr_residency_action_names_product_platform_and_client() {
    let pb = playbook();
    let mut c = client("rhein", Role::Legal, &["OpenAI"]);
    c.name = "Rheinwerk Legal".into();
    c.regimes = vec!["GDPR".into()];
    c.residency = vec!["eu".into()];
    c.platforms = vec!["Amazon Bedrock".into()];
    let e = availability("ev-a", "GPT-5.5", "Amazon Bedrock", &["Amazon", "OpenAI"]);
    let acts = actions(&pb, &e, &c);
    let a = acts
        .iter()
        .find(|a| a.rule_id == "gdpr-residency-hosting-check")
        .expect("gdpr rule fires");
    assert_eq!(
        a.title,
        "Verify the hosting regions of GPT-5.5 on Amazon Bedrock before personal data flows there"
    );
    assert!(
        a.why
            .contains("GDPR data-residency rule requires EU hosting")
            && a.why.contains("GPT-5.5 on Amazon Bedrock is now available"),
        "{}",
        a.why
    );
    assert_eq!(a.owner, "data protection officer");
    assert_eq!(a.due.as_deref(), Some("2026-05-12"), "event+14d");
    assert_eq!(a.severity, Severity::High);
    // The same client without EU residency gets no residency action.
    c.residency = vec!["us".into()];
    let acts = actions(&pb, &e, &c);
    assert!(
        !acts
            .iter()
            .any(|a| a.rule_id == "gdpr-residency-hosting-check")
    );
}

#[test]
fn each_regime_gets_its_own_action() {
    let pb = playbook();
    let e = availability("ev-a", "GPT-5.5", "Amazon Bedrock", &["Amazon", "OpenAI"]);
    let ids = |regimes: &[&str]| -> Vec<String> {
        let mut c = client("r", Role::Msp, &["OpenAI"]);
        // Regime checks apply on a platform the client uses.
        c.platforms = vec!["Amazon Bedrock".into()];
        c.regimes = regimes.iter().map(|r| r.to_string()).collect();
        actions(&pb, &e, &c)
            .into_iter()
            .map(|a| a.rule_id)
            .collect()
    };
    let hipaa = ids(&["HIPAA"]);
    assert!(
        hipaa.contains(&"hipaa-baa-coverage".to_string()),
        "{hipaa:?}"
    );
    assert!(!hipaa.contains(&"fedramp-authorization-check".to_string()));
    let fed = ids(&["FedRAMP"]);
    assert!(
        fed.contains(&"fedramp-authorization-check".to_string()),
        "{fed:?}"
    );
    assert!(!fed.contains(&"hipaa-baa-coverage".to_string()));
    let pci = ids(&["PCI DSS"]);
    assert!(pci.contains(&"pci-dss-scope-check".to_string()), "{pci:?}");
    let none = ids(&[]);
    assert_eq!(none, vec!["msp-availability-new-platform".to_string()]);
}

#[test]
fn license_until_year_drives_the_due_date() {
    let pb = playbook();
    let c = client("h", Role::Msp, &["OpenAI"]);
    let acts = actions(&pb, &license_event(), &c);
    let plan = acts
        .iter()
        .find(|a| a.rule_id == "any-license-expiry-plan")
        .expect("expiry rule fires");
    // "2032" means through the end of 2032; 52 weeks before it.
    assert_eq!(plan.due.as_deref(), Some("2032-01-02"));
    assert!(plan.title.contains("ending in 2032"), "{}", plan.title);
    let audit = acts
        .iter()
        .find(|a| a.rule_id == "msp-license-audit-records")
        .expect("msp rule");
    assert!(
        audit
            .title
            .contains("the OpenAI licence to Microsoft is now non-exclusive until 2032"),
        "{}",
        audit.title
    );
}

/// One scenario per shipped rule: an event and a profile it must fire for.
struct Scenario {
    rule: &'static str,
    role: Role,
    regimes: &'static [&'static str],
    residency: &'static [&'static str],
    kind: ChangeKind,
    status: Status,
    severity: Severity,
}

const fn s(
    rule: &'static str,
    role: Role,
    regimes: &'static [&'static str],
    kind: ChangeKind,
    status: Status,
) -> Scenario {
    Scenario {
        rule,
        role,
        regimes,
        residency: &[],
        kind,
        status,
        severity: Severity::Medium,
    }
}

const SCENARIOS: &[Scenario] = {
    use ChangeKind::*;
    use Role::*;
    use Status::*;
    &[
        s(
            "msp-exclusivity-ended-multicloud",
            Msp,
            &[],
            Exclusivity,
            Ended,
        ),
        s(
            "legal-exclusivity-contract-review",
            Legal,
            &[],
            Exclusivity,
            Ended,
        ),
        s(
            "any-exclusivity-started-lock-in",
            Msp,
            &[],
            Exclusivity,
            Exclusive,
        ),
        s("msp-license-audit-records", Msp, &[], License, NonExclusive),
        s("legal-license-term-review", Legal, &[], License, Extended),
        s("any-license-expiry-plan", Legal, &[], License, NonExclusive),
        s(
            "msp-revenue-share-cost-model",
            Msp,
            &[],
            RevenueShare,
            Capped,
        ),
        s(
            "legal-revenue-share-pricing-clauses",
            Legal,
            &[],
            RevenueShare,
            Ended,
        ),
        s(
            "msp-availability-new-platform",
            Msp,
            &[],
            Availability,
            Available,
        ),
        Scenario {
            residency: &["eu"],
            ..s(
                "gdpr-residency-hosting-check",
                Legal,
                &["GDPR"],
                Availability,
                Preview,
            )
        },
        s(
            "gdpr-subprocessor-list",
            Legal,
            &["GDPR"],
            CloudPriority,
            Continues,
        ),
        s(
            "hipaa-baa-coverage",
            Msp,
            &["HIPAA"],
            Availability,
            Available,
        ),
        s(
            "fedramp-authorization-check",
            Msp,
            &["FedRAMP"],
            Availability,
            Preview,
        ),
        s(
            "legal-availability-terms",
            Legal,
            &[],
            Availability,
            Available,
        ),
        s(
            "any-availability-withdrawn",
            Msp,
            &[],
            Availability,
            Withdrawn,
        ),
        s(
            "msp-cloud-priority-capacity",
            Msp,
            &[],
            CloudPriority,
            Continues,
        ),
        s(
            "legal-cloud-priority-contract",
            Legal,
            &[],
            CloudPriority,
            Continues,
        ),
        s(
            "any-investment-vendor-risk",
            Legal,
            &[],
            Investment,
            Continues,
        ),
        s(
            "msp-compute-commitment-capacity",
            Msp,
            &[],
            ComputeCommitment,
            Started,
        ),
        s(
            "legal-compute-commitment-concentration",
            Legal,
            &[],
            ComputeCommitment,
            Started,
        ),
        s("msp-pricing-cost-model", Msp, &[], Pricing, Changed),
        s("legal-pricing-notice", Legal, &[], Pricing, Changed),
        s("any-deprecation-migrate", Msp, &[], Deprecation, Retired),
        s(
            "regulated-deprecation-validation",
            Msp,
            &["ISO 27001"],
            Deprecation,
            Retired,
        ),
        s(
            "legal-deprecation-contract",
            Legal,
            &[],
            Deprecation,
            Retired,
        ),
        s("any-governance-vendor-risk", Msp, &[], Governance, Changed),
        s(
            "legal-governance-change-of-control",
            Legal,
            &[],
            Investment,
            Changed,
        ),
        s("soc2-iso-vendor-review", Msp, &["SOC 2"], License, Ended),
        s(
            "pci-dss-scope-check",
            Msp,
            &["PCI DSS"],
            Deprecation,
            Retired,
        ),
    ]
};

fn scenario_event(sc: &Scenario) -> Event {
    let mut e = event("ev-s", sc.kind, sc.status, &["Corvid Cloud", "Nimbus Labs"]);
    e.severity = sc.severity;
    e.product = Some("Nimbus-7".into());
    e.platform = Some("Corvid Cloud Models".into());
    e.until = Some("2031-06".into());
    e.effective = Some("2026-09-01".into());
    e.licensor = Some("Nimbus Labs".into());
    e.licensee = Some("Corvid Cloud".into());
    e.payer = Some("Corvid Cloud".into());
    e.payee = Some("Nimbus Labs".into());
    e
}

#[test]
fn every_shipped_rule_fires_for_its_scenario_and_renders_fully() {
    let pb = playbook();
    for rule in &pb.rules {
        assert!(
            SCENARIOS.iter().any(|sc| sc.rule == rule.rule.id),
            "rule {} has no scenario in tests/route.rs",
            rule.rule.id
        );
    }
    for sc in SCENARIOS {
        let mut c = client("sc", sc.role, &["Nimbus Labs"]);
        c.name = "Scenario Client".into();
        c.regimes = sc.regimes.iter().map(|r| r.to_string()).collect();
        c.residency = sc.residency.iter().map(|r| r.to_string()).collect();
        c.platforms = vec!["Corvid Cloud Models".into()];
        let e = scenario_event(sc);
        let acts = actions(&pb, &e, &c);
        let a = acts
            .iter()
            .find(|a| a.rule_id == sc.rule)
            .unwrap_or_else(|| panic!("{} did not fire; got {:?}", sc.rule, acts));
        for text in [&a.title, &a.why] {
            assert!(
                !text.contains("{{") && !text.contains("{%"),
                "{}: {text}",
                sc.rule
            );
            assert!(!text.is_empty());
        }
        // Role-specific rules stay with their role.
        let rule = pb
            .rules
            .iter()
            .find(|r| r.rule.id == sc.rule)
            .expect("rule");
        if !rule.rule.roles.is_empty() {
            let other = if sc.role == Role::Msp {
                Role::Legal
            } else {
                Role::Msp
            };
            let mut c2 = c.clone();
            c2.role = other;
            assert!(
                !actions(&pb, &e, &c2).iter().any(|a| a.rule_id == sc.rule),
                "{} fired for the other role",
                sc.rule
            );
        }
        // Regime rules need the regime.
        if !rule.rule.regimes.is_empty() {
            let mut c3 = c.clone();
            c3.regimes.clear();
            assert!(
                !actions(&pb, &e, &c3).iter().any(|a| a.rule_id == sc.rule),
                "{} fired without its regime",
                sc.rule
            );
        }
    }
}

#[test]
fn every_kind_has_an_action_for_both_roles() {
    let pb = playbook();
    for kind in ChangeKind::ALL {
        for role in [Role::Msp, Role::Legal] {
            let status = match kind {
                ChangeKind::Availability => Status::Available,
                ChangeKind::Deprecation => Status::Retired,
                ChangeKind::Exclusivity => Status::Ended,
                _ => Status::Changed,
            };
            let mut e = event("ev-k", kind, status, &["Nimbus Labs"]);
            e.product = Some("Nimbus-7".into());
            e.platform = Some("Corvid Cloud Models".into());
            let mut c = client("k", role, &["Nimbus Labs"]);
            c.platforms = vec!["Corvid Cloud Models".into()];
            assert!(
                !actions(&pb, &e, &c).is_empty(),
                "no action for {} / {}",
                kind.as_str(),
                role.as_str()
            );
        }
    }
}

#[test]
fn user_playbook_overrides_and_disables_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("playbook.toml");
    std::fs::write(
        &path,
        r#"
[[rule]]
id = "msp-license-audit-records"
kinds = ["license"]
roles = ["msp"]
title = "Tell {{ client }} about {{ vendor }}"
why = "House rule."
owner = "team lead"

[[rule]]
id = "any-license-expiry-plan"
disabled = true
title = "x"
why = "x"
owner = "x"
"#,
    )
    .unwrap();
    let pb = route::load_playbook(&route::Config {
        playbook: Some(path),
    })
    .expect("user playbook loads");
    let c = client("h", Role::Msp, &["OpenAI"]);
    let acts = actions(&pb, &license_event(), &c);
    let ids: Vec<&str> = acts.iter().map(|a| a.rule_id.as_str()).collect();
    assert!(!ids.contains(&"any-license-expiry-plan"), "{ids:?}");
    let a = acts
        .iter()
        .find(|a| a.rule_id == "msp-license-audit-records")
        .expect("overridden rule");
    assert_eq!(a.title, "Tell Client h about OpenAI");
    assert_eq!(a.due, None);
}

#[test]
fn example_clients_are_valid() {
    let (clients, problems) = route::load_clients(Path::new("clients.example"));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(clients.len(), 3);
    let roles: Vec<Role> = clients.iter().map(|c| c.role).collect();
    assert!(roles.contains(&Role::Msp) && roles.contains(&Role::Legal));
}

#[test]
fn one_bad_client_file_does_not_stop_the_others() {
    let (clients, problems) = route::load_clients(Path::new("tests/fixtures/tailor/clients-mixed"));
    assert_eq!(
        clients.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["good"]
    );
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 3, "{text:?}");
    assert!(
        text.iter()
            .any(|t| t.contains("bad-tz.toml line 5") && t.contains("IANA")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("bad-email.toml line 4") && t.contains("cannot be an email")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("unknown-field.toml line 6") && t.contains("cadense")),
        "{text:?}"
    );
    assert_eq!(
        route::validate_clients(Path::new("tests/fixtures/tailor/clients-mixed")).len(),
        3
    );
}
