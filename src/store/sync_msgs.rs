//! Messages named by recalls in sync: what the target knows a message by (its MsgKey, or its
//! group and MsgSeq) and the old system's id of it, for the messages the relay wrote
//! (`sync_message`) and for those the import brought (items).

use super::queries::{item_row, PendingItem, ITEM_COLUMNS};
use super::Kind;
use crate::model::sync_event::Direction;
use crate::timefmt::now_ms;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// A message the relay wrote into the target, as it is known on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentMessage {
    /// A group message (else one-to-one).
    pub(crate) group: bool,
    /// The old system's message id.
    pub(crate) old_id: String,
    /// One-to-one: the sender; group: the `GroupId`.
    pub(crate) place: String,
    /// One-to-one: the receiver; group: empty.
    pub(crate) peer: String,
    /// One-to-one: the `MsgKey`; group: the `MsgSeq`, in decimal.
    pub(crate) target: String,
}

fn kind_code(group: bool) -> i64 {
    i64::from(group)
}

/// Remembers messages the relay wrote (a message written again keeps the newest answer).
pub(crate) fn sent_put(tx: &Transaction<'_>, sent: &[SentMessage]) -> rusqlite::Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO sync_message (kind, old_id, place, peer, target, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let now = now_ms();
    for m in sent {
        put.execute(params![
            kind_code(m.group),
            m.old_id,
            m.place,
            m.peer,
            m.target,
            now
        ])?;
    }
    Ok(())
}

/// The message the relay wrote for the old message `old_id`, if it wrote one.
pub(crate) fn sent_by_old(
    conn: &Connection,
    group: bool,
    old_id: &str,
) -> rusqlite::Result<Option<SentMessage>> {
    conn.prepare_cached(
        "SELECT place, peer, target FROM sync_message WHERE kind = ?1 AND old_id = ?2",
    )?
    .query_row(params![kind_code(group), old_id], |r| {
        Ok(SentMessage {
            group,
            old_id: old_id.to_owned(),
            place: r.get(0)?,
            peer: r.get(1)?,
            target: r.get(2)?,
        })
    })
    .optional()
}

/// The old id of the message the relay wrote that the target knows by `place`, `peer` and
/// `target` (see [`SentMessage`]).
pub(crate) fn sent_by_target(
    conn: &Connection,
    group: bool,
    place: &str,
    peer: &str,
    target: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT old_id FROM sync_message
         WHERE kind = ?1 AND place = ?2 AND target = ?3 AND peer = ?4 LIMIT 1",
    )?
    .query_row(params![kind_code(group), place, target, peer], |r| r.get(0))
    .optional()
}

/// The body of the new → old event `event_id` (what the relay delivered to the old system).
pub(crate) fn delivered_body(
    conn: &Connection,
    event_id: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT body FROM sync_event WHERE direction = ?1 AND event_id = ?2")?
        .query_row(params![Direction::NewToOld.code(), event_id], |r| r.get(0))
        .optional()
}

/// A staged record's item, with what sync needs of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StagedItem {
    /// Where its record is, and its MsgSeq.
    pub(crate) item: PendingItem,
    /// Its state ([`crate::store::ItemState`] code).
    pub(crate) state: i64,
    /// A group message's MsgSeq as the target answered at import.
    pub(crate) target_seq: Option<u64>,
}

fn staged_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StagedItem> {
    Ok(StagedItem {
        item: item_row(r, 0)?,
        state: r.get(9)?,
        target_seq: r
            .get::<_, Option<i64>>(10)?
            .and_then(|s| u64::try_from(s).ok()),
    })
}

/// The item of `kind` staged under `key` (a message's or a group's old id), if any.
pub(crate) fn staged_item(
    conn: &Connection,
    kind: Kind,
    key: &str,
) -> rusqlite::Result<Option<StagedItem>> {
    conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS}, i.state, i.target_seq FROM item i WHERE i.kind = ?1 AND i.key = ?2"
    ))?
    .query_row(params![kind.code(), key], staged_row)
    .optional()
}

