//! The import step: load what is left from the store, run one lane per API, obey commands,
//! and end with what happened.

use super::control::{Budget, Command, RunState};
use super::decide::Policy;
use super::error::EngineError;
use super::execute::{run_lane, Shared, PROTOCOL_LIMIT};
use super::feed::{Feed, PAGE};
use super::kinds::{kind_of, OnUnknown};
use super::work::{batch_limit, Work};
use crate::config::{BudgetConfig, Runbook};
use crate::store::queries::{self, FailureFilter, PendingItem};
use crate::store::records::Sources;
use crate::store::writer::{Committed, Op, Settled, Writer};
use crate::store::{self, ItemState, Kind};
use crate::tim::api::Api;
use crate::tim::client::TimClient;
use crate::tim::errors::{is_daily_group_cap, DAILY_GROUP_CAP};
use crate::tim::lane::{Lane, LaneFigures};
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU32};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};

/// How the import lanes are set up.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// Calls per second per lane (the documented limit unless overridden).
    pub(crate) rates: HashMap<Kind, u32>,
    /// Calls per second for read-backs.
    pub(crate) read_rate: u32,
    /// Items per call per lane.
    pub(crate) batches: HashMap<Kind, usize>,
    /// Fewest requests in flight per lane.
    pub(crate) min_in_flight: usize,
    /// Most requests in flight per lane.
    pub(crate) max_in_flight: usize,
    /// When to pause by itself.
    pub(crate) budget: BudgetConfig,
    /// Whether imported group messages update the members' conversation lists
    /// (`RecentContactFlag: 1`, for the group types that accept it).
    pub(crate) update_conversations: bool,
    /// How long retryable errors may keep failing the same items before they fail as
    /// retryable (`[import] max_retry_secs`).
    pub(crate) max_retry: Duration,
    /// Kinds left pending by this run (account deletions not confirmed).
    pub(crate) held: Vec<Kind>,
    /// Pending items read from the store at a time, per kind (a kind reads its next page when
    /// fewer than half a page are left in its window).
    pub page: usize,
}

impl ImportSettings {
    /// The settings a runbook asks for.
    pub fn from_runbook(rb: &Runbook) -> ImportSettings {
        let rate = |api: Api| rb.rates.get(&api).copied().unwrap_or(api.default_rate());
        ImportSettings {
            rates: Kind::ALL.into_iter().map(|k| (k, rate(k.api()))).collect(),
            read_rate: rate(Api::GroupMsgGetSimple),
            batches: Kind::ALL
                .into_iter()
                .map(|k| (k, batch_limit(k, rb.batches.get(&k.api()).copied())))
                .collect(),
            min_in_flight: rb.min_in_flight,
            max_in_flight: rb.max_in_flight,
            budget: rb.budget,
            update_conversations: rb.update_conversations,
            max_retry: Duration::from_secs(rb.max_retry_secs),
            held: Vec::new(),
            page: PAGE,
        }
    }
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every item imported.
    Complete,
    /// Every item settled, some failed (see `cutover errors`).
    CompleteWithFailures(u64),
    /// Stopped by an operator or a signal; the rest resumes next time.
    Cancelled(String),
    /// The error budget paused it and it was then stopped.
    BudgetExhausted(String),
    /// It could not go on.
    Fatal(String),
}

/// A handle to steer a running import and watch it.
#[derive(Clone)]
pub struct ImportHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// The run state.
    pub state: watch::Receiver<RunState>,
    /// Counts as committed.
    pub committed: watch::Receiver<Committed>,
    shared: Arc<Shared>,
}

impl ImportHandle {
    /// Sends a command (ignored once the import is over).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Every lane's figures, in kind order.
    pub fn lanes(&self) -> Vec<(Kind, LaneFigures)> {
        let mut out: Vec<_> = self
            .shared
            .lanes
            .iter()
            .map(|(k, l)| (*k, l.figures()))
            .collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }

