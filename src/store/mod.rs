//! The SQLite progress store: the run, the staged export, every item's state, failures, the
//! journal of requests in flight, group high-water marks and the audit trail.
//!
//! SQL belongs in this module only: the layers above call named functions with typed
//! arguments ([`Kind`], [`ItemState`], …) and get typed rows back.
//!
//! Who writes: each hot path has one thread that owns a writing connection and commits in
//! batches, all built on the [`batch`] writer (a bounded queue, one transaction per batch,
//! publish after commit): the import's [`writer`], the verification pass's sink (whose
//! connection also opens and closes the pass) and the sync relay's journal. Besides those,
//! short-lived writing connections come and go, some while a batch writer runs: staging an
//! export, the runbook recording its steps, `retry`/`skip` (of sync events too) and `rollback`
//! from another shell. Readers (`status`, the UI, reports) open read-only connections.
//!
//! That is safe because every connection uses WAL mode and a busy timeout: readers see the
//! last commit without blocking anyone, and SQLite lets one write transaction in at a time,
//! so a second writer waits (up to `BUSY_TIMEOUT`) for the batch in progress instead of
//! failing. Batches take the write lock as they begin, so that wait is all they can meet, and
//! they are short, so it lasts milliseconds. Commands that move items refuse to run under a
//! live import (whose heartbeat is fresh), so items have one writer at a time.

pub mod audit;
pub(crate) mod batch;
pub mod custom_keys;
pub(crate) mod deletions;
pub(crate) mod export;
mod kind;
pub mod liveness;
pub mod lock;
pub mod media;
pub mod order;
pub(crate) mod pending;
pub(crate) mod phase;
pub mod queries;
pub(crate) mod records;
pub(crate) mod run;
pub mod samples;
mod schema;
mod scratch;
pub mod stage;
pub mod staged;
pub mod steps;
pub mod sync;
pub(crate) mod sync_msgs;
pub mod sync_queue;
pub mod verify;
pub(crate) mod verify_gone;
pub(crate) mod verify_pages;
pub(crate) mod window_counts;
pub(crate) mod writer;

pub use kind::{ItemState, Kind};
pub(crate) use schema::{SchemaError, SCHEMA_VERSION};

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// There is no store at this path.
    #[error("no store at {0}: start a run first (cutover run --store {0} ...)")]
    Missing(PathBuf),
    /// The schema could not be applied.
    #[error("store {path}: {source}")]
    Schema {
        /// The store.
        path: PathBuf,
        /// Why.
        source: SchemaError,
    },
    /// The store's file could not be created.
    #[error("cannot create the store {path}: {source}")]
    Create {
        /// The store.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite refused.
    #[error("store {path}: {source}")]
    Sql {
        /// The store.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The store belongs to another run.
    #[error("store {path} belongs to a different {what}: {detail}. Use another --store, or pass --reuse-store to carry on with this one anyway")]
    Mismatch {
        /// The store.
        path: PathBuf,
        /// "target" or "export".
        what: &'static str,
        /// Stored versus given.
        detail: String,
    },
    /// The store has no run yet.
    #[error("store {0} holds no run yet")]
    NoRun(PathBuf),
}

/// Opens (creating if needed) the store for writing and brings its schema up to date.
pub fn open_for_writing(path: &Path) -> Result<Connection, StoreError> {
    let sql = |source| StoreError::Sql {
        path: path.to_path_buf(),
        source,
    };
    // Created owner-only before SQLite opens it: its WAL and shared-memory files take the
    // database's mode, and all of them hold message content.
    if !path.exists() {
        crate::private::touch(path).map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let mut conn = Connection::open(path).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    // NORMAL in WAL mode survives a process crash (our kill -9 case); only an OS crash or
    // power loss can roll back the last commits, and every kind replays safely.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql)?;
    schema::migrate(&mut conn).map_err(|source| StoreError::Schema {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(conn)
}

/// Opens an existing store read-only (for `status`, `errors`, the UI).
pub fn open_for_reading(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Missing(path.to_path_buf()));
    }
    let sql = |source| StoreError::Sql {
        path: path.to_path_buf(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    if version != SCHEMA_VERSION {
        return Err(StoreError::Schema {
            path: path.to_path_buf(),
            source: SchemaError::TooNew { found: version },
        });
    }
    Ok(conn)
}

/// The directory beside the store where decompressed copies of `.gz` export files are kept
/// (records are read back by byte offset, which a gzip stream cannot seek to).
pub(crate) fn cache_dir(store: &Path) -> PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(".files");
    store.with_file_name(name)
}

/// Joins two ids into one item key (friends: owner and friend; members: group and member).
pub fn pair_key(a: &str, b: &str) -> String {
    format!("{a}\u{1f}{b}")
}

/// A key as a person reads it: `owner→friend`, `group/member` (a deletion's as its record's).
pub(crate) fn display_key(kind: Kind, key: &str) -> String {
    let sep = match kind.record() {
        Kind::Friend => "→",
        _ => "/",
    };
    key.replace('\u{1f}', sep)
}

/// A run counts as live (a process is importing) when its writer wrote a heartbeat this
/// recently; the writer writes one every second while it runs.
pub(crate) const HEARTBEAT_LIVE_SECS: i64 = 15;

#[cfg(test)]
mod tests;
