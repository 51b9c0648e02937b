//! Each robot's rate limit, held in any window, not only on average. A GCRA limiter (governor)
//! with a burst `b` and one more message every `p` lets `b + ⌈T/p⌉ − 1` through in a window of
//! length `T`, so the bursts below are chosen to keep that under the robots' documented limits:
//!
//! | robot | documented | held to |
//! |---|---|---|
//! | WeCom, DingTalk | 20 a minute | burst 5, then one every 4 s: ≤ 19 in any minute |
//! | Feishu | 100 a minute and 5 a second | burst 1, one every 250 ms (≤ 4 a second) and burst 40, one a second (≤ 99 a minute) |
//! | Slack | about 1 a second | burst 1, one a second |
//! | webhook | none | burst 10, one every 200 ms |

use crate::config::alerts::ChannelKind;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

/// One limit: `burst` messages at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Messages that may go at once.
    pub burst: u32,
    /// The time that gives back one message.
    pub every: Duration,
}

/// The limits `kind` is held to (all of them at once).
pub(crate) fn defaults(kind: ChannelKind) -> Vec<Limit> {
    let l = |burst, ms| Limit {
        burst,
        every: Duration::from_millis(ms),
    };
    match kind {
        ChannelKind::Wecom | ChannelKind::Dingtalk => vec![l(5, 4000)],
        ChannelKind::Feishu => vec![l(1, 250), l(40, 1000)],
        ChannelKind::Slack => vec![l(1, 1000)],
        ChannelKind::Webhook => vec![l(10, 200)],
    }
}

/// The limiters of one channel.
pub(crate) struct Limiter {
    gates: Vec<DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

impl Limiter {
    /// Limiters holding to every one of `limits`.
    pub(crate) fn new(limits: &[Limit]) -> Limiter {
        let gates = limits
            .iter()
            .filter_map(|l| {
                let burst = NonZeroU32::new(l.burst.max(1))?;
                let quota = Quota::with_period(l.every.max(Duration::from_millis(1)))?;
                Some(governor::RateLimiter::direct(quota.allow_burst(burst)))
            })
            .collect();
        Limiter {
            gates,
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` if one message may go now (it is counted), else how long until one may.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        let mut wait = Duration::ZERO;
        for gate in &self.gates {
            if let Err(not_until) = gate.check() {
                wait = wait.max(not_until.wait_time_from(self.clock.now()));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_millis(1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most a GCRA with `l` lets through in any window of `window`.
    fn worst(l: Limit, window: Duration) -> u128 {
        u128::from(l.burst) + window.as_millis().div_ceil(l.every.as_millis()) - 1
    }

    #[test]
    fn the_defaults_stay_under_the_documented_limits_in_any_window() {
        let minute = Duration::from_secs(60);
        let second = Duration::from_secs(1);
        for kind in [ChannelKind::Wecom, ChannelKind::Dingtalk] {
            assert!(defaults(kind).iter().all(|l| worst(*l, minute) <= 20));
        }
        let f = defaults(ChannelKind::Feishu);
        assert!(f.iter().any(|l| worst(*l, second) <= 5));
        assert!(f.iter().any(|l| worst(*l, minute) <= 100));
        assert!(defaults(ChannelKind::Slack)
            .iter()
            .all(|l| worst(*l, second) <= 1));
    }

    #[test]
    fn a_burst_goes_then_the_limiter_says_how_long_to_wait() {
        let lim = Limiter::new(&[Limit {
            burst: 3,
            every: Duration::from_secs(10),
        }]);
        for _ in 0..3 {
            assert_eq!(lim.check(), Ok(()));
        }
        let wait = lim.check().unwrap_err();
        assert!(
            wait > Duration::from_secs(5) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
    }
}
