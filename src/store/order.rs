//! Message order, fixed once at staging (a post-pass over the export just staged, in the
//! same transaction): the time each group message is sent and the `MsgSeq` of each
//! one-to-one message.
//!
//! Tencent imports a group message only if its time is greater than the group's newest
//! message (ties refused under the strict reading of the docs), and orders a conversation's
//! history by time, then `MsgSeq`. So each group's messages, taken in (time, export line)
//! order, are sent at their own time or one second after the previous one (`shift`), or the
//! later ones of a burst are refused as invalid (`refuse`); each conversation's messages get
//! `MsgSeq` 1, 2, 3, … in the same order. The pass streams through an index, one scope (group
//! or conversation) at a time, so it holds one row in memory whatever the export's size, and
//! it continues after what earlier export generations staged (`scope_mark`).

use super::{Kind, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What staging does with a group message whose time is not greater than the previous one in
/// its group (the runbook's `[import] same_second`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SameSecond {
    /// Send it one second after the previous one, cascading through a burst.
    #[default]
    Shift,
    /// Record it as invalid (it is not imported).
    Refuse,
}

/// The rule name of a group message refused for sharing its second (`same_second = refuse`).
pub const RULE_SAME_SECOND: &str = "same_second";

/// Transient marker of a refused item between the scan and its deletion (no real time is
/// negative: times are validated unix seconds).
const REFUSED: i64 = -1;

/// The time a group message sent at `t` goes out, when the previous one of its group went
/// out at `prev`: its own time if that is later, else one second after `prev` (so a burst
/// sharing one second cascades: p+1, p+2, …).
pub fn send_time(prev: Option<i64>, t: i64) -> i64 {
    match prev {
        Some(p) if t <= p => p + 1,
        _ => t,
    }
}

/// A conversation's scope: the unordered pair of its accounts' items (`a`, `b` ≥ 0), stored as
/// a one-to-one message's `parent`. Account items are numbered from 0 in staging order, far
/// below 2³² (Tencent's account cap), so the pair fits one integer without collisions.
pub(crate) fn conversation(a: i64, b: i64) -> Option<i64> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (lo >= 0 && hi < (1 << 32)).then_some((lo << 32) | hi)
}

/// Same-second figures: group messages sent later than their export time and by how much,
/// and those refused instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shifts {
    /// Group messages sent later than their own time.
    pub shifted: u64,
    /// The largest shift, seconds.
    pub largest_secs: i64,
    /// Group messages refused at staging for sharing their second (`same_second = refuse`).
    pub refused: u64,
}

