//! When each source fires: a cron expression plus a jitter.
//!
//! The jitter offset is derived from the source id and the cron time, not
//! drawn at random, so a restart computes the same due time it stored and
//! sources sharing a schedule still spread out over the jitter window.

use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;

/// A source's cron schedule and optional jitter.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// As written in the source file.
    pub expr: String,
    cron: cron::Schedule,
    pub jitter: Option<Duration>,
}

impl Schedule {
    /// Parses a cron expression: 6 or 7 fields (seconds first), 5 fields
    /// (minutes first, as crontab), or `@hourly`, `@daily`, `@weekly`...
    pub fn parse(expr: &str, jitter: Option<Duration>) -> Result<Schedule, String> {
        let trimmed = expr.trim();
        let fields = trimmed.split_whitespace().count();
        // The cron crate wants a seconds field; crontab users write five.
        let full = if fields == 5 && !trimmed.starts_with('@') {
            format!("0 {trimmed}")
        } else {
            trimmed.to_string()
        };
        let cron = cron::Schedule::from_str(&full).map_err(|e| {
            // The cron crate's message repeats the input with a caret line;
            // keep only the explanation.
            let e = e.to_string();
            let e = e.lines().last().unwrap_or_default().trim().to_string();
            format!(
                "schedule \"{expr}\" is not a cron expression ({e}); write e.g. schedule = \"*/30 * * * *\" (every 30 minutes) or \"@hourly\""
            )
        })?;
        Ok(Schedule {
            expr: expr.to_string(),
            cron,
            jitter,
        })
    }

    /// The cron time strictly after `after`, without jitter.
    pub fn next_cron(&self, after: Timestamp) -> Option<Timestamp> {
        let after = chrono::DateTime::<chrono::Utc>::from_timestamp(after.as_second(), 0)?;
        let next = self.cron.after(&after).next()?;
        Timestamp::from_second(next.timestamp()).ok()
    }

    /// When source `id` is next due after `after`: the next cron time plus
    /// a stable offset within the jitter window (`default_jitter` when the
    /// source gives none).
    pub fn next_due(&self, id: &str, after: Timestamp, default_jitter: Duration) -> Timestamp {
        let Some(base) = self.next_cron(after) else {
            // A schedule with no future time (a past year) never fires again;
            // a far-future due time says so without a special case.
            return Timestamp::MAX;
        };
        let jitter = self.jitter.unwrap_or(default_jitter).as_secs();
        if jitter == 0 {
            return base;
        }
        let offset = stable_hash(id, base.as_second()) % jitter;
        base.checked_add(jiff::SignedDuration::from_secs(offset as i64))
            .unwrap_or(base)
    }
}

fn stable_hash(id: &str, t: i64) -> u64 {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes().chain(t.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Parses `90`, `30s`, `5m`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("\"{text}\" is not a duration; write e.g. \"30s\", \"5m\" or \"1h\"")
    })?;
    let mult = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "\"{text}\" has an unknown unit; use s, m, h or d, e.g. \"5m\""
            ));
        }
    };
    Ok(Duration::from_secs(n * mult))
}

/// How long to wait after `failures` consecutive failures: `base` doubling
/// per failure, capped at `max`.
pub fn backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << exp).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn five_field_cron_gets_seconds() {
        let s = Schedule::parse("*/30 * * * *", None).unwrap();
        assert_eq!(
            s.next_cron(ts("2026-05-01T10:05:00Z")),
            Some(ts("2026-05-01T10:30:00Z"))
        );
    }

    #[test]
    fn jitter_stays_in_window_and_is_stable() {
        let s = Schedule::parse("0 0 * * * *", Some(Duration::from_secs(600))).unwrap();
        let after = ts("2026-05-01T10:05:00Z");
        let base = ts("2026-05-01T11:00:00Z");
        let mut offsets = std::collections::HashSet::new();
        for id in ["a", "b", "c", "d", "e", "f"] {
            let due = s.next_due(id, after, Duration::ZERO);
            assert!(
                due >= base && due < base + jiff::SignedDuration::from_secs(600),
                "{id}: {due}"
            );
            assert_eq!(due, s.next_due(id, after, Duration::ZERO), "stable");
            offsets.insert(due);
        }
        assert!(offsets.len() > 1, "sources spread over the window");
    }

    #[test]
    fn prose_is_rejected_with_an_example() {
        let e = Schedule::parse("every now and then", None).unwrap_err();
        assert!(e.contains("*/30 * * * *"), "{e}");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_secs(60);
        let m = Duration::from_secs(3600);
        assert_eq!(backoff(1, b, m), b);
        assert_eq!(backoff(3, b, m), Duration::from_secs(240));
        assert_eq!(backoff(30, b, m), m);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("soon").is_err());
    }
}
