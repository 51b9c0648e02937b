//! The import's store writer: a layer over the [batching writer](super::batch) that applies
//! what the engine sends (journal entries, outcomes, audit entries, the run state), and only
//! after each commit publishes the new counts and answers — persist, then publish, so nothing
//! on screen is ahead of the store.

use super::batch::{Apply, BatchBounds, BatchWriter, Reply, Sender, WriterError};
use super::queries::PendingItem;
use super::{ItemState, Kind};
use crate::timefmt::now_secs;
use rusqlite::{params, Connection, Transaction};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How the writer batches. The bound of the queue is one full batch: enough for every lane's
/// requests in flight to report several times over (so it never bites while the disk keeps
/// up), small enough that a stalled disk stops new requests within a batch instead of piling
/// up outcomes in memory (an operation holds at most one request's item ids).
const BOUNDS: BatchBounds = BatchBounds {
    capacity: 4096,
    max_batch: 4096,
    max_delay: Duration::from_millis(20),
};
/// How often a throughput sample and the heartbeat are written.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// An item refused for good, or failing for now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FailedItem {
    /// The item.
    pub(crate) id: i64,
    /// The API that refused it.
    pub(crate) api: &'static str,
    /// The code, when the target gave one.
    pub(crate) code: Option<i64>,
    /// What the target (or the engine) said.
    pub(crate) info: String,
    /// Whether sending it again can succeed.
    pub(crate) retryable: bool,
}

/// The outcome of one request, for the items it carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Settled {
    /// The journal entry to close, if the request was journaled.
    pub(crate) request: Option<i64>,
    /// What the items are.
    pub(crate) kind: Option<Kind>,
    /// Items the target took.
    pub(crate) done: Vec<i64>,
    /// Items it refused for good.
    pub(crate) failed: Vec<FailedItem>,
    /// Items that stay pending (their attempt is counted).
    pub(crate) retry: Vec<i64>,
    /// A group's new high-water mark: (group item, newest SendTime, newest MsgSeq).
    pub(crate) mark: Option<(i64, i64, i64)>,
    /// Group messages: (item, the MsgSeq the target gave it).
    pub(crate) seqs: Vec<(i64, i64)>,
}

impl Settled {
    /// True when it records nothing: no journal entry to close, no item to move, no mark.
    pub(crate) fn is_empty(&self) -> bool {
        self.request.is_none()
            && self.done.is_empty()
            && self.failed.is_empty()
            && self.retry.is_empty()
            && self.mark.is_none()
    }
}

/// What the engine asks the writer to record.
#[derive(Debug)]
pub(crate) enum Op {
    /// A request is about to be sent: its journal entry. `ack` is answered after the commit.
    Sent {
        /// The request's number (unique in the run).
        request: i64,
        /// The items' kind.
        kind: Kind,
        /// The group, for group messages and members.
        group: Option<i64>,
        /// The items it carries.
        items: Vec<i64>,
        /// Answered once the entry is committed.
        ack: Option<oneshot::Sender<()>>,
    },
    /// A request's outcome.
    Settled(Settled),
    /// An operator action (or the engine's own decision) for the audit table.
    Audit {
        /// `operator`, `engine` or `cli`.
        actor: String,
        /// `pause`, `resume`, `retry`, …
        action: String,
        /// What exactly.
        detail: String,
        /// Why.
        reason: String,
    },
    /// The run's state and its reason.
    RunState {
        /// `running`, `paused`, …
        state: String,
        /// Why.
        reason: String,
    },
    /// Failed items go back to pending (retry) or to skipped (skip); answered with how many
    /// moved, per kind. The audit entry is sent separately.
    MoveFailed {
        /// Which failures.
        filter: super::queries::FailureFilter,
        /// [`ItemState::Pending`] or [`ItemState::Skipped`].
        to: ItemState,
        /// The items moved, per kind.
        ack: oneshot::Sender<BTreeMap<Kind, Vec<PendingItem>>>,
    },
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
    /// Several operations, applied in order in the same transaction (one job's outcome).
    All(Vec<Op>),
}

