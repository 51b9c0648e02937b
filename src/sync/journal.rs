//! The sync journal: a layer over the store's [batching writer](crate::store::batch) that
//! commits whatever is queued in one transaction (group commit), then answers. An event is
//! acknowledged to its sender only after that commit, so an acknowledged event survives a
//! crash.

use super::SyncError;
use crate::store::batch::{Apply, BatchBounds, BatchWriter, Reply, Sender, WriterThread};
use crate::store::open_for_writing;
use crate::store::sync::{insert_events, ledger_put, set_cursor, settle, NewEvent, Settle};
use crate::store::sync_msgs::{sent_put, SentMessage};
use crate::store::sync_queue::{mark_send, seen_forget, seen_put};
use rusqlite::Transaction;
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;

/// How the journal batches. Every operation has a caller waiting for its answer, so the queue
/// holds at most what the webhook handlers, the outbox and the applier have in flight; 2048
/// leaves room for bursts of webhook calls while keeping a stalled disk from queueing events
/// without end (the callers wait, and the old system's webhook retries).
const BOUNDS: BatchBounds = BatchBounds {
    capacity: 2048,
    max_batch: 2048,
    max_delay: Duration::from_millis(10),
};

type Ack<T> = oneshot::Sender<Result<T, String>>;

enum Op {
    Insert(Vec<NewEvent>, Ack<Vec<bool>>),
    Settle(Vec<Settle>, Vec<SentMessage>, Ack<()>),
    Cursor(String, String, Ack<()>),
    Intent(Vec<String>, Option<(i64, i64)>, Ack<()>),
    InsertOnce(String, Option<i64>, Vec<NewEvent>, Ack<Option<Vec<bool>>>),
}

/// A handle to the journal thread (cheap to clone).
#[derive(Clone)]
pub struct Journal {
    tx: Sender<Op>,
}

/// The thread, to wait for at shutdown.
pub struct JournalThread(WriterThread);

impl JournalThread {
    /// Waits until every queued operation is committed (all handles must be dropped first).
    pub fn join(self) {
        if let Err(e) = self.0.join() {
            tracing::error!(error = %e, "the sync journal ended badly");
        }
    }
}

impl Journal {
    /// Opens the store at `path` for the journal.
    pub fn open(path: &Path) -> Result<(Journal, JournalThread), SyncError> {
        let conn = open_for_writing(path)?;
        let writer = BatchWriter::start("sync-journal", conn, Commit, BOUNDS)?;
        let tx = writer.sender();
        Ok((Journal { tx }, JournalThread(writer.detach())))
    }

    async fn ask<T>(
        &self,
        op: Op,
        rx: oneshot::Receiver<Result<T, String>>,
    ) -> Result<T, SyncError> {
        self.tx
            .send(op)
            .await
            .map_err(|_| SyncError::JournalStopped)?;
        rx.await
            .map_err(|_| SyncError::JournalStopped)?
            .map_err(SyncError::JournalWrite)
    }

    /// Persists events; per event, true when new (false: a duplicate `event_id`).
    pub async fn insert(&self, events: Vec<NewEvent>) -> Result<Vec<bool>, SyncError> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Insert(events, tx), rx).await
    }

    /// Records fates (the ledger keys of what the relay writes went in with its intent).
    pub async fn settle(&self, settled: Vec<Settle>) -> Result<(), SyncError> {
        self.settle_sent(settled, Vec::new()).await
    }

    /// Records fates and, in the same commit, the messages the relay wrote and what the
    /// target knows them by (so a later recall can name them).
    pub(crate) async fn settle_sent(
        &self,
        settled: Vec<Settle>,
        sent: Vec<SentMessage>,
    ) -> Result<(), SyncError> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Settle(settled, sent, tx), rx).await
    }

    /// Commits what the relay is about to write, before it is sent: the ledger keys its
    /// change will come back with (so a callback arriving before the write is settled is known
    /// as an echo) and, for a group message, `(event seq, now ms)`: a send left, its outcome
    /// unknown until answered or read back.
    pub(crate) async fn intent(
        &self,
        ledger: Vec<String>,
        send: Option<(i64, i64)>,
    ) -> Result<(), SyncError> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Intent(ledger, send, tx), rx).await
    }

    /// Persists events of a body identified by `key` unless that body was taken in before
    /// (`None`: a replay, nothing persisted). Keys older than `forget_before_ms` (when given)
    /// are forgotten in the same commit.
    pub(crate) async fn insert_once(
        &self,
        key: String,
        forget_before_ms: Option<i64>,
        events: Vec<NewEvent>,
    ) -> Result<Option<Vec<bool>>, SyncError> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::InsertOnce(key, forget_before_ms, events, tx), rx)
            .await
    }

    /// Sets a cursor.
    pub(crate) async fn cursor(&self, name: &str, value: &str) -> Result<(), SyncError> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Cursor(name.into(), value.into(), tx), rx)
            .await
    }
}

/// The journal's layer: every operation is answered with its batch's fate.
struct Commit;

impl Apply for Commit {
    type Op = Op;

    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        op: Op,
        replies: &mut Vec<Reply>,
    ) -> rusqlite::Result<()> {
        match op {
            Op::Insert(events, ack) => answer(replies, ack, insert_events(tx, &events)),
            Op::Settle(settled, sent, ack) => {
                let done = settle(tx, &settled).and_then(|()| sent_put(tx, &sent));
                answer(replies, ack, done)
            }
            Op::Cursor(name, value, ack) => answer(replies, ack, set_cursor(tx, &name, &value)),
            Op::Intent(ledger, send, ack) => {
                let done = ledger_put(tx, &ledger).and_then(|()| match send {
                    Some((seq, at)) => mark_send(tx, seq, at),
                    None => Ok(()),
                });
                answer(replies, ack, done)
            }
            Op::InsertOnce(key, forget, events, ack) => {
                let done = forget
                    .map_or(Ok(0), |before| seen_forget(tx, before))
                    .and_then(|_| seen_put(tx, &key))
                    .and_then(|fresh| match fresh {
                        true => insert_events(tx, &events).map(Some),
                        false => Ok(None),
                    });
                answer(replies, ack, done)
            }
        }
    }

    /// A failed batch is rolled back and every caller in it told why; the next batch may
    /// well succeed (a full disk frees up), so the journal goes on.
    fn survives(&mut self, _error: &rusqlite::Error) -> bool {
        true
    }
}

/// Queues the answer to one operation: its value once the batch commits, or the batch's error.
/// A failed operation still queues one, so its caller hears the error instead of silence.
fn answer<T: Default + Send + 'static>(
    replies: &mut Vec<Reply>,
    ack: Ack<T>,
    result: rusqlite::Result<T>,
) -> rusqlite::Result<()> {
    let (value, result) = match result {
        Ok(value) => (value, Ok(())),
        Err(e) => (T::default(), Err(e)),
    };
    replies.push(Box::new(move |outcome| {
        let _ = ack.send(outcome.map(|()| value).map_err(|e| e.to_string()));
    }));
    result
}