/// The figures of the store.
pub fn shifts(conn: &Connection) -> rusqlite::Result<Shifts> {
    let (shifted, largest_secs) = conn.query_row(
        "SELECT COUNT(*), COALESCE(MAX(sent_t - t), 0) FROM item
         WHERE kind = ?1 AND sent_t > t",
        [Kind::GroupMessage.code()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let refused = conn.query_row(
        "SELECT COUNT(*) FROM invalid WHERE kind = ?1 AND rule = ?2",
        params![Kind::GroupMessage.code(), RULE_SAME_SECOND],
        |r| r.get(0),
    )?;
    Ok(Shifts {
        shifted,
        largest_secs,
        refused,
    })
}

/// Fixes the order of the messages of `export_id` (just staged in `tx`).
pub(crate) fn assign(
    tx: &Transaction<'_>,
    export_id: i64,
    mode: SameSecond,
) -> rusqlite::Result<()> {
    group_messages(tx, export_id, mode)?;
    c2c_messages(tx, export_id)
}

/// One scope's high-water mark from earlier generations.
fn mark(tx: &Transaction<'_>, kind: Kind, scope: i64) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("SELECT last FROM scope_mark WHERE kind = ?1 AND scope = ?2")?
        .query_row(params![kind.code(), scope], |r| r.get(0))
        .optional()
}

fn set_mark(tx: &Transaction<'_>, kind: Kind, scope: i64, last: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO scope_mark (kind, scope, last) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, scope) DO UPDATE SET last = excluded.last",
    )?
    .execute(params![kind.code(), scope, last])
    .map(|_| ())
}

/// A message row of the scan, in (scope, time, line) order.
struct Row {
    id: i64,
    scope: Option<i64>,
    t: i64,
    line: i64,
}

/// Calls `each` for every message of `kind` in `export_id`, scope by scope, oldest first,
/// with the scope's previous value (`None` at a new scope) threaded through; `each` returns
/// the new value. Each scope's last value is kept as its mark.
fn scan(
    tx: &Transaction<'_>,
    kind: Kind,
    export_id: i64,
    mut each: impl FnMut(&Row, Option<i64>) -> rusqlite::Result<Option<i64>>,
) -> rusqlite::Result<()> {
    // Served by item_by_export_order: a stream, not a sort of every message. Messages staged
    // as skipped (older than the history cut-off) are never sent, so they take no place in
    // the order.
    let mut stmt = tx.prepare(
        "SELECT id, parent, t, line FROM item WHERE kind = ?1 AND export_id = ?2 AND state <> 3
         ORDER BY parent, t, line",
    )?;
    let mut rows = stmt.query(params![kind.code(), export_id])?;
    let mut current: Option<(i64, Option<i64>)> = None;
    while let Some(r) = rows.next()? {
        let row = Row {
            id: r.get(0)?,
            scope: r.get(1)?,
            t: r.get(2)?,
            line: r.get(3)?,
        };
        let prev = match (row.scope, current) {
            (Some(s), Some((c, last))) if s == c => last,
            (Some(s), _) => {
                if let Some((c, Some(last))) = current {
                    set_mark(tx, kind, c, last)?;
                }
                current = Some((s, None));
                mark(tx, kind, s)?
            }
            (None, _) => None,
        };
        let next = each(&row, prev)?;
        if let (Some(s), Some(n)) = (row.scope, next) {
            current = Some((s, Some(n)));
        }
    }
    if let Some((c, Some(last))) = current {
        set_mark(tx, kind, c, last)?;
    }
    Ok(())
}

/// Group messages: the send time of each (shift), or the refusal of those not newer than the
/// one before (refuse).
fn group_messages(tx: &Transaction<'_>, export_id: i64, mode: SameSecond) -> rusqlite::Result<()> {
    let kind = Kind::GroupMessage;
    let file: String = tx
        .query_row(
            "SELECT name FROM source_file WHERE export_id = ?1 AND kind = ?2",
            params![export_id, kind.code()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| kind.file().file_name());
    let mut set = tx.prepare_cached("UPDATE item SET sent_t = ?3 WHERE kind = ?1 AND id = ?2")?;
    let mut refused = 0u64;
    scan(tx, kind, export_id, |row, prev| {
        let at = send_time(prev, row.t);
        if at == row.t || mode == SameSecond::Shift {
            set.execute(params![kind.code(), row.id, at])?;
            return Ok(Some(at));
        }
        // Refused: recorded as invalid like any bad record; the previous one stays the mark.
        refused += 1;
        refuse(tx, export_id, &file, row, prev.unwrap_or(row.t))?;
        set.execute(params![kind.code(), row.id, REFUSED])?;
        Ok(prev)
    })?;
    if refused > 0 {
        tx.execute(
            "DELETE FROM item WHERE kind = ?1 AND export_id = ?2 AND sent_t = ?3",
            params![kind.code(), export_id, REFUSED],
        )?;
        tx.execute(
            "UPDATE source_file SET invalid = invalid + ?3 WHERE export_id = ?1 AND kind = ?2",
            params![export_id, kind.code(), refused],
        )?;
    }
    Ok(())
}

/// Records `row` as invalid: not newer than `prev`, the time of the group's message before it.
fn refuse(
    tx: &Transaction<'_>,
    export_id: i64,
    file: &str,
    row: &Row,
    prev: i64,
) -> rusqlite::Result<()> {
    let key: String = tx.query_row(
        "SELECT key FROM item WHERE kind = ?1 AND id = ?2",
        params![Kind::GroupMessage.code(), row.id],
        |r| r.get(0),
    )?;
    let reason = format!(
        "sent at {}, not after the group's previous message (sent at {prev}): Tencent imports a \
         group message only if it is newer than the group's newest; [import] same_second = \
         \"refuse\" (\"shift\" would send it at {})",
        row.t,
        prev + 1
    );
    tx.prepare_cached(
        "INSERT INTO invalid (export_id, kind, file, line, record, field, rule, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, 'sent_at', ?6, ?7)",
    )?
    .execute(params![
        export_id,
        Kind::GroupMessage.code(),
        file,
        row.line,
        key,
        RULE_SAME_SECOND,
        reason
    ])
    .map(|_| ())
}

/// One-to-one messages: `MsgSeq` 1, 2, … per conversation, after earlier generations'.
fn c2c_messages(tx: &Transaction<'_>, export_id: i64) -> rusqlite::Result<()> {
    let kind = Kind::C2cMessage;
    let mut set =
        tx.prepare_cached("UPDATE item SET sent_t = t, seq = ?3 WHERE kind = ?1 AND id = ?2")?;
    scan(tx, kind, export_id, |row, prev| {
        // No conversation (cannot happen for a valid record): the derived MsgSeq applies.
        let seq = row.scope.map(|_| prev.unwrap_or(0) + 1);
        set.execute(params![kind.code(), row.id, seq])?;
        Ok(seq)
    })
}

/// A throw-away store that counts the shifts of an export without staging it (`cutover
/// validate`): group messages go in as they are read, and the same rule runs over them.
pub(crate) struct Scratch {
    path: PathBuf,
    conn: Connection,
}

impl Scratch {
    /// A scratch database at `path` (a file in a temporary directory: it may outgrow memory).
    pub(crate) fn open(path: &Path) -> Result<Scratch, StoreError> {
        let sql = |source| StoreError::Sql {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE msg (scope TEXT NOT NULL, t INTEGER NOT NULL, line INTEGER NOT NULL);
             BEGIN;",
        )
        .map_err(sql)?;
        Ok(Scratch {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// A group message of `group`, sent at `t`, on `line`.
    pub(crate) fn add(&self, group: &str, t: i64, line: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO msg (scope, t, line) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![group, t, line as i64]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    /// The shifts `same_second = shift` would make, and the messages `refuse` would turn away.
    pub(crate) fn shifts(self) -> Result<Shifts, StoreError> {
        let mut out = Shifts::default();
        // Per scope: the previous send time under shift, and the last kept time under refuse.
        let mut last: Option<(String, i64, i64)> = None;
        let result = (|| {
            // SQLite sorts on disk past its cache: the memory stays bounded.
            let mut stmt = self
                .conn
                .prepare("SELECT scope, t FROM msg ORDER BY scope, t, line")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let (scope, t): (String, i64) = (r.get(0)?, r.get(1)?);
                let (shift_prev, kept_prev) = match &last {
                    Some((s, a, b)) if *s == scope => (Some(*a), Some(*b)),
                    _ => (None, None),
                };
                let at = send_time(shift_prev, t);
                if at > t {
                    out.shifted += 1;
                    out.largest_secs = out.largest_secs.max(at - t);
                }
                let kept = if send_time(kept_prev, t) > t {
                    out.refused += 1;
                    kept_prev.unwrap_or(t)
                } else {
                    t
                };
                last = Some((scope, at, kept));
            }
            Ok(())
        })();
        result.map_err(|source| self.error(source))?;
        Ok(out)
    }

    fn error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
