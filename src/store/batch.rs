//! The batching writer every store writer is built on: a thread that owns one writing
//! connection, takes operations from a bounded channel, applies them in batches (one
//! transaction each) and only after the commit publishes and answers — persist, then publish.
//!
//! A user supplies its operation type and how to apply one inside a transaction ([`Apply`]);
//! the import's store writer, the verification sink and the sync journal are such users.
//!
//! The channel is bounded, and that is the back-pressure point: when the writer falls behind,
//! producers wait in [`Sender::send`] until it has drained. The writer never waits on a
//! producer (it only receives, commits, and answers through channels that cannot block), so a
//! waiting producer always gets its turn.

use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How a batch ended, as told to each operation's reply.
pub(crate) type Outcome<'a> = Result<(), &'a rusqlite::Error>;

/// What to do once a batch's fate is known: called with `Ok` after its commit (and after
/// [`Apply::publish`]), or with the error when the batch was rolled back.
pub(crate) type Reply = Box<dyn FnOnce(Outcome<'_>) + Send>;

/// How one user of the writer applies its operations.
pub(crate) trait Apply: Send + 'static {
    /// What producers send.
    type Op: Send + 'static;

    /// Applies one operation inside the batch's transaction; anything to answer after the
    /// commit goes into `replies`.
    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        op: Self::Op,
        replies: &mut Vec<Reply>,
    ) -> rusqlite::Result<()>;

    /// Last writes of every batch, just before its commit.
    fn before_commit(&mut self, _tx: &Transaction<'_>) -> rusqlite::Result<()> {
        Ok(())
    }

    /// Called after every commit, before the replies: publish what is now on disk.
    fn publish(&mut self) {}

    /// Whether the writer goes on after a batch failed (it was rolled back and its replies
    /// were told why); by default it stops and reports the error.
    fn survives(&mut self, _error: &rusqlite::Error) -> bool {
        false
    }

    /// Last writes when the writer stops cleanly, outside any batch.
    fn close(&mut self, _conn: &mut Connection) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// How big and how old a batch may grow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchBounds {
    /// Operations the channel holds before producers wait.
    pub(crate) capacity: usize,
    /// Operations applied per transaction at most.
    pub(crate) max_batch: usize,
    /// A batch is committed once it has been open this long, even if more is queued. A batch
    /// is also committed as soon as the queue is empty, so light traffic waits for nothing.
    pub(crate) max_delay: Duration,
}

/// Why the writer could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The thread could not be started.
    #[error("the {name} writer could not start: {source}")]
    Spawn {
        /// Which writer.
        name: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The writer has stopped (after an error, or after [`BatchWriter::finish`]).
    #[error("the {0} writer has stopped")]
    Stopped(&'static str),
    /// SQLite refused a batch, or the last writes.
    #[error("the {name} writer could not write: {source}")]
    Sql {
        /// Which writer.
        name: &'static str,
        /// Why.
        source: rusqlite::Error,
    },
    /// The thread panicked.
    #[error("the {0} writer stopped unexpectedly")]
    Panicked(&'static str),
}

enum Msg<Op> {
    Op(Op),
    Stop,
}

/// Sends operations to a writer (cheap to clone).
pub(crate) struct Sender<Op> {
    tx: mpsc::Sender<Msg<Op>>,
    name: &'static str,
}

impl<Op> Clone for Sender<Op> {
    fn clone(&self) -> Self {
        Sender {
            tx: self.tx.clone(),
            name: self.name,
        }
    }
}

impl<Op: Send> Sender<Op> {
    /// Queues `op`, waiting while the queue is full; fails once the writer has stopped.
    pub(crate) async fn send(&self, op: Op) -> Result<(), WriterError> {
        self.tx
            .send(Msg::Op(op))
            .await
            .map_err(|_| WriterError::Stopped(self.name))
    }

    /// [`Sender::send`] for threads outside the async runtime (it panics inside one).
    #[cfg(test)]
    pub(crate) fn blocking_send(&self, op: Op) -> Result<(), WriterError> {
        self.tx
            .blocking_send(Msg::Op(op))
            .map_err(|_| WriterError::Stopped(self.name))
    }
}

type Thread = JoinHandle<Result<Connection, WriterError>>;

/// A running writer: its sender and its thread.
pub(crate) struct BatchWriter<Op> {
    sender: Sender<Op>,
    thread: Thread,
}

impl<Op: Send + 'static> BatchWriter<Op> {
    /// Starts a thread named `name` that applies operations to `conn` through `layer`.
    pub(crate) fn start<A: Apply<Op = Op>>(
        name: &'static str,
        conn: Connection,
        layer: A,
        bounds: BatchBounds,
    ) -> Result<BatchWriter<Op>, WriterError> {
        let (tx, rx) = mpsc::channel(bounds.capacity.max(1));
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || write_loop(name, conn, rx, layer, bounds))
            .map_err(|source| WriterError::Spawn { name, source })?;
        Ok(BatchWriter {
            sender: Sender { tx, name },
            thread,
        })
    }

    /// A sender for operations.
    pub(crate) fn sender(&self) -> Sender<Op> {
        self.sender.clone()
    }

    /// Commits everything queued before this call, stops, and hands the connection back (or
    /// the error that stopped the writer). Operations queued after it are not applied.
    pub(crate) async fn finish(self) -> Result<Connection, WriterError> {
        // An error means the thread has already ended; joining it says why.
        let _ = self.sender.tx.send(Msg::Stop).await;
        let name = self.sender.name;
        drop(self.sender);
        match tokio::task::spawn_blocking(move || join(name, self.thread)).await {
            Ok(result) => result,
            Err(_) => Err(WriterError::Panicked(name)),
        }
    }

    /// [`BatchWriter::finish`] for threads outside the async runtime (it panics inside one).
    #[cfg(test)]
    pub(crate) fn finish_blocking(self) -> Result<Connection, WriterError> {
        let _ = self.sender.tx.blocking_send(Msg::Stop);
        let name = self.sender.name;
        drop(self.sender);
        join(name, self.thread)
    }

    /// Lets the writer run until every sender is dropped; the thread, to join at the end.
    pub(crate) fn detach(self) -> WriterThread {
        WriterThread {
            name: self.sender.name,
            thread: self.thread,
        }
    }
}