    /// Lanes held back for longer than a retry, and why (10006 on import_group: the daily
    /// new-group cap), for the status line.
    pub fn holds(&self) -> Vec<(Kind, &'static str)> {
        self.lanes()
            .into_iter()
            .filter(|(k, f)| {
                f.backoff_code
                    .is_some_and(|c| is_daily_group_cap(k.api(), c))
            })
            .map(|(k, _)| (k, DAILY_GROUP_CAP))
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing runs yet that could have panicked while holding it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An import ready to run.
pub struct Import {
    shared: Arc<Shared>,
    writer: Writer,
    commands: mpsc::UnboundedReceiver<Command>,
    handle: ImportHandle,
    /// Journal entries left by the last run that only need closing; sent when the run starts
    /// (sending may wait for the writer, which a synchronous `prepare` must not).
    stale: Vec<Settled>,
}

/// The work over what the store at `conn` has pending, its first page of each kind read,
/// and the feed that reads the rest as the lanes drain it.
fn load_work(
    conn: &Connection,
    settings: &ImportSettings,
    sources: &Sources,
) -> Result<(Mutex<Work>, Feed), EngineError> {
    let path = conn
        .path()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| EngineError::Records("the store must be a file".into()))?;
    let reader = store::open_for_reading(Path::new(path))
        .map_err(|e| EngineError::Records(e.to_string()))?;
    let page = settings.page.max(1);
    let mut feed = Feed::new(reader, settings.update_conversations, page);
    let mut counts = feed.counts()?;
    for kind in &settings.held {
        counts.remove(kind);
    }
    let mut work = Work::paged(counts, settings.batches.clone());
    work.set_low_water(page.div_ceil(2));
    let work = Mutex::new(work);
    for kind in Kind::ALL {
        feed.refill(kind, &work, sources)?;
    }
    Ok((work, feed))
}

impl Import {
    /// Prepares the import of what the store at `conn` still has pending. Requests that were in
    /// flight when the last run stopped are resolved: replay-safe kinds are simply sent again;
    /// group message batches are read back first.
    pub(crate) fn prepare(
        conn: Connection,
        client: Arc<TimClient>,
        settings: &ImportSettings,
    ) -> Result<Import, EngineError> {
        let sources = Sources::open(queries::read_paths(&conn)?).map_err(EngineError::Records)?;
        let (work, mut feed) = load_work(&conn, settings, &sources)?;
        let journal = queries::journal(&conn)?;
        let first_request = queries::last_request(&conn)? + 1;
        let changed_groups = crate::store::phase::reimported(&conn, Kind::Group)?;
        let writer = Writer::start(conn)?;
        let store = writer.sender();
        let mut stale = Vec::new();
        for entry in journal {
            match (entry.kind, entry.group) {
                (kind, Some(group)) if kind_of(kind).unknown() == OnUnknown::ReadBack => {
                    let items = feed.pending_items(kind, &entry.items)?;
                    feed.learn_groups_of(&items, &work, &sources)?;
                    lock(&work).unanswered_at_start(group, items, entry.request)
                }
                _ => stale.push(Settled {
                    request: Some(entry.request),
                    ..Settled::default()
                }),
            }
        }
        let lanes = Kind::ALL
            .into_iter()
            .map(|k| {
                let rate = settings
                    .rates
                    .get(&k)
                    .copied()
                    .unwrap_or(k.api().default_rate());
                (
                    k,
                    Lane::new(rate, settings.min_in_flight, settings.max_in_flight),
                )
            })
            .collect();
        let (state, state_rx) = watch::channel(RunState::Running);
        let shared = Arc::new(Shared {
            work,
            notify: Notify::new(),
            lanes,
            read_lane: Lane::new(settings.read_rate, 1, settings.max_in_flight),
            state,
            store,
            budget: Mutex::new(Budget::new(settings.budget)),
            sources,
            feed: Mutex::new(feed),
            changed_groups,
            client,
            next_request: AtomicI64::new(first_request),
            protocol_errors: AtomicU32::new(0),
            policy: Policy {
                max_retry: settings.max_retry,
                protocol_limit: PROTOCOL_LIMIT,
            },
        });
        let (tx, commands) = mpsc::unbounded_channel();
        let handle = ImportHandle {
            commands: tx,
            state: state_rx,
            committed: writer.committed(),
            shared: Arc::clone(&shared),
        };
        Ok(Import {
            shared,
            writer,
            commands,
            handle,
            stale,
        })
    }

    /// A handle for the UI, the headless lines and signal handlers.
    pub fn handle(&self) -> ImportHandle {
        self.handle.clone()
    }

