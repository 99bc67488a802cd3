//! The polite HTTP client, in one file: conditional GET (ETag and
//! Last-Modified), Retry-After on 429/503, per-host and global concurrency
//! limits, robots.txt and Crawl-delay, timeouts, a redirect limit and a body
//! cap that holds after decompression.
//!
//! Every request (feeds, listings, article pages, robots.txt, each redirect
//! hop) goes through the [`guard`](crate::guard): no loopback, private or
//! metadata address unless `allow_private_hosts` lists it. Article pages
//! of a feed stay on the source's own site unless the source says
//! `follow_other_sites = true`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use tokio::sync::Semaphore;
use url::Url;

use super::robots::{self, Access, Cached};
use super::{Config, Error, SourceDef};
use crate::guard::{self, Guard};
use crate::model::Article;

/// Largest robots.txt read (RFC 9309 asks parsers to handle at least 500 KiB).
const ROBOTS_MAX_BYTES: u64 = 512 * 1024;
/// Retry-After values beyond this are capped: a typo on the server should
/// not silence a source for a year.
const MAX_RETRY_AFTER_SECS: i64 = 7 * 24 * 3600;
/// Wait used when a 429/503 carries no usable Retry-After.
const DEFAULT_RETRY_AFTER_SECS: i64 = 300;

/// Validators from the last successful fetch, sent back for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a fetch gave.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed, nothing to parse.
    NotModified,
    Body {
        bytes: Bytes,
        content_type: Option<String>,
        validators: Validators,
        /// After redirects.
        final_url: Url,
    },
}

/// The outcome of one request of a fetch.
enum Hop {
    Done(Fetched),
    Redirect(Url),
}

#[derive(Debug)]
struct Host {
    robots: tokio::sync::Mutex<Option<Cached>>,
    /// Earliest time the next request may start, when robots.txt sets a
    /// Crawl-delay.
    next_slot: tokio::sync::Mutex<Option<Instant>>,
    permits: Semaphore,
}

