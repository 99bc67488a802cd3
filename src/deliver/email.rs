//! Email delivery: one multipart (text + HTML) message per delivery, sent
//! over SMTP (`smtp`: lettre's protocol code, termwatch's pool), or written to a file outbox of
//! `.eml` files when no SMTP server is configured.
//!
//! The `Message-ID` is derived from the digest id, so a resend after a crash
//! carries the same one and a mail client or server can drop the duplicate.
//! Outbox files are named by delivery id and written atomically (temporary
//! file, fsync, rename), so a resend replaces the file rather than adding one.

use std::path::{Path, PathBuf};

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::smtp::SmtpClient;
use super::{Config, Error, SendError, StoredDigest};

/// Headers every message carries, checked once at start-up.
#[derive(Debug, Clone)]
struct Envelope {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    unsubscribe: Option<url::Url>,
}

enum Transport {
    Smtp(SmtpClient),
    Outbox(PathBuf),
}

/// Sends email one way or the other.
pub struct Mailer {
    envelope: Envelope,
    transport: Transport,
}

impl Mailer {
    pub fn new(config: &Config, data_dir: &Path) -> Result<Mailer, Error> {
        let e = &config.email;
        let from: Mailbox = e.from.parse().map_err(|_| Error::From(e.from.clone()))?;
        let reply_to = match &e.reply_to {
            Some(r) => Some(r.parse().map_err(|_| Error::ReplyTo(r.clone()))?),
            None => None,
        };
        let unsubscribe = match &e.unsubscribe_base_url {
            Some(u) => {
                let url = url::Url::parse(u).map_err(|_| Error::Unsubscribe(u.clone()))?;
                if url.scheme() != "https" {
                    return Err(Error::Unsubscribe(u.clone()));
                }
                Some(url)
            }
            None => None,
        };
        let transport = match &config.smtp {
            // One connection per send in flight: the deliver step runs at
            // most `concurrency` email sends at once.
            Some(smtp) => Transport::Smtp(SmtpClient::new(smtp, config.concurrency)?),
            None => Transport::Outbox(config.outbox_dir(data_dir)),
        };
        Ok(Mailer {
            envelope: Envelope {
                from,
                reply_to,
                unsubscribe,
            },
            transport,
        })
    }

    /// `smtp` or `outbox`, for logs.
    pub fn kind(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Outbox(_) => "outbox",
        }
    }

    pub async fn send(
        &self,
        delivery_id: &str,
        to: &str,
        digest: &StoredDigest,
    ) -> Result<(), SendError> {
        let message = build_message(&self.envelope, delivery_id, to, digest)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message.envelope(), &message.formatted()).await,
            Transport::Outbox(dir) => {
                let dir = dir.clone();
                let name = format!("{}.eml", file_safe(delivery_id));
                let bytes = unfold_headers(&message.formatted());
                tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
                    .await
                    .map_err(|e| SendError::transient(format!("outbox writer stopped: {e}")))?
                    .map_err(|e| {
                        SendError::transient(format!(
                            "could not write to the outbox: {e}; check that the outbox directory is writable"
                        ))
                    })
            }
        }
    }
}

/// The message with each folded header joined back onto one line, where the
/// result stays within RFC 5322's 998-character limit. Folding is optional;
/// an `.eml` read by scripts and simple tools is easier to handle unfolded
/// (a folded `Subject` otherwise reads back with a line break in it).
fn unfold_headers(message: &[u8]) -> Vec<u8> {
    const MAX_LINE: usize = 998;
    let split = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    let (head, body) = message.split_at(split);
    let mut out: Vec<u8> = Vec::with_capacity(message.len());
    let mut current: Vec<u8> = Vec::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if continuation && current.len() + line.len() <= MAX_LINE {
            // The folding whitespace stays: unfolding removes only CRLF.
            current.extend_from_slice(line);
            continue;
        }
        if continuation {
            current.extend_from_slice(b"\r\n");
            current.extend_from_slice(line);
            continue;
        }
        if !out.is_empty() || !current.is_empty() {
            out.append(&mut current);
            out.extend_from_slice(b"\r\n");
        }
        current.extend_from_slice(line);
    }
    out.append(&mut current);
    out.extend_from_slice(body);
    out
}

/// A `Message-ID` local part from a digest id: characters outside
/// `[A-Za-z0-9_-]` become `=HH`, so distinct ids stay distinct.
pub fn message_id(digest_id: &str, domain: &str) -> String {
    let mut local = String::with_capacity(digest_id.len());
    for b in digest_id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            local.push(b as char);
        } else {
            local.push_str(&format!("={b:02X}"));
        }
    }
    format!("<{local}@{domain}>")
}

