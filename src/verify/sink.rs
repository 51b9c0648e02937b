//! The pass's writer: a thread that commits results in batches and only then counts them as
//! checked, so progress never runs ahead of the store.

use super::Progress;
use crate::store::verify::{record, Extra, ItemResult};
use rusqlite::Connection;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Results of one unit.
type Batch = (Vec<ItemResult>, Vec<Extra>);

/// Where unit checks send their results.
pub struct Sink {
    tx: mpsc::Sender<Batch>,
    thread: JoinHandle<rusqlite::Result<Connection>>,
}

impl Sink {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection, progress: Arc<Progress>) -> anyhow::Result<Sink> {
        let (tx, rx) = mpsc::channel::<Batch>();
        let thread = std::thread::Builder::new()
            .name("verify-writer".into())
            .spawn(move || write_loop(conn, &rx, &progress))?;
        Ok(Sink { tx, thread })
    }

    /// Records a unit's results (committed shortly after).
    pub fn put(&self, results: Vec<ItemResult>, extras: Vec<Extra>) {
        if results.is_empty() && extras.is_empty() {
            return;
        }
        // The thread only ends after `finish` drops the sender; a send cannot outlive it.
        let _ = self.tx.send((results, extras));
    }

    /// Commits everything sent and hands the connection back.
    pub fn finish(self) -> anyhow::Result<Connection> {
        drop(self.tx);
        match self.thread.join() {
            Ok(result) => Ok(result?),
            Err(_) => anyhow::bail!("the verification writer stopped unexpectedly"),
        }
    }
}

fn write_loop(
    mut conn: Connection,
    rx: &mpsc::Receiver<Batch>,
    progress: &Progress,
) -> rusqlite::Result<Connection> {
    while let Ok(first) = rx.recv() {
        let (mut results, mut extras) = first;
        while results.len() < 4096 {
            match rx.try_recv() {
                Ok((r, e)) => {
                    results.extend(r);
                    extras.extend(e);
                }
                Err(_) => break,
            }
        }
        record(&mut conn, &results, &extras)?;
        for r in &results {
            progress.add_checked(r.kind, 1);
        }
    }
    Ok(conn)
}
