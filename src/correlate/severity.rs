//! How much an event matters, from its kind, its status and whether it
//! carries a date: a table of `kind.status[.dated]` keys.
//!
//! The built-in table below holds the defaults; `[correlate.severity]` in
//! the config overrides single entries without having to restate the rest.
//! The most specific key wins: `kind.status.dated`, `kind.status`,
//! `kind.dated`, `kind`, then `default_severity`.

use std::collections::BTreeMap;

use crate::model::{ChangeKind, Severity, Status};

/// Built-in severities. An exclusivity ending or a dated deprecation is what
/// a client must act on; a restated primary-cloud term is background.
const DEFAULTS: &[(&str, Severity)] = &[
    ("exclusivity", Severity::High),
    ("exclusivity.ended", Severity::Critical),
    ("exclusivity.non_exclusive", Severity::Critical),
    ("exclusivity.narrowed", Severity::High),
    ("exclusivity.continues", Severity::Low),
    ("license", Severity::Medium),
    ("license.ended", Severity::High),
    ("license.non_exclusive", Severity::High),
    ("license.continues", Severity::Low),
    ("revenue_share", Severity::Medium),
    ("revenue_share.ended", Severity::High),
    ("revenue_share.started", Severity::High),
    ("revenue_share.continues", Severity::Low),
    ("availability", Severity::Medium),
    ("availability.preview", Severity::Low),
    ("availability.withdrawn", Severity::High),
    ("cloud_priority", Severity::Medium),
    ("cloud_priority.continues", Severity::Info),
    ("cloud_priority.ended", Severity::High),
    ("investment", Severity::Low),
    ("investment.continues", Severity::Info),
    ("compute_commitment", Severity::Low),
    ("pricing", Severity::Medium),
    ("pricing.dated", Severity::High),
    ("deprecation", Severity::Medium),
    ("deprecation.dated", Severity::High),
    ("deprecation.retired.dated", Severity::High),
    ("governance", Severity::Medium),
];

/// Severity of an event of `kind` with `status`; `dated` when it has an
/// `until` or `effective` date.
pub fn severity(
    kind: ChangeKind,
    status: Status,
    dated: bool,
    overrides: &BTreeMap<String, Severity>,
    default: Severity,
) -> Severity {
    let (k, s) = (kind.as_str(), status.as_str());
    let mut keys = Vec::with_capacity(4);
    if dated {
        keys.push(format!("{k}.{s}.dated"));
    }
    keys.push(format!("{k}.{s}"));
    if dated {
        keys.push(format!("{k}.dated"));
    }
    keys.push(k.to_string());
    for key in &keys {
        if let Some(sev) = overrides.get(key) {
            return *sev;
        }
        if let Some((_, sev)) = DEFAULTS.iter().find(|(d, _)| d == key) {
            return *sev;
        }
    }
    default
}

/// Checks that a table key names a known kind, status and suffix; the error
/// says what to write instead.
pub fn check_key(key: &str) -> Result<(), String> {
    let mut parts = key.split('.');
    let kind = parts.next().unwrap_or_default();
    if ChangeKind::parse(kind).is_none() {
        let kinds: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(format!(
            "unknown kind {kind:?} in severity key {key:?}; write one of {}",
            kinds.join(", ")
        ));
    }
    let rest: Vec<&str> = parts.collect();
    let ok = match rest.as_slice() {
        [] | ["dated"] => true,
        [s] | [s, "dated"] => status_names().contains(s),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "severity key {key:?} is not of the form kind[.status][.dated]; statuses are {}",
            status_names().join(", ")
        ))
    }
}

fn status_names() -> Vec<&'static str> {
    Status::ALL.iter().map(|s| s.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(kind: ChangeKind, status: Status, dated: bool) -> Severity {
        severity(kind, status, dated, &BTreeMap::new(), Severity::Low)
    }

    #[test]
    fn ending_exclusivity_outranks_restated_primary_cloud() {
        assert!(
            sev(ChangeKind::Exclusivity, Status::Ended, false)
                > sev(ChangeKind::CloudPriority, Status::Continues, false)
        );
    }

    #[test]
    fn a_dated_deprecation_outranks_an_undated_one() {
        assert!(
            sev(ChangeKind::Deprecation, Status::Retired, true)
                > sev(ChangeKind::Deprecation, Status::Retired, false)
        );
    }

    #[test]
    fn an_override_replaces_one_entry_only() {
        let o = BTreeMap::from([("cloud_priority.continues".to_string(), Severity::High)]);
        let d = Severity::Low;
        assert_eq!(
            severity(ChangeKind::CloudPriority, Status::Continues, false, &o, d),
            Severity::High
        );
        assert_eq!(
            severity(ChangeKind::Exclusivity, Status::Ended, false, &o, d),
            Severity::Critical
        );
    }

    #[test]
    fn table_keys_are_checked() {
        assert!(check_key("deprecation.retired.dated").is_ok());
        assert!(check_key("pricing").is_ok());
        assert!(
            check_key("exclusivty.ended")
                .unwrap_err()
                .contains("exclusivity")
        );
        assert!(
            check_key("license.gone")
                .unwrap_err()
                .contains("non_exclusive")
        );
        for (k, _) in DEFAULTS {
            assert!(check_key(k).is_ok(), "{k}");
        }
    }
}
