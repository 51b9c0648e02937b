//! Staging a delta's tombstones: each becomes an item of its deletion kind, carrying where the
//! deleted record was staged (so the deletion reads the record it deletes: a message's
//! sender, receiver and MsgSeq) and what it needs to be applied.
//!
//! The rules of export-format.md, "Deletions in a delta": the later line for a key wins (an
//! upsert after a tombstone brings the record back: the deletion is skipped, superseded); a
//! tombstone of a key never imported deletes nothing (its item is staged as skipped, and a
//! record of it still waiting to be imported never goes).

use crate::source::Loc;
use crate::store::{ItemState, Kind};
use rusqlite::{params, Connection, OptionalExtension};

/// The deleted record's item, as the store has it.
struct Original {
    id: i64,
    export_id: i64,
    line: i64,
    offset: i64,
    len: i64,
    parent: Option<i64>,
    t: i64,
    sent_t: Option<i64>,
    /// The message's MsgSeq on the target: a one-to-one message's own, a group message's as
    /// the target answered it.
    seq: Option<i64>,
    state: i64,
    imported_before: bool,
}

impl Original {
    /// Whether the record is (or was) in the target: what a deletion has to remove.
    fn on_target(&self) -> bool {
        self.state == ItemState::Done.code() || self.imported_before
    }
}

fn original(conn: &Connection, kind: Kind, key: &str) -> rusqlite::Result<Option<Original>> {
    // A group message's MsgSeq on the target is `target_seq`; a one-to-one message's is `seq`.
    let seq = if kind == Kind::GroupMessage {
        "target_seq"
    } else {
        "seq"
    };
    let sql = format!(
        "SELECT id, export_id, line, offset, len, parent, t, sent_t, {seq}, state, imported_before
         FROM item WHERE kind = ?1 AND key = ?2"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![kind.code(), key], |r| {
            Ok(Original {
                id: r.get(0)?,
                export_id: r.get(1)?,
                line: r.get(2)?,
                offset: r.get(3)?,
                len: r.get(4)?,
                parent: r.get(5)?,
                t: r.get(6)?,
                sent_t: r.get(7)?,
                seq: r.get(8)?,
                state: r.get(9)?,
                imported_before: r.get::<_, i64>(10)? != 0,
            })
        })
        .optional()
}

/// Stages the tombstone at `loc` of `export_id` deleting `key` of record kind `kind` as item
/// `id` of the deletion kind; the id it is stored under (that of an earlier tombstone of the
/// same key, when there was one).
pub(super) fn stage(
    conn: &Connection,
    export_id: i64,
    loc: Loc,
    kind: Kind,
    key: &str,
    id: i64,
) -> rusqlite::Result<Option<i64>> {
    let Some(deletion) = kind.deletion() else {
        return Ok(None);
    };
    let found = original(conn, kind, key)?;
    let on_target = found.as_ref().is_some_and(Original::on_target);
    if let Some(o) = found.as_ref().filter(|o| o.state != ItemState::Done.code()) {
        // Deleted before it went (again): it never goes.
        conn.prepare_cached("UPDATE item SET state = ?3 WHERE kind = ?1 AND id = ?2")?
            .execute(params![kind.code(), o.id, ItemState::Skipped.code()])?;
    }
    let state = if on_target {
        ItemState::Pending
    } else {
        ItemState::Skipped
    };
    let (src_export, line, offset, len) = match &found {
        Some(o) => (o.export_id, o.line, o.offset, o.len),
        None => (
            export_id,
            loc.line as i64,
            loc.offset as i64,
            loc.len as i64,
        ),
    };
    let o = found.as_ref();
    // A deletion done already stays done: the record is gone (an upsert since would have
    // marked it superseded, see [`supersede`]).
    conn.prepare_cached(
        "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t,
                           sent_t, seq, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, -1, ?9, ?10, ?11, ?12)
         ON CONFLICT (kind, key) DO UPDATE SET export_id = excluded.export_id,
             line = excluded.line, offset = excluded.offset, len = excluded.len,
             parent = excluded.parent, t = excluded.t, sent_t = excluded.sent_t,
             seq = excluded.seq,
             state = CASE WHEN item.state = 1 THEN 1 ELSE excluded.state END
         RETURNING id",
    )?
    .query_row(
        params![
            deletion.code(),
            id,
            src_export,
            key,
            line,
            offset,
            len,
            o.and_then(|o| o.parent),
            o.map_or(0, |o| o.t),
            o.and_then(|o| o.sent_t),
            o.and_then(|o| o.seq),
            state.code()
        ],
        |r| r.get(0),
    )
    .optional()
}

/// An upsert of `key` of `kind` was staged: a deletion of it staged before is superseded
/// (the later line wins). A record deleted on the target and restated is imported again, so
/// its deletion no longer holds; a recall done stays done (a message is added once, and a
/// recall cannot be undone).
pub(super) fn supersede(conn: &Connection, kind: Kind, key: &str) -> rusqlite::Result<()> {
    let Some(deletion) = kind.deletion() else {
        return Ok(());
    };
    let message = matches!(kind, Kind::C2cMessage | Kind::GroupMessage);
    conn.prepare_cached(
        "UPDATE item SET state = ?3 WHERE kind = ?1 AND key = ?2 AND state <> ?3
             AND (state <> ?4 OR NOT ?5)",
    )?
    .execute(params![
        deletion.code(),
        key,
        ItemState::Skipped.code(),
        ItemState::Done.code(),
        message
    ])?;
    Ok(())
}

/// Whether the store holds any deletion item: staging a record then checks for one of its key.
pub(super) fn any(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM item WHERE kind >= ?1)",
        [Kind::DELETIONS[0].code()],
        |r| r.get(0),
    )
}

/// Members of a group that a delta deletes go with it: `destroy_group` removes them all, and
/// `delete_group_member` refuses a batch that names the owner (10004), whose row an old system
/// deletes with the group's other rows. Their pending removals are skipped; how many.
pub(super) fn members_go_with_their_group(conn: &Connection) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE item SET state = ?4 WHERE kind = ?1 AND state = ?5 AND parent IN (
             SELECT g.id FROM item d JOIN item g ON g.kind = ?3 AND g.key = d.key
             WHERE d.kind = ?2 AND d.state IN (?5, ?6))",
    )?
    .execute(params![
        Kind::MemberRemoval.code(),
        Kind::GroupDeletion.code(),
        Kind::Group.code(),
        ItemState::Skipped.code(),
        ItemState::Pending.code(),
        ItemState::Done.code()
    ])
}
