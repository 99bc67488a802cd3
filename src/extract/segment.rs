//! Segmentation: title, dateline, headings, paragraphs, bullets with their
//! head ("Cloud exclusivity ends: ...") and lead-in ("available today in X:"),
//! table rows, and page furniture; then sentences and clauses.
//!
//! Furniture is found by structure and by cue headings ("Related articles",
//! "Comments", "About <company>"), never by site: everything after a closing
//! cue is not the article.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use super::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Title,
    Dateline,
    Heading,
    Para,
    Bullet,
    TableRow,
}

/// One line of the article with its role. Offsets are bytes in `Text::norm`.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: BlockKind,
    pub start: usize,
    pub end: usize,
    /// Where sentences start (after a bullet marker or head).
    pub body_start: usize,
    /// A bullet's head ("Revenue share restructured") when it has one.
    pub head: Option<(usize, usize)>,
    /// The heading this block sits under.
    pub section: Option<usize>,
    /// The line ending in ':' that introduces this bullet or table row.
    pub lead_in: Option<usize>,
    /// The first block of the paragraph (bullets are their own paragraph).
    pub para_start: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct Sentence {
    pub start: usize,
    pub end: usize,
    pub block: usize,
}

/// A clause: the unit rules run on. `subordinate` clauses ("Once the
/// exclusive period ends, ...") set context only.
#[derive(Debug, Clone, Copy)]
pub struct Clause {
    pub start: usize,
    pub end: usize,
    pub subordinate: bool,
}

pub struct Doc {
    pub blocks: Vec<Block>,
    pub sentences: Vec<Sentence>,
}

/// Headings after which nothing is the article.
const CLOSING_CUES: &[&str] = &[
    "related articles",
    "related stories",
    "related posts",
    "related updates",
    "related reading",
    "related",
    "read more",
    "more from",
    "more stories",
    "you may also like",
    "you might also like",
    "recommended",
    "recommended for you",
    "comments",
    "discussion",
    "leave a comment",
    "leave a reply",
    "join the conversation",
    "popular",
    "most read",
    "trending",
    "further reading",
    "see also",
    "about the author",
    "share this article",
];

/// Single lines that are furniture wherever they stand.
const LINE_CUES: &[&str] = &[
    "read in other languages",
    "share:",
    "share this",
    "source:",
    "sources:",
    "tags:",
    "next issue",
    "next week",
    "subscribe",
    "sign up",
    "sign in",
    "follow us",
    "advertisement",
    "article image",
    "cookie",
    "all rights reserved",
];

/// A newsletter's table of contents: teasers of the items below, which
/// state each change again in full.
const TEASER_CUES: &[&str] = &[
    "in this issue",
    "in today's issue",
    "in this edition",
    "in today's edition",
    "inside this issue",
    "this week's issue",
];

