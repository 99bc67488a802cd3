//! A client's own filters (`[filters]` in its profile): keywords or
//! regexes over an event's titles and evidence, muted sources and event
//! families, a minimum confidence. Checked at load (`termwatch check`), so
//! a pattern that does not compile never reaches a digest.

use regex::Regex;

use crate::model::{Event, Filters};

/// A keyword (a whole word, any case) or a `/regex/`.
#[derive(Debug, Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// `/…/` is a regex (case-insensitive); anything else a keyword.
    pub fn parse(p: &str) -> Result<Pattern, String> {
        let p = p.trim();
        if p.is_empty() {
            return Err(
                "is empty; write a keyword like \"pricing\" or a regex like \"/gpt-5(\\\\.5)?/\""
                    .into(),
            );
        }
        let src = match p.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
            Some(re) => format!("(?i){re}"),
            None => format!(r"(?i)\b{}\b", regex::escape(p)),
        };
        Regex::new(&src)
            .map(Pattern)
            .map_err(|e| format!("is not a valid regex ({e}); write it between slashes, like \"/claude (opus|sonnet)/\""))
    }

    fn matches(&self, event: &Event, headline: &str) -> bool {
        self.0.is_match(headline)
            || event
                .sources
                .iter()
                .any(|s| self.0.is_match(&s.title) || self.0.is_match(&s.evidence))
    }
}

/// Filters compiled once per digest.
#[derive(Debug, Default)]
pub struct Compiled<'a> {
    filters: Option<&'a Filters>,
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl<'a> Compiled<'a> {
    /// Patterns that do not compile are skipped: profiles are validated at
    /// load, so only a hand-built profile can have one.
    pub fn new(filters: &'a Filters) -> Compiled<'a> {
        if filters.is_empty() {
            return Compiled::default();
        }
        let all = |ps: &[String]| ps.iter().filter_map(|p| Pattern::parse(p).ok()).collect();
        Compiled {
            filters: Some(filters),
            include: all(&filters.include),
            exclude: all(&filters.exclude),
        }
    }

    /// Whether the client wants to hear about `event`.
    pub fn keeps(&self, event: &Event, headline: &str) -> bool {
        let Some(f) = self.filters else {
            return true;
        };
        let muted = |url: &str| {
            f.mute_sources.iter().any(|m| {
                url.starts_with(m.as_str())
                    || url::Url::parse(url)
                        .ok()
                        .and_then(|u| u.host_str().map(|h| h.eq_ignore_ascii_case(m)))
                        .unwrap_or(false)
            })
        };
        !f.mute_kinds.contains(&event.kind)
            && event.confidence >= f.min_confidence
            && (event.sources.is_empty() || !event.sources.iter().all(|s| muted(&s.url)))
            && (self.include.is_empty() || self.include.iter().any(|p| p.matches(event, headline)))
            && !self.exclude.iter().any(|p| p.matches(event, headline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_is_a_whole_word_and_regex_is_between_slashes() {
        let k = Pattern::parse("fennel").unwrap();
        assert!(k.0.is_match("Fennel Large"));
        assert!(!k.0.is_match("fennelish"));
        let r = Pattern::parse("/fen+el (large|mini)/").unwrap();
        assert!(r.0.is_match("FENNEL MINI"));
        assert!(
            Pattern::parse("/(unclosed/")
                .unwrap_err()
                .contains("not a valid regex")
        );
        assert!(Pattern::parse(" ").is_err());
    }
}
