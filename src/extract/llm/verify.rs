//! The evidence check: a change the model reports is kept only when the
//! article supports it, and what is kept is termwatch's own reading.
//!
//! - The quote must be in the article verbatim, after folding runs of
//!   whitespace to one space and typographic quote marks to ASCII; its
//!   offsets (and the evidence text, cut from the original) are computed here.
//! - The kind and status must be ones termwatch knows.
//! - Every name must be in the article, as written or under an alias of the
//!   same tables the rules use ("AWS" in the text supports `Amazon`); names
//!   come out canonical.
//! - `until` and `effective` are read from the quote by the rules' date
//!   parser; a date the quote does not state is dropped (the change is kept).
//!
//! Whatever fails is dropped and counted, never shown to a client.

use std::collections::HashSet;

use super::schema::{Fields, ModelChange, into_change};
use crate::extract::dates;
use crate::extract::entities::{Ent, Mention};
use crate::extract::text::Text;
use crate::model::{Article, ChangeKind, Span, Status, TermChange, Trust};

/// The changes that passed, and how many did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verified {
    pub changes: Vec<TermChange>,
    pub dropped_unverified: usize,
}

/// Checks every raw change of a model answer against the article.
pub fn verify(
    article: &Article,
    config: &crate::extract::Config,
    raw: &[serde_json::Value],
) -> Verified {
    let text = crate::extract::capped(&article.text).0;
    let ctx = Ctx::new(article, config, text);
    let mut out = Verified::default();
    for v in raw {
        match ctx.check(v) {
            Ok(c) => out.changes.push(c),
            Err(why) => {
                tracing::debug!(url = %article.url, why, "model change dropped: not supported by the article");
                out.dropped_unverified += 1;
            }
        }
    }
    out
}

struct Ctx<'a> {
    article: &'a Article,
    engine: std::sync::Arc<crate::extract::Engine>,
    folded: Folded,
    /// The article's words, lower-case and folded, for names the tables do not know.
    lower: String,
    /// Canonical names the tables find in the article, lower-case.
    known: HashSet<String>,
    published: Option<(i32, u8, u8)>,
}

