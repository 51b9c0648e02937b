//! What happens to a job's items once its request is over: one pure decision.
//!
//! [`decide`] takes the job, what its send returned, the items' failing streak, the clock and
//! the policy, and returns one [`Decision`]: the items that are in, those that failed and why,
//! what comes next for the rest (retry at a time, a read-back, a hold, nothing), whether the
//! journal entry closes, what the outcome does to the error budget and to the lane, and
//! whether the run must stop. It does no I/O and keeps no state; `Work::apply` and the
//! executor carry it out (then one store write). It implements the outcome table of
//! docs/tencent-wire.md.

use super::failure::Reason;
use super::job::{Job, Task};
use super::kinds::{kind_of, OnUnknown};
use super::send::{Answer, SendError};
use crate::store::writer::FailedItem;
use crate::store::Kind;
use crate::tim::client::{Applied, CallError};
use crate::tim::errors::{self, is_daily_group_cap, ErrorClass, DAILY_GROUP_CAP};
use crate::tim::paced::{retry_wait, until_next_day, Waits};
use std::time::{Duration, Instant};

/// The moment a decision is made at: the monotonic clock for waits, the wall clock (unix
/// seconds) for the daily cap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Now, for the waits.
    pub(crate) now: Instant,
    /// Now in unix seconds.
    pub(crate) unix: i64,
}

/// The rules a decision follows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// How long retryable errors may keep failing the same items (`[import] max_retry_secs`).
    pub(crate) max_retry: Duration,
    /// Answers in a row that are not Tencent's before the run stops: one can be a proxy's
    /// hiccup, this many in a row is a target that does not speak Tencent IM.
    pub(crate) protocol_limit: u32,
}

/// What went before this outcome.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Streak {
    /// Since when these items (group messages: their group's) have kept failing with
    /// retryable errors, if they have.
    pub(crate) since: Option<Instant>,
    /// Answers in a row, on any lane, that were not Tencent's.
    pub(crate) protocol_errors: u32,
}

/// A streak of retryable failures that goes on: since when, and the last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failing {
    /// When it started.
    pub(crate) since: Instant,
    /// The last error's code.
    pub(crate) code: Option<i64>,
    /// The last error.
    pub(crate) info: String,
}

/// What comes next for the job's items that are neither done nor failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Nothing: every item is settled (for a read-back: what it did not find goes again).
    Settled,
    /// They go again, not before this time.
    RetryAt(Instant),
    /// The lane holds until this time (the daily new-group cap); they go again then.
    HoldUntil(Instant, &'static str),
    /// The request may have been applied: read the group back before anything else of it.
    ReadBack,
    /// A read-back could not be made: it is tried again at this time.
    ReadBackAt(Instant),
    /// The run stops; the items stay pending in the store for the next run.
    Stop,
}

/// Whether the request's journal entry closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Journal {
    /// The outcome is known.
    Close,
    /// A read-back must settle it first (it survives a crash).
    KeepOpen,
}

/// What the outcome does to the error budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BudgetEffect {
    /// Nothing to count: a rate limit, expired credentials, a hold, a stop.
    None,
    /// A proper answer: the streak of transient failures ends; the failed items count.
    Answered,
    /// No answer for these items, and they failed: they count, the streak goes on.
    Failed,
    /// A transient failure: one more in the streak.
    Transient {
        /// The API's command.
        api: &'static str,
        /// What went wrong.
        what: String,
    },
}

/// What the outcome does to the count of answers in a row that were not Tencent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtocolStreak {
    /// Tencent answered: the count starts again.
    Reset,
    /// One more answer that was not Tencent's.
    Counted,
    /// Nothing was answered either way.
    Unchanged,
}

/// An entry for the audit trail (and a warning in the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    /// `hold`, `read-back`.
    pub(crate) action: &'static str,
    /// What exactly.
    pub(crate) detail: String,
    /// Why.
    pub(crate) reason: String,
}

/// Everything that follows from one outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    /// Items in the target.
    pub(crate) done: Vec<i64>,
    /// Items that failed (for now or for good), each with its reason.
    pub(crate) failed: Vec<FailedItem>,
    /// Items that stay pending in the store with their attempt counted.
    pub(crate) retry: Vec<i64>,
    /// What comes next for the rest.
    pub(crate) next: Next,
    /// Whether the journal entry closes.
    pub(crate) journal: Journal,
    /// The error budget.
    pub(crate) budget: BudgetEffect,
    /// Answers that were not Tencent's.
    pub(crate) protocol: ProtocolStreak,
    /// The lane sends nothing for this long (a rate limit, the daily cap), and the code.
    pub(crate) lane_backoff: Option<(Duration, Option<i64>)>,
    /// The items' streak of retryable failures goes on.
    pub(crate) failing: Option<Failing>,
    /// The retries ran out for group messages: what is queued of the rest of the group fails
    /// as retryable too, after this long.
    pub(crate) give_up_group: Option<Duration>,
    /// Group messages: the newest (SendTime, MsgSeq) the target reported.
    pub(crate) mark: Option<(i64, i64)>,
    /// Group messages: the MsgSeq of each item that went in.
    pub(crate) seqs: Vec<(i64, i64)>,
    /// The run stops, and why.
    pub(crate) stop: Option<String>,
    /// For the audit trail.
    pub(crate) note: Option<Note>,
}

