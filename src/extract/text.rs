//! A normalised working copy of the article text with a map back to the
//! original, so every rule can match plain ASCII punctuation ("OpenAI's",
//! "non-exclusive") while evidence is still cut verbatim from the original.

/// The article text with typographic punctuation folded to ASCII.
///
/// `norm` keeps case (names are found by capitalisation); `lower` is the same
/// bytes ASCII-lowercased, so byte offsets are shared between the two.
pub struct Text<'a> {
    pub original: &'a str,
    pub norm: String,
    pub lower: String,
    /// For each byte of `norm` (plus one past the end), the byte offset in
    /// `original`; `None` when `norm` is a byte-for-byte copy (most feed
    /// text), which saves four bytes of map per byte of text.
    map: Option<Vec<u32>>,
}

impl<'a> Text<'a> {
    pub fn new(original: &'a str) -> Text<'a> {
        // Plain ASCII without tabs or CRs folds to itself: copy it in bulk.
        if original
            .bytes()
            .all(|b| b.is_ascii() && b != b'\t' && b != b'\r')
        {
            let norm = original.to_string();
            let lower = original.to_ascii_lowercase();
            return Text {
                original,
                norm,
                lower,
                map: None,
            };
        }
        let mut norm = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len() + 1);
        for (i, c) in original.char_indices() {
            let folded = match c {
                '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' => '\'',
                '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => '"',
                '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
                '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2009}' | '\u{200A}' => ' ',
                '\r' | '\t' => ' ',
                _ => c,
            };
            let before = norm.len();
            // A tab becomes two spaces: still a column gap for the table reader.
            if c == '\t' {
                norm.push(' ');
            }
            norm.push(folded);
            // Offsets are u32: articles are capped far below 4 GiB by the collector.
            map.extend(std::iter::repeat_n(i as u32, norm.len() - before));
        }
        map.push(original.len() as u32);
        let lower = norm.to_ascii_lowercase();
        Text {
            original,
            norm,
            lower,
            map: Some(map),
        }
    }

    /// Byte offset in `original` of a byte offset in `norm`.
    pub fn orig(&self, norm_offset: usize) -> usize {
        match &self.map {
            None => norm_offset.min(self.original.len()),
            Some(map) => map
                .get(norm_offset)
                .copied()
                .unwrap_or(self.original.len() as u32) as usize,
        }
    }

    /// The original text behind a `norm` byte range.
    #[cfg(test)]
    pub fn original_slice(&self, start: usize, end: usize) -> &'a str {
        let (s, e) = (self.orig(start), self.orig(end));
        self.original.get(s..e).unwrap_or("")
    }
}

/// Character offsets of byte offsets, computed in one pass over `text`.
/// `offsets` must be sorted ascending.
pub fn char_offsets(text: &str, offsets: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut chars = 0usize;
    let mut pos = 0usize;
    for &target in offsets {
        let target = target.min(text.len());
        if target > pos {
            chars += text[pos..target].chars().count();
            pos = target;
        }
        out.push(chars);
    }
    out
}

/// The largest char boundary of `s` at or before `i` (clamped to its length).
pub fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// True when the byte at `i` (if any) is part of a word.
pub fn is_word_byte(b: Option<&u8>) -> bool {
    matches!(b, Some(b) if b.is_ascii_alphanumeric() || *b >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_typographic_apostrophes_and_maps_back() {
        let t = Text::new("OpenAI\u{2019}s non\u{2011}exclusive licence");
        assert_eq!(t.norm, "OpenAI's non-exclusive licence");
        let start = t.norm.find("non").expect("present");
        let end = start + "non-exclusive".len();
        assert_eq!(t.original_slice(start, end), "non\u{2011}exclusive");
    }

    #[test]
    fn char_offsets_count_scalars_not_bytes() {
        let s = "h\u{e9}llo w\u{f6}rld";
        let b = s.find('w').expect("present");
        assert_eq!(char_offsets(s, &[0, b, s.len()]), vec![0, 6, 11]);
    }
}
