//! What `cutover plan` needs to estimate a window's verification: the staged (not skipped)
//! items of a kind, split into a delta (the exports from one on) and what is older, counted
//! per scope (group, owner, conversation) or as one total.

use super::Kind;
use rusqlite::Connection;

/// The counts of `kind`'s staged items of exports `from` and later, and of the older ones:
/// one count per parent when `per_parent` (a read unit never spans two), else one total.
pub(crate) fn split_counts(
    conn: &Connection,
    kind: Kind,
    from: i64,
    per_parent: bool,
) -> rusqlite::Result<(Vec<u64>, Vec<u64>)> {
    let group = if per_parent { ", i.parent" } else { "" };
    let sql = format!(
        "SELECT i.export_id >= ?2, COUNT(*) FROM item i
         WHERE i.kind = ?1 AND i.state <> 3 GROUP BY i.export_id >= ?2{group}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params![kind.code(), from], |r| {
        Ok((r.get::<_, bool>(0)?, r.get::<_, u64>(1)?))
    })?;
    let (mut delta, mut older) = (Vec::new(), Vec::new());
    for row in rows {
        let (newer, n) = row?;
        if newer {
            delta.push(n);
        } else {
            older.push(n);
        }
    }
    Ok((delta, older))
}

/// The id of the newest export when it is a delta (its items are what a window stages,
/// imports and reads whole), or `None`.
pub(crate) fn newest_delta(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT id FROM export WHERE delta_of IS NOT NULL AND id = (SELECT MAX(id) FROM export)",
        [],
        |r| r.get(0),
    )
    .optional()
}