/// The polite client; cheap to clone, share one per process so the limits
/// and the robots cache are shared too.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    /// Follows redirects itself: robots.txt is read before any rule applies.
    robots_client: reqwest::Client,
    guard: Guard,
    config: Config,
    global: Semaphore,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds the client from the `[collect]` configuration.
    pub fn new(config: &Config) -> Result<Fetcher, Error> {
        // reqwest panics without a rustls provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let guard = Guard::collect(&config.allow_private_hosts);
        // Redirects are followed hop by hop in `fetch`, so each hop's host
        // gets its guard check, robots.txt, Crawl-delay and per-host limit.
        let client = Self::client(config, &guard, reqwest::redirect::Policy::none())?;
        // RFC 9309: a crawler follows at least five redirects for robots.txt.
        let robots_client = Self::client(config, &guard, guard.redirect_policy(5))?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                robots_client,
                guard,
                config: config.clone(),
                global: Semaphore::new(config.global_concurrency.max(1)),
                hosts: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// A guarded client with the `[collect]` settings and `redirects`.
    fn client(
        config: &Config,
        guard: &Guard,
        redirects: reqwest::redirect::Policy,
    ) -> Result<reqwest::Client, Error> {
        guard
            .client_builder()
            .redirect(redirects)
            .user_agent(config.user_agent())
            .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
            .timeout(Duration::from_secs(config.total_timeout_secs))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            // Each idle connection keeps its read buffer; two per host keep
            // most reuse while a 50-host cold pass holds 100 of them, not
            // 200 (peak RSS about 3 MB lower, same wall time).
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| Error::Transport {
                url: String::new(),
                reason: format!("cannot build the HTTP client: {e}"),
            })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn host(&self, url: &Url) -> Arc<Host> {
        let key = url.origin().ascii_serialization();
        let mut hosts = self
            .inner
            .hosts
            .lock()
            .expect("host map lock is never poisoned");
        hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Host {
                    robots: tokio::sync::Mutex::new(None),
                    next_slot: tokio::sync::Mutex::new(None),
                    permits: Semaphore::new(self.inner.config.per_host_concurrency.max(1)),
                })
            })
            .clone()
    }

    /// GETs `url` politely. `validators` make it conditional.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, Error> {
        self.fetch_on(url, validators, None).await
    }

    /// GETs `url` politely; with `only_site`, every hop must stay on that
    /// site (registrable domain).
    async fn fetch_on(
        &self,
        url: &Url,
        validators: &Validators,
        only_site: Option<&str>,
    ) -> Result<Fetched, Error> {
        let mut at = url.clone();
        for _ in 0..=self.inner.config.max_redirects {
            if let Some(source_site) = only_site {
                check_site(&at, source_site)?;
            }
            match self.fetch_one(&at, validators).await? {
                Hop::Done(fetched) => return Ok(fetched),
                Hop::Redirect(next) => at = next,
            }
        }
        Err(Error::TooManyRedirects {
            url: url.to_string(),
            max: self.inner.config.max_redirects,
        })
    }

    /// One request, under the robots.txt, Crawl-delay and limits of its own
    /// host; a redirect is returned, not followed.
    async fn fetch_one(&self, url: &Url, validators: &Validators) -> Result<Hop, Error> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::BadUrl {
                url: url.to_string(),
            });
        }
        // Before robots.txt, so a refused host gets no request at all; names
        // are checked again as they resolve.
        self.inner
            .guard
            .check_url(url)
            .map_err(|refusal| Error::Refused {
                url: url.to_string(),
                refusal,
            })?;
        let host = self.host(url);
        let crawl_delay = self.check_robots(url, &host).await?;
        let _global = self
            .inner
            .global
            .acquire()
            .await
            .expect("semaphore never closed");
        let _host = host
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        if let Some(delay) = crawl_delay {
            let mut slot = host.next_slot.lock().await;
            if let Some(at) = *slot {
                tokio::time::sleep_until(at.into()).await;
            }
            *slot = Some(Instant::now() + delay);
        }
        let mut headers = HeaderMap::new();
        if let Some(etag) = validators.etag.as_deref().and_then(header_value) {
            headers.insert(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = validators.last_modified.as_deref().and_then(header_value) {
            headers.insert(IF_MODIFIED_SINCE, lm);
        }
        let resp = self
            .inner
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Hop::Done(Fetched::NotModified));
        }
        if status.is_redirection()
            && let Some(next) = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l.trim()).ok())
        {
            return Ok(Hop::Redirect(next));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let secs = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
                .unwrap_or(DEFAULT_RETRY_AFTER_SECS)
                .clamp(1, MAX_RETRY_AFTER_SECS);
            let until = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
            return Err(Error::RetryAfter {
                status: status.as_u16(),
                until,
            });
        }
        if !status.is_success() {
            let hint = match status.as_u16() {
                404 | 410 => "; the page is gone: find the new address or remove the source",
                401 | 403 => "; the site refuses us: check the url or remove the source",
                500..=599 => "; a server error, it will be retried",
                _ => "",
            };
            return Err(Error::Status {
                status: status.as_u16(),
                url: url.to_string(),
                hint,
            });
        }
        let text_header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: text_header(ETAG),
            last_modified: text_header(LAST_MODIFIED),
        };
        let content_type = text_header(CONTENT_TYPE);
        let final_url = resp.url().clone();
        let bytes = self
            .read_capped(url, resp, self.inner.config.max_body_bytes)
            .await?;
        Ok(Hop::Done(Fetched::Body {
            bytes,
            content_type,
            validators,
            final_url,
        }))
    }

    /// Reads the body, stopping as soon as it passes `max` bytes. reqwest
    /// decompresses as it streams, so the cap applies to decompressed bytes.
    async fn read_capped(
        &self,
        url: &Url,
        mut resp: reqwest::Response,
        max: u64,
    ) -> Result<Bytes, Error> {
        let too_large = || Error::TooLarge {
            url: url.to_string(),
            max,
        };
        let declared = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let mut buf = BytesMut::with_capacity(declared.unwrap_or(16 * 1024).min(max) as usize);
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(url, &e))?
        {
            if buf.len() as u64 + chunk.len() as u64 > max {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// Checks robots.txt for `url`, fetching it when not cached; returns
    /// the host's Crawl-delay.
    async fn check_robots(&self, url: &Url, host: &Host) -> Result<Option<Duration>, Error> {
        let cfg = &self.inner.config;
        if !cfg.respect_robots {
            return Ok(None);
        }
        let mut cached = host.robots.lock().await;
        let ttl = Duration::from_secs(cfg.robots_ttl_secs);
        if !cached.as_ref().is_some_and(|c| c.fresh(ttl)) {
            *cached = Some(Cached {
                robots: self.fetch_robots(url).await?,
                fetched: Instant::now(),
            });
        }
        let robots = &cached.as_ref().expect("just filled").robots;
        let path = robots::path_of(url);
        if !robots.is_allowed(&path) {
            return Err(Error::RobotsDisallowed {
                host: url.host_str().unwrap_or_default().to_string(),
                path,
            });
        }
        let max = Duration::from_secs(cfg.max_crawl_delay_secs);
        Ok(robots.crawl_delay().map(|d| d.min(max)))
    }

    /// A host's rules. A 4xx means no rules (allow all). When the host
    /// cannot be reached or answers 5xx, RFC 9309 says assume everything is
    /// disallowed; we do that by failing the fetch with the real reason
    /// (and caching nothing, so the next pass asks again), which reads
    /// better than "disallowed by robots.txt" for a site that is down.
    async fn fetch_robots(&self, url: &Url) -> Result<robotxt::Robots, Error> {
        let Some(robots_url) = robots::robots_url(url) else {
            return Ok(robots::rules(Access::Missing));
        };
        let resp = match self
            .inner
            .robots_client
            .get(robots_url.clone())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => match self.transport_error(&robots_url, &e) {
                // RFC 9309: too many redirects for robots.txt means "unavailable".
                Error::TooManyRedirects { .. } => return Ok(robots::rules(Access::Missing)),
                err => return Err(err),
            },
        };
        let status = resp.status();
        if status.is_client_error() {
            return Ok(robots::rules(Access::Missing));
        }
        if !status.is_success() {
            return Err(Error::Status {
                status: status.as_u16(),
                url: robots_url.to_string(),
                hint: "; robots.txt is unavailable, so nothing is fetched from this site until it answers",
            });
        }
        match self.read_capped(&robots_url, resp, ROBOTS_MAX_BYTES).await {
            Ok(body) => Ok(robots::rules(Access::Body(&body))),
            // An oversized file: a rule cut in half could allow too much or
            // too little; treat it like a missing file, as for a 4xx.
            Err(Error::TooLarge { .. }) => Ok(robots::rules(Access::Missing)),
            Err(e) => Err(e),
        }
    }

    fn transport_error(&self, url: &Url, e: &reqwest::Error) -> Error {
        let url_s = url.to_string();
        if let Some(refusal) = guard::refusal_in(e) {
            Error::Refused {
                url: url_s,
                refusal,
            }
        } else if e.is_timeout() {
            Error::Timeout {
                url: url_s,
                secs: self.inner.config.total_timeout_secs,
            }
        } else if e.is_redirect() {
            Error::TooManyRedirects {
                url: url_s,
                max: self.inner.config.max_redirects,
            }
        } else if e.is_connect() {
            Error::Connect {
                url: url_s,
                reason: root_cause(e),
            }
        } else {
            Error::Transport {
                url: url_s,
                reason: root_cause(e),
            }
        }
    }

    /// Fetches one article page and returns it as an [`Article`] (source
    /// `page`, news trust): main text with boilerplate removed, the
    /// canonical URL, title, published time and author when the page says.
    pub async fn fetch_article(&self, url: &str) -> Result<Article, Error> {
        let parsed = Url::parse(url).map_err(|_| Error::BadUrl {
            url: url.to_string(),
        })?;
        let mut budget = super::parse::Budget::new(super::parse::PARSE_BUDGET);
        let page = self.fetch_page(&parsed, None, None, &mut budget).await?;
        Ok(page.into_article("page", crate::model::Trust::News, None))
    }

    /// Fetches and reads the article page of one of `def`'s items: on the
    /// source's own site only, unless the source follows other sites.
    /// `body` is a CSS selector for the article text, else the main text is
    /// found automatically. Parsing runs on a blocking thread within `budget`.
    pub async fn fetch_item_page(
        &self,
        def: &SourceDef,
        url: &Url,
        body: Option<&str>,
        budget: &mut super::parse::Budget,
    ) -> Result<super::parse::Page, Error> {
        let own = (!def.follow_other_sites).then(|| site(&def.url));
        self.fetch_page(url, body, own.as_deref(), budget).await
    }

    async fn fetch_page(
        &self,
        url: &Url,
        body: Option<&str>,
        only_site: Option<&str>,
        budget: &mut super::parse::Budget,
    ) -> Result<super::parse::Page, Error> {
        match self
            .fetch_on(url, &Validators::default(), only_site)
            .await?
        {
            Fetched::NotModified => Err(Error::Transport {
                url: url.to_string(),
                reason: "server answered 304 to an unconditional request".into(),
            }),
            Fetched::Body {
                bytes,
                content_type,
                final_url,
                ..
            } => super::parse::read_page(budget, bytes, content_type, final_url, body).await,
        }
    }
}

