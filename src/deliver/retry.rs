//! When to try a failed delivery again: exponential backoff with full jitter,
//! never earlier than the receiver's `Retry-After`.
//!
//! Jitter spreads retries of many deliveries that failed together (an SMTP
//! server that was down) so they do not all return in the same second.

use std::time::Duration;

/// Backoff bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The ceiling of the delay after `attempts` failed attempts (1-based):
    /// base, 2 x base, 4 x base, ... capped at `max`.
    pub fn ceiling(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay before the next attempt: uniformly between half the
    /// ceiling and the ceiling ("equal jitter", so a retry never comes
    /// immediately), and at least `retry_after`.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(attempts);
        let half = ceiling / 2;
        let jitter_ms = (ceiling - half).as_millis() as u64;
        let jitter = if jitter_ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(rand::random_range(0..=jitter_ms))
        };
        let delay = half + jitter;
        match retry_after {
            Some(ra) => delay.max(ra),
            None => delay,
        }
    }
}

/// Longest `Retry-After` honoured; a larger one is treated as this, so a
/// confused receiver cannot park a delivery for months.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
        let secs = at.as_second() - now.as_second();
        Duration::from_secs(secs.max(0) as u64)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_secs(100),
    };

    #[test]
    fn ceiling_doubles_then_caps() {
        assert_eq!(B.ceiling(1), Duration::from_secs(10));
        assert_eq!(B.ceiling(2), Duration::from_secs(20));
        assert_eq!(B.ceiling(4), Duration::from_secs(80));
        assert_eq!(B.ceiling(5), Duration::from_secs(100));
        assert_eq!(B.ceiling(200), Duration::from_secs(100));
    }

    #[test]
    fn delay_is_jittered_within_half_and_ceiling() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = B.delay(3, None);
            assert!(
                d >= Duration::from_secs(20) && d <= Duration::from_secs(40),
                "{d:?}"
            );
            seen.insert(d);
        }
        assert!(seen.len() > 10, "jitter should vary the delay");
    }

    #[test]
    fn retry_after_wins_when_longer() {
        let d = B.delay(1, Some(Duration::from_secs(600)));
        assert_eq!(d, Duration::from_secs(600));
        let d = B.delay(1, Some(Duration::from_secs(1)));
        assert!(d >= Duration::from_secs(5));
    }

    #[test]
    fn parses_seconds_and_http_date() {
        let now: jiff::Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
    }
}
