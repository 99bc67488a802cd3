//! Cadence windows: when a client's next digest is due, in the client's own
//! time zone, DST-correct (jiff), and quiet hours.
//!
//! A daily or weekly window ends at a scheduled local send time ("slot").
//! The window that is due is the latest slot not after now, if the client's
//! last window ended before it; missed slots (the service was down) fold into
//! one window rather than a burst of digests.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use crate::model::{Cadence, ClientProfile, QuietHours};

/// How far back a client with no history looks, for immediate cadence.
const FIRST_IMMEDIATE_LOOKBACK_HOURS: i64 = 24;

/// A window of events for one digest: `(start, end]` by event update time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    pub kind: WindowKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The client's own cadence.
    Regular,
    /// Sent ahead of the cadence because an event is severe enough.
    Immediate,
}

impl WindowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Regular => "regular",
            WindowKind::Immediate => "immediate",
        }
    }
}

/// True when a local time falls inside quiet hours (`start` inclusive,
/// `end` exclusive; wraps past midnight when `start` > `end`).
pub fn in_quiet_hours(q: &QuietHours, t: Time) -> bool {
    if q.start <= q.end {
        q.start <= t && t < q.end
    } else {
        t >= q.start || t < q.end
    }
}

fn zone(client: &ClientProfile) -> TimeZone {
    // Profiles are validated at load; UTC keeps a hand-built profile usable.
    TimeZone::get(&client.timezone).unwrap_or(TimeZone::UTC)
}

/// When the client's quiet hours end, if `now` is inside them.
pub fn quiet_until(client: &ClientProfile, now: Timestamp) -> Option<Timestamp> {
    let q = client.quiet_hours?;
    let tz = zone(client);
    let local = now.to_zoned(tz.clone());
    if !in_quiet_hours(&q, local.time()) {
        return None;
    }
    let mut date = local.date();
    if local.time() >= q.end {
        date = date.tomorrow().ok()?;
    }
    at_local(&tz, date, q.end)
}

/// The instant a local date and time happen. In a DST gap the clock jumps,
/// so 02:30 on a spring-forward night is sent at 03:30; in a fold, the
/// first 01:30 wins (jiff's "compatible" rule).
fn at_local(tz: &TimeZone, date: Date, t: Time) -> Option<Timestamp> {
    date.to_datetime(t)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The latest scheduled send instant not after `now` (daily and weekly).
pub fn latest_slot(client: &ClientProfile, now: Timestamp) -> Option<Timestamp> {
    let t = client.send_time?;
    let tz = zone(client);
    let mut date = now.to_zoned(tz.clone()).date();
    for _ in 0..9 {
        let day_ok = match client.cadence {
            Cadence::Immediate => return None,
            Cadence::Daily => true,
            Cadence::Weekly => {
                Some(date.weekday().to_monday_one_offset()) == client.send_day.or(Some(1))
            }
        };
        if day_ok
            && let Some(slot) = at_local(&tz, date, t)
            && slot <= now
        {
            return Some(slot);
        }
        date = date.yesterday().ok()?;
    }
    None
}

/// The slot before `slot`.
pub fn previous_slot(client: &ClientProfile, slot: Timestamp) -> Option<Timestamp> {
    latest_slot(client, slot.checked_sub(Span::new().seconds(1)).ok()?)
}

/// The client's own window due at `now`, given where its last one ended.
/// `None` when nothing is due (or, for immediate cadence, during quiet hours).
pub fn due_window(
    client: &ClientProfile,
    last_end: Option<Timestamp>,
    now: Timestamp,
) -> Option<Window> {
    match client.cadence {
        Cadence::Immediate => {
            if quiet_until(client, now).is_some() {
                return None;
            }
            let start = last_end.unwrap_or_else(|| {
                now.checked_sub(Span::new().hours(FIRST_IMMEDIATE_LOOKBACK_HOURS))
                    .unwrap_or(now)
            });
            (start < now).then_some(Window {
                start,
                end: now,
                kind: WindowKind::Regular,
            })
        }
        Cadence::Daily | Cadence::Weekly => {
            let slot = latest_slot(client, now)?;
            if last_end.is_some_and(|l| l >= slot) {
                return None;
            }
            let start = last_end
                .or_else(|| previous_slot(client, slot))
                .unwrap_or(slot);
            Some(Window {
                start,
                end: slot,
                kind: WindowKind::Regular,
            })
        }
    }
}

/// Where a preview or a first digest starts when the client has no history:
/// one period back from now.
pub fn default_start(client: &ClientProfile, now: Timestamp) -> Timestamp {
    match client.cadence {
        Cadence::Immediate => now
            .checked_sub(Span::new().hours(FIRST_IMMEDIATE_LOOKBACK_HOURS))
            .unwrap_or(now),
        _ => latest_slot(client, now)
            .and_then(|s| previous_slot(client, s).or(Some(s)))
            .unwrap_or(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(tz: &str, cadence: Cadence, time: &str) -> ClientProfile {
        ClientProfile {
            id: "c".into(),
            timezone: tz.into(),
            cadence,
            send_time: Some(time.parse().unwrap()),
            send_day: Some(1),
            ..Default::default()
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn daily_slot_is_local_send_time() {
        let c = client("America/New_York", Cadence::Daily, "08:00");
        // 12:59 UTC = 07:59 EST: the slot is yesterday's 08:00 EST.
        assert_eq!(
            latest_slot(&c, ts("2026-01-15T12:59:00Z")),
            Some(ts("2026-01-14T13:00:00Z"))
        );
        assert_eq!(
            latest_slot(&c, ts("2026-01-15T13:00:00Z")),
            Some(ts("2026-01-15T13:00:00Z"))
        );
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours {
            start: "22:00".parse().unwrap(),
            end: "07:00".parse().unwrap(),
        };
        assert!(in_quiet_hours(&q, "23:30".parse().unwrap()));
        assert!(in_quiet_hours(&q, "06:59".parse().unwrap()));
        assert!(!in_quiet_hours(&q, "07:00".parse().unwrap()));
        assert!(!in_quiet_hours(&q, "12:00".parse().unwrap()));
    }
}