impl<'a> Ctx<'a> {
    fn new(article: &'a Article, config: &crate::extract::Config, text: &str) -> Ctx<'a> {
        let engine = crate::extract::engine_for(config);
        let t = Text::new(text);
        let mut ments: Vec<Mention> = Vec::new();
        engine.gaz.scan(&t.norm, &mut ments);
        // Canonical names as the tables write them (for `own_api`), then lower-cased.
        let mut canon: HashSet<String> = HashSet::new();
        for m in &ments {
            canon.extend(names_of(&m.ent).into_iter().map(str::to_string));
        }
        // What the rules infer from the same text under the same tables: a
        // model id's family ("claude-orca-2" is Anthropic's), a contact
        // domain ("help@mistral.ai"), a vendor's own API ("the API"), and
        // the names in the rules' own reading.
        let words: HashSet<&str> = t
            .norm
            .split(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '/' | '<' | '>')
            })
            .filter(|w| w.contains(['-', '.', '@']))
            .collect();
        for w in words {
            for part in w.split(['-', '.', '@']) {
                if let Some(o) = engine.gaz.org_for_word(&part.to_lowercase()) {
                    canon.insert(o.to_string());
                }
            }
        }
        let apis: Vec<String> = canon
            .iter()
            .filter_map(|o| engine.gaz.own_api(o).map(str::to_string))
            .collect();
        canon.extend(apis);
        let mut known: HashSet<String> = canon.iter().map(|n| n.to_lowercase()).collect();
        let rules = crate::extract::extract(article, config);
        for c in &rules.changes {
            for n in c.parties.iter().chain(
                [
                    &c.licensor,
                    &c.licensee,
                    &c.payer,
                    &c.payee,
                    &c.product,
                    &c.platform,
                ]
                .into_iter()
                .flatten(),
            ) {
                known.insert(n.to_lowercase());
            }
        }
        let folded = Folded::new(text);
        let published = article.published.map(|ts| {
            let d = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
            (d.year() as i32, d.month() as u8, d.day() as u8)
        });
        Ctx {
            article,
            engine,
            lower: folded.text.to_lowercase(),
            folded,
            known,
            published,
        }
    }

    fn check(&self, v: &serde_json::Value) -> Result<TermChange, &'static str> {
        let change: ModelChange =
            serde_json::from_value(v.clone()).map_err(|_| "does not follow the schema")?;
        let kind = ChangeKind::parse(change.kind.trim()).ok_or("unknown kind")?;
        let status = Status::ALL
            .into_iter()
            .find(|s| s.as_str() == change.status.trim())
            .ok_or("unknown status")?;
        let (start, end) = self
            .folded
            .find(&change.evidence)
            .ok_or("quote not in the article")?;
        let evidence: String = self.article_chars().skip(start).take(end - start).collect();
        let mut change = change;
        change.parties = self.names(&change.parties)?;
        for slot in [
            &mut change.licensor,
            &mut change.licensee,
            &mut change.payer,
            &mut change.payee,
            &mut change.product,
            &mut change.platform,
        ] {
            if let Some(n) = slot.take() {
                *slot = Some(self.name(&n)?);
            }
        }
        // A role's holder is a party, as in the rules' output.
        for r in [
            &change.licensor,
            &change.licensee,
            &change.payer,
            &change.payee,
        ]
        .into_iter()
        .flatten()
        {
            if !change.parties.contains(r) {
                change.parties.push(r.clone());
            }
        }
        change.parties.sort();
        change.parties.dedup();
        let quote = Text::new(&evidence);
        let ref_year = self.published.map(|p| p.0);
        change.until = dates::until(&quote.norm, ref_year)
            .or_else(|| claimed_date(change.until.as_deref(), &quote.norm, ref_year, false));
        change.effective = dates::effective(&quote.lower, &quote.norm, self.published)
            .or_else(|| claimed_date(change.effective.as_deref(), &quote.norm, ref_year, true));
        let base = match self.article.trust {
            Trust::Vendor => 0.9,
            Trust::News => 0.8,
            Trust::Commentary => 0.7,
        };
        Ok(into_change(
            Fields {
                kind,
                status,
                change,
            },
            evidence,
            Span { start, end },
            base * super::MODEL_ONLY_FACTOR,
        ))
    }

    fn article_chars(&self) -> impl Iterator<Item = char> + '_ {
        crate::extract::capped(&self.article.text).0.chars()
    }

    fn names(&self, names: &[String]) -> Result<Vec<String>, &'static str> {
        names.iter().map(|n| self.name(n)).collect()
    }

    /// The canonical form of a name the article supports.
    fn name(&self, name: &str) -> Result<String, &'static str> {
        let written = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if written.is_empty() {
            return Err("an empty name");
        }
        let t = Text::new(&written);
        let mut ments = Vec::new();
        self.engine.gaz.scan(&t.norm, &mut ments);
        let whole = ments
            .iter()
            .find(|m| m.start == 0 && m.end == t.norm.len())
            .and_then(|m| names_of(&m.ent).into_iter().next().map(str::to_string));
        if let Some(canonical) = &whole
            && self.known.contains(&canonical.to_lowercase())
        {
            return Ok(canonical.clone());
        }
        if contains_word(&self.lower, &Folded::new(&written).text.to_lowercase()) {
            return Ok(whole.unwrap_or(written));
        }
        Err("a name not in the article")
    }
}

/// The canonical names a mention stands for: the name first, then its owners.
fn names_of(ent: &Ent) -> Vec<&str> {
    match ent {
        Ent::Org(o) => vec![o.as_str()],
        Ent::Platform {
            name,
            owner,
            partner,
        } => std::iter::once(name)
            .chain(owner.iter())
            .chain(partner.iter())
            .map(String::as_str)
            .collect(),
        Ent::Product { name, maker } => std::iter::once(name)
            .chain(maker.iter())
            .map(String::as_str)
            .collect(),
    }
}

/// A date the model claims, kept only when the quote states it: the form
/// termwatch reads from the quote, not the model's. `full` asks for a day.
fn claimed_date(
    claim: Option<&str>,
    quote: &str,
    ref_year: Option<i32>,
    full: bool,
) -> Option<String> {
    let claim = Text::new(claim?.trim());
    let wanted = dates::first_date(&claim.norm, ref_year);
    let in_quote = dates::find_dates(quote);
    if let Some(w) = &wanted
        && let Some(d) = in_quote.iter().find(|d| {
            d.year.or(ref_year) == w.year.or(ref_year) && d.month == w.month && d.day == w.day
        })
    {
        return if full && d.day.is_none() {
            None
        } else {
            d.iso(ref_year)
        };
    }
    if full {
        return None;
    }
    let year = wanted
        .and_then(|w| w.year)
        .or_else(|| dates::years(&claim.norm).next().map(|(_, y)| y))?;
    dates::years(quote)
        .any(|(_, y)| y == year)
        .then(|| year.to_string())
}

/// Whether `needle` occurs in `hay` with no letter or digit either side.
fn contains_word(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    hay.match_indices(needle).any(|(i, m)| {
        !word(hay[..i].chars().next_back()) && !word(hay[i + m.len()..].chars().next())
    })
}

/// Text with whitespace runs as one space and typographic quotes as ASCII,
/// and for each of its characters the character offset in the original.
struct Folded {
    text: String,
    /// Character offset in the original of each char of `text`.
    map: Vec<usize>,
}

