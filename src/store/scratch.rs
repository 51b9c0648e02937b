//! The validator's cross-file memory on disk, for staging: a throwaway SQLite file beside the
//! store (in its `.files` directory, deleted when staging ends) with a small page cache, so
//! that staging an export of any size keeps a bounded amount of it in this process.
//!
//! The accounts, the groups and the ids seen in the current file are held in memory first,
//! up to a fixed number of each ([`Caps`]: at most about 52, 26 and 38 MiB); only past that
//! do they go to the file, whose inserts land in random pages. A lookup asks the file only
//! once something of its kind went there.
//!
//! The trait's calls cannot fail, so the first SQLite error is kept in a [`ScratchFailure`]
//! that the loader checks before it writes each record: a record judged after a failure is
//! never staged, and staging stops with the error.

use crate::source::memory::{AccountEntry, CrossMemory, GroupEntry, ListView};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Page cache of the scratch file (KiB, as SQLite's negative `cache_size` takes it).
const CACHE_KIB: i64 = 4 * 1024;
/// Writes per scratch transaction (nothing is synced: the file dies with the staging).
const WRITES_PER_COMMIT: u64 = 100_000;

const SCHEMA: &str = "
CREATE TABLE account (h INTEGER PRIMARY KEY, idx INTEGER NOT NULL, line INTEGER NOT NULL,
    rejected INTEGER NOT NULL, earlier INTEGER NOT NULL);
CREATE TABLE grp (h INTEGER PRIMARY KEY, line INTEGER NOT NULL, rejected INTEGER NOT NULL,
    earlier INTEGER NOT NULL, created_at INTEGER NOT NULL, owner INTEGER,
    member_owner_line INTEGER);
CREATE TABLE first_line (h INTEGER PRIMARY KEY, line INTEGER NOT NULL);
CREATE TABLE friend_tally (owner INTEGER PRIMARY KEY, friends INTEGER NOT NULL,
    groups INTEGER NOT NULL);
CREATE TABLE friend_group (owner INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (owner, name)) WITHOUT ROWID;
";

/// How many entries of each kind stay in memory before the rest go to the file. Each is 7/8
/// of a power of two: the most a hash table of that many slots holds before it doubles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Caps {
    /// Accounts (24 bytes a slot: about 52 MiB at most).
    pub(crate) accounts: usize,
    /// Groups (48 bytes a slot: about 26 MiB at most).
    pub(crate) groups: usize,
    /// Ids seen in the current file (8 bytes a slot: about 38 MiB at most), and first lines
    /// (16 bytes a slot).
    pub(crate) seen: usize,
    /// Owners whose friend counts and group names are in memory (12 bytes each).
    pub(crate) owners: u32,
    /// Distinct friend group names kept as bits (at most 32).
    pub(crate) names: usize,
    /// (owner, friend) pairs in memory before they go to the file as a sorted run.
    pub(crate) pairs: usize,
}

/// The most entries a hash table of `2^bits` slots holds before it grows.
const fn full(bits: u32) -> usize {
    (1 << bits) / 8 * 7
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            accounts: full(21),
            groups: full(19),
            seen: full(22),
            owners: friends::OWNERS_IN_MEMORY,
            names: friends::NAME_BITS,
            pairs: friends::PENDING_PAIRS,
        }
    }
}

/// One kind of entry: in memory up to a cap, then in the file.
struct Tier<K, V> {
    memory: HashMap<K, V>,
    cap: usize,
    /// Some entry went to the file: a lookup missing in memory must ask it.
    spilled: bool,
}

