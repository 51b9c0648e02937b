//! Staging: one validating pass over an export that records, for every valid record, where it
//! is (file, line, byte range) and what it waits for — never the record itself.
//!
//! Items are keyed by their natural key (account id, owner+friend, message id, …), so a later
//! delta export staged into the same store updates what changed and adds what is new: accounts,
//! profiles, friends, groups and members are re-imported when a delta changes them (re-import
//! overwrites), messages are added only when new.
//!
//! Items commit in chunks of [`CHUNK_RECORDS`] records, each with its progress per file (see
//! `resume.rs`), so a staging cut short resumes after its last chunk. The last
//! chunk's transaction also holds the export's row, its file rows and [`super::order`]'s pass
//! over the whole export: the new messages' order, group messages' send times (same-second
//! bursts) and one-to-one messages' MsgSeq.

mod item;
mod key_sets;
mod load;
mod resume;
mod tombstones;

use super::order::SameSecond;
use super::schema::{create_missing_indexes, restore_key_index, DEFERRABLE_ITEM_INDEXES};
use super::scratch::{ScratchFailure, ScratchMemory};
use super::{cache_dir, Kind, StoreError};
use crate::model::history::HistorySince;
use crate::source::media_inventory::MediaInventory;
use crate::source::{validate_with_memory, ExportDir, ExportDirError, Known, ValidationReport};
use crate::timefmt::now_secs;
use item::{Item, Judged};
use load::{know_earlier, Loader};
#[cfg(any(test, feature = "test-support"))]
pub use resume::unfinished_lines;
use resume::{Chunks, Found, Stop};
use rusqlite::{params, Connection, Transaction};
use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

/// Why staging failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The export could not be read.
    #[error(transparent)]
    Export(#[from] ExportDirError),
    /// A `.gz` file could not be decompressed into the store's cache.
    #[error("decompressing {path} into {cache}: {source}")]
    Decompress {
        /// The export file.
        path: PathBuf,
        /// The cache directory.
        cache: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds part of another export, whose staging was cut short.
    #[error(
        "the store {store} holds part of the export {root}, whose staging was cut short: \
         stage that export again to finish it before staging another"
    )]
    Unfinished {
        /// The store.
        store: PathBuf,
        /// The half-staged export's directory.
        root: String,
    },
    /// A key set of the export could not be read.
    #[error(transparent)]
    KeySet(#[from] key_sets::KeySetError),
    /// Staging stopped after `chunks` committed chunks, as [`Chunking::stop_after`] asked;
    /// staging the export again finishes it.
    #[error("staging stopped after {chunks} chunks, as asked")]
    Interrupted {
        /// Chunks committed.
        chunks: u64,
    },
}

/// What staging found, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staged {
    /// The export's row in the store.
    pub(crate) export_id: i64,
    /// False when this export had been staged before (nothing was read again).
    pub(crate) fresh: bool,
    /// Per kind: records read, and those skipped as invalid.
    pub counts: Vec<(Kind, u64, u64)>,
    /// Per deletion kind: records on the target whose keys left the export's key sets
    /// (`keys/`), now to delete (only when staged now).
    pub(crate) vanished: Vec<(Kind, u64)>,
    /// The media the valid messages reference, per host (only when staged now: it is not
    /// kept in the store).
    pub(crate) media: MediaInventory,
}

/// A fingerprint of an export: its manifest and its files' names and sizes.
pub(crate) fn fingerprint(export: &ExportDir) -> String {
    let m = &export.manifest;
    let mut out = format!(
        "exported_at={};source={};watermark={:?};delta_of={:?}",
        m.exported_at,
        m.source.as_deref().unwrap_or(""),
        m.watermark,
        m.delta_of
    );
    for kind in Kind::RECORDS {
        if let Some(path) = export.path(kind.file()) {
            let size = std::fs::metadata(path).map_or(0, |md| md.len());
            out.push_str(&format!(";{}={size}", export.display_name(kind.file())));
        }
    }
    out
}

/// How an export is staged (the runbook's `[import]` choices).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageOptions {
    /// What happens to a group message that is not newer than the one before it in its group
    /// (see [`super::order`]).
    pub same_second: SameSecond,
    /// Messages sent before the cut-off this gives at staging time are staged as skipped:
    /// never sent, counted with the reason (see [`super::staged::history_skips`]).
    pub history_since: Option<HistorySince>,
}

