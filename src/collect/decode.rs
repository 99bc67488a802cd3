//! Bytes to text, whatever the declared or mislabelled encoding.
//!
//! Order: a byte-order mark wins; then UTF-16 recognised by its first
//! character, `<` (XML's rule for documents without a mark: NUL bytes are
//! valid UTF-8, so such a body would otherwise pass as UTF-8); then bytes that are valid UTF-8 are read as
//! UTF-8 even when labelled otherwise (valid multi-byte UTF-8 by accident is
//! vanishingly rare in Latin-1 text, while "ISO-8859-1" labels on UTF-8 pages
//! are common); then the HTTP charset, the XML declaration or the HTML meta
//! tag; finally windows-1252, which decodes any byte.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Decodes a body to text. `content_type` is the HTTP header, if any.
pub fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text;
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(bytes);
        return text;
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let declared = content_type
        .and_then(charset_of_header)
        .or_else(|| sniff_declared(bytes))
        .filter(|enc| *enc != UTF_8)
        .unwrap_or(WINDOWS_1252);
    let (text, _) = declared.decode_without_bom_handling(bytes);
    text
}

/// Decodes a feed and makes its XML declaration say UTF-8, so the feed
/// parser (which honours the declaration) does not decode a second time.
pub fn decode_feed<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let text = decode(bytes, content_type);
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace());
    if let Some(rest) = trimmed.strip_prefix("<?xml")
        && let Some(end) = rest.find("?>")
    {
        let decl = &rest[..end];
        let says_utf8 = decl.to_ascii_lowercase().contains("utf-8") || !decl.contains("encoding");
        if !says_utf8 || matches!(text, Cow::Owned(_)) {
            let mut out = String::with_capacity(text.len());
            out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            out.push_str(&rest[end + 2..]);
            return Cow::Owned(out.into_bytes());
        }
    }
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.as_bytes()),
        Cow::Owned(t) => Cow::Owned(t.into_bytes()),
    }
}

/// UTF-16 of a document starting with `<` and no byte-order mark.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes.get(..2)? {
        [0, b'<'] => Some(UTF_16BE),
        [b'<', 0] => Some(UTF_16LE),
        _ => None,
    }
}

fn charset_of_header(ct: &str) -> Option<&'static Encoding> {
    let lower = ct.to_ascii_lowercase();
    let i = lower.find("charset=")?;
    let value = lower[i + 8..]
        .split(';')
        .next()?
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    Encoding::for_label(value.as_bytes())
}

/// The encoding named by an XML declaration or an HTML meta tag in the
/// first kilobyte.
fn sniff_declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    for key in ["encoding=", "charset="] {
        if let Some(i) = head.find(key) {
            let rest = head[i + key.len()..].trim_start_matches(['"', '\'', ' ']);
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            if let Some(enc) = Encoding::for_label(&rest.as_bytes()[..end]) {
                return Some(enc);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_declared_in_header() {
        let bytes = b"caf\xe9 cr\xe8me";
        assert_eq!(
            decode(bytes, Some("text/html; charset=ISO-8859-1")),
            "café crème"
        );
    }

    #[test]
    fn utf8_mislabelled_as_latin1_stays_utf8() {
        let bytes = "Corvid Cloud’s café".as_bytes();
        assert_eq!(
            decode(bytes, Some("text/html; charset=iso-8859-1")),
            "Corvid Cloud’s café"
        );
    }

    #[test]
    fn latin1_mislabelled_as_utf8_falls_back() {
        let bytes = b"<meta charset=\"utf-8\"><p>na\xefve</p>";
        assert!(decode(bytes, Some("text/html; charset=utf-8")).contains("naïve"));
    }

    #[test]
    fn xml_declaration_is_rewritten() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss>\x93hi\x94</rss>";
        let out = decode_feed(bytes, None);
        let s = std::str::from_utf8(&out).unwrap();
        assert!(
            s.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "{s}"
        );
        assert!(s.contains("“hi”"), "{s}");
    }

    #[test]
    fn utf16be_feed_without_bom_is_decoded() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss><channel><title>Ibis</title></channel></rss>";
        let bytes: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let out = decode_feed(&bytes, Some("application/rss+xml"));
        let s = std::str::from_utf8(&out).unwrap();
        assert!(
            s.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>"),
            "{s}"
        );
    }

    #[test]
    fn bom_wins() {
        let bytes = b"\xef\xbb\xbfhello";
        assert_eq!(decode(bytes, Some("text/plain; charset=latin1")), "hello");
    }
}
