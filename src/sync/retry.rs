//! One rule for both directions: how long an event that keeps failing with retryable errors
//! is tried again, and what becomes of it and its scope once that time is up.

use crate::config::{OnFailure, SyncConfig};
use crate::store::sync::{EventState, Settle};
use crate::tim::lane::retry_delay;

/// `[sync] max_retry_secs` and `on_failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// How long an event may keep failing, milliseconds.
    pub(crate) max_ms: i64,
    /// What its scope does then.
    pub(crate) on_failure: OnFailure,
}

impl Default for RetryPolicy {
    /// One hour, then hold.
    fn default() -> Self {
        Self {
            max_ms: 3_600_000,
            on_failure: OnFailure::Hold,
        }
    }
}

impl RetryPolicy {
    /// The policy `config` sets.
    pub(crate) fn of(config: &SyncConfig) -> Self {
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
    pub(crate) fn after_failure(
        &self,
        seq: i64,
        (attempts, first_fail_ms): (u32, Option<i64>),
        now_ms: i64,
        (api, code, info): (String, Option<i64>, String),
    ) -> (Settle, bool) {
        let failing_ms = now_ms - first_fail_ms.unwrap_or(now_ms);
        let mut settle = Settle::new(seq, EventState::Pending, Some(&api), code, info);
        if failing_ms < self.max_ms {
            let pause = retry_delay(attempts).as_millis();
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
        let hold = RetryPolicy {
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
        let skip = RetryPolicy {
            on_failure: OnFailure::Skip,
            ..hold
        };
        let (s, go_on) = skip.after_failure(7, (5, Some(1_000)), 11_000, why());
        assert_eq!((s.state, go_on), (EventState::Failed, true));
    }
}
