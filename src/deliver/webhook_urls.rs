//! Webhook URLs stay out of the outbox: a Slack or Teams URL is a bearer
//! secret (whoever has it can post to the channel), so the outbox row holds
//! a reference instead, the URL's origin (for people reading the outbox) and
//! a SHA-256 of the whole URL, and the send looks the URL up in the client's
//! profile. A profile edited since the digest was made sends to the webhook
//! it lists now only if that is the same URL.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

use super::SendError;

/// How a stored reference starts.
const PREFIX: &str = "profile-webhook:";

/// The outbox target for a client's webhook URL.
pub fn reference(url: &str) -> String {
    format!("{PREFIX}{} {}", fingerprint(url), origin(url))
}

/// What a stored target shows of itself: the origin, never the path.
pub fn shown(target: &str) -> String {
    match target.strip_prefix(PREFIX) {
        Some(rest) => rest.split_once(' ').map_or("", |(_, o)| o).to_string(),
        None => origin(target),
    }
}

fn fingerprint(url: &str) -> String {
    hex::encode(&Sha256::digest(url.trim().as_bytes())[..16])
}

fn origin(url: &str) -> String {
    url::Url::parse(url.trim())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "(invalid url)".to_string())
}

/// The webhook URLs of the client profiles, read when a pass starts.
#[derive(Clone, Default)]
pub struct WebhookUrls {
    by_ref: HashMap<(String, String), String>,
}

impl std::fmt::Debug for WebhookUrls {
    // The URLs are secrets: show how many there are, nothing more.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrls({} urls)", self.by_ref.len())
    }
}

impl WebhookUrls {
    /// From `(client id, webhook URL)` pairs.
    pub fn new<I, C, U>(pairs: I) -> WebhookUrls
    where
        I: IntoIterator<Item = (C, U)>,
        C: Into<String>,
        U: Into<String>,
    {
        let by_ref = pairs
            .into_iter()
            .map(|(client, url)| {
                let url = url.into();
                ((client.into(), fingerprint(&url)), url)
            })
            .collect();
        WebhookUrls { by_ref }
    }

    /// The URL a stored target stands for. A target that is not a reference
    /// is a URL stored by an earlier termwatch and is used as it is.
    pub fn resolve(&self, client_id: &str, target: &str) -> Result<String, SendError> {
        let Some(rest) = target.strip_prefix(PREFIX) else {
            return Ok(target.to_string());
        };
        let (hash, origin) = rest.split_once(' ').unwrap_or((rest, ""));
        self.by_ref
            .get(&(client_id.to_string(), hash.to_string()))
            .cloned()
            .ok_or_else(|| {
                SendError::permanent(format!(
                    "client {client_id}'s profile no longer lists this webhook ({origin}): it was changed or removed after the digest was made; restore it in the profile and run `termwatch deliveries retry ID`"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";

    #[test]
    fn the_outbox_reference_holds_no_part_of_the_path() {
        let r = reference(SLACK);
        assert!(
            !r.contains("XXXXSECRETXXXX") && !r.contains("/services"),
            "{r}"
        );
        assert_eq!(shown(&r), "https://hooks.slack.com");
        assert_eq!(shown(SLACK), "https://hooks.slack.com");
    }

    #[test]
    fn resolves_from_the_profile_and_only_the_same_url() {
        let urls = WebhookUrls::new([("acme", SLACK)]);
        let r = reference(SLACK);
        assert_eq!(urls.resolve("acme", &r).unwrap(), SLACK);
        let err = urls.resolve("other", &r).unwrap_err();
        assert!(
            err.permanent && err.message.contains("no longer lists"),
            "{err}"
        );
        assert!(!err.message.contains("XXXXSECRETXXXX"), "{err}");
        let changed =
            WebhookUrls::new([("acme", "https://hooks.slack.com/services/T000/B000/NEW")]);
        assert!(changed.resolve("acme", &r).is_err());
        assert!(!format!("{urls:?}").contains("SECRET"));
    }

    #[test]
    fn a_url_stored_by_an_earlier_version_is_used_as_it_is() {
        let urls = WebhookUrls::default();
        assert_eq!(urls.resolve("acme", SLACK).unwrap(), SLACK);
    }
}
