//! The lanes' loop and what happens to one job: journal, send, classify, settle.

use super::control::{Budget, RunState};
use super::feed::Feed;
use super::job::{Job, JobKind};
use super::kinds::{kind_of, Unknown};
use super::limits;
use super::send::{failure, Answer, SendContext, SendError};
use super::work::Work;
use crate::store::records::Sources;
use crate::store::writer::{Op, OpSender, Settled};
use crate::store::Kind;
use crate::tim::client::{Applied, CallError, TimClient};
use crate::tim::errors::ErrorClass;
use crate::tim::lane::{retry_delay, Lane};
use crate::tim::paced::{wait_after_error, Waits};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinSet;

/// How long a lane with nothing to send waits before looking again (work can also be freed by
/// another lane, which wakes it at once).
const IDLE_POLL: Duration = Duration::from_millis(50);

/// Answers in a row that are not Tencent's before the run stops: one can be a proxy's
/// hiccup, this many in a row is a target that does not speak Tencent IM.
const PROTOCOL_LIMIT: u32 = 5;

/// What every lane shares.
pub struct Shared {
    /// The work left.
    pub work: Mutex<Work>,
    /// Woken whenever work may have been freed.
    pub notify: Notify,
    /// The import lanes.
    pub lanes: HashMap<Kind, Lane>,
    /// The read-back lane (group_msg_get_simple).
    pub read_lane: Lane,
    /// The run's state.
    pub state: watch::Sender<RunState>,
    /// The store writer (sending waits while its queue is full: the import's back-pressure).
    pub store: OpSender,
    /// The error budget.
    pub budget: Mutex<Budget>,
    /// The export files.
    pub sources: Sources,
    /// Pages of pending items from the store, and the groups' targets.
    pub feed: Mutex<Feed>,
    /// Group items an earlier export imported and a later one changed: brought up to date.
    pub changed_groups: HashSet<i64>,
    /// The client.
    pub client: Arc<TimClient>,
    /// The next request number.
    pub next_request: AtomicI64,
    /// Answers in a row that were not Tencent's (reset by any proper answer).
    pub protocol_errors: AtomicU32,
    /// How long retryable errors may keep failing the same items (`[import] max_retry_secs`).
    pub max_retry: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the bookkeeping as it was at that moment, which is
    // still the best we know; the panic itself is reported by the task that had it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Locks the work.
    pub fn work(&self) -> MutexGuard<'_, Work> {
        lock(&self.work)
    }

    /// Reads `kind`'s next page of pending items if its window is low; a store that cannot
    /// be read stops the run.
    fn refill(&self, kind: Kind) {
        let result = lock(&self.feed).refill(kind, &self.work, &self.sources);
        if let Err(e) = result {
            self.show_state(RunState::Fatal {
                reason: format!("cannot read what is left to import: {e}"),
            });
        }
    }

    /// Sends `op` to the store writer, waiting while its queue is full; a writer that has
    /// stopped makes the run fatal.
    pub(super) async fn record(&self, op: Op) {
        if self.store.send(op).await.is_err() {
            self.show_state(RunState::Fatal {
                reason: "the store writer stopped".into(),
            });
        }
    }

    /// Records a settlement.
    pub(super) async fn record_settled(&self, settled: Settled) {
        self.record(Op::Settled(settled)).await;
    }

    /// Changes the run state (and records it).
    pub async fn set_state(&self, state: RunState) {
        let record = Op::RunState {
            state: state.word().to_ascii_lowercase(),
            reason: state.reason().to_string(),
        };
        self.show_state(state);
        // A writer that has stopped cannot record it; the state is already shown.
        let _ = self.store.send(record).await;
    }

    /// Changes the run state without recording it, and wakes the lanes.
    pub(super) fn show_state(&self, state: RunState) {
        self.state.send_replace(state);
        self.notify.notify_waiters();
    }

    /// Pauses because of the error budget, unless already paused or stopping.
    async fn budget_pause(&self, reason: String) {
        if self.state.borrow().is_running() {
            tracing::warn!(%reason, "pausing");
            self.record(Op::Audit {
                actor: "engine".into(),
                action: "pause".into(),
                detail: String::new(),
                reason: reason.clone(),
            })
            .await;
            self.set_state(RunState::Paused {
                reason,
                budget: true,
            })
            .await;
        }
    }

    fn lane(&self, job: &Job) -> Option<&Lane> {
        match job.what {
            JobKind::ReadBack => Some(&self.read_lane),
            JobKind::Import => self.lanes.get(&job.kind),
        }
    }
}

