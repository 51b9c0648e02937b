//! Read-back of deletions against the simulator: what a delta deleted reads back as gone, a
//! deletion the target did not take reads back as still there, and what was deleted (or went
//! with a deleted account or group) is not reported missing.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, import, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::store::verify::mismatches;
use cutover::store::{open_for_reading, pair_key, Kind};
use cutover::verify::{Progress, Summary};
use rusqlite::{params, Connection};
use std::collections::BTreeSet;
use std::sync::Arc;

async fn verify(rb: cutover::config::Runbook) -> (Summary, Arc<Progress>) {
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let progress = Arc::new(Progress::default());
    let summary = runner.verify(Arc::clone(&progress), stop).await.unwrap();
    (summary, progress)
}

/// Records in the store that the deletion of `key` of `kind` was done: an item of the
/// deletion kind in the record's place, as staging a tombstone makes it.
fn deleted(conn: &Connection, kind: Kind, key: &str) {
    let deletion = kind.deletion().unwrap();
    let n = conn
        .execute(
            "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t,
                               sent_t, seq, state)
             SELECT ?1, (SELECT COALESCE(MAX(id), -1) + 1 FROM item WHERE kind = ?1), export_id,
                    key, line, offset, len, parent, -1, t, sent_t,
                    CASE kind WHEN 6 THEN target_seq ELSE seq END, 1
             FROM item WHERE kind = ?2 AND key = ?3 AND state = 1",
            params![deletion.code(), kind.code(), key],
        )
        .unwrap();
    assert_eq!(n, 1, "{kind:?} {key} is imported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_read_back_as_gone_or_still_there_and_deleted_records_are_not_missing() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    // Pages of two items: deletions, like records, are read back a scope at a time.
    let rb = || {
        let extra = "[verify]\nroaming_days = 0\npage_items = 2\n";
        runbook(&handle, &sample_data(), &store, extra)
    };
    assert_eq!(import(rb()).await, Ending::Complete);
    let conn = Connection::open(&store).unwrap();

    // The newest message of g000001, recalled by taking it off the target (not found = gone).
    let (recalled_gmsg, popped_time): (String, i64) = conn
        .query_row(
            "SELECT key, COALESCE(sent_t, t) FROM item WHERE kind = 6 AND state = 1
               AND parent = (SELECT id FROM item WHERE kind = 4 AND key = 'g000001')
             ORDER BY COALESCE(sent_t, t) DESC, id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    handle.sim().with_state(|st| {
        // An account deleted: its friend entries, membership rows and conversations stay on
        // the simulator, but must not be looked for (nor reported missing).
        assert!(st.forget_account("u0000002"));
        st.groups.remove("g000005").unwrap();
        let (a, b) = (
            st.account_idx("u0000005").unwrap(),
            st.account_idx("u0000010").unwrap(),
        );
        assert!(st.account_mut(a).friends.remove(&b).is_some());
        let m = st.account_idx("u0000049").unwrap();
        st.groups
            .get_mut("g000001")
            .unwrap()
            .members
            .retain(|x| x.account != m);
        let popped = st.groups.get_mut("g000001").unwrap().msgs.pop().unwrap();
        assert_eq!(popped.time, popped_time);
        let (x, y) = (
            st.account_idx("u0000030").unwrap(),
            st.account_idx("u0000029").unwrap(),
        );
        let conv = st.conversations.get_mut(&(x.min(y), x.max(y))).unwrap();
        let at = conv
            .msgs
            .iter()
            .position(|m| m.time == 1726907543 && m.from == x)
            .unwrap();
        conv.msgs.remove(at);
    });
    deleted(&conn, Kind::Account, "u0000002");
    deleted(&conn, Kind::Group, "g000005");
    deleted(&conn, Kind::Friend, &pair_key("u0000005", "u0000010"));
    deleted(&conn, Kind::GroupMember, &pair_key("g000001", "u0000049"));
    deleted(&conn, Kind::GroupMessage, &recalled_gmsg);
    deleted(&conn, Kind::C2cMessage, "m00000001");
    // Two deletions the target did not take.
    deleted(&conn, Kind::Friend, &pair_key("u0000015", "u0000014"));
    deleted(&conn, Kind::GroupMember, &pair_key("g000002", "u0000012"));

    let (summary, progress) = verify(rb()).await;
    assert!(summary.finished, "{:?}", summary.unread_units);
    let found: BTreeSet<(Kind, String, &str)> =
        mismatches(&open_for_reading(&store).unwrap(), None, 100)
            .unwrap()
            .into_iter()
            .map(|m| (m.kind, m.record, m.what))
            .collect();
    let want: BTreeSet<(Kind, String, &str)> = [
        (
            Kind::FriendDeletion,
            "u0000015→u0000014".to_string(),
            "still there",
        ),
        (
            Kind::MemberRemoval,
            "g000002/u0000012".to_string(),
            "still there",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, want);
    for c in &summary.counts {
        let kind = c.kind.unwrap();
        let (gone, still_there) = match kind {
            Kind::FriendDeletion | Kind::MemberRemoval => (1, 1),
            k if k.deletes().is_some() => (1, 0),
            _ => (c.imported - c.gone, 0),
        };
        assert_eq!(
            (
                c.verified,
                c.differs,
                c.missing,
                c.extra,
                c.unchecked,
                c.unreadable
            ),
            (gone, still_there, 0, 0, 0, 0),
            "{kind:?}: {c:?}"
        );
    }
    // Progress counted every deletion, and every record but those gone.
    let count_of = |kind: Kind| summary.counts.iter().find(|c| c.kind == Some(kind));
    for (kind, checked, total) in progress.kinds() {
        // A kind with no item is not counted at all.
        let to_check = count_of(kind).map_or(0, |c| c.imported - c.gone);
        assert_eq!((checked, total), (to_check, to_check), "{kind:?}: progress");
    }
    let gone = |kind: Kind| count_of(kind).map_or(0, |c| c.gone);
    // The account's profile; its friend entries either way, its memberships and its
    // conversations' messages; the destroyed group and its members and messages; and each
    // deleted record itself.
    assert_eq!(gone(Kind::Profile), 1);
    assert!(gone(Kind::Friend) > 3, "{}", gone(Kind::Friend));
    assert!(gone(Kind::GroupMember) > 3, "{}", gone(Kind::GroupMember));
    assert!(gone(Kind::GroupMessage) > 1, "{}", gone(Kind::GroupMessage));
    assert!(gone(Kind::C2cMessage) > 20, "{}", gone(Kind::C2cMessage));
    assert_eq!((gone(Kind::Account), gone(Kind::Group)), (1, 1));
}
