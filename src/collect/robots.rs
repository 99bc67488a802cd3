//! robots.txt per origin: fetched once, cached for a while, honoured
//! (Disallow and Crawl-delay) by [`Fetcher`](super::Fetcher).
//!
//! Following RFC 9309: a missing file (4xx) allows everything; a server
//! error or no answer disallows everything, since we cannot know what the
//! owner wants (the fetcher reports that as the site's error).

use std::time::{Duration, Instant};

use robotxt::Robots;

/// A host's rules and when they were fetched.
#[derive(Debug)]
pub struct Cached {
    pub robots: Robots,
    pub fetched: Instant,
}

impl Cached {
    pub fn fresh(&self, ttl: Duration) -> bool {
        self.fetched.elapsed() < ttl
    }
}

/// What fetching robots.txt gave.
pub enum Access<'a> {
    Body(&'a [u8]),
    Missing,
    Unreachable,
}

/// Rules for our agent from a fetch result.
pub fn rules(access: Access<'_>) -> Robots {
    match access {
        Access::Body(txt) => Robots::parse(txt, super::ROBOTS_AGENT),
        Access::Missing => Robots::allow_all(),
        Access::Unreachable => Robots::disallow_all(),
    }
}

/// The robots.txt URL of a URL's origin.
pub fn robots_url(url: &url::Url) -> Option<url::Url> {
    let mut r = url.clone();
    r.set_path("/robots.txt");
    r.set_query(None);
    r.set_fragment(None);
    Some(r)
}

/// Path and query, as robots rules match them.
pub fn path_of(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_group_and_crawl_delay_apply() {
        let txt = b"User-agent: *\nDisallow: /\n\nUser-agent: termwatch\nDisallow: /private/\nCrawl-delay: 2\n";
        let r = rules(Access::Body(txt));
        assert!(r.is_allowed("/blog/feed.xml"));
        assert!(!r.is_allowed("/private/x"));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn missing_allows_unreachable_disallows() {
        assert!(rules(Access::Missing).is_allowed("/x"));
        assert!(!rules(Access::Unreachable).is_allowed("/x"));
    }
}