/// Runs the lane of `kind` until its work is done or the run stops.
pub async fn run_lane(shared: Arc<Shared>, kind: Kind) {
    let mut state = shared.state.subscribe();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let Some(lane) = shared.lanes.get(&kind) else {
        return;
    };
    loop {
        while in_flight.try_join_next().is_some() {}
        let now_state = state.borrow_and_update().clone();
        if now_state.is_over() || !now_state.is_running() {
            if now_state.is_over() && in_flight.is_empty() {
                return;
            }
            tokio::select! {
                _ = state.changed() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            }
            continue;
        }
        if shared.work().finished(kind) && in_flight.is_empty() {
            return;
        }
        if in_flight.len() >= lane.target_in_flight() {
            in_flight.join_next().await;
            continue;
        }
        if let Some(wait) = lane.backoff_left() {
            // A backoff can be long (a day's group cap): a stop must still be seen.
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = state.changed() => {}
            }
            continue;
        }
        let notified = shared.notify.notified();
        shared.refill(kind);
        let job = shared.work().next(kind, Instant::now());
        let Some(job) = job else {
            tokio::select! {
                _ = notified => {}
                _ = state.changed() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        };
        match shared.lane(&job) {
            Some(l) => l.permit().await,
            None => continue,
        }
        in_flight.spawn(execute(Arc::clone(&shared), job));
    }
}

/// Journals, sends and settles one job.
async fn execute(shared: Arc<Shared>, job: Job) {
    let Some(lane) = shared.lane(&job) else {
        return;
    };
    let kind = kind_of(job.kind);
    let group_kind = matches!(job.kind, Kind::GroupMessage | Kind::GroupMember);
    let target = match job.group.filter(|_| group_kind) {
        Some(g) => match lock(&shared.feed).target(g, &shared.sources) {
            Ok(t) => t,
            Err(e) => {
                // Its items stay pending in the store; the next run sends them.
                shared.show_state(RunState::Fatal {
                    reason: format!("cannot read a group's target: {e}"),
                });
                return;
            }
        },
        None => None,
    };
    let journal = match job.what {
        JobKind::ReadBack => job.journal,
        JobKind::Import => {
            let request = shared.next_request.fetch_add(1, Ordering::Relaxed);
            // A kind read back after an unknown outcome must have its intent on disk before
            // the request leaves, so a crash can be resolved by reading back.
            let durable = kind.unknown() == Unknown::ReadBack;
            let (ack, acked) = oneshot::channel();
            shared
                .record(Op::Sent {
                    request,
                    kind: job.kind,
                    group: job.group,
                    items: job.ids(),
                    ack: durable.then_some(ack),
                })
                .await;
            if durable && acked.await.is_err() {
                shared
                    .set_state(RunState::Fatal {
                        reason: "the store writer stopped before recording a request".into(),
                    })
                    .await;
                return;
            }
            Some(request)
        }
    };
    lane.started();
    let started = Instant::now();
    let ctx = SendContext {
        client: &shared.client,
        sources: &shared.sources,
        group: target.as_ref(),
        changed_groups: &shared.changed_groups,
    };
    let result = match job.what {
        JobKind::Import => kind.send(&ctx, &job).await,
        JobKind::ReadBack => kind.read_back(&ctx, &job).await,
    };
    lane.finished(started.elapsed());
    match result {
        Ok(answer) => answered(&shared, &job, journal, answer).await,
        Err(SendError::Source(reason)) => {
            let failed = job
                .items
                .iter()
                .map(|i| failure(i.id, job.kind, None, reason.clone()))
                .collect();
            answered(
                &shared,
                &job,
                journal,
                Answer {
                    failed,
                    ..Answer::default()
                },
            )
            .await;
        }
        Err(SendError::Call(error)) => call_failed(&shared, lane, &job, journal, &error).await,
    }
    shared.notify.notify_waiters();
}

async fn answered(shared: &Shared, job: &Job, journal: Option<i64>, mut answer: Answer) {
    lock(&shared.budget).succeeded();
    shared.protocol_errors.store(0, Ordering::Relaxed);
    let now = Instant::now();
    let mut job = job.clone();
    let (decided, gave_up) = {
        let mut work = shared.work();
        let gave_up = limits::answered(&mut work, &mut job, &mut answer, now, shared.max_retry);
        let retry_at = (!answer.again.is_empty()).then(|| now + retry_delay(job.attempt));
        match job.what {
            JobKind::ReadBack => work.resolved(&job, &answer.done, &answer.failed),
            JobKind::Import => work.settle(&job, &answer.done, &answer.failed, retry_at),
        }
        let mut gave_up = gave_up;
        if let Some(id) = job.group.filter(|_| job.what == JobKind::ReadBack) {
            gave_up.extend(limits::after_read_back(
                &mut work,
                id,
                now,
                shared.max_retry,
            ));
        }
        (work.take_decided(), gave_up)
    };
    let job = &job;
    if !gave_up.is_empty() {
        shared
            .record_settled(Settled {
                kind: Some(job.kind),
                failed: gave_up,
                ..Settled::default()
            })
            .await;
    }
    let over_budget = lock(&shared.budget).failed(&answer.failed);
    shared
        .record_settled(Settled {
            request: journal,
            kind: Some(job.kind),
            done: answer.done,
            failed: answer.failed,
            retry: answer.again,
            // Only a kind that reads back (group messages) reports a mark, for its group.
            mark: job.group.zip(answer.mark).map(|(g, (t, s))| (g, t, s)),
        })
        .await;
    for settled in decided {
        shared.record_settled(settled).await;
    }
    if let Some(reason) = over_budget {
        shared.budget_pause(reason).await;
    }
}