/// Stages `export` into the store at `store_path` (through `conn`, its writing connection),
/// unless the same export is staged already, shifting same-second group messages.
#[cfg(test)]
pub(crate) fn stage_export(
    conn: &mut Connection,
    store_path: &Path,
    export: &ExportDir,
) -> Result<Staged, StageError> {
    stage_export_with(conn, store_path, export, StageOptions::default())
}

/// [`stage_export`] with the runbook's choices in `options`.
pub fn stage_export_with(
    conn: &mut Connection,
    store_path: &Path,
    export: &ExportDir,
    options: StageOptions,
) -> Result<Staged, StageError> {
    stage_export_chunked(conn, store_path, export, options, Chunking::default())
}

/// Records per staging transaction: large enough that commits cost little, small enough that
/// the WAL stays small and a crash loses little.
pub(crate) const CHUNK_RECORDS: u64 = 50_000;

/// How staging commits: one transaction per chunk of records, each with its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunking {
    /// Records (lines, valid or not) per transaction.
    pub(crate) records: u64,
    /// For tests of resuming: stop with [`StageError::Interrupted`] once this many chunks
    /// are committed, leaving the store as a crash there would.
    pub(crate) stop_after: Option<u64>,
}

impl Default for Chunking {
    fn default() -> Self {
        Self {
            records: CHUNK_RECORDS,
            stop_after: None,
        }
    }
}

/// [`stage_export_with`], committing as `chunking` says. A staging of the same export cut
/// short before resumes: the export is read again from its start (the cross-file rules need
/// every line), and only the lines after the committed chunks are written. The export counts
/// as staged (its `export` row exists) only once the last chunk, the message order and the
/// file rows commit together.
pub(crate) fn stage_export_chunked(
    conn: &mut Connection,
    store_path: &Path,
    export: &ExportDir,
    options: StageOptions,
    chunking: Chunking,
) -> Result<Staged, StageError> {
    let sql = |source| StoreError::Sql {
        path: store_path.to_path_buf(),
        source,
    };
    let print = fingerprint(export);
    let begun = match resume::find(conn, &print).map_err(sql)? {
        Found::Staged(export_id) => {
            let counts = file_counts(conn, export_id).map_err(sql)?;
            return Ok(Staged {
                export_id,
                fresh: false,
                counts,
                vanished: Vec::new(),
                media: MediaInventory::default(),
            });
        }
        Found::Other(root) => {
            return Err(StageError::Unfinished {
                store: store_path.to_path_buf(),
                root,
            })
        }
        Found::Unfinished(begun) => begun,
        Found::New => {
            let staged_at = now_secs();
            let cutoff = options.history_since.and_then(|h| h.cutoff(staged_at));
            resume::begin(conn, export, &print, staged_at, cutoff).map_err(sql)?
        }
    };
    let readable = readable_copy(export, &cache_dir(store_path))?;
    let export_id = begun.export_id;
    let conn: &Connection = conn;
    let _tuned = Tuning::apply(conn).map_err(sql)?;
    // The validator's memory on disk, so that staging's own memory does not grow with the
    // export; it knows the accounts and groups of earlier exports, for a delta.
    let (mut memory, memory_failure) =
        ScratchMemory::create(&cache_dir(store_path)).map_err(sql)?;
    know_earlier(conn, export_id, &mut memory).map_err(sql)?;
    let resumed = resume::progress(conn, export_id).map_err(sql)?;
    let chunks = Chunks::open(
        conn,
        export_id,
        chunking.records,
        chunking.stop_after,
        resumed,
    )
    .map_err(sql)?;
    let mut loader = Loader::new(conn, chunks, export_id, begun.cutoff).map_err(sql)?;
    let started = std::time::Instant::now();
    let report = validate_and_load(&readable, memory, memory_failure, &mut loader)?;
    match loader.error.take() {
        Some(Stop::Sql(e)) => return Err(sql(e).into()),
        Some(Stop::Interrupted(chunks)) => return Err(StageError::Interrupted { chunks }),
        None => {}
    }
    // No open chunk only after a failure, returned just above.
    let Some(tx) = loader.into_chunks().last() else {
        return Err(StageError::Interrupted { chunks: 0 });
    };
    let secs = started.elapsed().as_secs_f64();
    tracing::debug!(secs, "staging: every line read and written");
    conn.pragma_update(None, "cache_size", -INDEX_BUILD_CACHE_KIB)
        .map_err(sql)?;
    let last = Last {
        export,
        export_id,
        readable: &readable,
        report: &report,
        same_second: options.same_second,
    };
    let vanished = last.commit(tx).map_err(|e| match e {
        Finish::Sql(e) => StageError::from(sql(e)),
        Finish::Stage(e) => e,
    })?;
    let counts = file_counts(conn, export_id).map_err(sql)?;
    Ok(Staged {
        export_id,
        fresh: true,
        counts,
        vanished,
        media: report.media,
    })
}