    /// Runs until every item is settled or the run stops; everything is committed on return.
    pub async fn run(mut self) -> Result<Ending, EngineError> {
        let decided = self.shared.work().take_decided();
        for settled in std::mem::take(&mut self.stale).into_iter().chain(decided) {
            self.shared.record(Op::Settled(settled)).await;
        }
        self.shared.set_state(RunState::Running).await;
        let mut lanes = tokio::task::JoinSet::new();
        for kind in Kind::ALL {
            lanes.spawn(run_lane(Arc::clone(&self.shared), kind));
        }
        let mut budget_reason = None;
        loop {
            tokio::select! {
                done = lanes.join_next() => {
                    match done {
                        None => break,
                        Some(Err(e)) if e.is_panic() => {
                            self.shared.set_state(RunState::Fatal { reason: format!("a lane failed: {e}") }).await;
                        }
                        Some(_) => {}
                    }
                }
                Some(command) = self.commands.recv() => {
                    // A stop while the error budget holds the run is the budget's doing.
                    if let (Command::Cancel { .. }, RunState::Paused { reason, budget: true }) =
                        (&command, &*self.shared.state.borrow())
                    {
                        budget_reason = Some(reason.clone());
                    }
                    self.obey(command).await;
                }
            }
        }
        let final_state = self.shared.state.borrow().clone();
        let (ack, flushed) = oneshot::channel();
        let _ = self.shared.store.send(Op::Flush(ack)).await;
        let _ = flushed.await;
        let failed: u64 = self
            .writer
            .committed()
            .borrow()
            .items
            .values()
            .map(|c| c[2])
            .sum();
        let ending = match final_state {
            RunState::Fatal { reason } => Ending::Fatal(reason),
            RunState::Stopping { reason } => match budget_reason {
                Some(why) => Ending::BudgetExhausted(why),
                None => Ending::Cancelled(reason),
            },
            _ if failed > 0 => Ending::CompleteWithFailures(failed),
            _ => Ending::Complete,
        };
        let (word, reason) = match &ending {
            Ending::Complete => ("done", String::new()),
            Ending::CompleteWithFailures(n) => ("done", format!("{n} items failed")),
            Ending::Cancelled(r) => ("stopped", r.clone()),
            Ending::BudgetExhausted(r) => ("stopped", r.clone()),
            Ending::Fatal(r) => ("fatal", r.clone()),
        };
        let _ = self
            .shared
            .store
            .send(Op::RunState {
                state: word.into(),
                reason,
            })
            .await;
        drop(self.shared);
        drop(self.handle);
        self.writer.finish().await?;
        Ok(ending)
    }

    async fn obey(&mut self, command: Command) {
        let shared = &self.shared;
        let audit = |action: &str, detail: String, reason: &str| {
            shared.record(Op::Audit {
                actor: "operator".into(),
                action: action.into(),
                detail,
                reason: reason.into(),
            })
        };
        match command {
            Command::Pause { reason } => {
                audit("pause", String::new(), &reason).await;
                if shared.state.borrow().is_running() {
                    shared
                        .set_state(RunState::Paused {
                            reason: format!("by operator: {reason}"),
                            budget: false,
                        })
                        .await;
                }
            }
            Command::Resume { reason } => {
                audit("resume", String::new(), &reason).await;
                if matches!(*shared.state.borrow(), RunState::Paused { .. }) {
                    shared
                        .budget
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .reset();
                    shared.set_state(RunState::Running).await;
                }
            }
            Command::Cancel { reason } => {
                audit("cancel", String::new(), &reason).await;
                if !shared.state.borrow().is_over() {
                    shared.set_state(RunState::Stopping { reason }).await;
                }
            }
            Command::SetRate { kind, rate, reason } => {
                audit(
                    "rate",
                    format!("{} {rate}/s", kind.api().command()),
                    &reason,
                )
                .await;
                if let Some(lane) = shared.lanes.get(&kind) {
                    lane.set_rate(rate.max(1));
                }
            }
            Command::Retry { filter, reason } => {
                audit("retry", filter.describe(), &reason).await;
                let moved = move_failed(shared, filter, ItemState::Pending).await;
                self.requeue(moved);
            }
            Command::Skip { filter, reason } => {
                audit("skip", filter.describe(), &reason).await;
                move_failed(shared, filter, ItemState::Skipped).await;
            }
        }
    }

    /// Puts items the store moved back to pending into the work.
    /// The groups of group messages and members are learnt first: the window may not have
    /// seen them yet.
    fn requeue(&self, moved: BTreeMap<Kind, Vec<PendingItem>>) {
        let shared = &self.shared;
        for (kind, items) in &moved {
            if matches!(kind, Kind::GroupMessage | Kind::GroupMember) {
                let learnt =
                    lock(&shared.feed).learn_groups_of(items, &shared.work, &shared.sources);
                if let Err(e) = learnt {
                    shared.show_state(RunState::Fatal {
                        reason: format!("cannot read the groups of items sent back: {e}"),
                    });
                    return;
                }
            }
        }
        let mut work = shared.work();
        for (kind, items) in moved {
            work.requeue(kind, items);
        }
        drop(work);
        shared.notify.notify_waiters();
    }
}

async fn move_failed(
    shared: &Shared,
    filter: FailureFilter,
    to: ItemState,
) -> BTreeMap<Kind, Vec<PendingItem>> {
    let (ack, moved) = oneshot::channel();
    let _ = shared.store.send(Op::MoveFailed { filter, to, ack }).await;
    moved.await.unwrap_or_default()
}
