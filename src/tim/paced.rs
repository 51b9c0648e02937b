//! Paced, retried calls. One loop, [`call_paced`], serves every caller that waits for an API's
//! lane, sends, and retries what a retry can fix (read-back verification, reconciliation, the
//! sync applier); what differs between them is a small [`Policy`]. [`wait_after_error`] is the
//! one rule for how long to wait after a failed call and whether its lane backs off (the import
//! engine, which schedules its own retries, uses it too); it honours the error table's minimum
//! waits (70050: a minute) and waits out the daily group cap until the next day. [`Reader`] is the read-back caller:
//! one lane per read API, the [`Policy::READS`] policy and a stop that ends a pass between
//! calls (the pass is resumable from the store).

use crate::tim::api::Api;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors::{is_daily_group_cap, minimum_wait_secs, ErrorClass};
use crate::tim::lane::{retry_delay, Lane, LaneFigures};
use crate::tim::wire::Request;
use crate::timefmt::now_secs;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long retries wait, per error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waits {
    /// Every retryable failure waits the growing [`retry_delay`]; a rate-limit answer backs
    /// the lane off for that same wait.
    Growing,
    /// A rate-limit answer backs the lane off briefly (the server counts per second: the
    /// first retry waits about a second, later ones about two); expired credentials retry
    /// almost at once (the client renews them); transient failures wait the growing delay.
    ByClass,
}

/// What differs between the callers of [`call_paced`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts before the last error is returned; `None`: until answered for good (an answer
    /// or an error no retry can fix).
    pub(crate) max_attempts: Option<u32>,
    /// How long retries wait, and how long a rate-limit answer backs the lane off.
    pub(crate) waits: Waits,
    /// Whether a stop also cuts short a wait (the lane's back-off, a retry's delay); without
    /// it a stop is only seen before each call.
    pub(crate) stop_during_waits: bool,
}

impl Policy {
    /// Read-back: a read that keeps failing is given up (its unit is left unchecked) after
    /// eight attempts.
    pub const READS: Policy = Policy {
        max_attempts: Some(8),
        waits: Waits::Growing,
        stop_during_waits: false,
    };
}