/// Judged lines per batch the validating thread hands over, and batches in flight.
const HANDOFF_BATCH: usize = 1024;
const HANDOFF_DEPTH: usize = 8;

/// Validates `export` on a thread of its own, with `memory` (whose first failure goes to
/// `memory_failure`), while this thread stages each judged line through `loader` in the
/// validator's order: judging and writing run on two cores at once. A failure of the memory
/// reaches the loader just before the first line judged after it, as if it were one thread.
fn validate_and_load(
    export: &ExportDir,
    memory: ScratchMemory,
    memory_failure: ScratchFailure,
    loader: &mut Loader<'_>,
) -> Result<ValidationReport, ExportDirError> {
    let (handoff, judged) = mpsc::sync_channel::<Vec<Judged>>(HANDOFF_DEPTH);
    thread::scope(|scope| {
        let validation = scope.spawn(move || {
            let batch = RefCell::new(Vec::with_capacity(HANDOFF_BATCH));
            let push = |line: Judged| {
                let mut batch = batch.borrow_mut();
                if let Some(e) = memory_failure.take() {
                    batch.push(Judged::MemoryFailed(e));
                }
                batch.push(line);
                if batch.len() >= HANDOFF_BATCH {
                    let full = std::mem::replace(&mut *batch, Vec::with_capacity(HANDOFF_BATCH));
                    // The receiver reads until this thread ends: a send cannot fail.
                    let _ = handoff.send(full);
                }
            };
            let report = validate_with_memory(
                export,
                Box::new(memory),
                &Known::default(),
                &mut |p| push(Judged::Problem(p)),
                &mut |loc, record| push(Judged::Item(Item::of(loc, record))),
            );
            let mut rest = batch.into_inner();
            if let Some(e) = memory_failure.take() {
                rest.push(Judged::MemoryFailed(e));
            }
            let _ = handoff.send(rest);
            report
        });
        for batch in judged.iter() {
            for line in batch {
                match line {
                    Judged::Problem(p) => loader.invalid(&p),
                    Judged::Item(item) => loader.valid(&item),
                    Judged::MemoryFailed(e) => loader.memory_failed(e),
                }
            }
        }
        match validation.join() {
            Ok(report) => report,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Page cache of the store while it stages (KiB, as SQLite's negative `cache_size` takes it):
/// the pages the inserts touch stay in memory (they mostly append).
const STAGING_CACHE_KIB: i64 = 16 * 1024;

/// Page cache of the last transaction: the deferred index builds sort in runs of this size
/// (with 32 MiB, staging 30.5 M items peaked at 290 MiB).
const INDEX_BUILD_CACHE_KIB: i64 = 16 * 1024;

/// Helper threads SQLite may sort with while it builds the deferred indexes: none. With one,
/// its merges keep buffers of half a run each, and staging 30.5 M items peaked at 305 MiB.
const SORT_THREADS: i64 = 0;

/// The staging connection's settings for the time of a staging: a larger page cache and
/// threads for the index builds' sorts; dropping it puts back what the connection had.
struct Tuning<'c> {
    conn: &'c Connection,
    cache_size: i64,
    threads: i64,
}

impl<'c> Tuning<'c> {
    fn apply(conn: &'c Connection) -> rusqlite::Result<Self> {
        let cache_size = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        let threads = conn.query_row("PRAGMA threads", [], |r| r.get(0))?;
        conn.pragma_update(None, "cache_size", -STAGING_CACHE_KIB)?;
        conn.pragma_update(None, "threads", SORT_THREADS)?;
        Ok(Self {
            conn,
            cache_size,
            threads,
        })
    }
}

impl Drop for Tuning<'_> {
    fn drop(&mut self) {
        // Best effort: a connection that refuses keeps the larger cache until it closes.
        let _ = self.conn.pragma_update(None, "cache_size", self.cache_size);
        let _ = self.conn.pragma_update(None, "threads", self.threads);
    }
}

/// What the last transaction completes.
struct Last<'a> {
    export: &'a ExportDir,
    export_id: i64,
    readable: &'a ExportDir,
    report: &'a ValidationReport,
    same_second: super::order::SameSecond,
}

/// Why the last transaction failed.
enum Finish {
    Sql(rusqlite::Error),
    Stage(StageError),
}

impl From<rusqlite::Error> for Finish {
    fn from(e: rusqlite::Error) -> Self {
        Finish::Sql(e)
    }
}

impl Last<'_> {
    /// One transaction, the last chunk's: the export row (first: files refer to it), its
    /// files, the indexes a bulk staging left out, the message order, what a delta's key sets
    /// delete; the records on the target whose keys left the key sets.
    fn commit(&self, tx: Transaction<'_>) -> Result<Vec<(Kind, u64)>, Finish> {
        let started = std::time::Instant::now();
        let secs = || started.elapsed().as_secs_f64();
        let export_id = self.export_id;
        resume::complete(&tx, export_id)?;
        insert_files(&tx, export_id, self.readable, &self.report.files)?;
        super::custom_keys::save(&tx, export_id, &self.report.custom_keys)?;
        // The order's pass reads one of the indexes a bulk staging left out; the others are
        // built after it (its updates then touch none of them).
        create_missing_indexes(&tx, &["item_by_export_order"])?;
        tracing::debug!(secs = secs(), "staging: order index");
        super::order::assign(&tx, export_id, self.same_second)?;
        tracing::debug!(secs = secs(), "staging: order assigned");
        create_missing_indexes(&tx, &DEFERRABLE_ITEM_INDEXES.map(|(name, _)| name))?;
        restore_key_index(&tx)?;
        tracing::debug!(secs = secs(), "staging: indexes built");
        let vanished = match self.export.manifest.delta_of {
            Some(_) => {
                key_sets::apply(&tx, &self.export.root).map_err(|e| Finish::Stage(e.into()))?
            }
            None => Vec::new(),
        };
        tombstones::fold_into_destroyed_groups(&tx)?;
        tx.commit()?;
        tracing::debug!(secs = secs(), "staging: committed");
        Ok(vanished)
    }
}

/// One row per file present: its name, the path items are read back from, and its counts.
fn insert_files(
    tx: &Transaction<'_>,
    export_id: i64,
    readable: &ExportDir,
    files: &[crate::source::FileSummary],
) -> rusqlite::Result<()> {
    for (kind, summary) in Kind::RECORDS.into_iter().zip(file_order(files)) {
        let Some(summary) = summary else { continue };
        let Some(read_path) = readable.path(kind.file()) else {
            continue;
        };
        tx.execute(
            "INSERT INTO source_file (export_id, kind, name, read_path, records, invalid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                export_id,
                kind.code(),
                summary.file,
                read_path.to_string_lossy(),
                summary.records,
                summary.invalid
            ],
        )?;
    }
    Ok(())
}

