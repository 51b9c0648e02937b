//! Store tests: staging the bundled sample export, the writer's commits and counts.

use super::queries::{self, FailureFilter};
use super::stage::stage_export;
use super::writer::{FailedItem, Op, Settled, Writer};
use super::*;
use crate::source::{validate_export, ExportDir};
use std::path::Path;

/// SQLite's plan for `sql` (an `EXPLAIN QUERY PLAN …`), its steps joined by spaces.
pub(crate) fn query_plan(conn: &Connection, sql: &str) -> String {
    let plan: Vec<String> = conn
        .prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    plan.join(" ")
}

fn sample() -> ExportDir {
    ExportDir::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")).unwrap()
}

#[test]
fn stages_every_valid_record_once_and_not_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    let export = sample();
    let staged = stage_export(&mut conn, &path, &export).unwrap();
    assert!(staged.fresh);
    let report = validate_export(&export, &mut |_| {}).unwrap();
    let counts = queries::item_counts(&conn).unwrap();
    for (kind, records, invalid) in &staged.counts {
        let summary = report
            .files
            .iter()
            .find(|f| Kind::of_file_name(&f.file) == Some(*kind))
            .unwrap();
        assert_eq!((*records, *invalid), (summary.records, summary.invalid));
        assert_eq!(counts[kind][0], summary.valid, "{kind:?}");
    }
    let invalid: u64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT file || line) FROM invalid",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(invalid, report.invalid());
    let again = stage_export(&mut conn, &path, &export).unwrap();
    assert!(!again.fresh);
    assert_eq!(again.counts, staged.counts);
    assert_eq!(queries::item_counts(&conn).unwrap(), counts);
}

#[test]
fn an_item_is_read_back_from_its_byte_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    stage_export(&mut conn, &path, &sample()).unwrap();
    let paths = queries::read_paths(&conn).unwrap();
    for kind in Kind::ALL {
        for item in queries::pending(&conn, kind).unwrap() {
            let bytes = std::fs::read(&paths[&(item.export_id, kind)]).unwrap();
            let text = &bytes[item.offset as usize..(item.offset + item.len) as usize];
            assert!(text.starts_with(b"{") && text.ends_with(b"}"), "{kind:?}");
        }
    }
}

#[test]
fn the_staged_export_and_its_items_read_back_by_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    let staged = stage_export(&mut conn, &path, &sample()).unwrap();
    let exports = super::staged::exports(&conn).unwrap();
    assert_eq!(exports.len(), 1);
    let files: Vec<(i64, u64, u64)> = exports[0]
        .files
        .iter()
        .map(|f| (f.kind, f.records, f.invalid))
        .collect();
    let want: Vec<(i64, u64, u64)> = staged
        .counts
        .iter()
        .map(|(k, r, i)| (k.code(), *r, *i))
        .collect();
    assert_eq!(files, want);
    let root = super::staged::first_root(&conn).unwrap();
    assert_eq!(root.as_deref(), Some(exports[0].root.as_str()));

    let pending = queries::keys_in_state(&conn, Kind::Account, ItemState::Pending).unwrap();
    let (id, key) = pending[0].clone();
    assert_eq!(queries::key_of(&conn, Kind::Account, id).unwrap(), key);
    let all = queries::counts_in_state(&conn, Kind::Account, ItemState::Pending, false).unwrap();
    assert_eq!(all, [pending.len() as u64]);
    assert!(queries::set_item_state(&conn, Kind::Account, id, ItemState::Skipped).unwrap());
    let skipped = queries::ids_in_state(&conn, Kind::Account, ItemState::Skipped).unwrap();
    assert_eq!(skipped, [id]);
    let per_owner =
        queries::counts_in_state(&conn, Kind::Friend, ItemState::Pending, true).unwrap();
    let friends = queries::pending(&conn, Kind::Friend).unwrap();
    assert_eq!(per_owner.iter().sum::<u64>(), friends.len() as u64);
    assert_eq!(queries::in_flight(&conn).unwrap(), 0);
}

#[tokio::test]
async fn the_writer_commits_outcomes_and_publishes_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    stage_export(&mut conn, &path, &sample()).unwrap();
    let before = queries::item_counts(&conn).unwrap()[&Kind::Account];
    let ids = queries::ids_in_state(&conn, Kind::Account, ItemState::Pending).unwrap();
    let writer = Writer::start(conn).unwrap();
    let tx = writer.sender();
    let (ack, acked) = tokio::sync::oneshot::channel();
    let sent = Op::Sent {
        request: 7,
        kind: Kind::Account,
        group: None,
        items: ids[..3].to_vec(),
        ack: Some(ack),
    };
    tx.send(sent).await.unwrap();
    acked.await.unwrap();
    let reader = open_for_reading(&path).unwrap();
    assert_eq!(queries::journal(&reader).unwrap()[0].items, ids[..3]);
    let failed = FailedItem {
        id: ids[2],
        api: "multiaccount_import",
        code: Some(70402),
        info: "bad".into(),
        retryable: false,
    };
    let outcome = Settled {
        request: Some(7),
        kind: Some(Kind::Account),
        done: ids[..2].to_vec(),
        failed: vec![failed],
        ..Settled::default()
    };
    tx.send(Op::Settled(outcome)).await.unwrap();
    let (ack, flushed) = tokio::sync::oneshot::channel();
    tx.send(Op::Flush(ack)).await.unwrap();
    flushed.await.unwrap();
    let now = writer.committed().borrow().clone();
    let want = [before[0] - 3, 2, 1, 0];
    assert_eq!(now.items[&Kind::Account], want);
    assert_eq!(queries::item_counts(&reader).unwrap()[&Kind::Account], want);
    assert!(queries::journal(&reader).unwrap().is_empty());
    let groups = queries::failure_groups(&reader).unwrap();
    assert_eq!((groups[0].code, groups[0].count), (Some(70402), 1));
    let (ack, moved) = tokio::sync::oneshot::channel();
    let filter = FailureFilter {
        code: Some(70402),
        ..FailureFilter::default()
    };
    tx.send(Op::MoveFailed {
        filter,
        to: ItemState::Pending,
        ack,
    })
    .await
    .unwrap();
    assert_eq!(moved.await.unwrap()[&Kind::Account].len(), 1);
    writer.finish().await.unwrap();
    assert_eq!(
        queries::item_counts(&reader).unwrap()[&Kind::Account],
        [before[0] - 2, 2, 0, 0]
    );
}

#[test]
fn a_failed_deletion_names_the_file_of_the_record_it_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_for_writing(&dir.path().join("run.db")).unwrap();
    conn.execute_batch(
        "INSERT INTO export (id, root, fingerprint, exported_at, staged_at) VALUES (1, 'x', 'f', 1, 1);
         INSERT INTO source_file VALUES (1, 2, 'friends.jsonl', 'friends.jsonl', 3, 0);
         INSERT INTO item (kind, id, export_id, key, line, offset, len, needs, state)
             VALUES (11, 0, 1, 'u1' || char(31) || 'u2', 3, 0, 0, -1, 2);
         INSERT INTO failure VALUES (11, 0, 'friend_delete', 30001, 'no', 0, 1, 1, 1);",
    )
    .unwrap();
    let rows = queries::failures(&conn, &FailureFilter::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].file.as_str(), rows[0].line), ("friends.jsonl", 3));
    assert_eq!(rows[0].record, "u1→u2");
}
