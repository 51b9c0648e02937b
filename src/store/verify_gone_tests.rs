//! Records meant to be gone: their own deletion done or waiting, or gone with a deleted account
//! or a destroyed group; nothing else.

use super::*;
use crate::store::order::conversation;
use crate::store::{pair_key, verify_pages};
use rusqlite::{params, Connection};
use std::collections::BTreeSet;

/// A store where account u1 and group g2 were deleted, friend entry u2→u3 is still to be
/// deleted, g1's deletion failed and c2's recall was superseded.
fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
    let put = |kind: Kind, id: i64, key: &str, parent: Option<i64>, state: ItemState| {
        conn.execute(
            "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t, state)
             VALUES (?1, ?2, 1, ?3, ?2, 0, 0, ?4, -1, 0, ?5)",
            params![kind.code(), id, key, parent, state.code()],
        )
        .unwrap();
    };
    let done = ItemState::Done;
    for (id, a) in ["u1", "u2", "u3"].iter().enumerate() {
        put(Kind::Account, id as i64, a, None, done);
        put(Kind::Profile, id as i64, a, None, done);
    }
    // A friend entry's parent is its owner's account item (u1 is item 0).
    for (id, (o, oi, f)) in [
        ("u1", 0, "u2"),
        ("u3", 2, "u1"),
        ("u2", 1, "u3"),
        ("u3", 2, "u2"),
    ]
    .iter()
    .enumerate()
    {
        put(Kind::Friend, id as i64, &pair_key(o, f), Some(*oi), done);
    }
    put(Kind::Group, 0, "g1", None, done);
    put(Kind::Group, 1, "g2", None, done);
    for (id, (g, gi, m)) in [("g2", 1, "u3"), ("g1", 0, "u1"), ("g1", 0, "u2")]
        .iter()
        .enumerate()
    {
        put(
            Kind::GroupMember,
            id as i64,
            &pair_key(g, m),
            Some(*gi),
            done,
        );
    }
    put(Kind::GroupMessage, 0, "m1", Some(0), done);
    put(Kind::GroupMessage, 1, "m2", Some(1), done);
    put(Kind::C2cMessage, 0, "c1", conversation(1, 0), done);
    put(Kind::C2cMessage, 1, "c2", conversation(1, 2), done);
    put(Kind::AccountDeletion, 0, "u1", None, done);
    put(Kind::GroupDeletion, 0, "g2", None, done);
    put(Kind::GroupDeletion, 1, "g1", None, ItemState::Failed);
    put(
        Kind::FriendDeletion,
        0,
        &pair_key("u2", "u3"),
        Some(1),
        ItemState::Pending,
    );
    put(
        Kind::C2cRecall,
        0,
        "c2",
        conversation(1, 2),
        ItemState::Skipped,
    );
    (dir, conn)
}

