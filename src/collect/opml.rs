//! OPML subscription lists into source definitions.
//!
//! Read with quick-xml rather than a strict OPML crate: exports from feed
//! readers often lack the `version` attribute or nest outlines in folders,
//! and all we need is each outline's `xmlUrl`, title and folder.

use std::collections::HashSet;
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub title: String,
    /// An absolute http(s) URL (others are [`Skipped`]).
    pub xml_url: String,
    /// The folder outline it sat in, if any (becomes a tag).
    pub folder: Option<String>,
    /// 1-based line of the outline in the OPML file.
    pub line: usize,
}

/// An outline that names no feed termwatch can poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: usize,
    pub title: String,
    /// What is wrong and what to do, for the import report.
    pub reason: String,
}

/// What an OPML file holds: feeds to import and outlines refused.
#[derive(Debug, Default)]
pub struct Parsed {
    pub outlines: Vec<Outline>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the OPML file is not well-formed XML near byte {position}: {reason}; export it again from your reader"
    )]
    Xml { position: u64, reason: String },
    #[error("the OPML file lists no feeds (no outline has an xmlUrl attribute)")]
    Empty,
}

/// Every outline with an `xmlUrl`, in file order; outlines without one
/// (other than folders) or with a URL that is not absolute http(s) are
/// reported in `skipped`, by line.
pub fn parse(text: &str) -> Result<Parsed, Error> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Parsed::default();
    // One entry per open <outline>: its title when it is a folder.
    let mut open: Vec<Option<String>> = Vec::new();
    loop {
        let start = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| Error::Xml {
            position: reader.buffer_position(),
            reason: e.to_string(),
        })?;
        let line = || tag_line(text, start);
        match ev {
            Event::Start(e) if e.local_name().as_ref() == b"outline" => {
                let (name, url) = attrs(&e, &reader);
                match url {
                    Some(u) => {
                        out.push(name, &u, &open, line());
                        open.push(None);
                    }
                    None => open.push(Some(name)),
                }
            }
            Event::Empty(e) if e.local_name().as_ref() == b"outline" => match attrs(&e, &reader) {
                (name, Some(u)) => out.push(name, &u, &open, line()),
                (title, None) => out.skipped.push(Skipped {
                    line: line(),
                    title,
                    reason: "the outline has no xmlUrl; add the feed's URL".to_string(),
                }),
            },
            Event::End(e) if e.local_name().as_ref() == b"outline" => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if out.outlines.is_empty() && out.skipped.is_empty() {
        return Err(Error::Empty);
    }
    Ok(out)
}

impl Parsed {
    fn push(&mut self, title: String, url: &str, open: &[Option<String>], line: usize) {
        match feed_url(url) {
            Ok(xml_url) => self.outlines.push(outline(title, xml_url, open, line)),
            Err(reason) => self.skipped.push(Skipped {
                line,
                title,
                reason,
            }),
        }
    }
}

/// The URL as the source file will hold it, if termwatch can poll it.
/// Refused URLs are named only by scheme: a `javascript:` or `data:` URL
/// can be long and is no use in a report.
fn feed_url(raw: &str) -> Result<String, String> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u.to_string()),
        Ok(u) => Err(format!(
            "xmlUrl is a {}: URL; only http and https feeds can be polled",
            u.scheme()
        )),
        Err(e) => Err(format!(
            "xmlUrl is not an absolute URL ({e}); write it as https://host/path"
        )),
    }
}

/// 1-based line of the tag that starts at or after `offset` (the reader's
/// position before an event may sit on the whitespace before the tag).
fn tag_line(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let skip = rest.len() - rest.trim_start().len();
    crate::config::line_of(text, offset + skip)
}

fn outline(title: String, xml_url: String, open: &[Option<String>], line: usize) -> Outline {
    Outline {
        title,
        xml_url,
        line,
        folder: open
            .iter()
            .rev()
            .flatten()
            .next()
            .cloned()
            .filter(|f| !f.is_empty()),
    }
}

fn attrs(e: &BytesStart<'_>, reader: &quick_xml::Reader<&[u8]>) -> (String, Option<String>) {
    let mut title = None;
    let mut text = None;
    let mut url = None;
    for attr in e.attributes().flatten() {
        let value = attr
            .decode_and_unescape_value(reader.decoder())
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        match attr.key.local_name().as_ref() {
            b"title" => title = Some(value),
            b"text" => text = Some(value),
            b"xmlUrl" | b"xmlurl" => url = Some(value),
            _ => {}
        }
    }
    let name = title.filter(|t| !t.is_empty()).or(text).unwrap_or_default();
    (name, url.filter(|u| !u.is_empty()))
}

