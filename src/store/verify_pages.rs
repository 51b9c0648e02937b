//! What a verification pass reads back, a page at a time, so its memory does not grow with the
//! export: imported items in pages that never split a scope (an owner's friends, a group's
//! members or messages, a conversation), the items of one scope, and the pass's totals
//! counted in the store. Records meant to be gone from the target (deleted in a delta, or
//! with a deleted account or group: [`super::verify_gone`]) are not among them.

use super::queries::{item_row, PendingItem, ITEM_COLUMNS};
use super::verify_gone::gone_in;
use super::{ItemState, Kind};
use rusqlite::{params, Connection};
use std::collections::HashSet;

/// One page of imported items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DonePage {
    /// The items, by scope, then in the order they were sent (messages) or by id.
    pub(crate) items: Vec<PendingItem>,
    /// Which of them already have a result in this pass (a resumed pass).
    pub(crate) checked: HashSet<i64>,
    /// Where the next page starts; `None` after the last page.
    pub(crate) next: Option<i64>,
}

/// Whether `kind`'s items belong to a scope that a page keeps whole (a deletion's scope is
/// that of the record it deletes).
fn scoped(kind: Kind) -> bool {
    matches!(
        kind.record(),
        Kind::Friend | Kind::GroupMember | Kind::GroupMessage | Kind::C2cMessage
    )
}

/// The order within a page: the expressions of the index of schema migration 9, verbatim, so
/// SQLite walks the index from where the last page ended.
const SCOPE_ORDER: &str =
    "COALESCE(i.parent, -1), COALESCE(i.sent_t, i.t), COALESCE(i.seq, 0), i.id";

/// The imported items of `kind` after `after` (from the first when `None`): at least `limit`
/// of them unless the kind runs out, and every item of the last scope a page touches. Items
/// with a result already are left out, except in scoped kinds, whose whole scopes are read
/// together (`checked` says which); so are records meant to be gone.
pub(crate) fn done_page(
    conn: &Connection,
    kind: Kind,
    after: Option<i64>,
    limit: usize,
) -> rusqlite::Result<DonePage> {
    let done = ItemState::Done.code();
    let checked = "EXISTS (SELECT 1 FROM verify_result v WHERE v.kind = i.kind AND v.id = i.id)";
    let gone = gone_in(conn, kind)?;
    let mut page = DonePage::default();
    if !scoped(kind) {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS}, 0 FROM item i
             WHERE i.kind = ?1 AND i.id > ?2 AND i.state = ?3 AND NOT {checked} AND NOT {gone}
             ORDER BY i.id LIMIT ?4"
        ))?;
        let mut rows = stmt.query(params![kind.code(), after.unwrap_or(i64::MIN), done, limit])?;
        let mut last = None;
        while let Some(r) = rows.next()? {
            last = Some(push(&mut page, r)?);
        }
        page.next = if page.items.len() < limit { None } else { last };
        return Ok(page);
    }
    // Whole scopes: a page ends at `limit` items, then takes the rest of its last scope.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS}, {checked} FROM item i
         WHERE i.kind = ?1 AND COALESCE(i.parent, -1) > ?2 AND i.state = ?3 AND NOT {gone}
         ORDER BY {SCOPE_ORDER} LIMIT ?4"
    ))?;
    let mut rows = stmt.query(params![kind.code(), after.unwrap_or(i64::MIN), done, limit])?;
    while let Some(r) = rows.next()? {
        push(&mut page, r)?;
    }
    drop(rows);
    let full = page.items.len() >= limit;
    let Some(last) = page.items.last().copied() else {
        return Ok(page);
    };
    let scope = last.parent.unwrap_or(-1);
    if full {
        let mut rest = conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS}, {checked} FROM item i
             WHERE i.kind = ?1 AND COALESCE(i.parent, -1) = ?2 AND i.state = ?3
               AND ({SCOPE_ORDER}) > (?2, ?4, ?5, ?6) AND NOT {gone}
             ORDER BY {SCOPE_ORDER}"
        ))?;
        let mut rows = rest.query(params![
            kind.code(),
            scope,
            done,
            last.t,
            last.seq.unwrap_or(0),
            last.id
        ])?;
        while let Some(r) = rows.next()? {
            push(&mut page, r)?;
        }
    }
    page.next = full.then_some(scope);
    Ok(page)
}

/// Adds the item of row `r` (its columns, then whether it has a result) to `page`.
fn push(page: &mut DonePage, r: &rusqlite::Row<'_>) -> rusqlite::Result<i64> {
    let item = item_row(r, 0)?;
    if r.get::<_, bool>(9)? {
        page.checked.insert(item.id);
    }
    page.items.push(item);
    Ok(item.id)
}

/// Every item of `kind` (any state) whose scope is `parent`.
pub(crate) fn items_of_scope(
    conn: &Connection,
    kind: Kind,
    parent: i64,
) -> rusqlite::Result<Vec<PendingItem>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM item i WHERE i.kind = ?1 AND COALESCE(i.parent, -1) = ?2
         ORDER BY {SCOPE_ORDER}"
    ))?;
    let rows = stmt.query_map(params![kind.code(), parent], |r| item_row(r, 0))?;
    rows.collect()
}

/// Per kind at the start of a pass: items imported (but those meant to be gone), and how
/// many of them already have a result (a resumed pass).
pub(crate) fn done_counts(conn: &Connection, kind: Kind) -> rusqlite::Result<(u64, u64)> {
    let gone = gone_in(conn, kind)?;
    conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM verify_result v
                 WHERE v.kind = i.kind AND v.id = i.id)), 0)
             FROM item i WHERE i.kind = ?1 AND i.state = ?2 AND NOT {gone}"
        ),
        params![kind.code(), ItemState::Done.code()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Calls `f(id, export_id)` on every imported item of `kind` without a result yet (but those
/// meant to be gone), one row at a time (nothing is collected).
pub(crate) fn for_each_unchecked(
    conn: &Connection,
    kind: Kind,
    mut f: impl FnMut(i64, i64),
) -> rusqlite::Result<()> {
    let gone = gone_in(conn, kind)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT i.id, i.export_id FROM item i WHERE i.kind = ?1 AND i.state = ?2
         AND NOT EXISTS (SELECT 1 FROM verify_result v WHERE v.kind = i.kind AND v.id = i.id)
         AND NOT {gone}"
    ))?;
    let mut rows = stmt.query(params![kind.code(), ItemState::Done.code()])?;
    while let Some(r) = rows.next()? {
        f(r.get(0)?, r.get(1)?);
    }
    Ok(())
}

#[cfg(test)]
#[path = "verify_pages_tests.rs"]
mod tests;
