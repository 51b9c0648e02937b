//! The lanes' loop and what happens to one job: journal, send, decide ([`super::decide`]),
//! apply (the work, the budget, the lane, one store write).

use super::control::{Budget, RunState};
use super::decide::{decide, Clock, Decision, Journal, Policy, ProtocolStreak, Streak};
use super::feed::Feed;
use super::job::{Job, Task};
use super::kinds::{kind_of, OnUnknown};
use super::send::{SendContext, SendError};
use super::work::Work;
use crate::store::records::Sources;
use crate::store::writer::{Op, OpSender, Settled};
use crate::store::Kind;
use crate::tim::client::TimClient;
use crate::tim::lane::Lane;
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
pub(crate) const PROTOCOL_LIMIT: u32 = 5;

/// What every lane shares.
pub(crate) struct Shared {
    /// The work left.
    pub(crate) work: Mutex<Work>,
    /// Woken whenever work may have been freed.
    pub(crate) notify: Notify,
    /// The import lanes.
    pub(crate) lanes: HashMap<Kind, Lane>,
    /// The read-back lane (group_msg_get_simple).
    pub(crate) read_lane: Lane,
    /// The run's state.
    pub(crate) state: watch::Sender<RunState>,
    /// The store writer (sending waits while its queue is full: the import's back-pressure).
    pub(crate) store: OpSender,
    /// The error budget.
    pub(crate) budget: Mutex<Budget>,
    /// The export files.
    pub(crate) sources: Sources,
    /// Pages of pending items from the store, and the groups' targets.
    pub(crate) feed: Mutex<Feed>,
    /// Group items an earlier export imported and a later one changed: brought up to date.
    pub(crate) changed_groups: HashSet<i64>,
    /// The client.
    pub(crate) client: Arc<TimClient>,
    /// The next request number.
    pub(crate) next_request: AtomicI64,
    /// Answers in a row that were not Tencent's (reset by any proper answer).
    pub(crate) protocol_errors: AtomicU32,
    /// The rules outcomes are decided by (`[import] max_retry_secs`, the protocol limit).
    pub(crate) policy: Policy,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the bookkeeping as it was at that moment, which is
    // still the best we know; the panic itself is reported by the task that had it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Locks the work.
    pub(crate) fn work(&self) -> MutexGuard<'_, Work> {
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

    /// Changes the run state (and records it).
    pub(crate) async fn set_state(&self, state: RunState) {
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
        match job.task {
            Task::ReadBack => Some(&self.read_lane),
            Task::Import => self.lanes.get(&job.kind),
        }
    }
}

/// Runs the lane of `kind` until its work is done or the run stops.
pub(crate) async fn run_lane(shared: Arc<Shared>, kind: Kind) {
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

/// Journals, sends, decides and applies one job: send → [`decide`] → [`Shared::apply`].
async fn execute(shared: Arc<Shared>, job: Job) {
    let Some(lane) = shared.lane(&job) else {
        return;
    };
    let kind = kind_of(job.kind);
    let target = match job.group() {
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
    let journal = match job.task {
        Task::ReadBack => job.journal,
        Task::Import => {
            let Some(request) = shared.journal(&job).await else {
                return;
            };
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
    let result = match job.task {
        Task::Import => kind.send(&ctx, &job).await,
        Task::ReadBack => kind.read_back(&ctx, &job).await,
    };
    lane.finished(started.elapsed());
    if let Err(SendError::Call(error)) = &result {
        tracing::debug!(api = %error.api(), %error, "call failed");
    }
    let streak = Streak {
        since: shared.work().streak(&job),
        protocol_errors: shared.protocol_errors.load(Ordering::Relaxed),
    };
    let clock = Clock {
        now: Instant::now(),
        unix: crate::timefmt::now_secs(),
    };
    let decision = decide(&job, result, &streak, clock, &shared.policy);
    shared.apply(lane, &job, journal, decision).await;
    shared.notify.notify_waiters();
}

impl Shared {
    /// Journals an import job before it is sent: its request number, or `None` when the run
    /// must stop. A kind read back after an unknown outcome must have its intent on disk before
    /// the request leaves, so a crash can be resolved by reading back.
    async fn journal(&self, job: &Job) -> Option<i64> {
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        let durable = kind_of(job.kind).unknown() == OnUnknown::ReadBack;
        let (ack, acked) = oneshot::channel();
        self.record(Op::Sent {
            request,
            kind: job.kind,
            group: job.group(),
            items: job.ids(),
            ack: durable.then_some(ack),
        })
        .await;
        if durable && acked.await.is_err() {
            self.set_state(RunState::Fatal {
                reason: "the store writer stopped before recording a request".into(),
            })
            .await;
            return None;
        }
        Some(request)
    }

    /// Carries out `decision` about `job` (journaled as `journal`): the lane, the protocol
    /// count, the work ([`Work::apply`]), the error budget, then one store write, then the
    /// run's state when it must stop or pause.
    async fn apply(&self, lane: &Lane, job: &Job, journal: Option<i64>, decision: Decision) {
        if let Some((wait, code)) = decision.lane_backoff {
            lane.back_off(wait, code);
        }
        match decision.protocol {
            ProtocolStreak::Reset => self.protocol_errors.store(0, Ordering::Relaxed),
            ProtocolStreak::Counted => {
                self.protocol_errors.fetch_add(1, Ordering::Relaxed);
            }
            ProtocolStreak::Unchanged => {}
        }
        let (rest, decided) = {
            let mut work = self.work();
            let rest = work.apply(job, &decision, journal);
            (rest, work.take_decided())
        };
        let over_budget = lock(&self.budget).count(&decision.budget, &decision.failed);
        if decision.gives_up() {
            let items = decision.failed.len() + rest.len();
            let api = job.kind.api().command();
            tracing::warn!(api, items, "retries ran out: failed as retryable");
        }
        let mut ops = Vec::new();
        if let Some(note) = decision.note {
            tracing::warn!(action = note.action, detail = %note.detail, "{}", note.reason);
            ops.push(Op::Audit {
                actor: "engine".into(),
                action: note.action.into(),
                detail: note.detail,
                reason: note.reason,
            });
        }
        let mut failed = decision.failed;
        failed.extend(rest);
        let settled = Settled {
            request: journal.filter(|_| decision.journal == Journal::Close),
            kind: Some(job.kind),
            done: decision.done,
            failed,
            retry: decision.retry,
            mark: job.group().zip(decision.mark).map(|(g, (t, s))| (g, t, s)),
            seqs: decision.seqs,
        };
        if !settled.is_empty() {
            ops.push(Op::Settled(settled));
        }
        ops.extend(decided.into_iter().map(Op::Settled));
        if !ops.is_empty() {
            self.record(Op::All(ops)).await;
        }
        if let Some(reason) = decision.stop {
            self.set_state(RunState::Fatal { reason }).await;
        }
        if let Some(reason) = over_budget {
            self.budget_pause(reason).await;
        }
    }
}
