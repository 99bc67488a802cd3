//! HTML fragments (feed item content) to plain text.
//!
//! A small streaming tag stripper rather than a full HTML parser: feed bodies
//! are fragments without navigation to remove, and a cold poll of thousands
//! of feeds would otherwise spend most of its time building DOM trees.

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "section",
    "article",
    "table",
    "tr",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
    "dl",
    "dt",
    "dd",
    "aside",
    "main",
    "nav",
];
const SKIP_TAGS: &[&str] = &["script", "style", "noscript", "template", "svg"];

/// Plain text of an HTML fragment: blocks separated by a blank line, list
/// items on their own "- " line, entities decoded, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut t = TextBuilder::default();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            t.push_text(rest);
            break;
        };
        t.push_text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let bare = tag.trim_start_matches('/');
        let end = bare
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(bare.len());
        let name = &bare[..end];
        let is = |list: &[&str]| list.iter().any(|t| t.eq_ignore_ascii_case(name));
        if !closing && is(SKIP_TAGS) {
            let close = format!("</{name}");
            let lower_pos = find_ci(rest, &close);
            rest = lower_pos.map_or("", |p| {
                let after = &rest[p..];
                after.find('>').map_or("", |g| &after[g + 1..])
            });
            continue;
        }
        if name.eq_ignore_ascii_case("br") {
            t.line_break();
        } else if name.eq_ignore_ascii_case("li") && !closing {
            t.end_block();
            t.list_item = true;
        } else if is(BLOCK_TAGS) {
            t.end_block();
        }
    }
    t.end_block();
    // The text lives on through the store batch and extraction while
    // thousands of others are in flight; growth left up to half of each
    // string's capacity unused, the largest item of a cold pass's heap.
    t.out.shrink_to_fit();
    t.out
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[derive(Default)]
struct TextBuilder {
    out: String,
    block: String,
    list_item: bool,
    last_was_item: bool,
}

impl TextBuilder {
    fn push_text(&mut self, raw: &str) {
        if raw.is_empty() {
            return;
        }
        let decoded = if raw.contains('&') {
            html_escape::decode_html_entities(raw)
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
        // A no-break space separates words like any other space here.
        let text = if decoded.contains('\u{a0}') {
            std::borrow::Cow::Owned(decoded.replace('\u{a0}', " "))
        } else {
            decoded
        };
        // This runs over every byte of every feed in a pass. Most runs of
        // text are already single-spaced: copy those in one go.
        let simple = !text
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b'\n' | b'\t' | b'\r' | 0x0c))
            && !text.contains("  ");
        if simple {
            let trimmed = text.trim_matches(' ');
            if trimmed.is_empty() {
                self.space();
                return;
            }
            if text.starts_with(' ') {
                self.space();
            }
            self.block.push_str(trimmed);
            if text.ends_with(' ') {
                self.space();
            }
            return;
        }
        let mut gap = false;
        for piece in text.split(|c: char| c.is_ascii_whitespace()) {
            if piece.is_empty() {
                gap = true;
                continue;
            }
            if gap && !matches!(self.block.as_bytes().last(), None | Some(b' ' | b'\n')) {
                self.block.push(' ');
            }
            self.block.push_str(piece);
            gap = true;
        }
        if text.ends_with(|c: char| c.is_ascii_whitespace())
            && !matches!(self.block.as_bytes().last(), None | Some(b' ' | b'\n'))
        {
            self.block.push(' ');
        }
    }

    /// One space, unless at the start of a block or line or after one.
    fn space(&mut self) {
        if !matches!(self.block.as_bytes().last(), None | Some(b' ' | b'\n')) {
            self.block.push(' ');
        }
    }

    fn line_break(&mut self) {
        let trimmed = self.block.trim_end().len();
        self.block.truncate(trimmed);
        if !self.block.is_empty() {
            self.block.push('\n');
        }
    }

    fn end_block(&mut self) {
        let text = self.block.trim();
        if !text.is_empty() {
            if !self.out.is_empty() {
                self.out.push_str(if self.list_item && self.last_was_item {
                    "\n"
                } else {
                    "\n\n"
                });
            }
            if self.list_item {
                self.out.push_str("- ");
            }
            self.out.push_str(text);
            self.last_was_item = self.list_item;
        }
        self.block.clear();
        self.list_item = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_fragment_to_text() {
        let html = "<p>Nimbus Labs &amp; Corvid <b>Cloud</b> agree.</p><script>x()</script><ul><li>One</li><li>Two</li></ul><p>End<br>line</p>";
        assert_eq!(
            html_to_text(html),
            "Nimbus Labs & Corvid Cloud agree.\n\n- One\n- Two\n\nEnd\nline"
        );
    }

    #[test]
    fn spacing_around_inline_tags() {
        assert_eq!(
            html_to_text("<p>Corvid <b>Cloud</b>, now <i> cheaper </i>.</p>"),
            "Corvid Cloud, now cheaper ."
        );
        assert_eq!(
            html_to_text("<p>a\n  b&nbsp;c</p><p> </p><p>d</p>"),
            "a b c\n\nd"
        );
    }
}
