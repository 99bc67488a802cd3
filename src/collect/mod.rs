//! The `collect` stage: poll the sources in `sources/*.toml` politely and turn
//! feeds and HTML listings into plain [`Article`](crate::model::Article)s.
//!
//! It owns source definitions and their validation ([`sources`]), the polite
//! HTTP client ([`fetch`], [`robots`]), byte decoding ([`decode`]), feed and
//! listing parsing ([`parse`], [`text`]), OPML import ([`opml`]), cron schedules with
//! jitter ([`schedule`]) and one polling pass ([`poll`]). It never touches the
//! store: `pipeline::collect` feeds it the stored state and writes its results.

pub mod decode;
pub mod fetch;
pub mod opml;
pub mod parse;
pub mod poll;
pub mod robots;
pub mod schedule;
pub mod sources;
pub mod text;

use serde::{Deserialize, Serialize};

pub use fetch::{Fetched, Fetcher};
pub use poll::{Outcome, PolledSource, SourceState};
pub use sources::{Kind, Selectors, SourceDef, load_sources, validate_sources};

/// Product token sent to servers and matched against `robots.txt` groups.
pub const ROBOTS_AGENT: &str = "termwatch";
/// Where site owners can read who we are; shown in the User-Agent.
pub const DEFAULT_CONTACT_URL: &str = "https://github.com/termwatch/termwatch#for-site-owners";
/// Connections to one host at a time: small, as a person's browser would.
pub const DEFAULT_PER_HOST_CONCURRENCY: usize = 4;
/// Requests in flight across all hosts.
pub const DEFAULT_GLOBAL_CONCURRENCY: usize = 64;
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_TOTAL_TIMEOUT_SECS: u64 = 30;
/// 10 MiB, counted after decompression so a gzip bomb is cut off too.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// Spread of each source's fire time after its cron time, so sources sharing
/// a schedule do not hit their hosts in the same second.
pub const DEFAULT_JITTER: &str = "2m";
/// First wait after a failure; doubles per consecutive failure.
pub const DEFAULT_BACKOFF_BASE_SECS: u64 = 60;
/// Longest wait after repeated failures.
pub const DEFAULT_BACKOFF_MAX_SECS: u64 = 6 * 3600;
/// A feed item whose text is shorter than this (and has no full content) is
/// a teaser: the article page is fetched for the full text.
pub const DEFAULT_TEASER_CHARS: usize = 400;
/// Longest Crawl-delay honoured; longer values are capped so one site cannot
/// stall a pass.
pub const DEFAULT_MAX_CRAWL_DELAY_SECS: u64 = 30;
/// How long a host's robots.txt is trusted before it is fetched again.
pub const DEFAULT_ROBOTS_TTL_SECS: u64 = 24 * 3600;

/// `[collect]` section of `termwatch.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// User-Agent header; the default names termwatch, its version and `contact_url`.
    pub user_agent: Option<String>,
    pub contact_url: String,
    pub per_host_concurrency: usize,
    pub global_concurrency: usize,
    pub connect_timeout_secs: u64,
    pub total_timeout_secs: u64,
    pub max_body_bytes: u64,
    pub max_redirects: usize,
    pub respect_robots: bool,
    /// Default jitter for sources that give none (`30s`, `5m`, `1h`).
    pub jitter: String,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    pub teaser_chars: usize,
    pub max_crawl_delay_secs: u64,
    pub robots_ttl_secs: u64,
    /// Loopback, private and link-local hosts the collector may fetch: host
    /// names or CIDR networks, exactly these (empty: none). A feed linking
    /// to another private host is still refused.
    pub allow_private_hosts: Vec<crate::guard::Allowed>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            user_agent: None,
            contact_url: DEFAULT_CONTACT_URL.to_string(),
            per_host_concurrency: DEFAULT_PER_HOST_CONCURRENCY,
            global_concurrency: DEFAULT_GLOBAL_CONCURRENCY,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            total_timeout_secs: DEFAULT_TOTAL_TIMEOUT_SECS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            respect_robots: true,
            jitter: DEFAULT_JITTER.to_string(),
            backoff_base_secs: DEFAULT_BACKOFF_BASE_SECS,
            backoff_max_secs: DEFAULT_BACKOFF_MAX_SECS,
            teaser_chars: DEFAULT_TEASER_CHARS,
            max_crawl_delay_secs: DEFAULT_MAX_CRAWL_DELAY_SECS,
            robots_ttl_secs: DEFAULT_ROBOTS_TTL_SECS,
            allow_private_hosts: Vec::new(),
        }
    }
}

impl Config {
    /// The User-Agent actually sent: the configured one, else a descriptive
    /// default with a contact URL. CR/LF are removed so a config value can
    /// never inject a header.
    pub fn user_agent(&self) -> String {
        let ua = match &self.user_agent {
            Some(ua) => ua.clone(),
            None => format!(
                "{ROBOTS_AGENT}/{} (+{}; watches vendor announcements)",
                env!("CARGO_PKG_VERSION"),
                self.contact_url
            ),
        };
        ua.replace(['\r', '\n'], " ")
    }
}

/// What went wrong with one source, in words a user understands.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{url} is not a valid http(s) URL; fix the source's url")]
    BadUrl { url: String },
    #[error(
        "robots.txt of {host} disallows {path} for {ROBOTS_AGENT}; remove the source or ask the site owner"
    )]
    RobotsDisallowed { host: String, path: String },
    #[error("server asked us to slow down (HTTP {status}); next try after {until}")]
    RetryAfter { status: u16, until: jiff::Timestamp },
    #[error("server answered HTTP {status} for {url}{hint}")]
    Status {
        status: u16,
        url: String,
        hint: &'static str,
    },
    #[error(
        "no answer from {url} within {secs} s; the site may be down or slow, it will be retried"
    )]
    Timeout { url: String, secs: u64 },
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(
        "more than {max} redirects from {url} (a redirect loop?); point the source at the final address"
    )]
    TooManyRedirects { url: String, max: usize },
    #[error(
        "body of {url} is larger than {max} bytes (after decompression); raise collect.max_body_bytes if this is expected"
    )]
    TooLarge { url: String, max: u64 },
    #[error("not fetching {url}: {refusal}")]
    Refused {
        url: String,
        refusal: crate::guard::Refusal,
    },
    #[error(
        "not fetching the article page {url}: it is on {site}, another site than the source's ({source_site}); set follow_other_sites = true in the source's [[source]] table to fetch pages from other sites"
    )]
    OtherSite {
        url: String,
        site: String,
        source_site: String,
    },
    #[error("could not read {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error(
        "{url} is not a feed termwatch can read (RSS, Atom or JSON Feed): {reason}; check the url or use kind = \"html\""
    )]
    Feed { url: String, reason: String },
    #[error(
        "the listing at {url} has no items matching selector {selector:?}; check the source's selectors"
    )]
    EmptyListing { url: String, selector: String },
    #[error(
        "reading {url} took longer than termwatch's {secs} s parse budget (the document is too large or too deeply nested); the site has to serve a simpler document"
    )]
    ParseTimeout { url: String, secs: u64 },
    #[error(
        "the {what} failed on {url} ({reason}); the document is ill-formed: check the url, and report it to termwatch if the document is valid"
    )]
    Crashed {
        url: String,
        what: &'static str,
        reason: String,
    },
}