/// The report's summaries in [`Kind::RECORDS`] order.
fn file_order(files: &[crate::source::FileSummary]) -> Vec<Option<&crate::source::FileSummary>> {
    Kind::RECORDS
        .iter()
        .map(|k| {
            files
                .iter()
                .find(|f| f.present && Kind::of_file_name(&f.file) == Some(*k))
        })
        .collect()
}

fn file_counts(conn: &Connection, export_id: i64) -> rusqlite::Result<Vec<(Kind, u64, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, records, invalid FROM source_file WHERE export_id = ?1 ORDER BY kind",
    )?;
    let rows = stmt.query_map([export_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, u64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, records, invalid) = row?;
        if let Some(kind) = Kind::from_code(kind) {
            out.push((kind, records, invalid));
        }
    }
    Ok(out)
}

/// The export with every `.gz` file replaced by a decompressed copy in `cache`.
fn readable_copy(export: &ExportDir, cache: &Path) -> Result<ExportDir, StageError> {
    let mut readable = export.clone();
    for kind in Kind::RECORDS {
        let Some(path) = export.path(kind.file()) else {
            continue;
        };
        if path.extension().is_none_or(|e| e != "gz") {
            continue;
        }
        let failed = |source| StageError::Decompress {
            path: path.to_path_buf(),
            cache: cache.to_path_buf(),
            source,
        };
        crate::private::create_dir_all(cache).map_err(failed)?;
        let copy = cache.join(format!(
            "{}-{}",
            export.manifest.exported_at,
            kind.file().file_name()
        ));
        let mut input = flate2::read::MultiGzDecoder::new(File::open(path).map_err(failed)?);
        let mut output = io::BufWriter::new(crate::private::create(&copy).map_err(failed)?);
        io::copy(&mut input, &mut output).map_err(failed)?;
        io::Write::flush(&mut output).map_err(failed)?;
        readable.replace_path(kind.file(), copy);
    }
    Ok(readable)
}

#[cfg(test)]
mod tests;
