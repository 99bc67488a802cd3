//! Source definitions (`sources/*.toml`) and their validation.
//!
//! Each file holds several `[[source]]` tables. Parsing keeps every field's
//! position so a problem names the file and the line to fix, and says what to
//! write instead. A broken entry is skipped; the rest of the file still loads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::schedule::{Schedule, parse_duration};
use crate::config::Problem;
use crate::model::Trust;

/// How a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// RSS 0.9/1.0/2.0, Atom or JSON Feed.
    Feed,
    /// An HTML listing page read with CSS selectors.
    Html,
}

/// CSS selectors for an HTML listing (and optionally the article body).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selectors {
    pub item: String,
    pub link: String,
    pub title: Option<String>,
    pub date: Option<String>,
    pub body: Option<String>,
}

/// One validated source.
#[derive(Debug, Clone)]
pub struct SourceDef {
    pub id: String,
    pub name: String,
    pub url: url::Url,
    pub kind: Kind,
    pub schedule: Schedule,
    pub trust: Trust,
    pub organisation: Option<String>,
    pub tags: Vec<String>,
    pub selectors: Option<Selectors>,
    /// Whether article pages on another site (registrable domain) than the
    /// source's own are fetched. Off by default: a feed then cannot send the
    /// collector to arbitrary sites, nor lend those pages its trust.
    pub follow_other_sites: bool,
    /// The file and line it was defined at, for messages.
    pub file: PathBuf,
    pub line: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
}

type S = Option<Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: S,
    name: S,
    url: S,
    kind: S,
    schedule: S,
    jitter: S,
    trust: S,
    organisation: S,
    #[serde(default)]
    tags: Vec<String>,
    selectors: Option<Spanned<RawSelectors>>,
    #[serde(default)]
    follow_other_sites: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelectors {
    item: S,
    link: S,
    title: S,
    date: S,
    body: S,
}