fn is_bullet_marker(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let lead = line.len() - trimmed.len();
    let b = trimmed.as_bytes();
    // "- ", "* ", "• ", "1) ", "2. "
    for m in [
        "- ",
        "* ",
        "\u{2022} ",
        "\u{00B7} ",
        "\u{25AA} ",
        "\u{25E6} ",
        "+ ",
    ] {
        if trimmed.starts_with(m) {
            return Some(lead + m.len());
        }
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if (1..=2).contains(&digits)
        && matches!(b.get(digits), Some(b')') | Some(b'.'))
        && b.get(digits + 1) == Some(&b' ')
    {
        return Some(lead + digits + 2);
    }
    None
}

fn starts_with_cue(lower_line: &str, cues: &[&str]) -> bool {
    let l = lower_line.trim_start_matches(|c: char| !c.is_alphanumeric());
    cues.iter().any(|c| {
        l.starts_with(c)
            && !l[c.len()..]
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphabetic())
    })
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Splits the text into blocks; `title` is the article's known title, if any.
pub fn segment(t: &Text, title: &str, has_date: bool) -> Doc {
    let norm = t.norm.as_str();
    let mut blocks: Vec<Block> = Vec::new();
    let mut pos = 0usize;
    let mut section: Option<usize> = None;
    let mut lead_in: Option<usize> = None;
    let mut para_start = 0usize;
    let mut prev_blank = true;
    let mut seen_content = false;
    let mut lines_seen = 0usize;
    let mut skip_about = false;
    let title_trim = title.trim();
    for raw in norm.split('\n') {
        let line_start = pos;
        pos += raw.len() + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            prev_blank = true;
            continue;
        }
        let start = line_start + (raw.len() - raw.trim_start().len());
        let end = start + trimmed.len();
        let lower = &t.lower[start..end];
        lines_seen += 1;
        if starts_with_cue(lower, CLOSING_CUES) && word_count(trimmed) <= 6 {
            break;
        }
        // "About Anthropic" boilerplate at the end of press releases.
        if lower.starts_with("about ")
            && word_count(trimmed) <= 5
            && !trimmed.ends_with('.')
            && seen_content
        {
            skip_about = true;
            continue;
        }
        if skip_about {
            if prev_blank && word_count(trimmed) <= 8 && !trimmed.ends_with('.') {
                skip_about = false;
            } else {
                prev_blank = false;
                continue;
            }
        }
        if (starts_with_cue(lower, LINE_CUES) && word_count(trimmed) <= 12)
            || (starts_with_cue(lower, TEASER_CUES) && word_count(trimmed) <= 40)
        {
            prev_blank = false;
            continue;
        }
        let marker = is_bullet_marker(raw);
        let ends_terminal = trimmed.ends_with(['.', '!', '?', ':', ';', ',']);
        let short = word_count(trimmed) <= 14;
        let kind = if !seen_content
            && lines_seen == 1
            && (title_trim.is_empty() || title_trim == trimmed)
            && !trimmed.ends_with('.')
            && trimmed.len() < 220
        {
            BlockKind::Title
        } else if lines_seen <= 4
            && !seen_content_para(&blocks)
            && trimmed.len() < 140
            && super::dates::first_date(trimmed, None).is_some()
            && !trimmed.ends_with('.')
        {
            BlockKind::Dateline
        } else if marker.is_some() {
            BlockKind::Bullet
        } else if is_table_line(trimmed) {
            BlockKind::TableRow
        } else if short && !ends_terminal {
            BlockKind::Heading
        } else {
            BlockKind::Para
        };
        let _ = has_date;
        let idx = blocks.len();
        let mut body_start = start;
        let mut head = None;
        match kind {
            BlockKind::Bullet => {
                body_start = (line_start + marker.unwrap_or(0)).clamp(start, end);
                let body = &norm[body_start..end];
                if let Some(colon) = body.find(": ") {
                    let h = &body[..colon];
                    if word_count(h) <= 9 && !h.contains(". ") {
                        head = Some((body_start, body_start + colon));
                        body_start += colon + 2;
                    }
                }
                para_start = idx;
            }
            BlockKind::Heading | BlockKind::Title | BlockKind::Dateline => {
                lead_in = None;
                para_start = idx;
            }
            BlockKind::TableRow => {
                if prev_blank && !matches!(blocks.last(), Some(b) if b.kind == BlockKind::TableRow)
                {
                    para_start = idx;
                }
            }
            BlockKind::Para => {
                if prev_blank || !matches!(blocks.last(), Some(b) if b.kind == BlockKind::Para) {
                    para_start = idx;
                }
                lead_in = None;
            }
        }
        let block = Block {
            kind,
            start,
            end,
            body_start,
            head,
            section,
            lead_in: if matches!(kind, BlockKind::Bullet | BlockKind::TableRow) {
                lead_in
            } else {
                None
            },
            para_start,
        };
        blocks.push(block);
        if kind == BlockKind::Heading {
            section = Some(idx);
        }
        if kind == BlockKind::Para && trimmed.ends_with(':') {
            lead_in = Some(idx);
        }
        if kind == BlockKind::Heading {
            // A heading also introduces the bullets right under it.
            lead_in = Some(idx);
        }
        if matches!(kind, BlockKind::Para | BlockKind::Bullet) {
            seen_content = true;
        }
        prev_blank = false;
    }
    demote_lone_aligned_rows(norm, &mut blocks);
    let mut sentences = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        if b.kind == BlockKind::Dateline {
            continue;
        }
        split_sentences(norm, b.body_start, b.end, i, &mut sentences);
    }
    Doc { blocks, sentences }
}

