//! Building one client's digest from the events in its window: route each
//! event, apply the playbook, rank by urgency, name it with a stable id.

use std::sync::Arc;

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use super::window::{Window, WindowKind};
use crate::model::{ClientProfile, Digest, DigestItem, Event, Severity};
use crate::route::{Playbook, actions_for, route};

/// Whether a client has seen an earlier version of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Updated,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Updated => "updated",
        }
    }
}

/// Stable digest id: the same client and window always give the same id, so
/// a retried step inserts nothing twice.
pub fn digest_id(client_id: &str, window: &Window) -> String {
    let mut h = Sha256::new();
    h.update(client_id.as_bytes());
    h.update([0u8]);
    h.update(window.kind.as_str().as_bytes());
    h.update([0u8]);
    h.update(window.end.as_second().to_string().as_bytes());
    let hex = hex::encode(h.finalize());
    format!("dg-{}", &hex[..32])
}

/// The digest for one client over one window, or `None` when nothing in it
/// applies to the client (an empty window sends nothing).
pub fn build_digest<'a>(
    client: &ClientProfile,
    playbook: &Playbook,
    events: impl IntoIterator<Item = (&'a Arc<Event>, Change)>,
    window: &Window,
    now: Timestamp,
) -> Option<Digest> {
    let mut items: Vec<DigestItem> = events
        .into_iter()
        .filter_map(|(event, change)| {
            let routed = route(event, client)?;
            let actions = actions_for(playbook, event, client, &routed);
            let urgency = actions
                .iter()
                .map(|a| a.severity)
                .chain([event.severity])
                .max()
                .unwrap_or_default();
            Some(DigestItem {
                headline: headline(event),
                event: Arc::clone(event),
                change: change.as_str().to_string(),
                urgency,
                reasons: routed.reasons,
                actions,
            })
        })
        .collect();
    if items.is_empty() {
        return None;
    }
    items.sort_by(|a, b| {
        b.urgency
            .cmp(&a.urgency)
            .then(b.event.last_seen.cmp(&a.event.last_seen))
            .then(a.event.id.cmp(&b.event.id))
    });
    let subject = subject(client, &items, window.kind);
    Some(Digest {
        id: digest_id(&client.id, window),
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        role: client.role.as_str().to_string(),
        window_start: window.start,
        window_end: window.end,
        generated_at: now,
        subject,
        items,
        immediate: window.kind == WindowKind::Immediate,
    })
}

/// "Microsoft and OpenAI license: non exclusive until 2032".
pub fn headline(e: &Event) -> String {
    // Built in one buffer: this runs for every event of every client.
    let mut s = String::with_capacity(160);
    let parties = |s: &mut String| {
        for (i, p) in e.parties.iter().enumerate() {
            if i > 0 {
                s.push_str(" and ");
            }
            s.push_str(p);
        }
    };
    match (&e.product, &e.platform) {
        (Some(product), _) => s.push_str(product),
        (None, _) => parties(&mut s),
    }
    if let Some(platform) = &e.platform {
        s.push_str(" on ");
        s.push_str(platform);
    }
    let words =
        |s: &mut String, w: &str| s.extend(w.chars().map(|c| if c == '_' { ' ' } else { c }));
    s.push(' ');
    words(&mut s, e.kind.as_str());
    s.push_str(": ");
    words(&mut s, e.status.as_str());
    if let (Some(payer), Some(payee)) = (&e.payer, &e.payee) {
        s.push_str(" (");
        s.push_str(payer);
        s.push_str(" pays ");
        s.push_str(payee);
        s.push(')');
    }
    if let Some(until) = &e.until {
        s.push_str(" until ");
        s.push_str(until);
    }
    if let Some(eff) = &e.effective {
        s.push_str(", effective ");
        s.push_str(eff);
    }
    if e.disputed {
        s.push_str(" [disputed]");
    }
    clean_line_owned(s)
}

fn subject(client: &ClientProfile, items: &[DigestItem], kind: WindowKind) -> String {
    let top = &items[0];
    let more = match items.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let prefix = match (kind, top.urgency >= Severity::High) {
        (WindowKind::Immediate, _) => "Urgent",
        (_, true) => "Action needed",
        _ => "Update",
    };
    clean_line(&format!(
        "[termwatch] {prefix} for {}: {}{more}",
        client.name, top.headline
    ))
}

/// One line, no control characters (CR/LF would let scraped text inject mail headers), at most 200 characters.
pub fn clean_line(s: &str) -> String {
    bounded(clean_line_unbounded(s))
}

/// `clean_line` without copying text that is already clean.
fn clean_line_owned(s: String) -> String {
    if is_clean_line(&s) {
        bounded(s)
    } else {
        clean_line(&s)
    }
}

fn bounded(one: String) -> String {
    match one.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

/// Control characters to spaces, runs of whitespace to one space.
pub fn clean_line_unbounded(s: &str) -> String {
    if is_clean_line(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// True when `clean_line_unbounded` would return `s` unchanged: ASCII with
/// no control characters, no whitespace but single inner spaces. Most text
/// already is, and checking is much cheaper than rebuilding it.
pub(crate) fn is_clean_line(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && b.iter().all(|&c| c == b' ' || (c > b' ' && c < 0x7f))
        && !s.contains("  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeKind, Status};

    /// The headline as it was first written, with `format!`.
    fn reference(e: &Event) -> String {
        let who = match (&e.product, &e.platform) {
            (Some(product), Some(platform)) => format!("{product} on {platform}"),
            (Some(product), None) => product.clone(),
            (None, Some(platform)) => format!("{} on {platform}", e.parties.join(" and ")),
            (None, None) => e.parties.join(" and "),
        };
        let mut s = format!(
            "{who} {}: {}",
            e.kind.as_str().replace('_', " "),
            e.status.as_str().replace('_', " ")
        );
        if let (Some(payer), Some(payee)) = (&e.payer, &e.payee) {
            s.push_str(&format!(" ({payer} pays {payee})"));
        }
        if let Some(until) = &e.until {
            s.push_str(&format!(" until {until}"));
        }
        if let Some(eff) = &e.effective {
            s.push_str(&format!(", effective {eff}"));
        }
        if e.disputed {
            s.push_str(" [disputed]");
        }
        clean_line(&s)
    }

    #[test]
    fn headline_equals_its_reference_form() {
        let mut e = (*crate::digest::sample_digest().items[0].event).clone();
        let long = "x".repeat(250);
        for product in [None, Some("Nimbus-7"), Some(" Odd\nname ")] {
            for platform in [None, Some("Corvid Cloud")] {
                for (payer, disputed) in [(None, false), (Some("Corvid"), true)] {
                    for kind in [ChangeKind::RevenueShare, ChangeKind::License] {
                        e.product = product.map(Into::into);
                        e.platform = platform.map(Into::into);
                        e.payer = payer.map(Into::into);
                        e.payee = Some("Nimbus".into());
                        e.disputed = disputed;
                        e.kind = kind;
                        e.status = Status::NonExclusive;
                        assert_eq!(headline(&e), reference(&e));
                        e.until = Some(long.clone());
                        assert_eq!(headline(&e), reference(&e));
                        e.until = None;
                        e.effective = None;
                        assert_eq!(headline(&e), reference(&e));
                    }
                }
            }
        }
        e.parties.clear();
        assert_eq!(headline(&e), reference(&e));
    }
}