/// A URL's site: its registrable domain (`news.example.co.uk` for
/// `www.news.example.co.uk`), or the host itself for an IP address or a
/// name the public suffix list does not know.
pub fn site(url: &Url) -> String {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            psl::domain_str(&d).unwrap_or(&d).to_string()
        }
        Some(host) => host.to_string(),
        None => String::new(),
    }
}

/// Refuses `url` when it is not on `source_site`.
fn check_site(url: &Url, source_site: &str) -> Result<(), Error> {
    let at = site(url);
    if at == source_site {
        Ok(())
    } else {
        Err(Error::OtherSite {
            url: url.to_string(),
            site: at,
            source_site: source_site.to_string(),
        })
    }
}

fn header_value(s: &str) -> Option<HeaderValue> {
    // Stored validators came from a server: never let CR/LF through.
    if s.contains(['\r', '\n']) {
        return None;
    }
    HeaderValue::from_str(s).ok()
}

/// Seconds to wait from a Retry-After value: delta-seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Some(secs.max(0));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    Some(at.duration_since(jiff::Timestamp::now()).as_secs().max(0))
}

/// The innermost error message: "connection refused", not "error sending request".
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(120));
        let future = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(600);
        let http = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&future)
            .unwrap();
        let secs = parse_retry_after(&http).unwrap();
        assert!((590..=600).contains(&secs), "{secs}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn sites_are_registrable_domains() {
        let s = |u: &str| site(&Url::parse(u).unwrap());
        assert_eq!(s("https://www.news.example.co.uk/a"), "example.co.uk");
        assert_eq!(s("https://blog.nimbus.example.com/"), "example.com");
        assert_eq!(s("https://Nimbus.GitHub.io/x"), "nimbus.github.io");
        assert_ne!(s("https://a.github.io/"), s("https://b.github.io/"));
        assert_eq!(s("http://127.0.0.1:8080/x"), "127.0.0.1");
        assert_eq!(s("http://[::1]:8080/x"), "[::1]");
        assert_eq!(s("http://localhost:8080/x"), "localhost");
    }

    #[test]
    fn other_sites_are_refused_with_the_setting_named() {
        let url = Url::parse("https://elsewhere.example.net/post").unwrap();
        let err = check_site(&url, "example.com").unwrap_err().to_string();
        assert!(err.contains("follow_other_sites = true"), "{err}");
        assert!(err.contains("example.net"), "{err}");
        let own = Url::parse("https://www.example.com/post").unwrap();
        assert!(check_site(&own, "example.com").is_ok());
    }

    #[test]
    fn header_values_with_newlines_are_dropped() {
        assert!(header_value("\"abc\"\r\nX-Evil: 1").is_none());
        assert!(header_value("\"abc\"").is_some());
    }
}
