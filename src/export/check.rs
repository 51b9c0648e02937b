//! Validation on the way: each file's lines, as they are written, go through a bounded
//! channel to a thread running the validator `cutover validate` uses ([`StreamValidator`]);
//! problems come back with the source key of their row.
//!
//! Memory stays flat: the channel holds a few chunks, and the keys of the lines read ahead of
//! the validator (a few pipeline batches) wait in a queue that the validator drains in line
//! order (every line is either valid, handed to the visitor, or has problems).

use super::run::SourceProblem;
use super::DbExportError;
use crate::source::reader::LineReader;
use crate::source::{ExportFile, StreamValidator};
use std::collections::VecDeque;
use std::io::{self, BufReader, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

/// Bytes of lines sent to the validator at a time.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks in flight: how far the export may run ahead of the validator.
const CHUNKS_IN_FLIGHT: usize = 8;

#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    keys: Vec<Option<String>>,
}

/// The source keys of lines read but not yet validated, from line `first` on.
struct KeyQueue {
    first: u64,
    keys: VecDeque<Option<String>>,
}

impl KeyQueue {
    /// The key of `line`, dropping those of the lines before it.
    fn key(&mut self, line: u64) -> Option<String> {
        while self.first < line && self.keys.pop_front().is_some() {
            self.first += 1;
        }
        self.keys.front().cloned().flatten()
    }
}

fn lock(q: &Mutex<KeyQueue>) -> MutexGuard<'_, KeyQueue> {
    // A poisoned queue means the validator thread panicked; its join reports that.
    q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads the chunks as one byte stream, queueing their keys as their lines are read.
struct ChunkReader {
    rx: Receiver<Chunk>,
    current: Vec<u8>,
    pos: usize,
    keys: Arc<Mutex<KeyQueue>>,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.current.len() {
            let Ok(chunk) = self.rx.recv() else {
                return Ok(0);
            };
            lock(&self.keys).keys.extend(chunk.keys);
            self.current = chunk.bytes;
            self.pos = 0;
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

type Outcome = (StreamValidator, Result<(), String>);

/// The validation of one file while it is written.
pub(crate) struct FileCheck {
    tx: Option<SyncSender<Chunk>>,
    chunk: Chunk,
    handle: JoinHandle<Outcome>,
    problems: Receiver<SourceProblem>,
    name: String,
}

impl FileCheck {
    /// Starts validating the file of `kind` named `name` with `validator`.
    pub(crate) fn start(validator: StreamValidator, kind: ExportFile, name: String) -> Self {
        let (tx, rx) = sync_channel::<Chunk>(CHUNKS_IN_FLIGHT);
        let (ptx, prx) = channel();
        let keys = Arc::new(Mutex::new(KeyQueue {
            first: 1,
            keys: VecDeque::new(),
        }));
        let reader = ChunkReader {
            rx,
            current: Vec::new(),
            pos: 0,
            keys: Arc::clone(&keys),
        };
        let file_name = name.clone();
        let handle =
            thread::spawn(move || validate(validator, kind, file_name, reader, &keys, &ptx));
        Self {
            tx: Some(tx),
            chunk: Chunk::default(),
            handle,
            problems: prx,
            name,
        }
    }

    /// Hands one written line (with its `\n`) and its source key to the validator.
    pub(crate) fn push(&mut self, line: &[u8], key: Option<String>) -> Result<(), DbExportError> {
        self.chunk.bytes.extend_from_slice(line);
        self.chunk.keys.push(key);
        if self.chunk.bytes.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), DbExportError> {
        let chunk = std::mem::take(&mut self.chunk);
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(chunk).is_ok());
        if sent {
            Ok(())
        } else {
            Err(DbExportError::Settings(format!(
                "the validation of {} stopped early",
                self.name
            )))
        }
    }

    /// Hands the problems found so far to `to`.
    pub(crate) fn drain(&self, to: &mut dyn FnMut(SourceProblem)) {
        while let Ok(p) = self.problems.try_recv() {
            to(p);
        }
    }

    /// Ends the file: waits for its validation, hands over its problems, returns the
    /// validator for the next file.
    pub(crate) fn finish(
        mut self,
        to: &mut dyn FnMut(SourceProblem),
    ) -> Result<StreamValidator, DbExportError> {
        if !self.chunk.keys.is_empty() {
            self.send()?;
        }
        drop(self.tx.take());
        let stopped =
            |why: String| DbExportError::Settings(format!("validating {}: {why}", self.name));
        let joined = self.handle.join();
        while let Ok(p) = self.problems.try_recv() {
            to(p);
        }
        let (validator, result) = joined.map_err(|_| stopped("the validator panicked".into()))?;
        result.map_err(stopped)?;
        Ok(validator)
    }
}

fn validate(
    mut validator: StreamValidator,
    kind: ExportFile,
    name: String,
    reader: ChunkReader,
    keys: &Mutex<KeyQueue>,
    problems: &Sender<SourceProblem>,
) -> Outcome {
    let lines = LineReader::new(BufReader::new(reader));
    let result = validator.file(
        kind,
        name,
        lines,
        &mut |p| {
            let source_key = lock(keys).key(p.line);
            // The receiver outlives this thread (joined before it is dropped).
            let _ = problems.send(SourceProblem {
                problem: p,
                source_key,
            });
        },
        &mut |loc, _| {
            lock(keys).key(loc.line);
        },
    );
    let result = result.map_err(|(line, e)| format!("after line {line}: {e}"));
    (validator, result)
}