/// Counts as committed: per kind, items per state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// Per kind: pending, done, failed, skipped.
    pub items: BTreeMap<Kind, [u64; 4]>,
    /// Requests journaled and not yet settled.
    pub(crate) in_flight: u64,
}

/// Where the engine sends what the writer should record. It waits while the writer's queue is
/// full, and fails once the writer has stopped.
pub(crate) type OpSender = Sender<Op>;

/// The handle to the writer thread.
pub(crate) struct Writer {
    inner: BatchWriter<Op>,
    committed: watch::Receiver<Committed>,
}

impl Writer {
    /// Starts the writer on `conn`.
    pub(crate) fn start(conn: Connection) -> Result<Writer, WriterError> {
        let sql = |source| WriterError::Sql { name: NAME, source };
        let counts = super::queries::item_counts(&conn).map_err(sql)?;
        let in_flight: u64 = conn
            .query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0))
            .map_err(sql)?;
        let committed = Committed {
            items: counts,
            in_flight,
        };
        let (publish, pub_rx) = watch::channel(committed.clone());
        let layer = Counts {
            committed,
            publish,
            last_sample: Instant::now(),
        };
        Ok(Writer {
            inner: BatchWriter::start(NAME, conn, layer, BOUNDS)?,
            committed: pub_rx,
        })
    }

    /// A sender for operations.
    pub(crate) fn sender(&self) -> OpSender {
        self.inner.sender()
    }

    /// The committed counts, updated after every commit.
    pub(crate) fn committed(&self) -> watch::Receiver<Committed> {
        self.committed.clone()
    }

    /// Commits everything sent so far, writes the last sample, clears the heartbeat and stops
    /// the thread; reports the error that stopped it, if one did. Operations sent after this
    /// (by clones of the sender) are not applied.
    pub(crate) async fn finish(self) -> Result<(), WriterError> {
        self.inner.finish().await.map(drop)
    }
}

/// The writer's thread name, and its name in errors.
const NAME: &str = "store-writer";

/// The writer's layer over the batching writer: it keeps the committed counts, publishes them
/// after every commit, and writes a throughput sample and the heartbeat every second.
struct Counts {
    committed: Committed,
    publish: watch::Sender<Committed>,
    last_sample: Instant,
}

impl Apply for Counts {
    type Op = Op;

    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        op: Op,
        replies: &mut Vec<Reply>,
    ) -> rusqlite::Result<()> {
        apply(tx, op, &mut self.committed, replies)
    }

    fn before_commit(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        if self.last_sample.elapsed() >= SAMPLE_EVERY {
            sample(tx, &self.committed)?;
            self.last_sample = Instant::now();
        }
        Ok(())
    }

    fn publish(&mut self) {
        self.publish.send_replace(self.committed.clone());
    }

    fn close(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        sample(&tx, &self.committed)?;
        tx.execute("UPDATE run SET heartbeat_at = NULL, owner_pid = NULL", [])?;
        tx.commit()?;
        // Fold the WAL back into the database so a copied store file is complete.
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
    }
}

/// An acknowledgement answered only when its batch committed: dropping the sender tells the
/// waiting side that the writer failed.
fn on_commit<T: Send + 'static>(ack: oneshot::Sender<T>, value: T) -> Reply {
    Box::new(move |outcome| {
        if outcome.is_ok() {
            let _ = ack.send(value);
        }
    })
}

