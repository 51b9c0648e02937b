//! The pass's writer: a layer over the store's [batching writer](crate::store::batch) that
//! commits unit results in batches and only then counts them as checked, so progress never
//! runs ahead of the store.

use super::Progress;
use crate::store::batch::{Apply, BatchBounds, BatchWriter, Reply, Sender, WriterError};
use crate::store::verify::{record_in, Extra, ItemResult};
use crate::store::Kind;
use rusqlite::{Connection, Transaction};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Results of one unit.
type Batch = (Vec<ItemResult>, Vec<Extra>);

/// How the sink batches. One operation is a unit's results (up to a group's members), so the
/// queue holds fewer of them than the import's writer does; 1024 units is still far more than
/// the checks have in flight at once, so it only bites when the disk stalls, and then it stops
/// the checks from reading ahead of what can be stored.
const BOUNDS: BatchBounds = BatchBounds {
    capacity: 1024,
    max_batch: 1024,
    max_delay: Duration::from_millis(50),
};

/// Where unit checks send their results.
pub(crate) struct Sink {
    tx: Sender<Batch>,
    writer: BatchWriter<Batch>,
}

impl Sink {
    /// Starts the writer thread on `conn`.
    pub(crate) fn start(conn: Connection, progress: Arc<Progress>) -> Result<Sink, WriterError> {
        let layer = Checked {
            progress,
            pending: BTreeMap::new(),
        };
        let writer = BatchWriter::start("verify-writer", conn, layer, BOUNDS)?;
        Ok(Sink {
            tx: writer.sender(),
            writer,
        })
    }

    /// Records a unit's results (committed shortly after), waiting while the writer is behind.
    pub(crate) async fn put(&self, results: Vec<ItemResult>, extras: Vec<Extra>) {
        if results.is_empty() && extras.is_empty() {
            return;
        }
        // Fails only when the writer stopped on an error, which `finish` reports.
        let _ = self.tx.send((results, extras)).await;
    }

    /// Commits everything sent and hands the connection back.
    pub(crate) async fn finish(self) -> Result<Connection, WriterError> {
        drop(self.tx);
        self.writer.finish().await
    }
}

/// The sink's layer: results go into the store, and are counted as checked after the commit.
struct Checked {
    progress: Arc<Progress>,
    /// Results per kind in the batch not yet committed.
    pending: BTreeMap<Kind, u64>,
}

impl Apply for Checked {
    type Op = Batch;

    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        (results, extras): Batch,
        _replies: &mut Vec<Reply>,
    ) -> rusqlite::Result<()> {
        record_in(tx, &results, &extras)?;
        for r in &results {
            *self.pending.entry(r.kind).or_default() += 1;
        }
        Ok(())
    }

    fn publish(&mut self) {
        for (kind, n) in std::mem::take(&mut self.pending) {
            self.progress.add_checked(kind, n);
        }
    }
}
