//! Evidence in context: the extractor quotes the words a change was read
//! from, which for a list item is only the item ("GPT-5.5"). A client needs
//! the sentence, and for a list item its lead-in ("Now available in Amazon
//! Bedrock: GPT-5.5; Codex"), plus the facts around it an action depends on
//! (the regions a service runs in). Pure: the pipeline passes the text of
//! the revision the evidence came from.

use crate::model::Event;

/// Fewer words than this is not evidence a person can cite on its own.
const MIN_QUOTE_WORDS: usize = 5;
/// A lead-in quotes at most this many list items.
const MAX_LIST_ITEMS: usize = 8;
/// Blocks after the evidence searched for region details.
const DETAIL_BLOCKS_AFTER: usize = 2;

/// The quote to show for `evidence` found in `text`, and the details
/// (regions) written around it. `None` when the evidence is not in the text.
pub fn in_context(text: &str, evidence: &str) -> Option<(String, Vec<String>)> {
    let needle = evidence.trim();
    if needle.is_empty() {
        return None;
    }
    let at = text.find(needle)?;
    let lines: Vec<&str> = text.lines().collect();
    let line_no = text[..at].matches('\n').count();
    let line = lines.get(line_no)?.trim();
    let quote = if let Some(item) = line.strip_prefix("- ") {
        list_quote(&lines, line_no).unwrap_or_else(|| item.trim().to_string())
    } else if words(needle) < MIN_QUOTE_WORDS {
        line.to_string()
    } else {
        needle.to_string()
    };
    Some((quote, region_details(&lines, line_no)))
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// The lead-in line before the list holding `line_no`, with the list's items.
fn list_quote(lines: &[&str], line_no: usize) -> Option<String> {
    let is_item = |i: usize| lines[i].trim_start().starts_with("- ");
    let mut first = line_no;
    while first > 0 && is_item(first - 1) {
        first -= 1;
    }
    let mut last = line_no;
    while last + 1 < lines.len() && is_item(last + 1) {
        last += 1;
    }
    let lead = lines[..first]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())?;
    // The lead-in's last sentence is the one that introduces the list.
    let lead = last_sentence(lead).trim_end_matches(':').trim();
    let items: Vec<&str> = (first..=last)
        .map(|i| lines[i].trim().trim_start_matches("- ").trim())
        .collect();
    let mut quote = format!(
        "{lead}: {}",
        items[..items.len().min(MAX_LIST_ITEMS)].join("; ")
    );
    if items.len() > MAX_LIST_ITEMS {
        quote.push_str("; …");
    }
    Some(quote)
}

fn last_sentence(s: &str) -> &str {
    match s.trim_end_matches(['.', ':']).rfind(". ") {
        Some(i) => &s[i + 2..],
        None => s,
    }
}

/// Sentences naming regions, in the evidence's block and the few blocks
/// after it ("Both are offered in the US East (N. Virginia) Region").
fn region_details(lines: &[&str], line_no: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut blocks = 0;
    let mut in_list = false;
    for line in &lines[line_no..] {
        let l = line.trim();
        let item = l.starts_with("- ");
        if l.is_empty() || (in_list && !item) {
            blocks += 1;
        }
        in_list = item;
        if blocks > DETAIL_BLOCKS_AFTER {
            break;
        }
        for sentence in sentences(l) {
            let lower = sentence.to_lowercase();
            if [
                "region",
                "data residency",
                "datacenter",
                "data center",
                "hosted in",
            ]
            .iter()
            .any(|k| lower.contains(k))
            {
                let s = format!("Where: {}", sentence.trim());
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// A block's sentences: split after ". " unless the word before the stop
/// is an initial or short abbreviation ("N. Virginia", "St. Louis").
fn sentences(block: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in block.match_indices(". ") {
        let word = block[start..i]
            .rsplit([' ', '('])
            .next()
            .unwrap_or_default();
        if word.chars().count() > 2 {
            out.push(&block[start..i + 1]);
            start = i + 2;
        }
    }
    out.push(&block[start..]);
    out
}

/// `event` with each source's evidence in context, its sources cut to one
/// per page (the strongest, which correlate lists first), and the details
/// found around the evidence. `text_of` gives a revision's text.
pub fn enrich<'a>(event: &Event, text_of: impl Fn(i64) -> Option<&'a str>) -> (Event, Vec<String>) {
    let mut e = event.clone();
    let mut details = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    e.sources.retain(|s| {
        let first = !seen.contains(&s.url);
        seen.push(s.url.clone());
        first
    });
    for s in &mut e.sources {
        let Some(text) = text_of(s.revision_id) else {
            continue;
        };
        if let Some((quote, found)) = in_context(text, &s.evidence) {
            s.evidence = quote;
            for d in found {
                if !details.contains(&d) {
                    details.push(d);
                }
            }
        }
    }
    (e, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Fennel models reach Quay Cloud\n\nFrom this week, Quay customers can call Fennel models. These are ready now in Quay Studio:\n- Fennel Large\n- Fennel Mini\n\nThe pair run in the Quay North and Quay West regions; a Frankfurt region is planned for spring.\n\nPricing follows later.";

    #[test]
    fn a_list_item_is_quoted_with_its_lead_in_and_the_other_items() {
        let (quote, details) = in_context(TEXT, "Fennel Mini").unwrap();
        assert_eq!(
            quote,
            "These are ready now in Quay Studio: Fennel Large; Fennel Mini"
        );
        assert_eq!(
            details,
            vec![
                "Where: The pair run in the Quay North and Quay West regions; a Frankfurt region is planned for spring."
            ]
        );
    }

    #[test]
    fn an_initial_does_not_end_a_sentence() {
        assert_eq!(
            sentences("Served in US East (N. Virginia) today. More later."),
            vec!["Served in US East (N. Virginia) today.", "More later."]
        );
    }

    #[test]
    fn a_sentence_stays_as_it_is_and_missing_evidence_is_none() {
        let ev = "From this week, Quay customers can call Fennel models.";
        assert_eq!(in_context(TEXT, ev).unwrap().0, ev);
        assert_eq!(in_context(TEXT, "Not in the page at all"), None);
    }
}
