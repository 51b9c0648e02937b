//! The staging loader: items and invalid rows go in as the validator hands records over,
//! through [`Chunks`], which commits them in chunks and skips the lines a staging cut short
//! committed already.

use super::item::Item;
use super::resume::{Chunks, Stop};
use super::tombstones;
use crate::source::memory::CrossMemory;
use crate::source::{id_hash, Loc, Problem};
use crate::store::{ItemState, Kind};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// Account and group item ids the loader keeps in memory at most, per kind (7/8 of 2²¹: the
/// most a table of 2²¹ slots of 16 bytes, 32 MiB, holds before it doubles); past that, ids are
/// looked up in the store. Keyed by the id's hash, as the validator remembers it: two valid
/// accounts (or groups) never share one, the validator refusing the second as a duplicate.
const IDS_CACHED: usize = (1 << 21) / 8 * 7;

/// Where one staged item goes: see [`Loader::placement`].
struct Placement<'i> {
    kind: Kind,
    key: &'i str,
    parent: Option<i64>,
    needs: i64,
    t: i64,
    /// A message older than the history cut-off: staged as skipped.
    too_old: bool,
}

/// Inserts items as the validator hands them over.
pub(super) struct Loader<'c> {
    conn: &'c Connection,
    chunks: Chunks<'c>,
    export_id: i64,
    next_id: HashMap<Kind, i64>,
    /// Item ids by their key's hash, the first [`IDS_CACHED`] staged or looked up: accounts,
    /// then groups.
    ids: [HashMap<u64, i64>; 2],
    /// Messages sent before this (unix seconds) are staged as skipped.
    cutoff: Option<i64>,
    /// The store holds deletion items: an upsert may supersede one of its key.
    deletions: bool,
    /// The first failure: every record after it is ignored.
    pub(crate) error: Option<Stop>,
}

impl<'c> Loader<'c> {
    /// A loader of `export_id` writing through `chunks` (on `conn`); ids continue after the
    /// items staged already, including those of committed chunks. It stops at the first
    /// failure of the validator's memory, which [`Loader::memory_failed`] tells it.
    pub(crate) fn new(
        conn: &'c Connection,
        chunks: Chunks<'c>,
        export_id: i64,
        cutoff: Option<i64>,
    ) -> rusqlite::Result<Self> {
        let mut next_id = HashMap::new();
        let deletions = tombstones::any(conn)?;
        for kind in Kind::ALL {
            let max: Option<i64> = conn.query_row(
                "SELECT MAX(id) FROM item WHERE kind = ?1",
                [kind.code()],
                |r| r.get(0),
            )?;
            next_id.insert(kind, max.map_or(0, |m| m + 1));
        }
        Ok(Self {
            conn,
            chunks,
            export_id,
            next_id,
            ids: [HashMap::new(), HashMap::new()],
            cutoff,
            deletions,
            error: None,
        })
    }