/// A source id from a title: lowercase words joined by '-', made unique
/// against `taken`.
pub fn make_id(title: &str, url: &str, taken: &HashSet<String>) -> String {
    let base_text = if title.trim().is_empty() { url } else { title };
    let mut base = String::new();
    for c in base_text.chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c.to_ascii_lowercase());
        } else if !base.ends_with('-') && !base.is_empty() {
            base.push('-');
        }
    }
    let mut base = base
        .trim_end_matches('-')
        .chars()
        .take(48)
        .collect::<String>();
    if base.is_empty() {
        base = "feed".to_string();
    }
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id))
        .expect("an unused suffix exists")
}

/// TOML `[[source]]` entries for new outlines.
pub fn to_toml(entries: &[(String, &Outline)], schedule: &str) -> String {
    let mut out = String::new();
    for (id, o) in entries {
        let _ = writeln!(out, "\n[[source]]");
        let _ = writeln!(out, "id = {}", quote(id));
        let _ = writeln!(
            out,
            "name = {}",
            quote(if o.title.is_empty() { id } else { &o.title })
        );
        let _ = writeln!(out, "url = {}", quote(&o.xml_url));
        let _ = writeln!(out, "kind = \"feed\"");
        let _ = writeln!(out, "schedule = {}", quote(schedule));
        let _ = writeln!(out, "trust = \"news\"");
        match &o.folder {
            Some(f) => {
                let _ = writeln!(out, "tags = [\"imported\", {}]", quote(f));
            }
            None => {
                let _ = writeln!(out, "tags = [\"imported\"]");
            }
        }
    }
    out
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_and_missing_version() {
        let text = r#"<opml><body><outline text="AI vendors"><outline text="Nimbus &amp; Co" xmlUrl="https://n.example/feed"/></outline><outline title="Loose" xmlUrl="https://l.example/rss"></outline></body></opml>"#;
        let o = parse(text).unwrap().outlines;
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].title, "Nimbus & Co");
        assert_eq!(o[0].folder.as_deref(), Some("AI vendors"));
        assert_eq!(o[1].folder, None);
    }

    #[test]
    fn ids_are_slugs_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(
            make_id("Nimbus Labs: News!", "", &taken),
            "nimbus-labs-news"
        );
        taken.insert("nimbus-labs-news".to_string());
        assert_eq!(
            make_id("Nimbus Labs News", "", &taken),
            "nimbus-labs-news-2"
        );
    }

    #[test]
    fn generated_toml_loads() {
        let o = Outline {
            title: "Corvid \"Cloud\"".into(),
            xml_url: "https://c.example/feed".into(),
            folder: None,
            line: 1,
        };
        let text = to_toml(&[("corvid".into(), &o)], "*/30 * * * *");
        let (defs, probs) =
            super::super::sources::parse_file(std::path::Path::new("i.toml"), &text);
        assert!(probs.is_empty(), "{probs:?}");
        assert_eq!(defs[0].name, "Corvid \"Cloud\"");
    }

    #[test]
    fn opml_bad_url_outlines_are_skipped_by_line() {
        let text = "<opml><body>\n<outline text=\"Evil\" xmlUrl=\"javascript:alert(1)\"/>\n<outline text=\"Blank\"/>\n  <outline text=\"Rel\" xmlUrl=\"/feed.xml\"/>\n<outline text=\"Good\" xmlUrl=\"https://g.example/rss\"/>\n</body></opml>";
        let p = parse(text).unwrap();
        assert_eq!(p.outlines.len(), 1);
        assert_eq!(p.outlines[0].line, 5);
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 4], "{:?}", p.skipped);
        assert!(
            p.skipped[0].reason.contains("javascript"),
            "{:?}",
            p.skipped[0]
        );
        assert!(
            p.skipped[1].reason.contains("no xmlUrl"),
            "{:?}",
            p.skipped[1]
        );
        assert!(
            p.skipped[2].reason.contains("absolute"),
            "{:?}",
            p.skipped[2]
        );
    }
}
