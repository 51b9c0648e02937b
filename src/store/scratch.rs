//! The validator's cross-file memory on disk, for staging: a throwaway SQLite file beside the
//! store (in its `.files` directory, deleted when staging ends) with a small page cache, so
//! that staging an export of any size keeps the same few MiB of it in this process.
//!
//! The trait's calls cannot fail, so the first SQLite error is kept in a [`ScratchFailure`]
//! that the loader checks before it writes each record: a record judged after a failure is
//! never staged, and staging stops with the error.

use crate::source::memory::{AccountEntry, CrossMemory, GroupEntry, ListView};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Page cache of the scratch file (KiB, as SQLite's negative `cache_size` takes it).
const CACHE_KIB: i64 = 16 * 1024;
/// Writes per scratch transaction (nothing is synced: the file dies with the staging).
const WRITES_PER_COMMIT: u64 = 100_000;

const SCHEMA: &str = "
CREATE TABLE account (h INTEGER PRIMARY KEY, idx INTEGER NOT NULL, line INTEGER NOT NULL,
    rejected INTEGER NOT NULL, earlier INTEGER NOT NULL);
CREATE TABLE grp (h INTEGER PRIMARY KEY, line INTEGER NOT NULL, rejected INTEGER NOT NULL,
    earlier INTEGER NOT NULL, created_at INTEGER NOT NULL, owner INTEGER,
    member_owner_line INTEGER);
CREATE TABLE first_line (h INTEGER PRIMARY KEY, line INTEGER NOT NULL);
CREATE TABLE friend (owner INTEGER NOT NULL, friend INTEGER NOT NULL,
    PRIMARY KEY (owner, friend)) WITHOUT ROWID;
CREATE TABLE friend_tally (owner INTEGER PRIMARY KEY, friends INTEGER NOT NULL,
    groups INTEGER NOT NULL);
CREATE TABLE friend_group (owner INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (owner, name)) WITHOUT ROWID;
";

/// The first error of a [`ScratchMemory`], shared with whoever must stop on it.
#[derive(Clone, Default)]
pub(super) struct ScratchFailure(Arc<Mutex<Option<rusqlite::Error>>>);

impl ScratchFailure {
    /// The error, once (later calls see none).
    pub(crate) fn take(&self) -> Option<rusqlite::Error> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }

    fn keep(&self, e: rusqlite::Error) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(e);
        }
    }
}

/// [`CrossMemory`] in a throwaway SQLite file.
pub(super) struct ScratchMemory {
    conn: Connection,
    /// Deletes the file when the memory is dropped.
    _file: tempfile::NamedTempFile,
    accounts: u32,
    writes: u64,
    failure: ScratchFailure,
}

const PREFIX: &str = "crossref-";
const SUFFIX: &str = ".db";

/// Deletes the scratch files of stagings that were killed before they could. Only one process
/// stages into a store at a time (the store's lock), so none of them is in use.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PREFIX) && name.ends_with(SUFFIX) {
            // Best effort: a file that cannot go now goes at the next staging.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Ids are u64 hashes; SQLite keys are i64 (the same bits).
fn key(h: u64) -> i64 {
    i64::from_ne_bytes(h.to_ne_bytes())
}

impl ScratchMemory {
    /// A new, empty memory in a file of `dir`, and the slot its first error goes to.
    pub(crate) fn create(dir: &Path) -> rusqlite::Result<(Self, ScratchFailure)> {
        let cannot = |e: std::io::Error| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
        crate::private::create_dir_all(dir).map_err(cannot)?;
        remove_stale(dir);
        let file = tempfile::Builder::new()
            .prefix(PREFIX)
            .suffix(SUFFIX)
            .tempfile_in(dir)
            .map_err(cannot)?;
        let conn = Connection::open(file.path())?;
        conn.pragma_update(None, "journal_mode", "OFF")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch("BEGIN")?;
        let failure = ScratchFailure::default();
        let memory = Self {
            conn,
            _file: file,
            accounts: 0,
            writes: 0,
            failure: failure.clone(),
        };
        Ok((memory, failure))
    }

    /// The value of `result`, or `None` with its error kept.
    fn ok<T>(&self, result: rusqlite::Result<T>) -> Option<T> {
        result.map_err(|e| self.failure.keep(e)).ok()
    }

    /// Runs a write, committing every [`WRITES_PER_COMMIT`] of them; the rows it changed.
    fn write(&mut self, sql: &str, values: impl rusqlite::Params) -> usize {
        self.writes += 1;
        let mut result = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(values));
        if result.is_ok() && self.writes.is_multiple_of(WRITES_PER_COMMIT) {
            result = self.conn.execute_batch("COMMIT; BEGIN").and(result);
        }
        self.ok(result).unwrap_or(0)
    }

    fn read<T>(
        &self,
        sql: &str,
        values: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<T> {
        let result = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(values, row).optional());
        self.ok(result).flatten()
    }
}

