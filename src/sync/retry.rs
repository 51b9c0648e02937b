//! One rule for both directions: how long an event that keeps failing with retryable errors
//! is tried again, and what becomes of it and its scope once that time is up.

use crate::config::{OnFailure, SyncConfig};
use crate::store::sync::{EventState, Settle};
use std::time::Duration;

/// The first retry delay, doubled per failure up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The delay before the next try after `failures` failures in a row (at least 1): 0.5 s
/// doubling to 30 s, drawn from the upper half of that, so scopes that failed together do
/// not retry together.
pub fn backoff(failures: u32) -> Duration {
    let full = FIRST_RETRY
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(MAX_RETRY);
    let half = full / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// `[sync] max_retry_secs` and `on_failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryLimits {
    /// How long an event may keep failing, milliseconds.
    pub max_ms: i64,
    /// What its scope does then.
    pub on_failure: OnFailure,
}

impl Default for RetryLimits {
    /// One hour, then hold.
    fn default() -> Self {
        Self {
            max_ms: 3_600_000,
            on_failure: OnFailure::Hold,
        }
    }
}

impl RetryLimits {
    /// The limits `config` sets.
    pub fn of(config: &SyncConfig) -> Self {
        Self {
            max_ms: i64::try_from(config.max_retry_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            on_failure: config.on_failure,
        }
    }

    /// The fate of event `seq` that failed again with a retryable error at `now_ms`, after
    /// `attempts` attempts and failing since `first_fail_ms` (none: this is its first
    /// failure), and whether its scope goes on: pending again after a backoff while its retry
    /// time lasts (the scope waits), then held (the scope waits for an operator) or failed
    /// (the scope goes on).
    pub fn after_failure(
        &self,
        seq: i64,
        (attempts, first_fail_ms): (u32, Option<i64>),
        now_ms: i64,
        (api, code, info): (String, Option<i64>, String),
    ) -> (Settle, bool) {
        let failing_ms = now_ms - first_fail_ms.unwrap_or(now_ms);
        let mut settle = Settle::new(seq, EventState::Pending, Some(&api), code, info);
        if failing_ms < self.max_ms {
            let pause = backoff(attempts.saturating_add(1)).as_millis();
            settle.retry_at_ms = Some(now_ms.saturating_add(i64::try_from(pause).unwrap_or(0)));
            return (settle, false);
        }
        settle.info = format!(
            "{} (still failing after {} s)",
            settle.info,
            failing_ms / 1000
        );
        let go_on = match self.on_failure {
            OnFailure::Hold => {
                settle.state = EventState::Held;
                false
            }
            OnFailure::Skip => {
                settle.state = EventState::Failed;
                true
            }
        };
        (settle, go_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_backs_off_until_its_time_is_up_then_holds_or_fails() {
        let hold = RetryLimits {
            max_ms: 10_000,
            on_failure: OnFailure::Hold,
        };
        let why = || {
            (
                "send_group_msg".to_string(),
                Some(10002),
                "busy".to_string(),
            )
        };
        let (s, go_on) = hold.after_failure(7, (0, None), 1_000, why());
        assert_eq!((s.state, go_on), (EventState::Pending, false));
        assert!(s.retry_at_ms.is_some_and(|t| (1_250..=1_500).contains(&t)));
        let (s, go_on) = hold.after_failure(7, (5, Some(1_000)), 11_000, why());
        assert_eq!(
            (s.state, go_on, s.retry_at_ms),
            (EventState::Held, false, None)
        );
        assert!(s.info.contains("still failing after 10 s"), "{}", s.info);
        let skip = RetryLimits {
            on_failure: OnFailure::Skip,
            ..hold
        };
        let (s, go_on) = skip.after_failure(7, (5, Some(1_000)), 11_000, why());
        assert_eq!((s.state, go_on), (EventState::Failed, true));
    }

    #[test]
    fn retries_back_off_from_half_a_second_to_thirty() {
        for (failures, full) in [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (40, 30.0)] {
            let d = backoff(failures).as_secs_f64();
            assert!(d >= full / 2.0 && d <= full, "{failures}: {d}");
        }
    }
}