/// Why a paced call did not answer.
#[derive(Debug, thiserror::Error)]
pub enum PacedError {
    /// The operator (or a signal) stopped the caller.
    #[error("stopped")]
    Stopped,
    /// The call failed for good, or kept failing.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// How long to wait before retrying after `err`, which was attempt `attempt` (0 = the first)
/// of a call, under `waits`; when the server rate-limited it, `lane` (if any) backs off for
/// that long, so no other call on the lane leaves before then. `None` when retrying cannot
/// help (the class is neither transient, rate-limit nor expired credentials). The wait is
/// [`retry_wait`]'s.
pub(crate) fn wait_after_error(
    lane: Option<&Lane>,
    err: &CallError,
    attempt: u32,
    waits: Waits,
) -> Option<Duration> {
    let class = err.class();
    if matches!(class, ErrorClass::Item | ErrorClass::Fatal) {
        return None;
    }
    let wait = retry_wait(err.api(), err.code(), class, attempt, waits, now_secs());
    if class == ErrorClass::RateLimited {
        if let Some(lane) = lane {
            lane.back_off(wait, err.code());
        }
    }
    Some(wait)
}

/// The one rule for how long to wait before trying again after a failure of `api` of
/// `class` (with the server's `code`, if it gave one) on attempt `attempt` (0 = the first),
/// under `waits`, at `unix_now`: by class, and never shorter than the error table's minimum
/// for the code (70050: 60 s); the daily group cap (10006 from create_group or import_group)
/// lifts only the next day. A class no retry fixes (item, fatal) gets the growing wait, for
/// the callers that try again anyway (a read-back that must settle its batch).
pub(crate) fn retry_wait(
    api: Api,
    code: Option<i64>,
    class: ErrorClass,
    attempt: u32,
    waits: Waits,
    unix_now: i64,
) -> Duration {
    let wait = match (waits, class) {
        (Waits::ByClass, ErrorClass::RateLimited) => {
            retry_delay(attempt.min(1)) + Duration::from_millis(500)
        }
        (Waits::ByClass, ErrorClass::RenewCredentials) => Duration::from_millis(50),
        // An answer that is not Tencent's waits like a transient failure; the caller decides
        // when it has persisted long enough to stop.
        _ => retry_delay(attempt),
    };
    let floor = match code {
        Some(code) if is_daily_group_cap(api, code) => until_next_day(unix_now),
        Some(code) => Duration::from_secs(minimum_wait_secs(code)),
        None => Duration::ZERO,
    };
    wait.max(floor)
}

/// Time from `now` (unix seconds) to the next midnight in China Standard Time (UTC+8), when a
/// Tencent daily quota is taken to turn (the docs do not say which clock: unconfirmed), plus a
/// minute's margin.
pub(crate) fn until_next_day(now: i64) -> Duration {
    const DAY: i64 = 86_400;
    const CST: i64 = 8 * 3600;
    let next = ((now + CST).div_euclid(DAY) + 1) * DAY - CST;
    Duration::from_secs((next - now + 60).max(60).unsigned_abs())
}

/// Makes `call` on `lane` (unpaced when `None`) until it answers, retrying under `policy`:
/// before each attempt it returns [`PacedError::Stopped`] if `stop` is true, waits out the
/// lane's back-off and takes a permit; a failed attempt waits [`wait_after_error`] and goes
/// again, unless the error cannot be fixed by a retry or it was the policy's last attempt
/// (then the error is returned; the lane does not back off for a last attempt).
pub async fn call_paced<T, F, Fut>(
    lane: Option<&Lane>,
    policy: &Policy,
    stop: &watch::Receiver<bool>,
    mut call: F,
) -> Result<T, PacedError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let mut failed: u32 = 0;
    loop {
        if *stop.borrow() {
            return Err(PacedError::Stopped);
        }
        if let Some(lane) = lane {
            if let Some(wait) = lane.backoff_left() {
                pause(policy, stop, wait).await?;
            }
            lane.permit().await;
            lane.started();
        }
        let started = Instant::now();
        let result = call().await;
        if let Some(lane) = lane {
            lane.finished(started.elapsed());
        }
        let err = match result {
            Ok(answer) => return Ok(answer),
            Err(e) => e,
        };
        let last = policy
            .max_attempts
            .is_some_and(|max| failed.saturating_add(1) >= max);
        let retry = if last {
            None
        } else {
            wait_after_error(lane, &err, failed, policy.waits)
        };
        let Some(wait) = retry else {
            return Err(PacedError::Call(err));
        };
        failed = failed.saturating_add(1);
        tracing::debug!(api = %err.api(), attempt = failed, error = %err, "call retried");
        pause(policy, stop, wait).await?;
    }
}

/// Sleeps `wait`, or until `stop` turns true when the policy lets a stop cut waits short.
async fn pause(
    policy: &Policy,
    stop: &watch::Receiver<bool>,
    wait: Duration,
) -> Result<(), PacedError> {
    if !policy.stop_during_waits {
        tokio::time::sleep(wait).await;
        return Ok(());
    }
    let mut stop = stop.clone();
    let stopped = async move {
        // A closed channel: nobody can stop any more, so the wait runs its course.
        if stop.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = tokio::time::sleep(wait) => Ok(()),
        () = stopped => Err(PacedError::Stopped),
    }
}

/// Paced, retried read-back calls.
pub(crate) struct Reader {
    client: Arc<TimClient>,
    lanes: HashMap<Api, Lane>,
    stop: watch::Receiver<bool>,
}

impl Reader {
    /// A reader over `client` with one lane per API at `rates` (the documented default when
    /// absent), with at most `max_in_flight` calls each.
    pub(crate) fn new(
        client: Arc<TimClient>,
        rates: &HashMap<Api, u32>,
        max_in_flight: usize,
        stop: watch::Receiver<bool>,
    ) -> Reader {
        let lanes = Api::ALL
            .iter()
            .filter(|a| a.is_read_only())
            .map(|a| {
                let rate = rates.get(a).copied().unwrap_or(a.default_rate());
                (*a, Lane::new(rate, 1, max_in_flight))
            })
            .collect();
        Reader {
            client,
            lanes,
            stop,
        }
    }

    /// Whether the pass was asked to stop.
    pub(crate) fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// The lanes' figures, in API order.
    pub(crate) fn lanes(&self) -> Vec<(Api, LaneFigures)> {
        let mut out: Vec<_> = self.lanes.iter().map(|(a, l)| (*a, l.figures())).collect();
        out.sort_by_key(|(a, _)| *a);
        out
    }

