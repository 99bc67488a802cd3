//! Dates as articles write them: "April 27, 2026", "3 December 2024",
//! "Nov. 18, 2025", "2027-03-09", "March 2026", bare years; and the two
//! slots built from them: `until` (what a term runs to) and `effective`.

use std::sync::LazyLock;

use regex::Regex;

const MONTH: &str = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let p = format!(
        r"(?i)\b(?:{m}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?|(\d{{1,2}})(?:st|nd|rd|th)?\s+{m}\.?,?\s+(\d{{4}})|{m}\.?,?\s+(\d{{4}})|(\d{{4}})-(\d{{2}})-(\d{{2}}))\b",
        m = MONTH
    );
    Regex::new(&p).expect("static date pattern is valid")
});

static YEAR_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(19[89]\d|20\d\d)(s)?\b").expect("static pattern is valid"));

static UNTIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:through|until|till|thru|runs to|run to|extends to|to)\s+(?:at least\s+)?(?:the\s+)?(?:end of\s+)?(?:(?:early|late|mid)[- ])?",
    )
    .expect("static pattern is valid")
});

static EFFECTIVE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:effective|starting|beginning|from|as of|on|retired on|retire on)\s+(?:on\s+|from\s+)?$")
        .expect("static pattern is valid")
});

/// A date found in text. `month` and `day` are absent for "2030" or "March 2026".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDate {
    pub start: usize,
    pub end: usize,
    pub year: Option<i32>,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl FoundDate {
    /// ISO form when complete ("2026-04-27"), else the year.
    pub fn iso(&self, default_year: Option<i32>) -> Option<String> {
        let y = self.year.or(default_year)?;
        match (self.month, self.day) {
            (Some(m), Some(d)) => Some(format!("{y:04}-{m:02}-{d:02}")),
            _ => Some(format!("{y:04}")),
        }
    }
}

fn month_number(s: &str) -> Option<u8> {
    let l = s.to_ascii_lowercase();
    let n = match l.get(..3)? {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some(n)
}

/// Every month-based or ISO date in `s`, in order.
pub fn find_dates(s: &str) -> Vec<FoundDate> {
    let mut out = Vec::new();
    for c in DATE_RE.captures_iter(s) {
        let whole = c.get(0).expect("group 0 always matches");
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i32>().ok());
        let (year, month, day, mtext) = if let Some(m) = c.get(1) {
            (num(3), month_number(m.as_str()), num(2), m.as_str())
        } else if let Some(m) = c.get(5) {
            (num(6), month_number(m.as_str()), num(4), m.as_str())
        } else if let Some(m) = c.get(7) {
            (num(8), month_number(m.as_str()), None, m.as_str())
        } else {
            (num(9), num(10).map(|m| m as u8), num(11), "iso")
        };
        // "may" in lower case is the modal verb, not the month.
        if mtext == "may" {
            continue;
        }
        let day = day.filter(|d| (1..=31).contains(d)).map(|d| d as u8);
        if month.is_none_or(|m| !(1..=12).contains(&m)) {
            continue;
        }
        out.push(FoundDate {
            start: whole.start(),
            end: whole.end(),
            year,
            month,
            day,
        });
    }
    out
}

/// The first date in `s` that has a year (or takes `default_year`).
pub fn first_date(s: &str, default_year: Option<i32>) -> Option<FoundDate> {
    find_dates(s)
        .into_iter()
        .find(|d| d.year.is_some() || default_year.is_some())
}

/// Years written in `s` ("2019", "2030s"), with their byte offsets.
pub fn years(s: &str) -> impl Iterator<Item = (usize, i32)> + '_ {
    YEAR_RE.captures_iter(s).filter_map(|c| {
        let m = c.get(1)?;
        if in_identifier(s, m.start(), m.end()) {
            return None;
        }
        Some((m.start(), m.as_str().parse().ok()?))
    })
}

/// A year inside a model id ("orca-r-03-2024") names a snapshot, not an
/// event: the token opens with a letter and has two hyphens or more.
fn in_identifier(s: &str, start: usize, end: usize) -> bool {
    let is_tok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_';
    let from = s[..start]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_tok(c))
        .last()
        .map_or(start, |(i, _)| i);
    let to = s[end..]
        .find(|c: char| !is_tok(c))
        .map_or(s.len(), |i| end + i);
    let tok = &s[from..to];
    tok.starts_with(|c: char| c.is_ascii_alphabetic()) && tok.matches('-').count() >= 2
}

fn floor(s: &str, i: usize) -> usize {
    super::text::floor_boundary(s, i)
}

/// What a term runs to: "through 2030", "until March 9, 2027", "runs to 2032".
pub fn until(clause: &str, default_year: Option<i32>) -> Option<String> {
    for m in UNTIL_RE.find_iter(clause) {
        // A date right after the preposition fits in a few dozen bytes.
        let rest = &clause[m.end()..floor(clause, m.end() + 40)];
        if let Some(d) = find_dates(rest).into_iter().find(|d| d.start == 0) {
            return d.iso(default_year);
        }
        if let Some((0, y)) = years(rest).next() {
            return Some(y.to_string());
        }
    }
    None
}

/// When a change takes effect: an explicit date after "effective", "on",
/// "starting"..., or the article's date when the clause says it is immediate.
pub fn effective(
    clause_lower: &str,
    clause: &str,
    published: Option<(i32, u8, u8)>,
) -> Option<String> {
    let default_year = published.map(|p| p.0);
    for d in find_dates(clause) {
        if d.day.is_none() {
            continue;
        }
        let before = &clause_lower[..d.start];
        if EFFECTIVE_RE.is_match(before) {
            return d.iso(default_year);
        }
    }
    const IMMEDIATE: &[&str] = &[
        "today",
        "immediately",
        "effective now",
        "starting now",
        "right away",
        "straight away",
        "is now available",
        "are now available",
        "now generally available",
    ];
    if IMMEDIATE.iter().any(|p| clause_lower.contains(p)) {
        return published.map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_common_date_shapes() {
        let d = find_dates(
            "On April 27, 2026 and 3 December 2024, Nov. 18, 2025; 2027-03-09, March 2026",
        );
        let iso: Vec<_> = d.iter().filter_map(|d| d.iso(None)).collect();
        assert_eq!(
            iso,
            vec![
                "2026-04-27",
                "2024-12-03",
                "2025-11-18",
                "2027-03-09",
                "2026"
            ]
        );
    }

    #[test]
    fn modal_may_is_not_a_month() {
        assert!(find_dates("prices may 5 times rise").is_empty());
    }

    #[test]
    fn until_reads_years_and_dates() {
        assert_eq!(
            until("payments continue through 2030 under a cap", None).as_deref(),
            Some("2030")
        );
        assert_eq!(
            until("for twelve months, through March 9, 2027.", None).as_deref(),
            Some("2027-03-09")
        );
        assert_eq!(
            until("the licence runs to 2032 but", None).as_deref(),
            Some("2032")
        );
        assert_eq!(until("from 20% today to roughly 8% by 2030", None), None);
    }

    #[test]
    fn effective_from_explicit_date_or_immediacy() {
        let c = "Effective August 15, the credit cost drops by 20%";
        assert_eq!(
            effective(&c.to_ascii_lowercase(), c, Some((2026, 8, 4))).as_deref(),
            Some("2026-08-15")
        );
        let c = "Falcon 2 is now available on Corvid Cloud";
        assert_eq!(
            effective(&c.to_ascii_lowercase(), c, Some((2026, 1, 2))).as_deref(),
            Some("2026-01-02")
        );
    }
}
