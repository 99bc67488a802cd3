//! Rendering a digest from the editable templates in `templates/`
//! (minijinja): HTML (auto-escaped: scraped text is untrusted), plain text
//! and JSON. A template missing from the directory falls back to the one
//! built into the binary; a template that does not compile or render is a
//! `check` problem with file and line, not a failed send.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::config::Problem;
use crate::model::{Digest, DigestItem, Severity};

/// Template file names, in the templates directory.
pub const TEMPLATE_NAMES: [&str; 3] = ["digest.html", "digest.txt", "digest.json"];

const BUILT_IN: [&str; 3] = [
    include_str!("../../templates/digest.html"),
    include_str!("../../templates/digest.txt"),
    include_str!("../../templates/digest.json"),
];

/// The three bodies of one digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub html: String,
    pub text: String,
    pub json: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Template(Problem),
    #[error(
        "template {file} did not produce valid JSON: {source}; insert values with `{{{{ digest_json }}}}` or the `tojson` filter"
    )]
    NotJson {
        file: PathBuf,
        source: serde_json::Error,
    },
}

/// Compiled templates, shared by every digest of a run.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    files: [PathBuf; 3],
}

#[derive(Serialize)]
struct Group<'a> {
    label: &'static str,
    severity: Severity,
    colour: &'static str,
    items: &'a [DigestItem],
}

#[derive(Serialize)]
struct Context<'a> {
    digest: &'a Digest,
    /// The digest as JSON, already serialised (serde_json is many times
    /// faster than rebuilding it through template values); marked safe.
    digest_json: Value,
    groups: Vec<Group<'a>>,
    period: String,
}

impl Renderer {
    /// Loads the templates of `config.templates_dir`, falling back to the
    /// built-in ones file by file.
    pub fn load(config: &super::Config) -> Result<Renderer, Vec<Problem>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_filter("safe_url", safe_url);
        env.add_filter("oneline", oneline);
        let mut problems = Vec::new();
        let mut files: [PathBuf; 3] = Default::default();
        for (i, name) in TEMPLATE_NAMES.iter().enumerate() {
            let path = config.templates_dir.join(name);
            let (source, shown) = match std::fs::read_to_string(&path) {
                Ok(s) => (s, path.clone()),
                Err(_) => (
                    BUILT_IN[i].to_string(),
                    PathBuf::from(format!("<built-in {name}>")),
                ),
            };
            if let Err(e) = env.add_template_owned(*name, source) {
                problems.push(template_problem(&shown, &e));
            }
            files[i] = shown;
        }
        if problems.is_empty() {
            Ok(Renderer { env, files })
        } else {
            Err(problems)
        }
    }

    /// Renders all three bodies. `timezone` is the client's, for the period line.
    pub fn render(&self, digest: &Digest, timezone: &str) -> Result<Rendered, Error> {
        let digest_json = serde_json::to_string(digest).map_err(|source| Error::NotJson {
            file: self.files[2].clone(),
            source,
        })?;
        let ctx = Value::from(minijinja::value::Serde(Context {
            digest,
            digest_json: Value::from_safe_string(digest_json),
            groups: groups(&digest.items),
            period: period(digest, timezone),
        }));
        let one = |i: usize| -> Result<String, Error> {
            self.env
                .get_template(TEMPLATE_NAMES[i])
                .and_then(|t| t.render(ctx.clone()))
                .map_err(|e| Error::Template(template_problem(&self.files[i], &e)))
        };
        let json = one(2)?;
        if let Err(source) = serde_json::from_str::<serde::de::IgnoredAny>(&json) {
            return Err(Error::NotJson {
                file: self.files[2].clone(),
                source,
            });
        }
        Ok(Rendered {
            html: one(0)?,
            text: one(1)?,
            json,
        })
    }
}

/// Every problem in the templates: syntax errors, and errors rendering a
/// sample digest (unknown filters, bad JSON), with file and line.
pub fn validate_templates(config: &super::Config) -> Vec<Problem> {
    let renderer = match Renderer::load(config) {
        Ok(r) => r,
        Err(problems) => return problems,
    };
    match renderer.render(&super::sample::sample_digest(), "UTC") {
        Ok(_) => Vec::new(),
        Err(Error::Template(p)) => vec![p],
        Err(e @ Error::NotJson { .. }) => {
            vec![Problem::new(&renderer.files[2], None, e.to_string())]
        }
    }
}

fn template_problem(file: &Path, e: &minijinja::Error) -> Problem {
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    Problem::new(
        file,
        e.line(),
        format!(
            "template error ({}){detail}; fix the template or delete the file to use the built-in one",
            e.kind()
        ),
    )
}

/// Items are sorted most urgent first, so each group is one slice.
fn groups(items: &[DigestItem]) -> Vec<Group<'_>> {
    let band = |s: Severity| match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Info => 3,
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let b = band(items[start].urgency);
        let len = items[start..]
            .iter()
            .take_while(|i| band(i.urgency) == b)
            .count();
        let (label, colour) = match b {
            0 => ("Act now", "#b42318"),
            1 => ("Act this week", "#c4570a"),
            2 => ("Plan for it", "#2f5d8a"),
            _ => ("For your awareness", "#52606d"),
        };
        out.push(Group {
            label,
            severity: items[start].urgency,
            colour,
            items: &items[start..start + len],
        });
        start += len;
    }
    out
}

fn period(digest: &Digest, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let fmt = |t: jiff::Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%-d %b %Y %H:%M")
            .to_string()
    };
    format!(
        "{} to {} ({timezone})",
        fmt(digest.window_start),
        fmt(digest.window_end)
    )
}

/// Only http(s) links survive; anything else (`javascript:`) becomes `#`.
fn safe_url(url: String) -> String {
    match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => u.to_string(),
        _ => "#".to_string(),
    }
}

/// Scraped text on one line, without control characters.
fn oneline(s: String) -> String {
    super::build::clean_line_unbounded(&s)
}