/// A detached writer's thread.
pub(crate) struct WriterThread {
    name: &'static str,
    thread: Thread,
}

impl WriterThread {
    /// Waits until every sender is dropped and everything queued is committed.
    pub(crate) fn join(self) -> Result<Connection, WriterError> {
        join(self.name, self.thread)
    }
}

fn join(name: &'static str, thread: Thread) -> Result<Connection, WriterError> {
    thread.join().unwrap_or(Err(WriterError::Panicked(name)))
}

fn write_loop<A: Apply>(
    name: &'static str,
    mut conn: Connection,
    mut rx: mpsc::Receiver<Msg<A::Op>>,
    mut layer: A,
    bounds: BatchBounds,
) -> Result<Connection, WriterError> {
    let sql = |source| WriterError::Sql { name, source };
    let mut stopping = false;
    while !stopping {
        let first = match rx.blocking_recv() {
            Some(Msg::Op(op)) => op,
            Some(Msg::Stop) | None => break,
        };
        let mut replies = Vec::new();
        let batch = Batch {
            rx: &mut rx,
            bounds: &bounds,
            stopping: &mut stopping,
        };
        match batch.commit(&mut conn, &mut layer, first, &mut replies) {
            Ok(()) => {
                layer.publish();
                for reply in replies {
                    reply(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(writer = name, error = %e, "a batch was rolled back");
                for reply in replies {
                    reply(Err(&e));
                }
                if !layer.survives(&e) {
                    return Err(sql(e));
                }
            }
        }
    }
    layer.close(&mut conn).map_err(sql)?;
    Ok(conn)
}

/// One batch being gathered from the queue.
struct Batch<'a, Op> {
    rx: &'a mut mpsc::Receiver<Msg<Op>>,
    bounds: &'a BatchBounds,
    stopping: &'a mut bool,
}

impl<Op> Batch<'_, Op> {
    /// Applies `first` and whatever is queued behind it (within the bounds), then commits.
    fn commit<A: Apply<Op = Op>>(
        self,
        conn: &mut Connection,
        layer: &mut A,
        first: Op,
        replies: &mut Vec<Reply>,
    ) -> rusqlite::Result<()> {
        let opened = Instant::now();
        // Immediate: take the write lock at the start, waiting out other writers under the
        // busy timeout, rather than fail when a read inside the batch is upgraded to a write
        // after another connection committed.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        layer.apply(&tx, first, replies)?;
        let mut applied = 1;
        while applied < self.bounds.max_batch && opened.elapsed() < self.bounds.max_delay {
            match self.rx.try_recv() {
                Ok(Msg::Op(op)) => layer.apply(&tx, op, replies)?,
                Ok(Msg::Stop) => {
                    *self.stopping = true;
                    break;
                }
                Err(_) => break,
            }
            applied += 1;
        }
        layer.before_commit(&tx)?;
        tx.commit()
    }
}

#[cfg(test)]
mod tests;
