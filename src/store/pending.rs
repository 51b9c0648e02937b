//! What the import still has to send, read a page at a time in the order it goes, so the
//! engine's memory does not grow with the export: a cursor per kind (where the last page
//! ended), counts from the store, and the few lookups a page needs (its groups' state).

use super::queries::{item_row, PendingItem, ITEM_COLUMNS};
use super::{ItemState, Kind};
use rusqlite::{params, params_from_iter, Connection};
use std::collections::HashMap;

/// Where a page ended: the order key of its last item (opaque to the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cursor([i64; 4]);

/// One page of pending items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// The items, in the order they go.
    pub(crate) items: Vec<PendingItem>,
    /// Where to go on from; `None` when the page was not full (nothing pending after it).
    pub(crate) next: Option<Cursor>,
}

/// Whether `kind` goes by the accounts it needs (`false`: by its scope, then time).
fn flat(kind: Kind) -> bool {
    matches!(kind, Kind::Account | Kind::Profile | Kind::Group)
}

/// The order key: the expressions of the partial indexes of schema migration 8, verbatim,
/// so SQLite walks the index from the cursor on.
fn order_key(kind: Kind) -> &'static str {
    if flat(kind) {
        "i.needs, i.id, 0, 0"
    } else {
        "COALESCE(i.parent, -1), COALESCE(i.sent_t, i.t), COALESCE(i.seq, 0), i.id"
    }
}

/// Up to `limit` pending items of `kind` after `after` (from the first when `None`), in the
/// order they go: accounts, profiles and groups by the account they need, then id; friends
/// and members by owner or group; messages by conversation or group, then send time (and
/// MsgSeq), oldest first.
pub(crate) fn page(
    conn: &Connection,
    kind: Kind,
    after: Option<Cursor>,
    limit: usize,
) -> rusqlite::Result<Page> {
    let key = order_key(kind);
    let (cols, width) = if flat(kind) {
        ("i.needs, i.id", 2)
    } else {
        (key, 4)
    };
    let from = match after {
        Some(_) if width == 2 => "AND (i.needs, i.id) > (?2, ?3)".to_string(),
        Some(_) => format!("AND ({key}) > (?2, ?3, ?4, ?5)"),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS}, {key} FROM item i WHERE i.kind = ?1 AND i.state = 0 {from}
         ORDER BY {cols} LIMIT {limit}"
    );
    let mut args = vec![kind.code()];
    if let Some(Cursor(c)) = after {
        args.extend_from_slice(&c[..width]);
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        let cursor = Cursor([r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?]);
        Ok((item_row(r, 0)?, cursor))
    })?;
    let mut items = Vec::with_capacity(limit.min(4096));
    let mut last = None;
    for row in rows {
        let (item, cursor) = row?;
        items.push(item);
        last = Some(cursor);
    }
    let next = if items.len() < limit { None } else { last };
    Ok(Page { items, next })
}

/// How many items of `kind` are pending.
pub(crate) fn pending_count(conn: &Connection, kind: Kind) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM item WHERE kind = ?1 AND state = 0",
        [kind.code()],
        |r| r.get(0),
    )
}

/// The items of `kind` with these ids (those that exist), with their state.
pub(crate) fn items_by_id(
    conn: &Connection,
    kind: Kind,
    ids: &[i64],
) -> rusqlite::Result<Vec<(PendingItem, ItemState)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS}, i.state FROM item i WHERE i.kind = ?1 AND i.id = ?2"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let rows = stmt.query_map(params![kind.code(), id], |r| {
            Ok((item_row(r, 0)?, r.get::<_, i64>(9)?))
        })?;
        for row in rows {
            let (item, state) = row?;
            let state = match state {
                0 => ItemState::Pending,
                1 => ItemState::Done,
                2 => ItemState::Failed,
                _ => ItemState::Skipped,
            };
            out.push((item, state));
        }
    }
    Ok(out)
}

/// Per kind, how many items are pending.
pub(crate) fn pending_counts(conn: &Connection) -> rusqlite::Result<HashMap<Kind, u64>> {
    Kind::ALL
        .into_iter()
        .map(|k| Ok((k, pending_count(conn, k)?)))
        .collect()
}

#[cfg(test)]
#[path = "pending_tests.rs"]
mod tests;
