//! Verification pages: one after another they give every imported item once, never split a
//! scope, and walk the scope index.

use super::*;
use crate::store::verify_gone::gone;

/// A store with items of every kind: scattered parents, times and states, some checked.
fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
    let mut insert = conn
        .prepare(
            "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t, state, sent_t, seq)
             VALUES (?1, ?2, 1, ?3, ?2, 0, 0, ?4, -1, ?5, ?6, ?7, ?8)",
        )
        .unwrap();
    for kind in Kind::ALL {
        for id in 0..300i64 {
            let parent = scoped(kind).then_some((id * 7) % 13);
            let parent = if id % 50 == 3 { None } else { parent };
            let t = 1000 + (id * 11) % 5;
            let state = if id % 4 == 0 { 0 } else { 1 };
            let sent_t = (kind == Kind::GroupMessage).then_some(t + id % 3);
            let seq = (kind == Kind::C2cMessage).then_some(id % 4);
            let row = params![
                kind.code(),
                id,
                // Keys of their own per kind: no deletion deletes a record here.
                format!("{}-{id}", kind.code()),
                parent,
                t,
                state,
                sent_t,
                seq
            ];
            insert.execute(row).unwrap();
        }
    }
    drop(insert);
    conn.execute(
        "INSERT INTO verify_result (kind, id, outcome, detail, at)
         SELECT kind, id, 0, '', 0 FROM item WHERE state = 1 AND id % 5 = 1",
        [],
    )
    .unwrap();
    (dir, conn)
}

fn all_pages(conn: &Connection, kind: Kind, limit: usize) -> Vec<DonePage> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = done_page(conn, kind, after, limit).unwrap();
        after = page.next;
        pages.push(page);
        if after.is_none() {
            return pages;
        }
    }
}

#[test]
fn pages_give_every_imported_item_once_with_whole_scopes() {
    let (_dir, conn) = store();
    for kind in Kind::ALL {
        let pages = all_pages(&conn, kind, 16);
        let got: Vec<PendingItem> = pages.iter().flat_map(|p| p.items.clone()).collect();
        let checked: HashSet<i64> = pages.iter().flat_map(|p| p.checked.clone()).collect();
        let (done, already) = done_counts(&conn, kind).unwrap();
        assert_eq!(already, 45, "{kind:?}"); // id % 5 == 1, imported (id % 4 != 0)
        let mut ids: Vec<i64> = got.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), got.len(), "{kind:?}: an item came twice");
        if scoped(kind) {
            assert_eq!(got.len() as u64, done, "{kind:?}");
            assert_eq!(checked.len() as u64, already, "{kind:?}");
            // No scope is split over two pages, and within one the order is the send order.
            let mut seen = HashSet::new();
            for page in &pages {
                let scopes: HashSet<i64> =
                    page.items.iter().map(|i| i.parent.unwrap_or(-1)).collect();
                assert!(scopes.is_disjoint(&seen), "{kind:?}: a scope was split");
                seen.extend(scopes);
                let keys: Vec<_> = page
                    .items
                    .iter()
                    .map(|i| (i.parent.unwrap_or(-1), i.t, i.seq, i.id))
                    .collect();
                assert!(
                    keys.windows(2).all(|w| w[0] < w[1]),
                    "{kind:?}: out of order"
                );
            }
        } else {
            // Items with a result already are not read again.
            assert_eq!(got.len() as u64, done - already, "{kind:?}");
            assert!(checked.is_empty());
        }
        let mut unchecked = 0;
        for_each_unchecked(&conn, kind, |_, _| unchecked += 1).unwrap();
        assert_eq!(unchecked, done - already, "{kind:?}");
    }
}

#[test]
fn a_scope_is_every_item_of_it_in_any_state() {
    let (_dir, conn) = store();
    let items = items_of_scope(&conn, Kind::GroupMember, 5).unwrap();
    let expected = (0..300i64)
        .filter(|id| id % 50 != 3 && (id * 7) % 13 == 5)
        .count();
    assert_eq!(items.len(), expected);
}

#[test]
fn a_scoped_page_walks_the_scope_index_without_sorting() {
    let (_dir, conn) = store();
    let sql = format!(
        "EXPLAIN QUERY PLAN SELECT i.id FROM item i
         WHERE i.kind = 6 AND COALESCE(i.parent, -1) > 3 AND i.state = 1 AND NOT {}
         ORDER BY {SCOPE_ORDER} LIMIT 10",
        gone(Kind::GroupMessage)
    );
    let plan = crate::store::tests::query_plan(&conn, &sql);
    assert!(plan.contains("item_by_scope"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}