    /// Records a problem of a line (not one a committed chunk holds).
    pub(crate) fn invalid(&mut self, p: &Problem) {
        let kind = Kind::of_file_name(&p.file).map_or(-1, Kind::code);
        if !self.enter(kind, p.line) {
            return;
        }
        let result = self
            .conn
            .prepare_cached(
                "INSERT INTO invalid (export_id, kind, file, line, record, field, rule, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    self.export_id,
                    kind,
                    p.file,
                    p.line,
                    p.record,
                    p.field,
                    p.rule.name(),
                    p.reason
                ])
            });
        self.keep_error(result.map(|_| ()));
    }

    /// Stages a valid record or tombstone (not one a committed chunk holds).
    pub(crate) fn valid(&mut self, item: &Item) {
        if !self.enter(item.kind.code(), item.loc.line) {
            return;
        }
        if item.deleted {
            return self.deleted(item);
        }
        let place = self.placement(item);
        if self.deletions {
            let result = tombstones::supersede(self.conn, place.kind, place.key);
            self.keep_error(result);
        }
        let id = self.next_id.get(&place.kind).copied().unwrap_or(0);
        match self.insert(id, item.loc, &place) {
            // A message staged before, left as it was: no id taken, so ids stay one past the
            // largest stored (what a resumed staging continues from).
            Ok(None) => {}
            Ok(Some(stored)) => {
                if stored == id {
                    self.next_id.insert(place.kind, id + 1);
                }
                if matches!(place.kind, Kind::Account | Kind::Group) {
                    self.remember_id(place.kind, place.key, stored);
                }
                if !place.too_old && !item.media.is_empty() {
                    self.media(item);
                }
            }
            Err(e) => self.keep_error(Err(e)),
        }
    }

    /// Records the media URLs a newly staged message uses (the media stage copies them).
    fn media(&mut self, item: &Item) {
        let refs = item.media_refs();
        let (kind, line) = (item.kind, item.loc.line);
        let result = crate::store::media::record_refs(self.conn, self.export_id, kind, line, &refs);
        self.keep_error(result);
    }

    /// Stages the tombstone `item`.
    fn deleted(&mut self, item: &Item) {
        let Some(deletion) = item.kind.deletion() else {
            return;
        };
        let id = self.next_id.get(&deletion).copied().unwrap_or(0);
        let (loc, kind, key) = (item.loc, item.kind, &item.key);
        match tombstones::stage(self.conn, self.export_id, loc, kind, key, id) {
            Ok(stored) => {
                self.deletions = true;
                if stored == Some(id) {
                    self.next_id.insert(deletion, id + 1);
                }
            }
            Err(e) => self.keep_error(Err(e)),
        }
    }

    /// The validator's memory failed before the next line: staging stops with its error.
    pub(crate) fn memory_failed(&mut self, e: rusqlite::Error) {
        self.keep_error(Err(e));
    }

    /// Where a valid record goes: its kind, natural key, parent, the newest account it waits
    /// for (-1: none, or one not staged), its time, and whether it is a message older than
    /// the history cut-off (one sent exactly at the cut-off is kept).
    fn placement<'i>(&mut self, item: &'i Item) -> Placement<'i> {
        let [first, second] = &item.accounts;
        let mut account = |id: &Option<String>| match id {
            Some(id) => self.item_id(Kind::Account, id).unwrap_or(-1),
            None => -1,
        };
        let (kind, t) = (item.kind, item.t);
        let (parent, needs) = match kind {
            Kind::Profile | Kind::Group => (None, account(first)),
            Kind::Friend => {
                let owner = account(first);
                (Some(owner), owner.max(account(second)))
            }
            Kind::C2cMessage => {
                let (from, to) = (account(first), account(second));
                (crate::store::order::conversation(from, to), from.max(to))
            }
            Kind::GroupMember | Kind::GroupMessage => {
                let needs = account(first);
                let group = item.group.as_deref();
                (group.and_then(|g| self.item_id(Kind::Group, g)), needs)
            }
            _ => (None, -1),
        };
        let message = matches!(kind, Kind::C2cMessage | Kind::GroupMessage);
        Placement {
            too_old: message && self.cutoff.is_some_and(|c| t < c),
            kind,
            key: &item.key,
            parent,
            needs,
            t,
        }
    }

    /// Stages one item as `id`, or updates the item of the same key an earlier export staged;
    /// the id it is stored under (`None`: a message staged before, left as it was).
    ///
    /// A plain insert that ignores a conflict, then (only on one) the update: an upsert, which
    /// may fail half-way through the item's indexes, makes SQLite copy every page it touches
    /// into a statement journal first; an ignoring insert never fails half-way. No column is
    /// ever NULL where it may not be, so the key is the only conflict it can ignore.
    fn insert(&self, id: i64, loc: Loc, place: &Placement<'_>) -> rusqlite::Result<Option<i64>> {
        let state = if place.too_old {
            ItemState::Skipped.code()
        } else {
            ItemState::Pending.code()
        };
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO item
                 (kind, id, export_id, key, line, offset, len, parent, needs, t, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                place.kind.code(),
                id,
                self.export_id,
                place.key,
                loc.line,
                loc.offset,
                loc.len,
                place.parent,
                place.needs,
                place.t,
                state
            ])?;
        if inserted == 1 {
            return Ok(Some(id));
        }
        self.update(id, loc, place)
    }

    /// After an insert was ignored: the item of `place`'s key that an earlier export staged,
    /// brought to this export's version (messages are added once and left as they are: `None`;
    /// every other kind takes the newest export's version); the id it is stored under.
    fn update(&self, id: i64, loc: Loc, place: &Placement<'_>) -> rusqlite::Result<Option<i64>> {
        let kind = place.kind.code();
        if matches!(place.kind, Kind::C2cMessage | Kind::GroupMessage) {
            let sql = "SELECT EXISTS (SELECT 1 FROM item WHERE kind = ?1 AND key = ?2)";
            let staged: bool = self
                .conn
                .prepare_cached(sql)?
                .query_row(params![kind, place.key], |r| r.get(0))?;
            if staged {
                return Ok(None);
            }
        } else {
            let sql = "UPDATE item SET export_id = ?3, line = ?4, offset = ?5, len = ?6,
                    needs = ?7, t = ?8, state = 0,
                    imported_before = MAX(imported_before, state = 1)
                WHERE kind = ?1 AND key = ?2 RETURNING id";
            let (l, at) = (loc, place);
            let values = params![
                kind,
                at.key,
                self.export_id,
                l.line,
                l.offset,
                l.len,
                at.needs,
                at.t
            ];
            let stored = self
                .conn
                .prepare_cached(sql)?
                .query_row(values, |r| r.get::<_, i64>(0))
                .optional()?;
            if stored.is_some() {
                return Ok(stored);
            }
        }
        // Not the key: the id was taken, which the store refuses as it always did.
        let sql = "INSERT INTO item (kind, id, export_id, key, line, offset, len, needs)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        let values = params![
            kind,
            id,
            self.export_id,
            place.key,
            loc.line,
            loc.offset,
            loc.len,
            place.needs
        ];
        self.conn.execute(sql, values).map(|_| Some(id))
    }

    /// Whether to write the rows of `line` of `kind`'s file: not after a failure, nor when a
    /// committed chunk holds them.
    fn enter(&mut self, kind: i64, line: u64) -> bool {
        if self.error.is_some() {
            return false;
        }
        match self.chunks.enter(kind, line) {
            Ok(write) => write,
            Err(stop) => {
                self.error = Some(stop);
                false
            }
        }
    }

    /// The item id of the account or group `key` (`None`: not staged), from the cache or the
    /// store (whose uncommitted chunk this connection sees).
    fn item_id(&mut self, kind: Kind, key: &str) -> Option<i64> {
        let h = id_hash(key);
        let cache = &self.ids[usize::from(kind == Kind::Group)];
        if let Some(id) = cache.get(&h) {
            return Some(*id);
        }
        // The kind spelled out: a bulk staging looks keys up in an index of that kind's alone.
        let sql = match kind {
            Kind::Group => "SELECT id FROM item WHERE kind = 4 AND key = ?1",
            _ => "SELECT id FROM item WHERE kind = 0 AND key = ?1",
        };
        let found = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_row([key], |r| r.get(0)).optional());
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                self.keep_error(Err(e));
                return None;
            }
        };
        if let Some(id) = found {
            self.remember_id(kind, key, id);
        }
        found
    }

    /// Keeps the item id of the account or group `key` (just staged, or looked up), while
    /// there is room: the records after it that refer to it find it without a query.
    fn remember_id(&mut self, kind: Kind, key: &str, id: i64) {
        let cache = &mut self.ids[usize::from(kind == Kind::Group)];
        if cache.len() < IDS_CACHED {
            cache.insert(id_hash(key), id);
        }
    }

    fn keep_error(&mut self, result: rusqlite::Result<()>) {
        if let (Err(e), None) = (result, &self.error) {
            self.error = Some(Stop::Sql(e));
        }
    }

    /// The chunks, to complete the export in the last one.
    pub(crate) fn into_chunks(self) -> Chunks<'c> {
        self.chunks
    }
}

/// Tells `memory` the accounts and groups earlier exports staged, which a delta may refer to,
/// a row at a time. Those that committed chunks of `export_id` itself hold are left out: the
/// validator reads them again in the export, and a record restated there is as valid as one
/// stated the first time.
pub(super) fn know_earlier(
    conn: &Connection,
    export_id: i64,
    memory: &mut dyn CrossMemory,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT key, t FROM item WHERE kind = ?1 AND export_id <> ?2")?;
    {
        let mut rows = stmt.query(params![Kind::Account.code(), export_id])?;
        while let Some(row) = rows.next()? {
            memory.know_account(id_hash(row.get_ref(0)?.as_str()?));
        }
    }
    let mut rows = stmt.query(params![Kind::Group.code(), export_id])?;
    while let Some(row) = rows.next()? {
        memory.know_group(id_hash(row.get_ref(0)?.as_str()?), row.get(1)?);
    }
    Ok(())
}
