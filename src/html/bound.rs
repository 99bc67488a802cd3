//! Bounds what reaches the HTML parser: its size and the nesting depth of
//! the tree it builds.
//!
//! html5ever's time grows with the square of the nesting depth (0.3 s at
//! 6,000 nested `<div>`s, over a minute at 100,000), and a page's depth is
//! its author's choice. So before parsing, one linear pass over the tag
//! stream tracks the elements the parser will hold open and drops start
//! tags (and their end tags) past [`MAX_DEPTH`]; their text stays, only the
//! structure below that depth is flattened. The pass errs towards counting
//! an element as open (it follows html5ever's rules for which end tags close
//! what, simplified), so the parser's tree is never deeper than it counts.

use std::borrow::Cow;
use std::collections::HashMap;

/// Deepest element nesting handed to the parser. Real pages stay well under
/// 64; 256 leaves room for generated markup.
pub const MAX_DEPTH: usize = 256;
/// Most bytes of one document handed to the parser (8 MiB). Longer
/// documents are cut at this length, and the text read from them says so.
pub const MAX_HTML_BYTES: usize = 8 * 1024 * 1024;

/// A document made safe to parse.
#[derive(Debug)]
pub struct Bounded<'a> {
    pub html: Cow<'a, str>,
    /// True when the document was longer than [`MAX_HTML_BYTES`] and cut.
    pub cut: bool,
}

/// `html` cut to [`MAX_HTML_BYTES`] with elements nested deeper than
/// [`MAX_DEPTH`] flattened. Borrowed when nothing had to change, so an
/// ordinary page is not copied.
pub fn bound(html: &str) -> Bounded<'_> {
    let cut = html.len() > MAX_HTML_BYTES;
    let html = if cut {
        &html[..html.floor_char_boundary(MAX_HTML_BYTES)]
    } else {
        html
    };
    Bounded {
        html: flatten(html, MAX_DEPTH),
        cut,
    }
}

/// Elements that never have content (no end tag, never open).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "basefont", "bgsound", "frame",
];
/// Elements whose content is text up to their end tag, not markup.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
];
/// End tags of these close only the element on top (the adoption agency
/// may keep more open; counting them open is the safe side).
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];
/// html5ever's "special" elements: an end tag of an ordinary element is
/// ignored when one of these is open above it.
const SPECIAL: &[&str] = &[
    "address",
    "applet",
    "article",
    "aside",
    "blockquote",
    "body",
    "button",
    "caption",
    "center",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "html",
    "iframe",
    "li",
    "listing",
    "main",
    "marquee",
    "menu",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "ul",
    "xmp",
    "svg",
    "math",
];
/// Scope boundaries: an end tag does not close anything below these.
const SCOPE: &[&str] = &[
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template", "svg",
    "math",
];
/// Start tags that close an open `<p>` on top.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
    "li",
    "dd",
    "dt",
];
/// Start tags that close an open element of the same name on top.
const CLOSES_SELF: &[&str] = &["li", "dd", "dt", "option", "tr", "td", "th"];
/// Longest tag name kept for matching; longer names are compared by prefix.
const NAME_MAX: usize = 32;

/// Open elements as the parser will see them, and the tags dropped.
struct Depth {
    max: usize,
    open: Vec<String>,
    /// Start tags dropped past `max`, by name: their end tags are dropped too.
    dropped: HashMap<String, usize>,
}

impl Depth {
    /// Whether a start tag `name` is kept.
    fn start(&mut self, name: &str) -> bool {
        // The document's own elements exist once, however often their
        // tags appear (html5ever merges repeats): not counted.
        if VOID.contains(&name) || matches!(name, "html" | "head" | "body") {
            return true;
        }
        if let Some(top) = self.open.last() {
            let closes = (top == "p" && CLOSES_P.contains(&name))
                || (top == name && CLOSES_SELF.contains(&name));
            if closes {
                self.open.pop();
            }
        }
        if self.open.len() >= self.max {
            *self.dropped.entry(name.to_string()).or_default() += 1;
            return false;
        }
        self.open.push(name.to_string());
        true
    }

    /// Inside SVG or MathML, `<title>` and `<style>` hold markup, not text.
    fn in_foreign(&self) -> bool {
        self.open
            .iter()
            .any(|e| matches!(e.as_str(), "svg" | "math"))
    }

    /// Whether an end tag `name` is kept.
    fn end(&mut self, name: &str) -> bool {
        if let Some(n) = self.dropped.get_mut(name)
            && *n > 0
        {
            *n -= 1;
            return false;
        }
        let special = SPECIAL.contains(&name);
        let formatting = FORMATTING.contains(&name);
        for i in (0..self.open.len()).rev() {
            let e = self.open[i].as_str();
            if e == name {
                self.open.truncate(i);
                break;
            }
            let boundary = SCOPE.contains(&e)
                || (name == "p" && e == "button")
                || (name == "li" && matches!(e, "ul" | "ol"));
            if formatting || (!special && SPECIAL.contains(&e)) || (special && boundary) {
                break;
            }
        }
        true
    }
}

