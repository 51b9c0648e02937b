//! The sync journal: one thread owns the writing connection and commits whatever is queued in
//! one transaction (group commit), then answers. An event is acknowledged to its sender only
//! after that commit, so an acknowledged event survives a crash.

use crate::store::open_for_writing;
use crate::store::sync::{insert_events, ledger_put, set_cursor, settle, NewEvent, Settle};
use std::path::Path;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// Most operations in one transaction.
const MAX_BATCH: usize = 2048;

enum Op {
    Insert(Vec<NewEvent>, oneshot::Sender<Result<Vec<bool>, String>>),
    Settle(
        Vec<Settle>,
        Vec<String>,
        oneshot::Sender<Result<(), String>>,
    ),
    Cursor(String, String, oneshot::Sender<Result<(), String>>),
}

/// A handle to the journal thread (cheap to clone).
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::UnboundedSender<Op>,
}

/// The thread, to wait for at shutdown.
pub struct JournalThread(JoinHandle<()>);

impl JournalThread {
    /// Waits until every queued operation is committed (all handles must be dropped first).
    pub fn join(self) {
        let _ = self.0.join();
    }
}

impl Journal {
    /// Opens the store at `path` for the journal.
    pub fn open(path: &Path) -> anyhow::Result<(Journal, JournalThread)> {
        let conn = open_for_writing(path)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("sync-journal".into())
            .spawn(move || write_loop(conn, rx))?;
        Ok((Journal { tx }, JournalThread(thread)))
    }

    async fn ask<T>(&self, op: Op, rx: oneshot::Receiver<Result<T, String>>) -> anyhow::Result<T> {
        self.tx
            .send(op)
            .map_err(|_| anyhow::anyhow!("the sync journal has stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the sync journal has stopped"))?
            .map_err(|e| anyhow::anyhow!("the sync journal could not write: {e}"))
    }

    /// Persists events; per event, true when new (false: a duplicate `event_id`).
    pub async fn insert(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<bool>> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Insert(events, tx), rx).await
    }

    /// Records fates, and the ledger keys of what the relay wrote.
    pub async fn settle(&self, settled: Vec<Settle>, ledger: Vec<String>) -> anyhow::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Settle(settled, ledger, tx), rx).await
    }

    /// Sets a cursor.
    pub async fn cursor(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.ask(Op::Cursor(name.into(), value.into(), tx), rx)
            .await
    }
}

type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

fn write_loop(mut conn: rusqlite::Connection, mut rx: mpsc::UnboundedReceiver<Op>) {
    while let Some(first) = rx.blocking_recv() {
        let mut ops = vec![first];
        while ops.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let mut answers: Vec<Answer> = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            for op in ops {
                match op {
                    Op::Insert(events, ack) => {
                        let fresh = insert_events(&tx, &events)?;
                        answers.push(Box::new(move |r| {
                            let _ = ack.send(r.map(|()| fresh));
                        }));
                    }
                    Op::Settle(settled, ledger, ack) => {
                        settle(&tx, &settled)?;
                        ledger_put(&tx, &ledger)?;
                        answers.push(Box::new(move |r| {
                            let _ = ack.send(r);
                        }));
                    }
                    Op::Cursor(name, value, ack) => {
                        set_cursor(&tx, &name, &value)?;
                        answers.push(Box::new(move |r| {
                            let _ = ack.send(r);
                        }));
                    }
                }
            }
            tx.commit()
        })();
        let outcome = result.map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "sync journal commit failed");
        }
        for answer in answers {
            answer(outcome.clone());
        }
    }
}
