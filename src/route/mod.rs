//! The `route` stage: which clients an event applies to and why, and what
//! each should do about it (the playbook). Pure: no I/O beyond reading the
//! client and playbook files, so it tests without a database.
//!
//! `match` is a Rust keyword, hence `route`.

mod actions;
mod clients;
mod playbook;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::{ClientProfile, Event};

pub use actions::{
    StoredDues, Told, actions_for, day_text, due_date, parse_loose_date, rule_matches, state,
    status_words,
};
pub use clients::{
    COMMON_CLOUDS, COMMON_REGIMES, COMMON_RESIDENCY, CheckOptions, Findings, KnownNames,
    SecretCheck, check_clients, is_email, is_secret_ref, load_clients, parse_client,
    validate_clients,
};
pub use playbook::{
    Anchor, CompiledRule, DEFAULT_PLAYBOOK, Due, Error, Playbook, Rule, Uses, load_playbook,
    parse_due, validate_playbook,
};

/// Default user playbook, read when present; the shipped one is built in.
pub const DEFAULT_PLAYBOOK_PATH: &str = "playbook.toml";

/// `[route]` section of `termwatch.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// User playbook merged over the shipped one by rule id; skipped when absent.
    pub playbook: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            playbook: Some(PathBuf::from(DEFAULT_PLAYBOOK_PATH)),
        }
    }
}

/// Why an event was routed to a client.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Routed {
    /// The first event party the client depends on.
    pub vendor: Option<String>,
    /// The event's platform (or its cloud) is one the client uses.
    pub platform: bool,
    /// The event's product is one the client uses.
    pub product: bool,
    /// Human-readable reasons ("you depend on OpenAI").
    pub reasons: Vec<String>,
}

/// Whether `event` applies to `client`: it touches something they use, is of
/// a kind they follow and meets their minimum severity.
pub fn route(event: &Event, client: &ClientProfile) -> Option<Routed> {
    if event.severity < client.min_severity
        || (!client.kinds.is_empty() && !client.kinds.contains(&event.kind))
    {
        return None;
    }
    let mut r = Routed::default();
    for party in &event.parties {
        if client.vendors.iter().any(|v| v.eq_ignore_ascii_case(party)) {
            r.reasons.push(format!("you depend on {party}"));
            r.vendor.get_or_insert_with(|| party.clone());
        }
    }
    if let Some(platform) = &event.platform {
        if client
            .platforms
            .iter()
            .any(|p| p.eq_ignore_ascii_case(platform))
        {
            r.platform = true;
            r.reasons.push(format!("you use {platform}"));
        } else if let Some(cloud) = cloud_of(platform)
            && client.clouds.iter().any(|c| cloud_of(c) == Some(cloud))
        {
            r.platform = true;
            // "Azure runs on Azure" says nothing: name the cloud alone.
            r.reasons.push(if platform.eq_ignore_ascii_case(cloud) {
                format!("you use {cloud}")
            } else {
                format!("{platform} runs on {cloud}, which you use")
            });
        }
    }
    if let Some(product) = &event.product
        && client
            .products
            .iter()
            .any(|p| p.eq_ignore_ascii_case(product))
    {
        r.product = true;
        r.reasons.push(format!("you use {product}"));
    }
    (!r.reasons.is_empty()).then_some(r)
}

/// The public cloud a platform or cloud name belongs to, so "Amazon Bedrock"
/// reaches a client who wrote `clouds = ["AWS"]`.
pub fn cloud_of(name: &str) -> Option<&'static str> {
    let n = name.trim().to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| n.starts_with(p));
    if starts(&["azure", "microsoft azure", "microsoft foundry"]) {
        Some("Azure")
    } else if starts(&["aws", "amazon"]) {
        Some("AWS")
    } else if starts(&["google cloud", "gcp", "vertex"]) {
        Some("Google Cloud")
    } else if starts(&["oracle cloud", "oci"]) {
        Some("Oracle Cloud Infrastructure")
    } else {
        None
    }
}