/// Every `*.toml` file in `dir`, sorted so messages come in a stable order.
fn source_files(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Problem::new(
            dir,
            None,
            format!("cannot read the sources directory ({e}); create it or pass --sources DIR"),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every valid source in `dir`; problems are returned beside them, one
/// bad entry never hides the good ones. Duplicate ids across files are
/// problems too (the second is skipped).
pub fn load_sources(dir: &Path) -> (Vec<SourceDef>, Vec<Problem>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let files = match source_files(dir) {
        Ok(f) => f,
        Err(p) => return (sources, vec![p]),
    };
    let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem::new(&file, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let (defs, mut probs) = parse_file(&file, &text);
        problems.append(&mut probs);
        for def in defs {
            if let Some((f, l)) = seen.get(&def.id) {
                problems.push(Problem::new(
                    &def.file,
                    Some(def.line),
                    format!(
                        "duplicate source id \"{}\" (first defined in {} line {l}); give this one another id",
                        def.id,
                        f.display()
                    ),
                ));
                continue;
            }
            seen.insert(def.id.clone(), (def.file.clone(), def.line));
            sources.push(def);
        }
    }
    (sources, problems)
}

/// Every problem in the source files of `dir` (empty when all is well).
pub fn validate_sources(dir: &Path) -> Vec<Problem> {
    load_sources(dir).1
}

/// Parses one source file's text.
pub fn parse_file(file: &Path, text: &str) -> (Vec<SourceDef>, Vec<Problem>) {
    // Every schema problem in the file at once; toml's own message already
    // lists the fields it expected.
    let (raw, mut problems) = crate::config::from_toml_all::<RawFile>(file, text);
    for p in &mut problems {
        p.message
            .push_str("; the whole file is skipped until this is fixed");
    }
    let Some(raw) = raw.filter(|_| problems.is_empty()) else {
        return (Vec::new(), problems);
    };
    let mut defs = Vec::new();
    let lines = LineIndex::new(text);
    for entry in raw.source {
        let line = lines.line(entry.span().start);
        match validate(file, &lines, line, entry.into_inner()) {
            Ok(def) => defs.push(def),
            Err(mut p) => problems.append(&mut p),
        }
    }
    (defs, problems)
}

/// Byte offset to 1-based line, by binary search: an imported file can hold
/// thousands of sources, and scanning from the top per field is quadratic.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

fn validate(
    file: &Path,
    lines: &LineIndex,
    line: usize,
    raw: RawSource,
) -> Result<SourceDef, Vec<Problem>> {
    let mut problems = Vec::new();
    let at = |s: &Spanned<String>| lines.line(s.span().start);
    let mut problem = |l: usize, m: String| problems.push(Problem::new(file, Some(l), m));

    let id = match &raw.id {
        Some(id) if valid_id(id.get_ref()) => id.get_ref().clone(),
        Some(id) => {
            problem(
                at(id),
                format!(
                    "id \"{}\" must be lowercase letters, digits, '-' or '_'; write e.g. id = \"acme-blog\"",
                    id.get_ref()
                ),
            );
            String::new()
        }
        None => {
            problem(
                line,
                "source has no id; add id = \"vendor-blog\" (lowercase, unique)".into(),
            );
            String::new()
        }
    };
    let url = match &raw.url {
        Some(u) => match url::Url::parse(u.get_ref().trim()) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() =>
            {
                Some(parsed)
            }
            _ => {
                problem(
                    at(u),
                    format!(
                        "url \"{}\" is not an http(s) URL; write the full address, e.g. url = \"https://example.com/blog/feed.xml\"",
                        u.get_ref()
                    ),
                );
                None
            }
        },
        None => {
            problem(
                line,
                "source has no url; add url = \"https://example.com/feed.xml\"".into(),
            );
            None
        }
    };
    let kind = match raw.kind.as_ref().map(|k| (k, k.get_ref().trim())) {
        None | Some((_, "feed")) => Kind::Feed,
        Some((_, "html")) => Kind::Html,
        Some((k, other)) => {
            problem(
                at(k),
                format!(
                    "kind \"{other}\" is unknown; write kind = \"feed\" (RSS, Atom, JSON Feed) or kind = \"html\" (a listing page with selectors)"
                ),
            );
            Kind::Feed
        }
    };
    let jitter = match &raw.jitter {
        Some(j) => match parse_duration(j.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                problem(at(j), format!("jitter {e}"));
                None
            }
        },
        None => None,
    };
    let schedule = match &raw.schedule {
        Some(s) => match Schedule::parse(s.get_ref(), jitter) {
            Ok(s) => Some(s),
            Err(e) => {
                problem(at(s), e);
                None
            }
        },
        None => {
            problem(
                line,
                "source has no schedule; add schedule = \"0 */30 * * * *\" (cron with seconds: every 30 minutes)".into(),
            );
            None
        }
    };
    let trust = match &raw.trust {
        None => Trust::News,
        Some(t) => match t.get_ref().trim() {
            "vendor" => Trust::Vendor,
            "news" => Trust::News,
            "commentary" => Trust::Commentary,
            other => {
                problem(
                    at(t),
                    format!(
                        "trust \"{other}\" is unknown; write trust = \"vendor\", \"news\" or \"commentary\""
                    ),
                );
                Trust::News
            }
        },
    };
    if trust == Trust::Vendor && raw.organisation.is_none() {
        problem(
            line,
            "a vendor source speaks for an organisation; add organisation = \"Vendor Name\"".into(),
        );
    }
    let selectors = match (kind, raw.selectors) {
        (Kind::Html, None) => {
            problem(
                line,
                "an html source needs selectors; add selectors = { item = \"article\", link = \"a\", title = \"h2\", date = \"time\" }".into(),
            );
            None
        }
        (Kind::Html, Some(sel)) => {
            let sel_line = lines.line(sel.span().start);
            let sel = sel.into_inner();
            let mut check = |name: &str, s: &S, required: bool| -> Option<String> {
                match s {
                    Some(v) => match scraper::Selector::parse(v.get_ref()) {
                        Ok(_) => Some(v.get_ref().clone()),
                        Err(e) => {
                            problem(
                                at(v),
                                format!(
                                    "selector {name} = \"{}\" is not valid CSS ({e}); write e.g. {name} = \"article h2 a\"",
                                    v.get_ref()
                                ),
                            );
                            None
                        }
                    },
                    None if required => {
                        problem(
                            sel_line,
                            format!("selectors need {name}; add {name} = \"...\" (a CSS selector)"),
                        );
                        None
                    }
                    None => None,
                }
            };
            let item = check("item", &sel.item, true);
            let link = check("link", &sel.link, true);
            let title = check("title", &sel.title, false);
            let date = check("date", &sel.date, false);
            let body = check("body", &sel.body, false);
            match (item, link) {
                (Some(item), Some(link)) => Some(Selectors {
                    item,
                    link,
                    title,
                    date,
                    body,
                }),
                _ => None,
            }
        }
        (Kind::Feed, Some(sel)) => {
            // Only `body` makes sense for a feed: it picks the article text
            // from pages fetched for teaser items.
            let sel = sel.into_inner();
            match sel.body {
                Some(b) if scraper::Selector::parse(b.get_ref()).is_err() => {
                    problem(
                        at(&b),
                        format!("selector body = \"{}\" is not valid CSS", b.get_ref()),
                    );
                    None
                }
                Some(b) => Some(Selectors {
                    body: Some(b.into_inner()),
                    ..Selectors::default()
                }),
                None => None,
            }
        }
        (Kind::Feed, None) => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(url), Some(schedule)) = (url, schedule) else {
        return Err(problems);
    };
    Ok(SourceDef {
        name: raw
            .name
            .map(Spanned::into_inner)
            .unwrap_or_else(|| id.clone()),
        id,
        url,
        kind,
        schedule,
        trust,
        organisation: raw.organisation.map(Spanned::into_inner),
        tags: raw.tags,
        selectors,
        follow_other_sites: raw.follow_other_sites,
        file: file.to_path_buf(),
        line,
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[source]]
id = "nimbus-blog"
name = "Nimbus Labs blog"
url = "https://nimbus.example/feed.xml"
kind = "feed"
schedule = "0 */30 * * * *"
jitter = "5m"
trust = "vendor"
organisation = "Nimbus Labs"
tags = ["ai"]
"#;

    #[test]
    fn a_good_source_loads() {
        let (defs, probs) = parse_file(Path::new("s.toml"), GOOD);
        assert!(probs.is_empty(), "{probs:?}");
        assert_eq!(defs[0].id, "nimbus-blog");
        assert_eq!(defs[0].line, 2);
        assert_eq!(defs[0].trust, Trust::Vendor);
        assert!(
            !defs[0].follow_other_sites,
            "other sites are off by default"
        );
    }

    #[test]
    fn follow_other_sites_is_read() {
        let text = format!("{GOOD}follow_other_sites = true\n");
        let (defs, probs) = parse_file(Path::new("s.toml"), &text);
        assert!(probs.is_empty(), "{probs:?}");
        assert!(defs[0].follow_other_sites);
    }

    #[test]
    fn bad_url_and_schedule_name_their_lines() {
        let text = format!(
            "{GOOD}\n[[source]]\nid = \"broken\"\nurl = \"not a url\"\nkind = \"feed\"\nschedule = \"every now and then\"\n"
        );
        let (defs, probs) = parse_file(Path::new("s.toml"), &text);
        assert_eq!(defs.len(), 1, "the good source still loads");
        let lines: Vec<_> = probs.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![Some(15), Some(17)], "{probs:?}");
        assert!(
            probs[0].to_string().contains("s.toml line 15: url"),
            "{}",
            probs[0]
        );
    }

    #[test]
    fn html_source_without_selectors_is_a_problem() {
        let text = "[[source]]\nid = \"x\"\nurl = \"https://x.example/\"\nkind = \"html\"\nschedule = \"@hourly\"\n";
        let (_, probs) = parse_file(Path::new("s.toml"), text);
        assert!(probs[0].message.contains("selectors"), "{probs:?}");
    }

    #[test]
    fn unknown_field_names_its_line() {
        let text = "[[source]]\nid = \"x\"\nselecter = 1\n";
        let (_, probs) = parse_file(Path::new("s.toml"), text);
        assert_eq!(probs[0].line, Some(3), "{probs:?}");
        assert!(probs[0].message.contains("selecter"));
    }
}