/// A table line: pipes between cells ("a | b", "|a|b|"), a rule line under
/// a header, or three or more cells aligned by runs of spaces (tabs fold to
/// two spaces).
fn is_table_line(line: &str) -> bool {
    if line.contains(" | ") || (line.starts_with('|') && line.matches('|').count() >= 2) {
        return true;
    }
    if line.contains('|') && super::tables::is_separator(line) {
        return true;
    }
    aligned_cells(line)
}

fn aligned_cells(line: &str) -> bool {
    !line.ends_with('.')
        && line.contains("  ")
        && super::tables::cells(line).len() >= 3
        && super::tables::cells(line)
            .iter()
            .all(|&(s, e)| word_count(&line[s..e]) <= 8)
}

/// A line aligned by spaces alone is a table row only beside another row.
fn demote_lone_aligned_rows(norm: &str, blocks: &mut [Block]) {
    for i in 0..blocks.len() {
        let b = &blocks[i];
        if b.kind != BlockKind::TableRow || norm[b.start..b.end].contains('|') {
            continue;
        }
        let near = |j: Option<usize>| {
            j.and_then(|j| blocks.get(j))
                .is_some_and(|o| o.kind == BlockKind::TableRow)
        };
        if !near(i.checked_sub(1)) && !near(Some(i + 1)) {
            let short = word_count(&norm[b.start..b.end]) <= 14;
            blocks[i].kind = if short {
                BlockKind::Heading
            } else {
                BlockKind::Para
            };
        }
    }
}

fn seen_content_para(blocks: &[Block]) -> bool {
    blocks.iter().any(|b| b.kind == BlockKind::Para)
}

const ABBREVIATIONS: &[&str] = &[
    "inc", "corp", "co", "ltd", "mr", "mrs", "ms", "dr", "st", "vs", "no", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "calif", "wash", "mass", "e.g",
    "i.e", "u.s", "u.k", "approx", "est", "fig", "jr", "sr",
];