impl Decision {
    fn new() -> Decision {
        Decision {
            done: Vec::new(),
            failed: Vec::new(),
            retry: Vec::new(),
            next: Next::Settled,
            journal: Journal::Close,
            budget: BudgetEffect::None,
            protocol: ProtocolStreak::Unchanged,
            lane_backoff: None,
            failing: None,
            give_up_group: None,
            mark: None,
            seqs: Vec::new(),
            stop: None,
            note: None,
        }
    }

    /// True when items failed because their retries ran out.
    pub(crate) fn gives_up(&self) -> bool {
        self.give_up_group.is_some() || (self.failing.is_some() && self.next == Next::Settled)
    }

    /// How long `job` waits after `error` of `class` (the one rule, [`retry_wait`]); a rate
    /// limit backs the lane off for as long.
    fn wait_after(
        &mut self,
        job: &Job,
        error: &CallError,
        class: ErrorClass,
        clock: Clock,
    ) -> Duration {
        let (api, code) = (error.api(), error.code());
        let wait = retry_wait(api, code, class, job.attempt, Waits::ByClass, clock.unix);
        if class == ErrorClass::RateLimited {
            self.lane_backoff = Some((wait, code));
        }
        wait
    }

    /// Every item of `job` fails for `reason`.
    fn all_failed(job: &Job, reason: &Reason) -> Vec<FailedItem> {
        job.items
            .iter()
            .map(|i| reason.item(i.id, job.kind))
            .collect()
    }
}

/// The decision after `job`'s send returned `result`.
pub(crate) fn decide(
    job: &Job,
    result: Result<Answer, SendError>,
    streak: &Streak,
    clock: Clock,
    policy: &Policy,
) -> Decision {
    match result {
        Ok(answer) => answered(job, answer, streak, clock, policy),
        Err(SendError::Source(reason)) => {
            // Nothing was sent: the items fail (and count against the budget), but nothing
            // was answered either.
            let mut d = Decision::new();
            d.failed = Decision::all_failed(job, &Reason::Unreadable(reason));
            d.budget = BudgetEffect::Failed;
            d
        }
        Err(SendError::Call(error)) => match job.task {
            Task::Import => import_failed(job, &error, streak, clock, policy),
            Task::ReadBack => read_back_failed(job, &error, streak, clock, policy),
        },
    }
}

/// An answer item by item: a read-back settles its batch; an import's items answered with a
/// retryable code go again after that code's wait, until they have kept failing for
/// `max_retry` (then they fail as retryable, and for group messages the rest of the group
/// with them).
fn answered(job: &Job, answer: Answer, streak: &Streak, clock: Clock, policy: &Policy) -> Decision {
    let mut d = Decision::new();
    d.done = answer.done;
    d.failed = answer.failed;
    d.mark = answer.mark;
    d.seqs = answer.seqs;
    d.budget = BudgetEffect::Answered;
    d.protocol = ProtocolStreak::Reset;
    let ran_out = |since: Instant| clock.now.duration_since(since) >= policy.max_retry;
    if job.task == Task::ReadBack {
        // Nothing of the batch was in and the group has kept failing too long: give up.
        if d.done.is_empty() && streak.since.is_some_and(ran_out) {
            d.give_up_group = Some(policy.max_retry);
        }
        return d;
    }
    let Some(&(_, first_code)) = answer.again.first() else {
        return d;
    };
    let since = streak.since.unwrap_or(clock.now);
    let last = "a retryable code for the item".to_string();
    d.failing = Some(Failing {
        since,
        code: Some(first_code),
        info: last.clone(),
    });
    if ran_out(since) {
        let reason = Reason::GaveUp {
            code: Some(first_code),
            last,
            after: policy.max_retry,
        };
        d.failed.extend(
            answer
                .again
                .iter()
                .map(|(id, _)| reason.item(*id, job.kind)),
        );
        d.give_up_group = (job.kind == Kind::GroupMessage).then_some(policy.max_retry);
        return d;
    }
    // They share one retry: the longest wait any of their codes asks for.
    let api = job.kind.api();
    let wait = answer
        .again
        .iter()
        .map(|(_, code)| {
            let class = errors::lookup(*code).class;
            retry_wait(
                api,
                Some(*code),
                class,
                job.attempt,
                Waits::ByClass,
                clock.unix,
            )
        })
        .max()
        .unwrap_or_default();
    d.retry = answer.again.iter().map(|(id, _)| *id).collect();
    d.next = Next::RetryAt(clock.now + wait);
    d
}

/// The error's class, with an answer that is not Tencent's turning fatal once `limit` of
/// them came in a row.
fn class_of(error: &CallError, streak: &Streak, policy: &Policy) -> ErrorClass {
    match error.class() {
        ErrorClass::Protocol if streak.protocol_errors + 1 >= policy.protocol_limit => {
            ErrorClass::Fatal
        }
        class => class,
    }
}