fn apply(
    tx: &Transaction<'_>,
    op: Op,
    committed: &mut Committed,
    replies: &mut Vec<Reply>,
) -> Result<(), rusqlite::Error> {
    let now = now_secs();
    match op {
        Op::Sent {
            request,
            kind,
            group,
            items,
            ack,
        } => {
            let list = items
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            tx.prepare_cached(
                "INSERT OR REPLACE INTO journal (request, kind, api, grp, items, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                request,
                kind.code(),
                kind.api().command(),
                group,
                list,
                now
            ])?;
            committed.in_flight += 1;
            if let Some(ack) = ack {
                replies.push(on_commit(ack, ()));
            }
        }
        Op::Settled(s) => settle(tx, s, committed, now)?,
        Op::Audit {
            actor,
            action,
            detail,
            reason,
        } => super::audit::record(tx, &actor, &action, &detail, &reason)?,
        Op::RunState { state, reason } => {
            tx.execute(
                "UPDATE run SET state = ?1, reason = ?2, updated_at = ?3",
                params![state, reason, now],
            )?;
        }
        Op::MoveFailed { filter, to, ack } => {
            let moved = super::queries::move_failed(tx, &filter, to)?;
            for (kind, items) in &moved {
                let n = &(items.len() as u64);
                let row = committed.items.entry(*kind).or_default();
                row[ItemState::Failed as usize] =
                    row[ItemState::Failed as usize].saturating_sub(*n);
                row[to as usize] += n;
            }
            replies.push(on_commit(ack, moved));
        }
        Op::Flush(ack) => replies.push(on_commit(ack, ())),
        Op::All(ops) => {
            for op in ops {
                apply(tx, op, committed, replies)?;
            }
        }
    }
    Ok(())
}

fn settle(
    tx: &Transaction<'_>,
    s: Settled,
    committed: &mut Committed,
    now: i64,
) -> Result<(), rusqlite::Error> {
    if let Some(request) = s.request {
        if tx.execute("DELETE FROM journal WHERE request = ?1", [request])? > 0 {
            committed.in_flight = committed.in_flight.saturating_sub(1);
        }
    }
    let Some(kind) = s.kind else { return Ok(()) };
    let row = committed.items.entry(kind).or_default();
    let mut to_state = tx.prepare_cached(
        "UPDATE item SET state = ?3, attempts = attempts + 1
         WHERE kind = ?1 AND id = ?2 AND state = 0",
    )?;
    for id in &s.done {
        if to_state.execute(params![kind.code(), id, 1])? > 0 {
            row[0] = row[0].saturating_sub(1);
            row[1] += 1;
        }
    }
    let mut fail = tx.prepare_cached(
        "INSERT INTO failure (kind, id, api, code, info, retryable, attempts, first_at, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT attempts FROM item WHERE kind = ?1 AND id = ?2), ?7, ?7)
         ON CONFLICT (kind, id) DO UPDATE SET api = ?3, code = ?4, info = ?5, retryable = ?6,
             attempts = excluded.attempts, last_at = ?7",
    )?;
    for f in &s.failed {
        if to_state.execute(params![kind.code(), f.id, 2])? > 0 {
            row[0] = row[0].saturating_sub(1);
            row[2] += 1;
            fail.execute(params![
                kind.code(),
                f.id,
                f.api,
                f.code,
                f.info,
                f.retryable,
                now
            ])?;
        }
    }
    let mut attempt = tx.prepare_cached(
        "UPDATE item SET attempts = attempts + 1 WHERE kind = ?1 AND id = ?2 AND state = 0",
    )?;
    for id in &s.retry {
        attempt.execute(params![kind.code(), id])?;
    }
    let mut target_seq =
        tx.prepare_cached("UPDATE item SET target_seq = ?3 WHERE kind = ?1 AND id = ?2")?;
    for (id, seq) in &s.seqs {
        target_seq.execute(params![kind.code(), id, seq])?;
    }
    if let Some((group, time, seq)) = s.mark {
        tx.prepare_cached(
            "INSERT INTO group_mark (grp, last_time, last_seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (grp) DO UPDATE SET last_time = MAX(last_time, ?2),
                 last_seq = MAX(last_seq, ?3)",
        )?
        .execute(params![group, time, seq])?;
    }
    Ok(())
}

fn sample(tx: &Transaction<'_>, committed: &Committed) -> Result<(), rusqlite::Error> {
    let now = now_secs();
    for (kind, counts) in &committed.items {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO sample (at, kind, done, failed, calls) VALUES (?1, ?2, ?3, ?4, 0)",
        )?
        .execute(params![now, kind.code(), counts[1], counts[2]])?;
    }
    tx.execute(
        "UPDATE run SET heartbeat_at = ?1, owner_pid = ?2",
        params![now, std::process::id()],
    )?;
    Ok(())
}