/// The old id of the group message imported into the group staged under `group_key` that the
/// target answered `msg_seq` for.
pub(crate) fn imported_group_msg(
    conn: &Connection,
    group_key: &str,
    msg_seq: u64,
) -> rusqlite::Result<Option<String>> {
    let Ok(seq) = i64::try_from(msg_seq) else {
        return Ok(None);
    };
    conn.prepare_cached(
        "SELECT m.key FROM item g JOIN item m ON m.kind = ?2 AND COALESCE(m.parent, -1) = g.id
         WHERE g.kind = ?1 AND g.key = ?3 AND m.target_seq = ?4 LIMIT 1",
    )?
    .query_row(
        params![
            Kind::Group.code(),
            Kind::GroupMessage.code(),
            group_key,
            seq
        ],
        |r| r.get(0),
    )
    .optional()
}

/// The one-to-one messages imported between the accounts staged as `a` and `b` (either way)
/// at `time` (unix seconds), with their old ids: the candidates for a MsgKey of that time.
pub(crate) fn imported_c2c_at(
    conn: &Connection,
    (a, b): (&str, &str),
    time: i64,
) -> rusqlite::Result<Vec<(String, StagedItem)>> {
    let account = |key: &str| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached("SELECT id FROM item WHERE kind = ?1 AND key = ?2")?
            .query_row(params![Kind::Account.code(), key], |r| r.get(0))
            .optional()
    };
    let (Some(a), Some(b)) = (account(a)?, account(b)?) else {
        return Ok(Vec::new());
    };
    let Some(conversation) = super::order::conversation(a, b) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS}, i.state, i.target_seq, i.key FROM item i
         WHERE i.kind = ?1 AND COALESCE(i.parent, -1) = ?2 AND COALESCE(i.sent_t, i.t) = ?3"
    ))?;
    let rows = stmt.query_map(params![Kind::C2cMessage.code(), conversation, time], |r| {
        Ok((r.get(11)?, staged_row(r)?))
    })?;
    rows.collect()
}

/// Marks the item of `kind` staged under `key` imported, a group message with the MsgSeq the
/// target answered (as the import's writer does).
#[cfg(test)]
pub(crate) fn mark_imported(
    conn: &Connection,
    kind: Kind,
    key: &str,
    target_seq: Option<i64>,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE item SET state = 1, target_seq = ?3 WHERE kind = ?1 AND key = ?2",
        params![kind.code(), key, target_seq],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_message_is_found_by_its_old_id_and_by_its_target_key() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let sent = [
            SentMessage {
                group: false,
                old_id: "m1".into(),
                place: "u1".into(),
                peer: "u2".into(),
                target: "7_8_9".into(),
            },
            SentMessage {
                group: true,
                old_id: "gm1".into(),
                place: "g1".into(),
                peer: String::new(),
                target: "12".into(),
            },
        ];
        let tx = conn.transaction().unwrap();
        sent_put(&tx, &sent).unwrap();
        sent_put(&tx, &sent[1..]).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            sent_by_old(&conn, false, "m1").unwrap().as_ref(),
            Some(&sent[0])
        );
        assert_eq!(
            sent_by_old(&conn, true, "gm1").unwrap().as_ref(),
            Some(&sent[1])
        );
        assert_eq!(sent_by_old(&conn, true, "m1").unwrap(), None);
        let found = sent_by_target(&conn, false, "u1", "u2", "7_8_9").unwrap();
        assert_eq!(found.as_deref(), Some("m1"));
        assert_eq!(
            sent_by_target(&conn, false, "u2", "u1", "7_8_9").unwrap(),
            None
        );
        let found = sent_by_target(&conn, true, "g1", "", "12").unwrap();
        assert_eq!(found.as_deref(), Some("gm1"));
        assert_eq!(staged_item(&conn, Kind::C2cMessage, "m1").unwrap(), None);
        assert_eq!(imported_group_msg(&conn, "g1", 12).unwrap(), None);
        assert!(imported_c2c_at(&conn, ("u1", "u2"), 9).unwrap().is_empty());
        assert_eq!(delivered_body(&conn, "e1").unwrap(), None);
    }
}