    /// Calls `R::API` on its lane under [`Policy::READS`].
    pub(crate) async fn call<R: Request>(&self, req: &R) -> Result<R::Response, PacedError> {
        let lane = self.lanes.get(&R::API);
        call_paced(lane, &Policy::READS, &self.stop, || self.client.call(req)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    /// An error with a Tencent code (60007 rate limit, 70001 expired UserSig, 20004 network
    /// error, 10010 no such group, 60006 bad SDKAppID).
    fn code(code: i64) -> CallError {
        CallError::Api {
            api: Api::GroupMsgGetSimple,
            code,
            info: String::new(),
        }
    }

    /// A fake call answering `script` in order (then Ok), counting its calls.
    struct Script {
        answers: Mutex<Vec<Result<u32, CallError>>>,
        calls: AtomicU32,
    }

    impl Script {
        fn new(mut answers: Vec<Result<u32, CallError>>) -> Script {
            answers.reverse();
            Script {
                answers: Mutex::new(answers),
                calls: AtomicU32::new(0),
            }
        }

        async fn call(&self) -> Result<u32, CallError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let next = self.answers.lock().expect("script lock").pop();
            next.unwrap_or(Ok(n))
        }

        fn calls(&self) -> u32 {
            self.calls.load(Ordering::SeqCst)
        }
    }

    /// Retries that wait 50 ms each (expired credentials under `ByClass`).
    fn quick(max_attempts: Option<u32>) -> Policy {
        Policy {
            max_attempts,
            waits: Waits::ByClass,
            stop_during_waits: false,
        }
    }

    fn never_stopped() -> (watch::Sender<bool>, watch::Receiver<bool>) {
        watch::channel(false)
    }

    #[tokio::test]
    async fn retries_a_retryable_error_then_succeeds() {
        let lane = Lane::new(1000, 1, 4);
        let script = Script::new(vec![Err(code(70001)), Err(code(70001))]);
        let (_tx, stop) = never_stopped();
        let got = call_paced(Some(&lane), &quick(Some(8)), &stop, || script.call()).await;
        assert_eq!(got.ok(), Some(3));
        assert_eq!(script.calls(), 3);
        assert_eq!(lane.figures().calls, 3);
        assert_eq!(lane.figures().rate_limited, 0);
    }

    #[tokio::test]
    async fn gives_up_after_the_policys_attempts() {
        let script = Script::new((0..10).map(|_| Err(code(70001))).collect());
        let (_tx, stop) = never_stopped();
        let got = call_paced(None, &quick(Some(3)), &stop, || script.call()).await;
        assert!(matches!(
            got,
            Err(PacedError::Call(CallError::Api { code: 70001, .. }))
        ));
        assert_eq!(script.calls(), 3);
    }

    #[tokio::test]
    async fn an_error_no_retry_fixes_ends_at_once() {
        let script = Script::new(vec![Err(code(10010))]);
        let (_tx, stop) = never_stopped();
        let got = call_paced(None, &quick(None), &stop, || script.call()).await;
        assert!(matches!(
            got,
            Err(PacedError::Call(CallError::Api { code: 10010, .. }))
        ));
        assert_eq!(script.calls(), 1);
    }

    #[tokio::test]
    async fn a_rate_limit_answer_backs_the_lane_off() {
        let lane = Lane::new(1000, 1, 4);
        let script = Script::new(vec![Err(code(60007))]);
        let (_tx, stop) = never_stopped();
        let started = Instant::now();
        let got = call_paced(Some(&lane), &quick(None), &stop, || script.call()).await;
        assert_eq!(got.ok(), Some(2));
        assert_eq!(lane.figures().rate_limited, 1);
        // ByClass: the first retry of a rate-limited call waits at least 0.75 s.
        assert!(started.elapsed() >= Duration::from_millis(750));
    }

    #[tokio::test]
    async fn a_stop_ends_the_loop_between_calls() {
        let (tx, stop) = watch::channel(false);
        let calls = AtomicU32::new(0);
        let got: Result<u32, _> = call_paced(None, &quick(None), &stop, || {
            calls.fetch_add(1, Ordering::SeqCst);
            tx.send_replace(true);
            async { Err(code(70001)) }
        })
        .await;
        assert!(matches!(got, Err(PacedError::Stopped)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// On tokio's paused clock: a wait that is not cut short moves the clock by the whole wait
    /// (it advances when every task sleeps), one that is cut short does not move it at all,
    /// however slow the machine.
    #[tokio::test(start_paused = true)]
    async fn a_stop_cuts_a_wait_short_when_the_policy_says_so() {
        let lane = Lane::new(1000, 1, 4);
        let (tx, stop) = watch::channel(false);
        let policy = Policy {
            stop_during_waits: true,
            ..quick(None)
        };
        let started = tokio::time::Instant::now();
        let got: Result<u32, _> = call_paced(Some(&lane), &policy, &stop, || {
            tx.send_replace(true);
            async { Err(code(60007)) }
        })
        .await;
        assert!(matches!(got, Err(PacedError::Stopped)));
        // The rate-limit wait (at least 0.75 s) was not waited out; the lane still backs off.
        assert!(started.elapsed() < Duration::from_millis(700));
        assert!(lane.backoff_left().is_some());
    }

    #[test]
    fn the_wait_after_an_error_follows_its_class() {
        let lane = Lane::new(1000, 1, 4);
        let renew = wait_after_error(Some(&lane), &code(70001), 3, Waits::ByClass);
        assert_eq!(renew, Some(Duration::from_millis(50)));
        let limited = wait_after_error(Some(&lane), &code(60007), 5, Waits::ByClass);
        assert!(limited.is_some_and(|w| w <= Duration::from_millis(2000)));
        assert_eq!(lane.figures().backoff_code, Some(60007));
        let growing = wait_after_error(None, &code(70001), 3, Waits::Growing);
        assert!(growing.is_some_and(|w| w >= Duration::from_secs(2)));
        let transient = wait_after_error(None, &code(20004), 3, Waits::ByClass);
        assert!(transient.is_some_and(|w| w >= Duration::from_secs(2)));
        assert_eq!(
            wait_after_error(None, &code(10010), 0, Waits::ByClass),
            None
        );
        assert_eq!(
            wait_after_error(None, &code(60006), 0, Waits::Growing),
            None
        );
        // Only a rate-limit answer backs the lane off.
        assert_eq!(lane.figures().rate_limited, 1);
    }

    #[test]
    fn the_tables_minimum_wait_is_honoured() {
        // 70050 says "retry after 1 minute": no policy, no attempt number waits less, and the
        // lane backs off for the whole minute.
        for waits in [Waits::ByClass, Waits::Growing] {
            for attempt in [0, 1, 5] {
                let lane = Lane::new(1000, 1, 4);
                let wait = wait_after_error(Some(&lane), &code(70050), attempt, waits);
                assert!(
                    wait.is_some_and(|w| w >= Duration::from_secs(60)),
                    "{wait:?}"
                );
                assert!(lane
                    .backoff_left()
                    .is_some_and(|l| l > Duration::from_secs(59)));
                assert_eq!(lane.figures().backoff_code, Some(70050));
            }
        }
        // A code without a minimum keeps its short wait.
        let limited = wait_after_error(None, &code(60007), 0, Waits::ByClass);
        assert!(limited.is_some_and(|w| w < Duration::from_secs(5)));
    }

    #[test]
    fn the_daily_group_cap_waits_for_the_next_day() {
        let capped = CallError::Api {
            api: Api::CreateGroup,
            code: 10006,
            info: String::new(),
        };
        let lane = Lane::new(1000, 1, 4);
        let wait = wait_after_error(Some(&lane), &capped, 0, Waits::ByClass);
        assert!(
            wait.is_some_and(|w| w >= Duration::from_secs(60)),
            "{wait:?}"
        );
        assert_eq!(lane.figures().backoff_code, Some(10006));
        // The same code from import_group_member is a frequency limit: a short backoff.
        let frequency = CallError::Api {
            api: Api::ImportGroupMember,
            code: 10006,
            info: String::new(),
        };
        let wait = wait_after_error(None, &frequency, 0, Waits::ByClass);
        assert!(wait.is_some_and(|w| w < Duration::from_secs(5)), "{wait:?}");
        // 2025-12-01 15:30 UTC = 23:30 CST: half an hour (and the margin) to go; 16:00 UTC is
        // midnight CST: a whole day.
        assert_eq!(
            until_next_day(1_764_603_000),
            Duration::from_secs(30 * 60 + 60)
        );
        assert_eq!(
            until_next_day(1_764_604_800),
            Duration::from_secs(86_400 + 60)
        );
    }
}