/// Removes CR and LF (and other controls) from text bound for a header, so
/// scraped text cannot add headers.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn raw_header(message: &mut Message, name: &'static str, value: String) {
    message.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str(name),
        value,
    ));
}

fn build_message(
    env: &Envelope,
    delivery_id: &str,
    to: &str,
    digest: &StoredDigest,
) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(env.from.clone())
        .subject(header_safe(&digest.subject))
        .message_id(Some(message_id(&digest.id, env.from.email.domain())));
    if let Some(r) = &env.reply_to {
        builder = builder.reply_to(r.clone());
    }
    let mut any = false;
    for addr in to.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let mbox: Mailbox = addr.parse().map_err(|_| {
            SendError::permanent(format!(
                "recipient {addr:?} is not an email address; fix the client's email list"
            ))
        })?;
        builder = builder.to(mbox);
        any = true;
    }
    if !any {
        return Err(SendError::permanent(
            "the delivery has no recipient; give the client at least one email address",
        ));
    }
    let mut message = builder
        .multipart(MultiPart::alternative_plain_html(
            digest.text.clone(),
            digest.html.clone(),
        ))
        .map_err(|e| SendError::permanent(format!("could not build the message: {e}")))?;
    raw_header(
        &mut message,
        "X-Termwatch-Delivery",
        header_safe(delivery_id),
    );
    raw_header(&mut message, "X-Termwatch-Digest", header_safe(&digest.id));
    if let Some(base) = &env.unsubscribe {
        let mut url = base.clone();
        url.query_pairs_mut()
            .append_pair("client", &digest.client_id)
            .append_pair("delivery", delivery_id);
        raw_header(&mut message, "List-Unsubscribe", format!("<{url}>"));
        raw_header(
            &mut message,
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_string(),
        );
    }
    Ok(message)
}

/// Writes `dir/name` so that a reader sees the old file or the whole new
/// one, never a part, and the file survives a power cut once this returns.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    // Owner-only: the outbox holds what each client is told.
    crate::config::create_private_dir(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = crate::config::open_private_file(&tmp)?;
    f.set_len(0)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> StoredDigest {
        StoredDigest {
            id: "dg/7".into(),
            client_id: "acme".into(),
            subject: "Weekly\r\nBcc: evil@example.com".into(),
            html: "<p>hello</p>".into(),
            text: "hello".into(),
            json: "{}".into(),
        }
    }

    fn env(unsub: Option<&str>) -> Envelope {
        Envelope {
            from: "Termwatch <tw@example.com>".parse().unwrap(),
            reply_to: Some("desk@example.com".parse().unwrap()),
            unsubscribe: unsub.map(|u| u.parse().unwrap()),
        }
    }

    #[test]
    fn message_id_is_stable_and_escaped() {
        assert_eq!(message_id("dg/7", "example.com"), "<dg=2F7@example.com>");
        assert_eq!(
            message_id("dg/7", "example.com"),
            message_id("dg/7", "example.com")
        );
    }

    #[test]
    fn subject_cannot_inject_headers() {
        let m = build_message(&env(None), "d1", "a@example.com", &digest()).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert!(text.contains("Reply-To: desk@example.com"), "{text}");
        assert!(!text.contains("List-Unsubscribe"), "{text}");
    }

    #[test]
    fn one_click_unsubscribe_when_configured() {
        let m = build_message(
            &env(Some("https://example.com/unsub")),
            "d1",
            "a@example.com, b@example.com",
            &digest(),
        )
        .unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(
            text.contains("List-Unsubscribe: <https://example.com/unsub?client=acme&delivery=d1>"),
            "{text}"
        );
        assert!(
            text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{text}"
        );
        assert_eq!(m.envelope().to().len(), 2);
    }

    #[test]
    fn bad_recipient_is_permanent() {
        let err = build_message(&env(None), "d1", "not an address", &digest()).unwrap_err();
        assert!(err.permanent);
        assert!(err.message.contains("not an address"), "{}", err.message);
    }

    #[test]
    fn outbox_headers_are_unfolded_and_body_untouched() {
        let folded = b"Subject: a long\r\n subject line\r\nTo: x@example.com\r\n\r\nbody\r\n folded-looking body\r\n";
        let out = String::from_utf8(unfold_headers(folded)).unwrap();
        assert_eq!(
            out,
            "Subject: a long subject line\r\nTo: x@example.com\r\n\r\nbody\r\n folded-looking body\r\n"
        );
    }

    #[test]
    fn outbox_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), "x.eml", b"one").unwrap();
        write_atomically(dir.path(), "x.eml", b"two").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(std::fs::read(dir.path().join("x.eml")).unwrap(), b"two");
    }
}