fn gone_keys(conn: &Connection, kind: Kind) -> BTreeSet<String> {
    let sql = format!(
        "SELECT i.key FROM item i WHERE i.kind = ?1 AND i.state = 1 AND {}",
        gone(kind)
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt.query_map([kind.code()], |r| r.get(0)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

/// [`gone_keys`] with the condition for what the store holds.
fn gone_keys_in(conn: &Connection, kind: Kind) -> BTreeSet<String> {
    let sql = format!(
        "SELECT i.key FROM item i WHERE i.kind = ?1 AND i.state = 1 AND {}",
        gone_in(conn, kind).unwrap()
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt.query_map([kind.code()], |r| r.get(0)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[test]
fn records_deleted_or_gone_with_an_account_or_group_are_meant_to_be_gone() {
    let (_dir, conn) = store();
    let expected = [
        (Kind::Account, set(&["u1"])),
        (Kind::Profile, set(&["u1"])),
        (
            Kind::Friend,
            [("u1", "u2"), ("u3", "u1"), ("u2", "u3")]
                .iter()
                .map(|(o, f)| pair_key(o, f))
                .collect(),
        ),
        (Kind::Group, set(&["g2"])),
        (
            Kind::GroupMember,
            [pair_key("g2", "u3"), pair_key("g1", "u1")].into(),
        ),
        (Kind::GroupMessage, set(&["m2"])),
        (Kind::C2cMessage, set(&["c1"])),
    ];
    for (kind, want) in expected {
        assert_eq!(gone_keys_in(&conn, kind), want, "{kind:?}");
        assert_eq!(gone_keys(&conn, kind), want, "{kind:?}");
    }
    // Deletions themselves are always read back.
    for kind in Kind::DELETIONS {
        assert!(gone_keys(&conn, kind).is_empty(), "{kind:?}");
    }
}

#[test]
fn the_any_kind_condition_agrees_with_each_kinds() {
    let (_dir, conn) = store();
    let sql = format!(
        "SELECT i.kind, i.key FROM item i WHERE i.state = 1 AND {}",
        gone_any_kind_in(&conn).unwrap()
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let all: BTreeSet<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let each: BTreeSet<(i64, String)> = Kind::ALL
        .into_iter()
        .flat_map(|k| {
            gone_keys(&conn, k)
                .into_iter()
                .map(move |key| (k.code(), key))
        })
        .collect();
    assert_eq!(all, each);
}

#[test]
fn pages_and_counts_leave_out_what_is_meant_to_be_gone() {
    let (_dir, conn) = store();
    let page = verify_pages::done_page(&conn, Kind::Friend, None, 100).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        verify_pages::done_counts(&conn, Kind::Friend).unwrap(),
        (1, 0)
    );
    let mut unchecked = 0;
    verify_pages::for_each_unchecked(&conn, Kind::GroupMember, |_, _| unchecked += 1).unwrap();
    assert_eq!(unchecked, 1);
    let counts = crate::store::verify::entity_counts(&conn).unwrap();
    let friends = counts
        .iter()
        .find(|c| c.kind == Some(Kind::Friend))
        .unwrap();
    assert_eq!(
        (friends.imported, friends.gone, friends.unchecked),
        (4, 3, 1)
    );
    let deletions = counts
        .iter()
        .find(|c| c.kind == Some(Kind::AccountDeletion))
        .unwrap();
    assert_eq!((deletions.imported, deletions.gone), (1, 0));
}

#[test]
fn a_store_without_deletions_leaves_the_conditions_out() {
    let (_dir, conn) = store();
    assert_eq!(gone_in(&conn, Kind::Friend).unwrap(), gone(Kind::Friend));
    // Without a done account deletion, the conditions on deleted accounts are left out.
    conn.execute("UPDATE item SET state = 2 WHERE kind = 12", [])
        .unwrap();
    assert_eq!(gone_keys_in(&conn, Kind::Profile), BTreeSet::new());
    assert_eq!(gone_in(&conn, Kind::C2cMessage).unwrap(), "0");
    assert_eq!(gone_keys_in(&conn, Kind::Group), set(&["g2"]));
    // A failed or superseded deletion deletes nothing.
    conn.execute("DELETE FROM item WHERE kind >= 7 AND state IN (0, 1)", [])
        .unwrap();
    assert_eq!(gone_in(&conn, Kind::Friend).unwrap(), "0");
    assert_eq!(gone_any_kind_in(&conn).unwrap(), "0");
}

#[test]
fn a_resumed_pass_drops_the_results_of_records_gone_since() {
    let (_dir, mut conn) = store();
    let verify = crate::store::verify::begin_pass;
    assert!(!verify(&mut conn, 1.0, 0, None).unwrap());
    let results: Vec<_> = (0..4)
        .map(|id| crate::store::verify::ItemResult {
            kind: Kind::Friend,
            id,
            outcome: crate::store::verify::Outcome::Verified,
            detail: String::new(),
        })
        .collect();
    crate::store::verify::record(&mut conn, &results, &[]).unwrap();
    assert!(verify(&mut conn, 1.0, 0, None).unwrap());
    let kept = crate::store::verify::checked_ids(&conn, Kind::Friend).unwrap();
    assert_eq!(kept, [3].into());
}
