//! Readable main text from an HTML page: what a person would read as the
//! article, with navigation, related-article lists, comments and share
//! widgets removed. Used by the collector for article pages and by
//! `extract` when given HTML.
//!
//! The main content is the page's `<article>` or `<main>` (the one with the
//! most paragraph text), else `<body>`; inside it, furniture is skipped by
//! element (`nav`, `aside`, `footer`, `form`, scripts) and by class or id
//! words (`related`, `share`, `comment`, `cookie`, `newsletter`, ...).

mod bound;

pub use bound::{Bounded, MAX_DEPTH, MAX_HTML_BYTES, bound};
use scraper::{ElementRef, Html, Node, Selector};

/// Title and publication time a page declares about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub title: Option<String>,
    pub published: Option<jiff::Timestamp>,
}

/// Elements that never hold the article's text.
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "nav", "aside", "footer", "form", "button", "svg", "iframe",
    "template", "select", "input", "textarea", "dialog", "object", "canvas",
];

/// Class or id words that mark furniture.
const SKIP_WORDS: &[&str] = &[
    "cookie",
    "consent",
    "banner",
    "related",
    "share",
    "sharing",
    "social",
    "comment",
    "newsletter",
    "subscribe",
    "sidebar",
    "advert",
    "ad-slot",
    "ads",
    "promo",
    "breadcrumb",
    "toc",
    "popup",
    "modal",
    "footer",
    "menu",
    "navbar",
    "recommend",
    "signup",
    "paywall",
    "author-bio",
    "tags",
];

const BLOCK_TAGS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "figcaption",
    "tr",
    "div",
    "section",
    "article",
    "main",
    "ul",
    "ol",
    "table",
    "thead",
    "tbody",
    "header",
    "time",
    "address",
    "br",
    "hr",
];

fn is_furniture(el: &ElementRef) -> bool {
    let v = el.value();
    if SKIP_TAGS.contains(&v.name()) {
        return true;
    }
    if v.attr("hidden").is_some() && v.name() != "div" {
        return true;
    }
    if v.attr("aria-hidden") == Some("true") {
        return true;
    }
    let mut words = String::new();
    if let Some(c) = v.attr("class") {
        words.push_str(c);
        words.push(' ');
    }
    if let Some(i) = v.attr("id") {
        words.push_str(i);
    }
    let words = words.to_ascii_lowercase();
    words
        .split(|c: char| c.is_whitespace() || c == '_')
        .any(|w| {
            SKIP_WORDS.iter().any(|s| {
                w == *s || w.starts_with(&format!("{s}-")) || w.ends_with(&format!("-{s}"))
            })
        })
}

#[derive(Default)]
struct Out {
    blocks: Vec<String>,
    cur: String,
}

impl Out {
    fn flush(&mut self) {
        let t = self.cur.split_whitespace().collect::<Vec<_>>().join(" ");
        if !t.is_empty() {
            self.blocks.push(t);
        }
        self.cur.clear();
    }
}