impl<K: std::hash::Hash + Eq, V> Tier<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            memory: HashMap::new(),
            cap,
            spilled: false,
        }
    }

    /// Whether a new entry may still go to memory.
    fn room(&self) -> bool {
        self.memory.len() < self.cap
    }

    /// Forgets every entry (the file's table is emptied by the caller).
    fn clear(&mut self) {
        self.memory = HashMap::new();
        self.spilled = false;
    }
}

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
    account_tier: Tier<u64, AccountEntry>,
    group_tier: Tier<u64, GroupEntry>,
    /// First lines of the current file's keys (in memory).
    first_lines: Tier<u64, u32>,
    /// Keys seen in the current file (in memory); the file keeps both in one table, as a
    /// file uses one or the other.
    seen: HashSet<u64>,
    seen_spilled: bool,
    caps: Caps,
    /// The friend lists of friends.jsonl (see `scratch_friends.rs`).
    friends: FriendState,
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
        Self::with_caps(dir, Caps::default())
    }

    /// [`Self::create`], keeping at most `caps` entries of each kind in memory.
    pub(crate) fn with_caps(dir: &Path, caps: Caps) -> rusqlite::Result<(Self, ScratchFailure)> {
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
            account_tier: Tier::new(caps.accounts),
            group_tier: Tier::new(caps.groups),
            first_lines: Tier::new(caps.seen),
            seen: HashSet::new(),
            seen_spilled: false,
            caps,
            friends: FriendState::default(),
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
        if let Some(entry) = self.account_tier.memory.get(&id) {
            return Some(*entry);
        }
        if !self.account_tier.spilled {
            return None;
        }
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
        if let Some(slot) = self.account_tier.memory.get_mut(&id) {
            *slot = e;
            return;
        }
        let values = params![key(id), e.index, e.line, e.rejected, e.earlier];
        if self.account_tier.spilled {
            let sql = "UPDATE account SET idx = ?2, line = ?3, rejected = ?4, earlier = ?5
                       WHERE h = ?1";
            if self.write(sql, values) > 0 {
                return;
            }
        }
        if self.account_tier.room() {
            self.account_tier.memory.insert(id, e);
            self.accounts = self.accounts.saturating_add(1);
            return;
        }
        self.account_tier.spilled = true;
        let sql = "INSERT INTO account (h, idx, line, rejected, earlier)
                   VALUES (?1, ?2, ?3, ?4, ?5)";
        if self.write(sql, values) == 1 {
            self.accounts = self.accounts.saturating_add(1);
        }
    }

    fn account_count(&self) -> u32 {
        self.accounts
    }

    fn group(&mut self, id: u64) -> Option<GroupEntry> {
        if let Some(entry) = self.group_tier.memory.get(&id) {
            return Some(*entry);
        }
        if !self.group_tier.spilled {
            return None;
        }
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
        if let Some(slot) = self.group_tier.memory.get_mut(&id) {
            *slot = e;
            return;
        }
        // A group is either in memory or in the file: one that went to the file is replaced
        // there.
        if self.group_tier.room() && !(self.group_tier.spilled && self.group(id).is_some()) {
            self.group_tier.memory.insert(id, e);
            return;
        }
        self.group_tier.spilled = true;
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
        if let Some(first) = self.first_lines.memory.get(&h) {
            return Some(*first);
        }
        if !self.first_lines.spilled && self.first_lines.room() {
            self.first_lines.memory.insert(h, line);
            return None;
        }
        self.first_lines.spilled = true;
        let sql = "INSERT INTO first_line (h, line) VALUES (?1, ?2) ON CONFLICT (h) DO NOTHING";
        if self.write(sql, params![key(h), line]) == 1 {
            return None;
        }
        let first = "SELECT line FROM first_line WHERE h = ?1";
        // An error was kept by `write`: the record will not be staged, so any answer does.
        self.read(first, [key(h)], |r| r.get(0)).or(Some(line))
    }

    fn seen_before(&mut self, h: u64) -> bool {
        if self.seen.contains(&h) {
            return true;
        }
        if !self.seen_spilled && self.seen.len() < self.caps.seen {
            self.seen.insert(h);
            return false;
        }
        self.seen_spilled = true;
        let sql = "INSERT INTO first_line (h, line) VALUES (?1, 0) ON CONFLICT (h) DO NOTHING";
        // After an error (kept by `write`) the record is not staged: any answer does.
        self.write(sql, [key(h)]) == 0
    }

    fn friend_view(&mut self, owner: u32, friend: u32, names: &[&String]) -> ListView {
        self.view_list(owner, friend, names)
    }

    fn friend_push(&mut self, owner: u32, friend: u32, new_names: &[String]) {
        self.push_list(owner, friend, new_names);
    }

    fn next_file(&mut self) {
        // DELETE without WHERE drops the pages at once (SQLite's truncate optimization).
        let sql = "DELETE FROM first_line; DELETE FROM friend_tally; DELETE FROM friend_group";
        let result = self.conn.execute_batch(sql);
        self.ok(result);
        self.forget_lists();
        self.first_lines.clear();
        self.seen = HashSet::new();
        self.seen_spilled = false;
    }
}

#[path = "scratch_friends.rs"]
mod friends;
use friends::FriendState;

#[cfg(test)]
#[path = "scratch_tests.rs"]
mod tests;