async fn call_failed(
    shared: &Shared,
    lane: &Lane,
    job: &Job,
    journal: Option<i64>,
    error: &CallError,
) {
    tracing::debug!(api = %error.api(), %error, "call failed");
    let mut class = error.class();
    if class == ErrorClass::Protocol
        && shared.protocol_errors.fetch_add(1, Ordering::Relaxed) + 1 >= PROTOCOL_LIMIT
    {
        class = ErrorClass::Fatal;
    }
    if job.what == JobKind::ReadBack {
        return read_back_failed(shared, lane, job, error, class).await;
    }
    // A kind that reads back keeps its journal entry open until a read-back settles it.
    let keep_journal =
        kind_of(job.kind).unknown() == Unknown::ReadBack && error.applied() == Applied::Unknown;
    match class {
        ErrorClass::Fatal => {
            if keep_journal {
                shared.work().unknown_outcome(job, journal);
            }
            back_to_pending(shared, job, journal, keep_journal).await;
            shared
                .set_state(RunState::Fatal {
                    reason: error.to_string(),
                })
                .await;
        }
        ErrorClass::Item => {
            let failed = job
                .items
                .iter()
                .map(|i| failure(i.id, job.kind, error.code(), error.to_string()))
                .collect();
            answered(
                shared,
                job,
                journal,
                Answer {
                    failed,
                    ..Answer::default()
                },
            )
            .await;
        }
        ErrorClass::RateLimited
        | ErrorClass::RenewCredentials
        | ErrorClass::Retry
        | ErrorClass::Protocol => {
            retry_later(shared, lane, job, journal, error, keep_journal).await;
        }
    }
}

/// Records `job`'s items as pending again; its journal entry closes unless a read-back must
/// settle it first (`keep_journal`).
async fn back_to_pending(shared: &Shared, job: &Job, journal: Option<i64>, keep_journal: bool) {
    shared
        .record_settled(Settled {
            request: if keep_journal { None } else { journal },
            kind: Some(job.kind),
            retry: job.ids(),
            ..Settled::default()
        })
        .await;
}

/// A retryable failure of an import request: the job waits its turn again (or, when its
/// outcome is unknown and its kind reads back, waits for the read-back), unless the daily
/// group cap holds the lane or its retries ran out (`[import] max_retry_secs`).
async fn retry_later(
    shared: &Shared,
    lane: &Lane,
    job: &Job,
    journal: Option<i64>,
    error: &CallError,
    keep_journal: bool,
) {
    if limits::held_for_the_day(shared, lane, job, journal, error).await {
        return;
    }
    let now = Instant::now();
    // Always a wait for these retryable classes (a rate limit also backs the lane off).
    let wait = wait_after_error(Some(lane), error, job.attempt, Waits::ByClass).unwrap_or_default();
    let Some(job) = limits::keep_trying(shared, job, journal, error, now, keep_journal).await
    else {
        return;
    };
    {
        let mut work = shared.work();
        if keep_journal {
            work.unknown_outcome(&job, journal);
        } else {
            work.settle(&job, &[], &[], Some(now + wait));
        }
    }
    back_to_pending(shared, &job, journal, keep_journal).await;
    if matches!(error.class(), ErrorClass::Retry | ErrorClass::Protocol) {
        transient(shared, error).await;
    }
}

/// A read-back that failed leaves its batch unresolved, whatever the failure: the journal
/// entry stays, the group's messages wait, and the read-back is tried again later (or, when
/// the run must stop, on the next run). Nothing of the batch is sent again blind.
async fn read_back_failed(
    shared: &Shared,
    lane: &Lane,
    job: &Job,
    error: &CallError,
    class: ErrorClass,
) {
    tracing::warn!(%error, group = ?job.group, "read-back failed; the batch stays unresolved");
    if class == ErrorClass::Fatal {
        shared
            .set_state(RunState::Fatal {
                reason: format!("{error} (an unanswered group-message batch stays journaled and is read back on the next run)"),
            })
            .await;
        return;
    }
    let wait = wait_after_error(Some(lane), error, job.attempt, Waits::ByClass)
        .unwrap_or_else(|| retry_delay(job.attempt));
    shared.work().read_back_later(job, Instant::now() + wait);
    shared
        .record(Op::Audit {
            actor: "engine".into(),
            action: "read-back".into(),
            detail: format!("group item {}", job.group.unwrap_or_default()),
            reason: format!("{error}: the group waits until its last batch is read back"),
        })
        .await;
    if class != ErrorClass::RateLimited && class != ErrorClass::RenewCredentials {
        transient(shared, error).await;
    }
}

/// Counts a transient failure against the error budget, pausing the run when it is spent.
async fn transient(shared: &Shared, error: &CallError) {
    let api = error.api().command();
    let over = lock(&shared.budget).transient(api, &error.to_string());
    if let Some(reason) = over {
        shared.budget_pause(reason).await;
    }
}
