//! Reads and small writes on the store shared by the engine, `status`, `errors`, `retry` and
//! `skip`.

use super::{display_key, ItemState, Kind, StoreError};
use crate::timefmt::now_secs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Per kind: items pending, done, failed, skipped.
pub fn item_counts(conn: &Connection) -> rusqlite::Result<BTreeMap<Kind, [u64; 4]>> {
    let mut out: BTreeMap<Kind, [u64; 4]> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT kind, state, COUNT(*) FROM item GROUP BY kind, state")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, u64>(2)?,
        ))
    })?;
    for row in rows {
        let (kind, state, n) = row?;
        if let (Some(kind), Ok(state)) = (Kind::from_code(kind), usize::try_from(state)) {
            if state < 4 {
                out.entry(kind).or_default()[state] += n;
            }
        }
    }
    Ok(out)
}

/// Which failed items an operator action applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailureFilter {
    /// Only this API (its command name, e.g. `importmsg`).
    pub api: Option<String>,
    /// Only this error code.
    pub code: Option<i64>,
    /// Only this kind.
    pub kind: Option<Kind>,
}

impl FailureFilter {
    /// A person's description: `all failed items`, `importmsg code 90012`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(kind) = self.kind {
            parts.push(kind.name().to_string());
        }
        if let Some(api) = &self.api {
            parts.push(api.clone());
        }
        if let Some(code) = self.code {
            parts.push(format!("code {code}"));
        }
        if parts.is_empty() {
            "all failed items".into()
        } else {
            format!("failed items of {}", parts.join(" "))
        }
    }

    fn condition(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut sql = String::from("i.state = 2");
        let mut args = Vec::new();
        if let Some(api) = &self.api {
            sql.push_str(" AND f.api = ?");
            args.push(Value::Text(api.clone()));
        }
        if let Some(code) = self.code {
            sql.push_str(" AND f.code = ?");
            args.push(Value::Integer(code));
        }
        if let Some(kind) = self.kind {
            sql.push_str(" AND i.kind = ?");
            args.push(Value::Integer(kind.code()));
        }
        (sql, args)
    }
}

/// Moves the failed items matching `filter` to `to` (pending for a retry, skipped); returns
/// them per kind.
pub(crate) fn move_failed(
    conn: &Connection,
    filter: &FailureFilter,
    to: ItemState,
) -> rusqlite::Result<BTreeMap<Kind, Vec<PendingItem>>> {
    let (cond, args) = filter.condition();
    let select = format!(
        "SELECT i.kind, {ITEM_COLUMNS} FROM item i JOIN failure f ON f.kind = i.kind AND f.id = i.id
         WHERE {cond} ORDER BY i.kind, i.id"
    );
    let mut stmt = conn.prepare(&select)?;
    let rows: Vec<(i64, PendingItem)> = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, item_row(r, 1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn
        .prepare_cached("UPDATE item SET state = ?3 WHERE kind = ?1 AND id = ?2 AND state = 2")?;
    let mut moved: BTreeMap<Kind, Vec<PendingItem>> = BTreeMap::new();
    for (kind, item) in rows {
        if update.execute(params![kind, item.id, to.code()])? > 0 {
            if let Some(kind) = Kind::from_code(kind) {
                moved.entry(kind).or_default().push(item);
            }
        }
    }
    Ok(moved)
}

/// The columns of a [`PendingItem`], for `item i`.
/// `t` is the time a message is sent (after a same-second shift), else the record's own.
pub(super) const ITEM_COLUMNS: &str =
    "i.id, i.export_id, i.line, i.offset, i.len, i.parent, i.needs, COALESCE(i.sent_t, i.t), i.seq";

pub(super) fn item_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PendingItem> {
    Ok(PendingItem {
        id: r.get(at)?,
        export_id: r.get(at + 1)?,
        line: r.get(at + 2)?,
        offset: r.get(at + 3)?,
        len: r.get(at + 4)?,
        parent: r.get(at + 5)?,
        needs: r.get(at + 6)?,
        t: r.get(at + 7)?,
        // Assigned per conversation from 1: a value past u32 (never reached) falls back to
        // the derived one.
        seq: r
            .get::<_, Option<i64>>(at + 8)?
            .and_then(|s| u32::try_from(s).ok()),
    })
}

/// Who a run talks to; a store is bound to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    /// The target's base URL or region.
    pub target: String,
    /// The app.
    pub sdkappid: u64,
    /// The admin identifier.
    pub admin: String,
    /// The run's configuration as JSON (no secrets).
    pub config: String,
}