impl CrossMemory for ScratchMemory {
    fn account(&mut self, id: u64) -> Option<AccountEntry> {
        self.read(
            "SELECT idx, line, rejected, earlier FROM account WHERE h = ?1",
            [key(id)],
            |r| {
                Ok(AccountEntry {
                    index: r.get(0)?,
                    line: r.get(1)?,
                    rejected: r.get(2)?,
                    earlier: r.get(3)?,
                })
            },
        )
    }

    fn put_account(&mut self, id: u64, e: AccountEntry) {
        let values = params![key(id), e.index, e.line, e.rejected, e.earlier];
        let sql = "UPDATE account SET idx = ?2, line = ?3, rejected = ?4, earlier = ?5
                   WHERE h = ?1";
        if self.write(sql, values) == 0 {
            let sql = "INSERT INTO account (h, idx, line, rejected, earlier)
                       VALUES (?1, ?2, ?3, ?4, ?5)";
            if self.write(sql, values) == 1 {
                self.accounts = self.accounts.saturating_add(1);
            }
        }
    }

    fn account_count(&self) -> u32 {
        self.accounts
    }

    fn group(&mut self, id: u64) -> Option<GroupEntry> {
        self.read(
            "SELECT line, rejected, earlier, created_at, owner, member_owner_line
             FROM grp WHERE h = ?1",
            [key(id)],
            |r| {
                Ok(GroupEntry {
                    line: r.get(0)?,
                    rejected: r.get(1)?,
                    earlier: r.get(2)?,
                    created_at: r.get(3)?,
                    owner: r
                        .get::<_, Option<i64>>(4)?
                        .map(|o| u64::from_ne_bytes(o.to_ne_bytes())),
                    member_owner_line: r.get(5)?,
                })
            },
        )
    }

    fn put_group(&mut self, id: u64, e: GroupEntry) {
        let sql = "INSERT OR REPLACE INTO grp
                   (h, line, rejected, earlier, created_at, owner, member_owner_line)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        let owner = e.owner.map(key);
        let values = params![
            key(id),
            e.line,
            e.rejected,
            e.earlier,
            e.created_at,
            owner,
            e.member_owner_line
        ];
        self.write(sql, values);
    }

    fn first_line(&mut self, h: u64, line: u32) -> Option<u32> {
        let sql = "INSERT INTO first_line (h, line) VALUES (?1, ?2) ON CONFLICT (h) DO NOTHING";
        if self.write(sql, params![key(h), line]) == 1 {
            return None;
        }
        let first = "SELECT line FROM first_line WHERE h = ?1";
        // An error was kept by `write`: the record will not be staged, so any answer does.
        self.read(first, [key(h)], |r| r.get(0)).or(Some(line))
    }

    fn seen_before(&mut self, h: u64) -> bool {
        let sql = "INSERT INTO first_line (h, line) VALUES (?1, 0) ON CONFLICT (h) DO NOTHING";
        // After an error (kept by `write`) the record is not staged: any answer does.
        self.write(sql, [key(h)]) == 0
    }

    fn friend_view(&mut self, owner: u32, friend: u32, names: &[&String]) -> ListView {
        let duplicate = "SELECT 1 FROM friend WHERE owner = ?1 AND friend = ?2";
        let tally = "SELECT friends, groups FROM friend_tally WHERE owner = ?1";
        let has_name = "SELECT 1 FROM friend_group WHERE owner = ?1 AND name = ?2";
        let (friends, groups) = self
            .read(tally, [owner], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap_or((0, 0));
        ListView {
            duplicate: self
                .read(duplicate, [owner, friend], |r| r.get::<_, i64>(0))
                .is_some(),
            friends,
            groups,
            new_names: names
                .iter()
                .filter(|n| {
                    self.read(has_name, params![owner, n], |r| r.get::<_, i64>(0))
                        .is_none()
                })
                .map(|n| (*n).clone())
                .collect(),
        }
    }

    fn friend_push(&mut self, owner: u32, friend: u32, new_names: &[String]) {
        self.write(
            "INSERT INTO friend (owner, friend) VALUES (?1, ?2)",
            [owner, friend],
        );
        for name in new_names {
            let sql = "INSERT INTO friend_group (owner, name) VALUES (?1, ?2)";
            self.write(sql, params![owner, name]);
        }
        let sql = "INSERT INTO friend_tally (owner, friends, groups) VALUES (?1, 1, ?2)
                   ON CONFLICT (owner) DO UPDATE SET friends = friends + 1,
                   groups = groups + excluded.groups";
        self.write(sql, params![owner, new_names.len()]);
    }

    fn next_file(&mut self) {
        // DELETE without WHERE drops the pages at once (SQLite's truncate optimization).
        let sql = "DELETE FROM first_line; DELETE FROM friend; DELETE FROM friend_tally;
                   DELETE FROM friend_group";
        let result = self.conn.execute_batch(sql);
        self.ok(result);
    }
}

#[cfg(test)]
#[path = "scratch_tests.rs"]
mod tests;
