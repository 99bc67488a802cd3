//! The playbook: rules that turn an event, seen by one client, into actions.
//!
//! The shipped `playbook.toml` is embedded in the binary; a user file (the
//! `[route] playbook` path) overrides shipped rules by id, adds new ones, and
//! can switch one off with `disabled = true`. Action texts are minijinja
//! templates over the event and the profile, compiled once at load so a bad
//! template fails `check`, never a send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{Problem, line_of};
use crate::model::{ChangeKind, Role, Severity, Status};

/// The shipped playbook, so the binary works from any directory.
pub const DEFAULT_PLAYBOOK: &str = include_str!("../../playbook.toml");

/// What a rule needs the client to use for it to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Uses {
    /// Routing already decided the client is affected; nothing more.
    #[default]
    Any,
    /// One of the event's parties is one of the client's vendors.
    Vendor,
    /// The event's platform is one of the client's platforms or clouds.
    Platform,
    /// The event's product is one of the client's products.
    Product,
}

/// One rule, as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub kinds: Vec<ChangeKind>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    /// Any of these parties (canonical names); empty means any.
    #[serde(default)]
    pub parties: Vec<String>,
    /// Any of these platforms; empty means any.
    #[serde(default)]
    pub platforms: Vec<String>,
    #[serde(default)]
    pub min_severity: Severity,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The client is under any of these regimes (case-insensitive).
    #[serde(default)]
    pub regimes: Vec<String>,
    /// The client has any of these residency regions.
    #[serde(default)]
    pub residency: Vec<String>,
    /// Only when the event is exclusive (`true`) or not (`false`).
    pub exclusive: Option<bool>,
    #[serde(default)]
    pub uses: Uses,
    pub title: String,
    pub why: String,
    pub owner: String,
    /// `event+14d`, `effective-7d`, `until-26w`, or absent for no due date.
    pub due: Option<String>,
    /// The action's severity; absent means the event's.
    pub severity: Option<Severity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookFile {
    #[serde(default)]
    rule: Vec<Spanned<Rule>>,
}

/// Where a due date is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Event,
    Effective,
    Until,
}

/// A parsed `due` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub anchor: Anchor,
    pub days: i64,
}

/// A loaded playbook: rules in file order plus their compiled templates.
#[derive(Debug)]
pub struct Playbook {
    pub rules: Vec<CompiledRule>,
    pub(crate) env: minijinja::Environment<'static>,
}