/// Records the run in a new store, or checks that an existing one is for the same target.
pub fn ensure_run(
    conn: &Connection,
    path: &Path,
    id: &RunIdentity,
    reuse: bool,
) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sql {
        path: path.to_path_buf(),
        source,
    };
    let stored: Option<(String, u64)> = conn
        .query_row("SELECT target, sdkappid FROM run", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(sql)?;
    let now = now_secs();
    match stored {
        None => {
            conn.execute(
                "INSERT INTO run (id, created_at, target, sdkappid, admin, config, state, reason, updated_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, 'starting', '', ?1)",
                params![now, id.target, id.sdkappid, id.admin, id.config],
            )
            .map_err(sql)?;
        }
        Some((target, sdkappid))
            if (target.as_str(), sdkappid) != (id.target.as_str(), id.sdkappid) && !reuse =>
        {
            return Err(StoreError::Mismatch {
                path: path.to_path_buf(),
                what: "target",
                detail: format!(
                    "it was used for app {sdkappid} at {target}, this run is for app {} at {}",
                    id.sdkappid, id.target
                ),
            });
        }
        Some(_) => {
            conn.execute(
                "UPDATE run SET target = ?1, sdkappid = ?2, admin = ?3, config = ?4, updated_at = ?5",
                params![id.target, id.sdkappid, id.admin, id.config, now],
            )
            .map_err(sql)?;
        }
    }
    Ok(())
}

/// One staged item still to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingItem {
    /// Its id within its kind.
    pub id: i64,
    /// The export it comes from.
    pub(crate) export_id: i64,
    /// Its line in the source file.
    pub(crate) line: u64,
    /// Its byte range in the (readable) source file.
    pub(crate) offset: u64,
    /// Its length.
    pub(crate) len: u64,
    /// Friends: the owner's account item; members and group messages: the group item;
    /// one-to-one messages: the conversation ([`super::order::conversation`]).
    pub(crate) parent: Option<i64>,
    /// The highest account item it needs (-1: none).
    pub(crate) needs: i64,
    /// Messages: the time they are sent (group messages: later than the record's own when
    /// a same-second burst was shifted at staging); groups: creation time.
    pub(crate) t: i64,
    /// One-to-one messages: the `MsgSeq` assigned at staging in conversation order (`None`:
    /// staged by an earlier cutover, the MsgSeq derived from the id applies).
    pub(crate) seq: Option<u32>,
}

#[cfg(test)]
impl PendingItem {
    /// An item for scheduling tests: line `id + 1` of export 1, no `MsgSeq`.
    pub(crate) fn for_test(id: i64, parent: Option<i64>, needs: i64, t: i64) -> PendingItem {
        PendingItem {
            id,
            export_id: 1,
            line: id as u64 + 1,
            offset: 0,
            len: 0,
            parent,
            needs,
            t,
            seq: None,
        }
    }
}

/// The pending items of `kind`, in the order they should go (a group's messages oldest first).
pub fn pending(conn: &Connection, kind: Kind) -> rusqlite::Result<Vec<PendingItem>> {
    items_where(conn, kind, "AND i.state = 0")
}

/// Every item of `kind`, whatever its state.
pub(crate) fn all_items(conn: &Connection, kind: Kind) -> rusqlite::Result<Vec<PendingItem>> {
    items_where(conn, kind, "")
}

fn items_where(conn: &Connection, kind: Kind, cond: &str) -> rusqlite::Result<Vec<PendingItem>> {
    let order = match kind {
        Kind::GroupMessage => "i.parent, COALESCE(i.sent_t, i.t), i.id",
        Kind::C2cMessage => "i.parent, i.t, i.seq, i.id",
        Kind::Friend | Kind::GroupMember => "i.parent, i.id",
        // Deletions go scope by scope, as pages give them.
        k if k.deletes().is_some() => {
            "COALESCE(i.parent, -1), COALESCE(i.sent_t, i.t), COALESCE(i.seq, 0), i.id"
        }
        _ => "i.id",
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {ITEM_COLUMNS} FROM item i WHERE i.kind = ?1 {cond} ORDER BY {order}"
    ))?;
    let rows = stmt.query_map([kind.code()], |r| item_row(r, 0))?;
    rows.collect()
}

/// Item ids of `kind` in `state`.
pub(crate) fn ids_in_state(
    conn: &Connection,
    kind: Kind,
    state: ItemState,
) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT id FROM item WHERE kind = ?1 AND state = ?2")?;
    let rows = stmt.query_map(params![kind.code(), state.code()], |r| r.get(0))?;
    rows.collect()
}

/// (id, key) of the items of `kind` in `state`.
pub(crate) fn keys_in_state(
    conn: &Connection,
    kind: Kind,
    state: ItemState,
) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare("SELECT id, key FROM item WHERE kind = ?1 AND state = ?2")?;
    let rows = stmt.query_map(params![kind.code(), state.code()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

/// The natural key of one item (an error when there is no such item).
pub(crate) fn key_of(conn: &Connection, kind: Kind, id: i64) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT key FROM item WHERE kind = ?1 AND id = ?2",
        params![kind.code(), id],
        |r| r.get(0),
    )
}