impl Folded {
    fn new(original: &str) -> Folded {
        let mut text = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len());
        let mut space = false;
        for (i, c) in original.chars().enumerate() {
            if c.is_whitespace() {
                if !space && !text.is_empty() {
                    text.push(' ');
                    map.push(i);
                }
                space = true;
                continue;
            }
            space = false;
            text.push(fold_quote(c));
            map.push(i);
        }
        if text.ends_with(' ') {
            text.pop();
            map.pop();
        }
        Folded { text, map }
    }

    /// Character offsets in the original of `quote`, folded the same way.
    /// Too short a quote proves nothing ("Corvid" is not a statement).
    fn find(&self, quote: &str) -> Option<(usize, usize)> {
        let q = Folded::new(quote);
        if q.text.chars().count() < MIN_QUOTE_CHARS || !q.text.contains(' ') {
            return None;
        }
        let byte = self.text.find(&q.text)?;
        let first = self.text[..byte].chars().count();
        let last = first + q.text.chars().count() - 1;
        Some((self.map[first], self.map[last] + 1))
    }
}

/// The shortest quote taken as evidence: a few words.
const MIN_QUOTE_CHARS: usize = 12;

fn fold_quote(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => '"',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(text: &str) -> Article {
        Article {
            title: text.lines().next().unwrap_or_default().to_string(),
            text: text.to_string(),
            trust: Trust::Vendor,
            ..Article::default()
        }
    }

    fn raw(kind: &str, evidence: &str, parties: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "kind": kind, "parties": parties, "licensor": null, "licensee": null,
            "payer": null, "payee": null, "product": null, "platform": null,
            "status": "started", "exclusive": null, "until": null, "effective": null,
            "evidence": evidence,
        })
    }

    const TEXT: &str = "Lumen AI and Vantor sign a deal\n\nLumen AI will run its training on AWS   through 2031, the lab said.\n\nThe \u{201C}preferred\u{201D} cloud stays Vantor\u{2019}s.";

    #[test]
    fn a_quote_with_other_spacing_and_quote_marks_is_found_and_offsets_computed() {
        let a = article(TEXT);
        let v = verify(
            &a,
            &Default::default(),
            &[
                raw(
                    "compute_commitment",
                    "Lumen AI will run its training on AWS through 2031, the lab said.",
                    &["Lumen AI", "Amazon"],
                ),
                raw(
                    "cloud_priority",
                    "The \"preferred\" cloud stays Vantor's.",
                    &["Vantor"],
                ),
            ],
        );
        assert_eq!(v.dropped_unverified, 0, "{v:?}");
        let c = &v.changes[0];
        let chars: Vec<char> = TEXT.chars().collect();
        let cut: String = chars[c.span.start..c.span.end].iter().collect();
        assert_eq!(cut, c.evidence);
        assert!(c.evidence.contains("AWS   through"), "{}", c.evidence);
        assert_eq!(
            c.parties,
            vec!["Amazon".to_string(), "Lumen AI".to_string()]
        );
        assert_eq!(c.until.as_deref(), Some("2031"));
        assert!(v.changes[1].evidence.contains('\u{201C}'));
    }

    #[test]
    fn invented_quotes_names_and_kinds_are_dropped_and_counted() {
        let a = article(TEXT);
        let v = verify(
            &a,
            &Default::default(),
            &[
                raw(
                    "license",
                    "Lumen AI grants Oracle a licence through 2031.",
                    &["Lumen AI", "Oracle"],
                ),
                raw(
                    "compute_commitment",
                    "Lumen AI will run its training on AWS through 2032, the lab said.",
                    &["Lumen AI"],
                ),
                raw(
                    "compute_commitment",
                    "Lumen AI will run its training on AWS through 2031, the lab said.",
                    &["Oracle"],
                ),
                raw(
                    "merger",
                    "Lumen AI will run its training on AWS through 2031, the lab said.",
                    &["Lumen AI"],
                ),
                serde_json::json!({"kind": "license"}),
            ],
        );
        assert!(v.changes.is_empty(), "{v:?}");
        assert_eq!(v.dropped_unverified, 5);
    }

    #[test]
    fn a_date_the_quote_does_not_state_is_not_taken() {
        let a = article(TEXT);
        let mut r = raw(
            "cloud_priority",
            "The \"preferred\" cloud stays Vantor's.",
            &["Vantor"],
        );
        r["until"] = "2035".into();
        r["effective"] = "2026-01-01".into();
        let v = verify(&a, &Default::default(), &[r]);
        assert_eq!(v.changes.len(), 1);
        assert_eq!(v.changes[0].until, None);
        assert_eq!(v.changes[0].effective, None);
    }
}