fn protocol_streak(error: &CallError) -> ProtocolStreak {
    match error {
        CallError::Api { .. } => ProtocolStreak::Reset,
        _ if error.class() == ErrorClass::Protocol => ProtocolStreak::Counted,
        _ => ProtocolStreak::Unchanged,
    }
}

/// An import request that failed as a whole.
fn import_failed(
    job: &Job,
    error: &CallError,
    streak: &Streak,
    clock: Clock,
    policy: &Policy,
) -> Decision {
    let mut d = Decision::new();
    d.protocol = protocol_streak(error);
    // A kind that is never sent blind again keeps its journal entry open until a read-back
    // settles it.
    let read_back =
        kind_of(job.kind).unknown() == OnUnknown::ReadBack && error.applied() == Applied::Unknown;
    let class = class_of(error, streak, policy);
    match class {
        ErrorClass::Fatal => {
            d.stop = Some(error.to_string());
            d.retry = job.ids();
            (d.next, d.journal) = if read_back {
                (Next::ReadBack, Journal::KeepOpen)
            } else {
                (Next::Stop, Journal::Close)
            };
        }
        ErrorClass::Item => {
            let reason = Reason::Refused {
                code: error.code(),
                info: error.to_string(),
            };
            d.failed = Decision::all_failed(job, &reason);
            d.budget = BudgetEffect::Answered;
        }
        _ if error
            .code()
            .is_some_and(|c| is_daily_group_cap(error.api(), c)) =>
        {
            let wait = until_next_day(clock.unix);
            d.lane_backoff = Some((wait, error.code()));
            d.retry = job.ids();
            d.next = Next::HoldUntil(clock.now + wait, DAILY_GROUP_CAP);
            d.note = Some(Note {
                action: "hold",
                detail: error.api().command().into(),
                reason: DAILY_GROUP_CAP.into(),
            });
        }
        _ => return retryable(job, error, class, read_back, streak, clock, policy),
    }
    d
}

/// A retryable failure of an import request: the items go again after the error's wait (or
/// are read back first), unless they have kept failing for `max_retry`.
fn retryable(
    job: &Job,
    error: &CallError,
    class: ErrorClass,
    read_back: bool,
    streak: &Streak,
    clock: Clock,
    policy: &Policy,
) -> Decision {
    let mut d = Decision::new();
    d.protocol = protocol_streak(error);
    let wait = d.wait_after(job, error, class, clock);
    let since = streak.since.unwrap_or(clock.now);
    d.failing = Some(Failing {
        since,
        code: error.code(),
        info: error.to_string(),
    });
    // An outcome that may have been applied is read back before anything is given up: the
    // read-back decides.
    if !read_back && clock.now.duration_since(since) >= policy.max_retry {
        let reason = Reason::GaveUp {
            code: error.code(),
            last: error.to_string(),
            after: policy.max_retry,
        };
        d.failed = Decision::all_failed(job, &reason);
        d.budget = BudgetEffect::Failed;
        d.give_up_group = (job.kind == Kind::GroupMessage).then_some(policy.max_retry);
        return d;
    }
    d.retry = job.ids();
    (d.next, d.journal) = if read_back {
        (Next::ReadBack, Journal::KeepOpen)
    } else {
        (Next::RetryAt(clock.now + wait), Journal::Close)
    };
    if matches!(class, ErrorClass::Retry | ErrorClass::Protocol) {
        d.budget = BudgetEffect::Transient {
            api: error.api().command(),
            what: error.to_string(),
        };
    }
    d
}

/// A read-back that failed leaves its batch unresolved, whatever the failure: the journal
/// entry stays, the group's messages wait, and the read-back is tried again after the error's
/// wait (or, when the run must stop, on the next run). Nothing of the batch is sent blind.
fn read_back_failed(
    job: &Job,
    error: &CallError,
    streak: &Streak,
    clock: Clock,
    policy: &Policy,
) -> Decision {
    let mut d = Decision::new();
    d.protocol = protocol_streak(error);
    d.journal = Journal::KeepOpen;
    let class = class_of(error, streak, policy);
    if class == ErrorClass::Fatal {
        d.next = Next::Stop;
        d.stop = Some(format!(
            "{error} (an unanswered group-message batch stays journaled and is read back on the next run)"
        ));
        return d;
    }
    let wait = d.wait_after(job, error, class, clock);
    d.next = Next::ReadBackAt(clock.now + wait);
    d.note = Some(Note {
        action: "read-back",
        detail: format!("group item {}", job.group().unwrap_or_default()),
        reason: format!("{error}: the group waits until its last batch is read back"),
    });
    if !matches!(
        class,
        ErrorClass::RateLimited | ErrorClass::RenewCredentials
    ) {
        d.budget = BudgetEffect::Transient {
            api: error.api().command(),
            what: error.to_string(),
        };
    }
    d
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
