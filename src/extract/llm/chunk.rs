//! An article as requests: its title and date, then its text, split on
//! paragraph boundaries (the blank lines between blocks) into parts of at
//! most `max_chars` characters. Each part after the first repeats the last
//! paragraph of the one before, so a change stated across a boundary is
//! whole in one part; the parts' answers are merged afterwards.
//!
//! Only the article's own text is sent: the collector has already removed
//! the page furniture, and no URL or metadata beyond title and date goes out.

use crate::model::Article;

/// The user messages for one article, one per part.
pub fn requests(article: &Article, max_chars: usize) -> Vec<String> {
    let text = super::super::capped(&article.text).0;
    let parts = split(text, max_chars);
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut m = format!("Title: {}\n", article.title.trim());
            if let Some(p) = article.published {
                m.push_str(&format!("Published: {}\n", p.strftime("%Y-%m-%d")));
            }
            if n > 1 {
                m.push_str(&format!("(part {} of {})\n", i + 1, n));
            }
            m.push('\n');
            m.push_str(&body);
            m
        })
        .collect()
}

/// Paragraphs packed into parts of at most `max` characters, with one
/// paragraph of overlap; a paragraph longer than `max` is cut at sentence
/// ends, and a sentence longer than that at a character boundary.
fn split(text: &str, max: usize) -> Vec<String> {
    let mut pieces: Vec<&str> = Vec::new();
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if para.chars().count() <= max {
            pieces.push(para);
        } else {
            pieces.extend(sentences(para, max));
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut len = 0;
    for p in pieces {
        let plen = p.chars().count() + 2;
        if !cur.is_empty() && len + plen > max {
            parts.push(cur.join("\n\n"));
            // The overlap: the last piece opens the next part, when both fit.
            let last = *cur.last().expect("cur is not empty");
            let last_len = last.chars().count() + 2;
            cur.clear();
            len = 0;
            if last_len + plen <= max {
                cur.push(last);
                len = last_len;
            }
        }
        cur.push(p);
        len += plen;
    }
    if !cur.is_empty() {
        parts.push(cur.join("\n\n"));
    }
    if parts.is_empty() {
        parts.push(String::new());
    }
    parts
}

/// A long paragraph in pieces of at most `max` characters, cut after ". ".
fn sentences(para: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = para;
    while rest.chars().count() > max {
        let limit = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..limit]
            .rfind(". ")
            .map(|i| i + 2)
            .filter(|&i| i > limit / 4)
            .unwrap_or(limit);
        out.push(rest[..cut].trim());
        rest = &rest[cut..];
    }
    if !rest.trim().is_empty() {
        out.push(rest.trim());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_on_paragraphs_with_overlap() {
        let paras: Vec<String> = (0..10)
            .map(|i| format!("Paragraph {i}. {}", "x".repeat(900)))
            .collect();
        let text = paras.join("\n\n");
        let parts = split(&text, 2_000);
        assert!(parts.len() > 4, "{}", parts.len());
        for p in &parts {
            assert!(p.chars().count() <= 2_000);
        }
        // Every paragraph is whole in some part, and consecutive parts share one.
        for para in &paras {
            assert!(parts.iter().any(|p| p.contains(para.as_str())));
        }
        let first_last = parts[0].rsplit("\n\n").next().unwrap();
        assert!(parts[1].starts_with(first_last));
    }

    #[test]
    fn a_paragraph_longer_than_a_part_is_cut_at_sentences() {
        let para = "One sentence here. ".repeat(300);
        let parts = split(&para, 2_000);
        assert!(parts.len() >= 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 2_000));
        assert!(parts[0].ends_with("here."));
    }
}