#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: Rule,
    pub due: Option<Due>,
    /// Lower-cased copies, so matching allocates nothing per event.
    pub(crate) regimes_lc: Vec<String>,
    pub(crate) parties_lc: Vec<String>,
    pub(crate) platforms_lc: Vec<String>,
    /// `title` and `why` as text and names, when that is all they are.
    pub(crate) title_plain: Option<Vec<super::actions::Segment>>,
    pub(crate) why_plain: Option<Vec<super::actions::Segment>>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the playbook has problems:\n{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// The shipped playbook merged with the user's file at `path`, if it exists.
pub fn load_playbook(config: &super::Config) -> Result<Playbook, Error> {
    let (pb, problems) = load_inner(config.playbook.as_deref());
    if problems.is_empty() {
        Ok(pb)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Every problem in the shipped and the user playbook, for `termwatch check`.
pub fn validate_playbook(config: &super::Config) -> Vec<Problem> {
    load_inner(config.playbook.as_deref()).1
}

fn load_inner(user: Option<&Path>) -> (Playbook, Vec<Problem>) {
    let mut problems = Vec::new();
    let shipped = Path::new("<built-in playbook.toml>");
    let mut rules = parse_rules(shipped, DEFAULT_PLAYBOOK, &mut problems);
    if let Some(path) = user.filter(|p| p.exists()) {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for (rule, line) in parse_rules(path, &text, &mut problems) {
                    match rules.iter_mut().find(|(r, _)| r.rule.id == rule.rule.id) {
                        Some(slot) => *slot = (rule, line),
                        None => rules.push((rule, line)),
                    }
                }
            }
            Err(e) => problems.push(Problem::new(path, None, format!("could not read: {e}"))),
        }
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let sample = super::actions::sample_context();
    let mut kept = Vec::new();
    for (rule, (file, line)) in rules {
        if rule.rule.disabled {
            continue;
        }
        let mut ok = true;
        for (field, src) in [("title", &rule.rule.title), ("why", &rule.rule.why)] {
            let name = template_name(&rule.rule.id, field);
            let result = env
                .add_template_owned(name.clone(), src.clone())
                .and_then(|_| env.get_template(&name)?.render(&sample));
            if let Err(e) = result {
                ok = false;
                problems.push(Problem::new(
                    &file,
                    Some(line),
                    format!(
                        "rule \"{}\" {field}: {e}; the names you can use are {}",
                        rule.rule.id,
                        super::actions::CONTEXT_NAMES.join(", ")
                    ),
                ));
            }
        }
        if ok {
            kept.push(rule);
        }
    }
    (Playbook { rules: kept, env }, problems)
}

pub(crate) fn template_name(rule_id: &str, field: &str) -> String {
    format!("{rule_id}#{field}")
}

fn parse_rules(
    path: &Path,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(CompiledRule, (PathBuf, usize))> {
    let file: PlaybookFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            problems.push(Problem::from_toml(path, text, &e));
            return Vec::new();
        }
    };
    let mut out: Vec<(CompiledRule, (PathBuf, usize))> = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for spanned in file.rule {
        let line = line_of(text, spanned.span().start);
        let rule = spanned.into_inner();
        if let Some(first) = ids.get(&rule.id) {
            problems.push(Problem::new(
                path,
                Some(line),
                format!(
                    "rule id \"{}\" is also used on line {first}; give each rule its own id",
                    rule.id
                ),
            ));
            continue;
        }
        ids.insert(rule.id.clone(), line);
        let due = match rule.due.as_deref().map(parse_due) {
            Some(Some(d)) => Some(d),
            Some(None) => {
                problems.push(Problem::new(
                    path,
                    Some(line),
                    format!(
                        "rule \"{}\": due \"{}\" is not understood; write event+14d, effective-7d or until-26w (d = days, w = weeks)",
                        rule.id,
                        rule.due.as_deref().unwrap_or_default()
                    ),
                ));
                continue;
            }
            None => None,
        };
        if rule.title.trim().is_empty() || rule.owner.trim().is_empty() {
            problems.push(Problem::new(
                path,
                Some(line),
                format!("rule \"{}\" needs a non-empty title and owner", rule.id),
            ));
            continue;
        }
        let lc = |v: &[String]| v.iter().map(|s| s.trim().to_lowercase()).collect();
        out.push((
            CompiledRule {
                regimes_lc: lc(&rule.regimes),
                parties_lc: lc(&rule.parties),
                platforms_lc: lc(&rule.platforms),
                title_plain: super::actions::plain_template(&rule.title),
                why_plain: super::actions::plain_template(&rule.why),
                due,
                rule,
            },
            (path.to_path_buf(), line),
        ));
    }
    out
}

/// Parses `event+14d`, `effective-7d`, `until-26w`, `event` (same day).
pub fn parse_due(s: &str) -> Option<Due> {
    let s = s.trim();
    let split = s.find(['+', '-']).unwrap_or(s.len());
    let anchor = match &s[..split] {
        "event" => Anchor::Event,
        "effective" => Anchor::Effective,
        "until" => Anchor::Until,
        _ => return None,
    };
    let rest = &s[split..];
    if rest.is_empty() {
        return Some(Due { anchor, days: 0 });
    }
    let sign = if rest.starts_with('-') { -1 } else { 1 };
    let body = &rest[1..];
    let (num, unit) = body.split_at(body.len().checked_sub(1)?);
    let n: i64 = num.parse().ok()?;
    let days = match unit {
        "d" => n,
        "w" => n * 7,
        _ => return None,
    };
    Some(Due {
        anchor,
        days: sign * days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_playbook_is_valid() {
        let problems = validate_playbook(&super::super::Config::default());
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn due_forms() {
        assert_eq!(
            parse_due("until-26w"),
            Some(Due {
                anchor: Anchor::Until,
                days: -182
            })
        );
        assert_eq!(
            parse_due("event"),
            Some(Due {
                anchor: Anchor::Event,
                days: 0
            })
        );
        assert_eq!(parse_due("tomorrow"), None);
        assert_eq!(parse_due("event+3x"), None);
    }

    #[test]
    fn user_rule_overrides_by_id_and_bad_template_names_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("playbook.toml");
        std::fs::write(
            &path,
            "[[rule]]\nid = \"custom\"\ntitle = \"Check {{ prodcut }}\"\nwhy = \"x\"\nowner = \"cto\"\n",
        )
        .unwrap();
        let cfg = super::super::Config {
            playbook: Some(path.clone()),
        };
        let problems = validate_playbook(&cfg);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, Some(1));
        assert!(problems[0].message.contains("prodcut"), "{}", problems[0]);
    }
}
