//! Paging pending items: the pages, one after another, are what a single read would give.

use super::*;
use crate::store::queries;

/// A store with items of every kind: scattered parents, needs, times and states.
fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
    let mut insert = conn
        .prepare(
            "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t, state, sent_t, seq)
             VALUES (?1, ?2, 1, ?3, ?2, 0, 0, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .unwrap();
    for kind in Kind::ALL {
        for id in 0..200i64 {
            let parent = (kind != Kind::Account).then_some((id * 7) % 13);
            let parent = if id % 50 == 3 { None } else { parent };
            let needs = if kind == Kind::Account {
                -1
            } else {
                (id * 31) % 17
            };
            let t = 1000 + (id * 11) % 5;
            let state = if id % 9 == 0 { 1 } else { 0 };
            let sent_t = (kind == Kind::GroupMessage).then_some(t + id % 3);
            let seq = (kind == Kind::C2cMessage).then_some(id % 4);
            insert
                .execute(params![
                    kind.code(),
                    id,
                    format!("k{id}"),
                    parent,
                    needs,
                    t,
                    state,
                    sent_t,
                    seq
                ])
                .unwrap();
        }
    }
    drop(insert);
    (dir, conn)
}

#[test]
fn pages_in_a_row_give_every_pending_item_once_in_the_order_they_go() {
    let (_dir, conn) = store();
    for kind in Kind::ALL {
        let mut expected = queries::pending(&conn, kind).unwrap();
        match kind {
            _ if flat(kind) => expected.sort_by_key(|i| (i.needs, i.id)),
            // Within an owner or a group, friends and members go by time (any order will do:
            // they are only grouped by their scope).
            Kind::Friend | Kind::GroupMember => {
                expected.sort_by_key(|i| (i.parent.unwrap_or(-1), i.t, i.id))
            }
            _ => {}
        }
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = page(&conn, kind, after, 16).unwrap();
            assert!(page.items.len() <= 16);
            got.extend(page.items);
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        assert!(got == expected, "{kind:?}: pages differ from one read");
        assert_eq!(pending_count(&conn, kind).unwrap(), expected.len() as u64);
    }
}

#[test]
fn a_page_walks_the_pending_index_not_the_table() {
    let (_dir, conn) = store();
    for kind in [Kind::Account, Kind::GroupMessage] {
        let key = order_key(kind);
        let cols = if flat(kind) { "i.needs, i.id" } else { key };
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT i.id FROM item i WHERE i.kind = 1 AND i.state = 0
             ORDER BY {cols} LIMIT 10"
        );
        let plan = crate::store::tests::query_plan(&conn, &sql);
        assert!(plan.contains("item_pending"), "{kind:?}: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{kind:?}: {plan}");
    }
}

#[test]
fn items_are_found_by_id_with_their_state() {
    let (_dir, conn) = store();
    let found = items_by_id(&conn, Kind::Group, &[0, 1, 999]).unwrap();
    let states: Vec<(i64, ItemState)> = found.iter().map(|(i, s)| (i.id, *s)).collect();
    assert_eq!(states, vec![(0, ItemState::Done), (1, ItemState::Pending)]);
}