/// Moves one item to `state`, whatever it was; returns whether it exists.
pub fn set_item_state(
    conn: &Connection,
    kind: Kind,
    id: i64,
    state: ItemState,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached("UPDATE item SET state = ?3 WHERE kind = ?1 AND id = ?2")?;
    Ok(stmt.execute(params![kind.code(), id, state.code()])? > 0)
}

/// How many items of `kind` are in `state`: one count, or with `per_parent` one count per
/// parent (per owner or group: the unit a batched call carries).
pub(crate) fn counts_in_state(
    conn: &Connection,
    kind: Kind,
    state: ItemState,
    per_parent: bool,
) -> rusqlite::Result<Vec<u64>> {
    let sql = if per_parent {
        "SELECT COUNT(*) FROM item WHERE kind = ?1 AND state = ?2 GROUP BY parent"
    } else {
        "SELECT COUNT(*) FROM item WHERE kind = ?1 AND state = ?2"
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params![kind.code(), state.code()], |r| r.get(0))?;
    rows.collect()
}

/// A request that was sent and never settled (the process stopped while it was in flight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Its number.
    pub(crate) request: i64,
    /// Its items' kind.
    pub kind: Kind,
    /// The group, for group APIs.
    pub(crate) group: Option<i64>,
    /// The items.
    pub items: Vec<i64>,
}

/// Every journal entry.
pub fn journal(conn: &Connection) -> rusqlite::Result<Vec<JournalEntry>> {
    let mut stmt =
        conn.prepare("SELECT request, kind, grp, items FROM journal ORDER BY request")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (request, kind, group, items) = row?;
        let Some(kind) = Kind::from_code(kind) else {
            continue;
        };
        let items = items.split(',').filter_map(|s| s.parse().ok()).collect();
        out.push(JournalEntry {
            request,
            kind,
            group,
            items,
        });
    }
    Ok(out)
}

/// How many requests are in flight (sent, not yet settled).
pub(crate) fn in_flight(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0))
}

/// The highest request number used so far (requests are numbered across restarts).
pub(crate) fn last_request(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(request), 0) FROM journal", [], |r| {
        r.get(0)
    })
}

/// Where to read each export's files: (export, kind) → path.
pub(crate) fn read_paths(conn: &Connection) -> rusqlite::Result<SourcePaths> {
    let mut stmt = conn.prepare("SELECT export_id, kind, read_path FROM source_file")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut files = HashMap::new();
    for row in rows {
        let (export, kind, path) = row?;
        if let Some(kind) = Kind::from_code(kind) {
            files.insert((export, kind), PathBuf::from(path));
        }
    }
    let dropped = super::custom_keys::dropped(conn)?;
    let media = super::media::reads(conn)?;
    Ok(SourcePaths {
        files,
        dropped,
        media,
    })
}

/// Where the staged records are read back from ((export, kind) → readable path), and the
/// custom keys the run drops from them.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourcePaths {
    /// (export, kind) → readable path.
    pub(crate) files: HashMap<(i64, Kind), PathBuf>,
    /// `[import] drop_custom`, as the run recorded it.
    pub(crate) dropped: crate::model::console::DropCustom,
    /// How media URLs are rewritten (none when no object was copied, failed or skipped).
    pub(crate) media: Option<super::media::MediaReads>,
}

impl std::ops::Deref for SourcePaths {
    type Target = HashMap<(i64, Kind), PathBuf>;

    fn deref(&self) -> &Self::Target {
        &self.files
    }
}

/// Failures grouped by API and code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureGroup {
    /// The API.
    pub api: String,
    /// The code (none: the engine's own refusal, e.g. a missing dependency).
    pub code: Option<i64>,
    /// Items failed.
    pub count: u64,
    /// Whether a retry can succeed.
    pub retryable: bool,
    /// One of the messages.
    pub sample: String,
}

