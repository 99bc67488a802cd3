//! Spending limits: requests per clock hour and tokens per day (UTC).
//!
//! A [`Budget`] starts from what the store says was already spent this hour
//! and today (the pipeline reads it at the start of each pass; a one-off
//! `extract FILE` starts from zero) and counts what the pass spends, shared
//! by the requests in flight. A request is refused before it is sent once a
//! limit is reached, so the limit holds to within the requests in flight.

use std::sync::Mutex;

use super::Failure;

/// What has been spent, and on what.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Used {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The limits and what counts against them.
#[derive(Debug)]
pub struct Budget {
    max_requests_per_hour: u64,
    max_tokens_per_day: u64,
    spent: Mutex<(u64, u64)>,
}

impl Budget {
    /// `requests_this_hour` and `tokens_today` already spent before this pass.
    pub fn new(config: &super::Config, requests_this_hour: u64, tokens_today: u64) -> Budget {
        Budget {
            max_requests_per_hour: config.max_requests_per_hour,
            max_tokens_per_day: config.max_tokens_per_day,
            spent: Mutex::new((requests_this_hour, tokens_today)),
        }
    }

    /// Counts one request, or says which limit stops it.
    pub fn start(&self) -> Result<(), Failure> {
        let mut s = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        if s.1 >= self.max_tokens_per_day {
            return Err(Failure::Budget {
                used: s.1,
                max: self.max_tokens_per_day,
            });
        }
        if s.0 >= self.max_requests_per_hour {
            return Err(Failure::HourlyLimit {
                max: self.max_requests_per_hour,
            });
        }
        s.0 += 1;
        Ok(())
    }

    /// Counts the tokens a reply reported.
    pub fn spent(&self, tokens: u64) {
        let mut s = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        s.1 += tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_budget_stops_requests_once_spent() {
        let cfg = super::super::Config {
            max_tokens_per_day: 300,
            ..Default::default()
        };
        let b = Budget::new(&cfg, 0, 0);
        b.start().unwrap();
        b.spent(150);
        b.start().unwrap();
        b.spent(150);
        assert_eq!(
            b.start(),
            Err(Failure::Budget {
                used: 300,
                max: 300
            })
        );
    }

    #[test]
    fn the_hourly_limit_counts_what_was_spent_before() {
        let cfg = super::super::Config {
            max_requests_per_hour: 2,
            ..Default::default()
        };
        let b = Budget::new(&cfg, 1, 0);
        b.start().unwrap();
        assert_eq!(b.start(), Err(Failure::HourlyLimit { max: 2 }));
    }
}