/// `html` with start tags nested deeper than `max` (and their end tags)
/// removed. One pass; copies only when something is removed.
fn flatten(html: &str, max: usize) -> Cow<'_, str> {
    let b = html.as_bytes();
    let mut depth = Depth {
        max,
        open: Vec::new(),
        dropped: HashMap::new(),
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut drop_range = |out: &mut Option<String>, from: usize, to: usize| {
        let s = out.get_or_insert_with(|| String::with_capacity(html.len()));
        s.push_str(&html[copied..from]);
        copied = to;
    };
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|c| *c == b'<') {
        let lt = i + off;
        let after = &b[lt + 1..];
        match after.first() {
            Some(b'!') if after.starts_with(b"!--") => {
                i = find(b, lt + 4, b"-->").map_or(b.len(), |e| e + 3);
            }
            Some(b'!' | b'?') => i = find(b, lt + 1, b">").map_or(b.len(), |e| e + 1),
            Some(b'/') if after.get(1).is_some_and(u8::is_ascii_alphabetic) => {
                let (name, name_end) = tag_name(b, lt + 2);
                let Some(end) = tag_end(b, name_end) else {
                    break;
                };
                if !depth.end(&name) {
                    drop_range(&mut out, lt, end);
                }
                i = end;
            }
            Some(b'/') => i = find(b, lt + 1, b">").map_or(b.len(), |e| e + 1),
            Some(c) if c.is_ascii_alphabetic() => {
                let (name, name_end) = tag_name(b, lt + 1);
                let Some(end) = tag_end(b, name_end) else {
                    break;
                };
                if !depth.start(&name) {
                    drop_range(&mut out, lt, end);
                }
                i = end;
                if name == "plaintext" {
                    break;
                }
                if RAW_TEXT.contains(&name.as_str()) && !depth.in_foreign() {
                    // Its content is text: skip to its end tag, which the
                    // loop then reads as an end tag.
                    i = find_end_tag(b, i, &name).unwrap_or(b.len());
                }
            }
            _ => i = lt + 1,
        }
    }
    match out {
        None => Cow::Borrowed(html),
        Some(mut s) => {
            s.push_str(&html[copied..]);
            Cow::Owned(s)
        }
    }
}

/// The lowercased name of the tag starting at `from`, and where it ends.
fn tag_name(b: &[u8], from: usize) -> (String, usize) {
    let len = b[from..]
        .iter()
        .position(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
        .unwrap_or(b.len() - from);
    let kept = &b[from..from + len.min(NAME_MAX)];
    (
        String::from_utf8_lossy(kept).to_ascii_lowercase(),
        from + len,
    )
}

/// Index just past the `>` ending a tag whose attributes start at `from`;
/// a `>` inside a quoted attribute value does not end it. `None` when the
/// document ends inside the tag.
fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut j = from;
    loop {
        match *b.get(j)? {
            b'>' => return Some(j + 1),
            b'=' => {
                j += 1;
                while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                    j += 1;
                }
                if let Some(&q) = b.get(j).filter(|c| matches!(c, b'"' | b'\'')) {
                    j = j + 1 + b[j + 1..].iter().position(|c| *c == q)? + 1;
                }
            }
            _ => j += 1,
        }
    }
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Where `</name` (any case) starts at or after `from`.
fn find_end_tag(b: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    loop {
        let lt = find(b, i, b"</")?;
        let rest = &b[lt + 2..];
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            return Some(lt);
        }
        i = lt + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!(
            "<body>{}<p>deep text</p>{}</body>",
            open.repeat(n),
            close.repeat(n)
        )
    }

    #[test]
    fn ordinary_page_is_borrowed_unchanged() {
        let page = "<html><body><div class=\"a>b\"><p>One<p>Two</div><script>if (a < b) { x('<div>') }</script></body></html>";
        assert!(matches!(bound(page).html, Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_flattened_to_the_cap_keeping_the_text() {
        let page = nested("<div>", "</div>", 10_000);
        let out = flatten(&page, MAX_DEPTH);
        assert_eq!(out.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</div>").count(), MAX_DEPTH);
        assert!(out.contains("deep text"));
    }

    #[test]
    fn end_tags_the_parser_ignores_do_not_lower_the_count() {
        // `</span>` cannot close a span with a div open above it, and
        // `</div>` cannot reach out of a table: the tree grows anyway.
        for (open, close) in [("<span><div>", "</span>"), ("<div><table>", "</div>")] {
            let page = nested(open, close, 1_000);
            let out = flatten(&page, 64);
            let kept = out.matches(&open[..4]).count();
            assert!(kept <= 64, "{open}: {kept} kept");
        }
    }

    #[test]
    fn markup_inside_svg_title_is_counted() {
        let page = format!("<svg><title>{}</title></svg>", "<div>".repeat(1_000));
        let out = flatten(&page, 64);
        assert!(out.matches("<div>").count() <= 64);
    }

    #[test]
    fn long_documents_are_cut_at_a_char_boundary() {
        let page = "é".repeat(MAX_HTML_BYTES);
        let b = bound(&page);
        assert!(b.cut);
        assert!(b.html.len() <= MAX_HTML_BYTES);
    }
}