fn split_sentences(norm: &str, start: usize, end: usize, block: usize, out: &mut Vec<Sentence>) {
    let bytes = norm.as_bytes();
    let mut s = start;
    let mut i = start;
    while i < end {
        let b = bytes[i];
        if matches!(b, b'.' | b'!' | b'?') && i + 1 < end && bytes[i + 1] == b' ' {
            let mut j = i + 1;
            while j < end && bytes[j] == b' ' {
                j += 1;
            }
            let next = bytes.get(j).copied().unwrap_or(b' ');
            let opens = next.is_ascii_uppercase() || next.is_ascii_digit() || next == b'"';
            let word_start = norm[s..i]
                .rfind(|c: char| c.is_whitespace() || c == '(')
                .map(|p| s + p + norm[s + p..].chars().next().map_or(1, char::len_utf8))
                .unwrap_or(s);
            let word = norm[word_start..i].to_ascii_lowercase();
            let abbrev = b == b'.'
                && (ABBREVIATIONS.contains(&word.as_str())
                    || (word.len() == 1 && word.as_bytes()[0].is_ascii_alphabetic()));
            if opens && !abbrev {
                push_sentence(norm, s, i + 1, block, out);
                s = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    push_sentence(norm, s, end, block, out);
}

fn push_sentence(norm: &str, s: usize, e: usize, block: usize, out: &mut Vec<Sentence>) {
    let text = &norm[s..e];
    let ts = s + (text.len() - text.trim_start().len());
    let te = s + text.trim_end().len();
    if te > ts {
        out.push(Sentence {
            start: ts,
            end: te,
            block,
        });
    }
}

const SUBORDINATORS: &[&str] = &[
    "once ",
    "if ",
    "unless ",
    "when ",
    "after ",
    "before ",
    "until ",
    "although ",
    "though ",
    "whereas ",
    "as soon as ",
    "by the time ",
];

const JOINERS: &[&str] = &[
    "; ",
    ", while ",
    ", whereas ",
    ", but ",
    " but ",
    ", and ",
    ", although ",
    ", however ",
    ", yet ",
    " yet ",
    ", with ",
];

/// Splits a sentence into clauses at joiners where a new subject (a capitalised
/// name) starts, and marks a leading subordinate clause.
static JOINER_AC: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .build(JOINERS)
        .expect("static joiner patterns build")
});

pub fn clauses(t: &Text, s: &Sentence, out: &mut Vec<Clause>) {
    let lower = &t.lower[s.start..s.end];
    let norm = &t.norm[s.start..s.end];
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // (end of previous, start of next)
    // One automaton pass finds every joiner; a `str::find` per joiner
    // built a searcher and rescanned the sentence eleven times.
    for m in JOINER_AC.find_overlapping_iter(lower) {
        let j = &JOINERS[m.pattern().as_usize()];
        let (at, next) = (m.start(), m.end());
        let starts_name = norm[next..]
            .split_whitespace()
            .next()
            .is_some_and(|w| w.chars().next().is_some_and(|c| c.is_uppercase()));
        // "GPT-5.5, Codex, and Managed Agents": an Oxford-comma list, not a new clause.
        let list = *j == ", and " && {
            let prev = &lower[..at];
            prev.rfind(", ")
                .is_some_and(|c| prev[c + 2..].split_whitespace().count() <= 4)
        };
        if (*j == "; " || starts_name) && !list {
            cuts.push((at, next));
        }
    }
    cuts.sort_unstable();
    let mut prev = 0usize;
    let first = out.len();
    for (a, b) in cuts {
        if a < prev {
            continue;
        }
        out.push(Clause {
            start: s.start + prev,
            end: s.start + a,
            subordinate: false,
        });
        prev = b;
    }
    out.push(Clause {
        start: s.start + prev,
        end: s.end,
        subordinate: false,
    });
    // A leading "Once X, Y" becomes two clauses: "Once X" (context) and "Y".
    if let Some(c) = out.get(first).copied() {
        let cl = &t.lower[c.start..c.end];
        if SUBORDINATORS.iter().any(|p| cl.starts_with(p))
            && let Some(comma) = cl.find(", ")
        {
            out[first] = Clause {
                start: c.start,
                end: c.start + comma,
                subordinate: true,
            };
            out.insert(
                first + 1,
                Clause {
                    start: c.start + comma + 2,
                    end: c.end,
                    subordinate: false,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> (Text<'_>, Doc) {
        let t = Text::new(s);
        let d = segment(&t, "", false);
        (t, d)
    }

    #[test]
    fn stops_at_related_articles() {
        let (_, d) = doc(
            "Title here\n\nBody text goes on for a while here.\n\nRelated Articles\n\nOld news said things.",
        );
        assert_eq!(d.blocks.len(), 2);
    }

    #[test]
    fn bullet_head_is_split_from_body() {
        let (t, d) =
            doc("Some title\n\n- Revenue share restructured: Nimbus Labs will pay Corvid Cloud.");
        let b = &d.blocks[1];
        let (hs, he) = b.head.expect("head");
        assert_eq!(&t.norm[hs..he], "Revenue share restructured");
        assert_eq!(
            &t.norm[b.body_start..b.end],
            "Nimbus Labs will pay Corvid Cloud."
        );
    }

    #[test]
    fn sentences_skip_abbreviations() {
        let (t, d) =
            doc("Headline\n\nREDMOND, Wash. and others met. Nimbus Inc. agreed. Then it ended.");
        let texts: Vec<&str> = d.sentences[1..]
            .iter()
            .map(|s| &t.norm[s.start..s.end])
            .collect();
        assert_eq!(
            texts,
            vec![
                "REDMOND, Wash. and others met.",
                "Nimbus Inc. agreed.",
                "Then it ended."
            ]
        );
    }

    #[test]
    fn clauses_split_where_a_new_subject_starts() {
        let t = Text::new(
            "Nimbus will stop paying Corvid, while Corvid keeps paying Nimbus through 2030.",
        );
        let s = Sentence {
            start: 0,
            end: t.norm.len(),
            block: 0,
        };
        let mut out = Vec::new();
        clauses(&t, &s, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            &t.norm[out[1].start..out[1].end],
            "Corvid keeps paying Nimbus through 2030."
        );
    }

    #[test]
    fn leading_once_clause_is_subordinate() {
        let t = Text::new(
            "Once the exclusive period ends, Nimbus expects to ship Falcon 2 on Corvid Cloud.",
        );
        let s = Sentence {
            start: 0,
            end: t.norm.len(),
            block: 0,
        };
        let mut out = Vec::new();
        clauses(&t, &s, &mut out);
        assert!(out[0].subordinate);
        assert!(!out[1].subordinate);
    }
}