/// Failed items (state failed), grouped by API and code, most first.
pub fn failure_groups(conn: &Connection) -> rusqlite::Result<Vec<FailureGroup>> {
    let mut stmt = conn.prepare(
        "SELECT f.api, f.code, COUNT(*), MAX(f.retryable), MIN(f.info) FROM failure f
         JOIN item i ON i.kind = f.kind AND i.id = f.id WHERE i.state = 2
         GROUP BY f.api, f.code ORDER BY COUNT(*) DESC, f.api, f.code",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FailureGroup {
            api: r.get(0)?,
            code: r.get(1)?,
            count: r.get(2)?,
            retryable: r.get(3)?,
            sample: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// One failed item, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureRow {
    /// The stage.
    pub kind: Kind,
    /// The record (`u0001`, `u1→u2`, `g1/u2`, a message id).
    pub record: String,
    /// The source file.
    pub file: String,
    /// Its line there.
    pub line: u64,
    /// The API.
    pub api: String,
    /// The code.
    pub code: Option<i64>,
    /// What was said.
    pub info: String,
    /// Attempts made.
    pub attempts: u64,
    /// Whether a retry can succeed.
    pub retryable: bool,
}

/// Failed items matching `filter`, in stage and record order.
pub fn failures(conn: &Connection, filter: &FailureFilter) -> rusqlite::Result<Vec<FailureRow>> {
    failure_rows(conn, filter, "")
}

/// One page of [`failures`]: at most `limit` rows from row `offset` on, in the same order, so
/// a screen reads what it shows and not every failed item.
pub(crate) fn failures_page(
    conn: &Connection,
    filter: &FailureFilter,
    offset: u64,
    limit: u64,
) -> rusqlite::Result<Vec<FailureRow>> {
    // Both are integers formatted here, never text from outside.
    failure_rows(conn, filter, &format!(" LIMIT {limit} OFFSET {offset}"))
}

/// How many failed items match `filter` (what [`failures`] would return).
pub(crate) fn failure_count(conn: &Connection, filter: &FailureFilter) -> rusqlite::Result<u64> {
    let (cond, args) = filter.condition();
    let sql = format!(
        "SELECT COUNT(*) FROM item i JOIN failure f ON f.kind = i.kind AND f.id = i.id WHERE {cond}"
    );
    conn.query_row(&sql, rusqlite::params_from_iter(args), |r| r.get(0))
}

/// Failed items matching `filter`, ordered, with `page` (a LIMIT clause or nothing) applied.
fn failure_rows(
    conn: &Connection,
    filter: &FailureFilter,
    page: &str,
) -> rusqlite::Result<Vec<FailureRow>> {
    let (cond, args) = filter.condition();
    // A deletion's line is the deleted record's, in the file of its record kind.
    let record_kind = Kind::DELETIONS
        .iter()
        .map(|d| format!("WHEN {} THEN {}", d.code(), d.record().code()))
        .collect::<Vec<_>>()
        .join(" ");
    let sql = format!(
        "SELECT i.kind, i.key, COALESCE(s.name, ''), i.line, f.api, f.code, f.info, f.attempts, f.retryable
         FROM item i JOIN failure f ON f.kind = i.kind AND f.id = i.id
         LEFT JOIN source_file s ON s.export_id = i.export_id
             AND s.kind = CASE i.kind {record_kind} ELSE i.kind END
         WHERE {cond} ORDER BY i.kind, i.id{page}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        let kind = Kind::from_code(r.get(0)?).unwrap_or(Kind::Account);
        let key: String = r.get(1)?;
        Ok(FailureRow {
            kind,
            record: display_key(kind, &key),
            file: r.get(2)?,
            line: r.get(3)?,
            api: r.get(4)?,
            code: r.get(5)?,
            info: r.get(6)?,
            attempts: r.get(7)?,
            retryable: r.get(8)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with `n` failed accounts (`u00`, `u01`, …) under code 70402 and one under 70001.
    fn failed_accounts(n: i64) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_for_writing(&dir.path().join("s.db")).unwrap();
        for id in 0..=n {
            let code = if id == n { 70001 } else { 70402 };
            conn.execute(
                "INSERT INTO item (kind, id, export_id, key, line, offset, len, needs, state)
                 VALUES (?1, ?2, 1, ?3, ?2, 0, 0, 0, 2)",
                params![Kind::Account.code(), id, format!("u{id:02}")],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO failure (kind, id, api, code, info, retryable, attempts, first_at, last_at)
                 VALUES (?1, ?2, 'multiaccount_import', ?3, 'bad', 0, 1, 0, 0)",
                params![Kind::Account.code(), id, code],
            )
            .unwrap();
        }
        (dir, conn)
    }

    #[test]
    fn failures_read_a_page_at_a_time_in_the_same_order() {
        let (_dir, conn) = failed_accounts(25);
        let filter = FailureFilter {
            code: Some(70402),
            ..FailureFilter::default()
        };
        assert_eq!(failure_count(&conn, &filter).unwrap(), 25);
        assert_eq!(failure_count(&conn, &FailureFilter::default()).unwrap(), 26);
        let page = failures_page(&conn, &filter, 10, 10).unwrap();
        let records: Vec<&str> = page.iter().map(|r| r.record.as_str()).collect();
        assert_eq!(records.first(), Some(&"u10"));
        assert_eq!(records.len(), 10);
        let pages: Vec<FailureRow> = (0..3)
            .flat_map(|p| failures_page(&conn, &filter, p * 10, 10).unwrap())
            .collect();
        assert_eq!(pages, failures(&conn, &filter).unwrap());
    }
}