/// Where the walk is: a node to visit, or the end of a block or list item
/// entered earlier. An explicit stack rather than recursion: nesting depth
/// is the page author's choice, the thread's stack is not.
enum Step<'a> {
    Text(&'a str),
    Element(ElementRef<'a>),
    EndBlock,
    EndItem,
}

/// Appends the main text under `root` to `out`, visiting the tree in
/// document order without recursion.
fn walk(root: ElementRef, out: &mut Out) {
    // List items collect their text apart, to be joined onto one "- " line.
    let mut items: Vec<Out> = Vec::new();
    let mut steps = Vec::new();
    push_children(root, &mut steps);
    while let Some(step) = steps.pop() {
        let target = items.last_mut().unwrap_or(&mut *out);
        match step {
            Step::Text(t) => target.cur.push_str(t),
            Step::EndBlock => target.flush(),
            Step::EndItem => {
                let mut inner = items.pop().expect("an item was entered");
                inner.flush();
                let text = inner.blocks.join(" ");
                let target = items.last_mut().unwrap_or(&mut *out);
                if !text.is_empty() {
                    target.blocks.push(format!("- {text}"));
                }
            }
            Step::Element(ce) => {
                if is_furniture(&ce) {
                    continue;
                }
                match ce.value().name() {
                    "li" => {
                        target.flush();
                        items.push(Out::default());
                        steps.push(Step::EndItem);
                        push_children(ce, &mut steps);
                    }
                    "tr" => {
                        target.flush();
                        let cells: Vec<String> = ce
                            .children()
                            .filter_map(ElementRef::wrap)
                            .filter(|c| matches!(c.value().name(), "td" | "th"))
                            .map(|c| {
                                c.text()
                                    .collect::<String>()
                                    .split_whitespace()
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .collect();
                        if !cells.is_empty() {
                            target.blocks.push(cells.join(" | "));
                        }
                    }
                    name if BLOCK_TAGS.contains(&name) => {
                        target.flush();
                        steps.push(Step::EndBlock);
                        push_children(ce, &mut steps);
                    }
                    _ => push_children(ce, &mut steps),
                }
            }
        }
    }
}

/// Pushes `el`'s text and element children so that they pop in document order.
fn push_children<'a>(el: ElementRef<'a>, steps: &mut Vec<Step<'a>>) {
    for child in el.children().rev() {
        match child.value() {
            Node::Text(t) => steps.push(Step::Text(t)),
            Node::Element(_) => {
                if let Some(ce) = ElementRef::wrap(child) {
                    steps.push(Step::Element(ce));
                }
            }
            _ => {}
        }
    }
}

fn text_len(el: &ElementRef) -> usize {
    let p = Selector::parse("p, li").expect("static selector is valid");
    el.select(&p)
        .map(|p| p.text().map(str::len).sum::<usize>())
        .sum()
}

/// A document parsed with its size and nesting bounded (see [`bound`]).
pub struct Parsed {
    pub doc: Html,
    /// True when the document was longer than [`MAX_HTML_BYTES`] and cut.
    pub cut: bool,
}

/// Said at the end of the text of a page that was cut before parsing.
pub const CUT_NOTE: &str = "[termwatch read only the first 8 MiB of this page; the rest was cut]";

/// Parses a document, bounded first so that no page can make the parser
/// take more than linear time.
pub fn parse(html: &str) -> Parsed {
    let b = bound(html);
    Parsed {
        doc: Html::parse_document(&b.html),
        cut: b.cut,
    }
}

/// Plain text of the page's main content: blocks separated by a blank line,
/// list items as "- " lines, table rows as "cell | cell" lines.
pub fn main_text(html: &str) -> String {
    main_text_of(&parse(html))
}

/// [`main_text`] of a page already parsed.
pub fn main_text_of(page: &Parsed) -> String {
    let doc = &page.doc;
    let candidates =
        Selector::parse("article, main, [role=main]").expect("static selector is valid");
    let body = Selector::parse("body").expect("static selector is valid");
    let root = doc
        .select(&candidates)
        .filter(|e| !is_furniture(e))
        .max_by_key(text_len)
        .or_else(|| doc.select(&body).next())
        .unwrap_or_else(|| doc.root_element());
    let mut out = Out::default();
    walk(root, &mut out);
    out.flush();
    if page.cut {
        out.blocks.push(CUT_NOTE.to_string());
    }
    // List items and table rows sit on consecutive lines; other blocks apart.
    let mut s = String::new();
    let mut prev_item = false;
    for b in &out.blocks {
        let item = b.starts_with("- ") || b.contains(" | ");
        if !s.is_empty() {
            s.push_str(if item && prev_item { "\n" } else { "\n\n" });
        }
        s.push_str(b);
        prev_item = item;
    }
    s
}

fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    let date = s.get(..10)?.parse::<jiff::civil::Date>().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// The page's title (its `<h1>`, else `og:title`, else `<title>`) and its
/// publication time (`<time datetime>`, `article:published_time`, or
/// `datePublished` in JSON-LD).
pub fn metadata(html: &str) -> Metadata {
    let doc = parse(html).doc;
    let sel = |s: &str| Selector::parse(s).expect("static selector is valid");
    let clean = |s: String| {
        let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
        (!t.is_empty()).then_some(t)
    };
    let title = doc
        .select(&sel("h1"))
        .next()
        .and_then(|h| clean(h.text().collect()))
        .or_else(|| {
            doc.select(&sel("meta[property='og:title']"))
                .next()
                .and_then(|m| m.value().attr("content").map(str::to_string))
                .and_then(clean)
        })
        .or_else(|| {
            doc.select(&sel("title")).next().and_then(|t| {
                let full: String = t.text().collect();
                clean(full.split(" | ").next().unwrap_or("").to_string())
            })
        });
    let published = doc
        .select(&sel("meta[property='article:published_time'], meta[name='date'], meta[itemprop='datePublished']"))
        .find_map(|m| m.value().attr("content").and_then(parse_time))
        .or_else(|| doc.select(&sel("time[datetime]")).find_map(|t| t.value().attr("datetime").and_then(parse_time)))
        .or_else(|| {
            doc.select(&sel("script[type='application/ld+json']")).find_map(|s| {
                let text: String = s.text().collect();
                let i = text.find("\"datePublished\"")?;
                let rest = &text[i + 15..];
                let start = rest.find('"')? + 1;
                let end = rest[start..].find('"')? + start;
                parse_time(&rest[start..end])
            })
        });
    Metadata { title, published }
}

/// True when the text looks like an HTML document rather than plain text.
pub fn looks_like_html(text: &str) -> bool {
    let head = text.trim_start().get(..512).unwrap_or(text.trim_start());
    let lower = head.to_ascii_lowercase();
    lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.contains("<body")
        || lower.starts_with("<article")
        || lower.starts_with("<div")
        || lower.starts_with("<p>")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><title>Deal | Wire</title>
<script type="application/ld+json">{"datePublished":"2026-02-03T08:00:00Z"}</script></head>
<body><header><nav><a href="/">Home</a></nav></header>
<div class="cookie-banner"><p>We use cookies.</p></div>
<main><article><h1>Nimbus Labs and Corvid Cloud sign a deal</h1>
<p>Nimbus Labs will pay Corvid Cloud.</p>
<ul><li>First item</li><li>Second <b>item</b></li></ul>
<table><tr><th>Model</th><th>Date</th></tr><tr><td>falcon-2</td><td>May 1, 2026</td></tr></table>
<div class="share-bar"><p>Share on X</p></div>
</article><aside class="related"><p>Old story about exclusivity.</p></aside></main>
<footer><p>Copyright</p></footer></body></html>"#;

    #[test]
    fn keeps_article_drops_furniture() {
        let t = main_text(PAGE);
        assert!(
            t.starts_with(
                "Nimbus Labs and Corvid Cloud sign a deal\n\nNimbus Labs will pay Corvid Cloud."
            ),
            "{t}"
        );
        assert!(t.contains("- First item\n- Second item"), "{t}");
        assert!(t.contains("Model | Date\nfalcon-2 | May 1, 2026"), "{t}");
        for gone in ["cookies", "Share on X", "Old story", "Copyright", "Home"] {
            assert!(!t.contains(gone), "{gone} should be gone: {t}");
        }
    }

    #[test]
    fn metadata_reads_h1_and_json_ld_date() {
        let m = metadata(PAGE);
        assert_eq!(
            m.title.as_deref(),
            Some("Nimbus Labs and Corvid Cloud sign a deal")
        );
        assert_eq!(
            m.published.map(|t| t.to_string()).as_deref(),
            Some("2026-02-03T08:00:00Z")
        );
    }

    fn nested_page(n: usize) -> String {
        format!(
            "<html><body>{}<p>Corvid Cloud ends the deal.</p>{}</body></html>",
            "<div>".repeat(n),
            "</div>".repeat(n)
        )
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // The old walk recursed once per level: 3,000 levels overflow a
        // 256 KiB stack. The tree is parsed unbounded here, to test the walk.
        let text = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let page = Parsed {
                    doc: Html::parse_document(&nested_page(3_000)),
                    cut: false,
                };
                main_text_of(&page)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(text, "Corvid Cloud ends the deal.");
    }

    #[test]
    fn hundred_thousand_nested_divs_are_read_in_bounded_depth() {
        let page = nested_page(100_000);
        let bounded = bound(&page);
        assert!(bounded.html.matches("<div>").count() <= MAX_DEPTH);
        assert_eq!(main_text(&page), "Corvid Cloud ends the deal.");
    }

    #[test]
    fn page_over_the_size_cap_is_cut_with_a_note() {
        let para = "<p>Nimbus Labs renews its compute terms.</p>";
        let page = format!(
            "<body>{}</body>",
            para.repeat(MAX_HTML_BYTES / para.len() + 10)
        );
        let text = main_text(&page);
        assert!(text.starts_with("Nimbus Labs renews"), "{}", &text[..80]);
        assert!(text.ends_with(CUT_NOTE), "{}", &text[text.len() - 200..]);
    }
}
