//! Staging in chunks: a staging cut short after any chunk, then resumed, leaves the store as
//! one uninterrupted staging does; until it finishes, the export does not count as staged.

use super::*;
use crate::model::history::HistorySince;
use crate::source::gen::{generate, GenConfig};
use crate::store::order::SameSecond;
use crate::store::{open_for_writing, phase, queries, staged};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Records per chunk in these tests: the exports below span several chunks.
const CHUNK: u64 = 300;

/// A generated export with invalid records and same-second bursts: a full one, or (`delta_of`)
/// a delta restating the same accounts and groups with other content and new messages.
fn export(dir: &Path, name: &str, seed: u64, delta_of: Option<i64>) -> ExportDir {
    let root = dir.join(name);
    let exported_at = 1_732_000_000 + i64::from(delta_of.is_some()) * 100_000;
    let cfg = GenConfig {
        seed,
        accounts: 150,
        friends_per_account: 4.0,
        c2c_messages: 900,
        groups: 12,
        members_per_group: 8.0,
        group_messages: 900,
        bad_ratio: 0.03,
        exported_at,
        ..GenConfig::default()
    };
    generate(&cfg, &root).unwrap();
    same_second_burst(&root.join("group_messages.jsonl"));
    if let Some(delta_of) = delta_of {
        let manifest = root.join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        m["delta_of"] = delta_of.into();
        std::fs::write(&manifest, serde_json::to_vec(&m).unwrap()).unwrap();
    }
    ExportDir::open(&root).unwrap()
}

/// Appends a copy (another id, the same group and second) of every tenth group message: bursts
/// `same_second = refuse` turns away.
fn same_second_burst(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = text.clone();
    for line in text.lines().step_by(10) {
        // Lines spoiled on purpose may not even be JSON: left alone.
        let Ok(mut m) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(id) = m["id"].as_str().map(|id| format!("{id}-again")) else {
            continue;
        };
        m["id"] = id.into();
        out.push_str(&m.to_string());
        out.push('\n');
    }
    std::fs::write(file, out).unwrap();
}

fn options() -> StageOptions {
    StageOptions {
        same_second: SameSecond::Refuse,
        history_since: Some(HistorySince::At(1_731_000_000)),
    }
}

fn chunking(stop_after: Option<u64>) -> Chunking {
    Chunking {
        records: CHUNK,
        stop_after,
    }
}

/// A store at `dir/name`.
fn store(dir: &Path, name: &str) -> (PathBuf, Connection) {
    let path = dir.join(name);
    let conn = open_for_writing(&path).unwrap();
    (path, conn)
}

/// Every row staging writes, as text, in a fixed order (times of staging and the cache paths,
/// which differ between stores, left out).
fn dump(conn: &Connection) -> Vec<String> {
    let queries = [
        "SELECT kind, id, export_id, key, line, offset, len, parent, needs, t, state, attempts,
                sent_t, seq, imported_before FROM item ORDER BY kind, id",
        "SELECT export_id, kind, file, line, record, field, rule, reason FROM invalid
         ORDER BY export_id, kind, line, field, rule, reason",
        "SELECT export_id, kind, name, records, invalid FROM source_file ORDER BY export_id, kind",
        "SELECT id, root, fingerprint, exported_at, watermark, delta_of, history_since
         FROM export ORDER BY id",
        "SELECT kind, scope, last FROM scope_mark ORDER BY kind, scope",
        "SELECT export_id FROM staging",
        "SELECT export_id, kind, lines FROM stage_progress",
    ];
    let mut out = Vec::new();
    for sql in queries {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(cells.join("|"))
            })
            .unwrap();
        out.push(format!("-- {sql}"));
        out.extend(rows.map(Result::unwrap));
    }
    out
}

fn count(conn: &Connection, sql: &str) -> u64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Stages `export` cut short after `stop_after` chunks, then again (up to `resumes` times,
/// each cut short after one more chunk) until it finishes; the number of chunks cut.
fn stage_with_crashes(
    path: &Path,
    export: &ExportDir,
    stop_after: u64,
    resumes: u32,
) -> Option<u64> {
    let mut conn = open_for_writing(path).unwrap();
    let first = stage_export_chunked(
        &mut conn,
        path,
        export,
        options(),
        chunking(Some(stop_after)),
    );
    match first {
        Ok(_) => return None,
        Err(StageError::Interrupted { chunks }) => assert_eq!(chunks, stop_after),
        Err(e) => panic!("{e}"),
    }
    // A crash: the connection goes, whatever it had not committed is gone.
    drop(conn);
    for _ in 0..resumes {
        let mut conn = open_for_writing(path).unwrap();
        match stage_export_chunked(&mut conn, path, export, options(), chunking(Some(1))) {
            Ok(staged) => {
                assert!(staged.fresh);
                return Some(stop_after);
            }
            Err(StageError::Interrupted { chunks: 1 }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let mut conn = open_for_writing(path).unwrap();
    let staged = stage_export_chunked(&mut conn, path, export, options(), chunking(None)).unwrap();
    assert!(staged.fresh, "the resumed staging finishes the export");
    Some(stop_after)
}

#[test]
fn a_staging_cut_short_after_any_chunk_resumes_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let full = export(dir.path(), "full", 7, None);
    let (path, mut conn) = store(dir.path(), "whole.db");
    let staged = stage_export_chunked(&mut conn, &path, &full, options(), chunking(None)).unwrap();
    let records: u64 = staged.counts.iter().map(|(_, r, _)| r).sum();
    assert!(records > 4 * CHUNK, "{records} records span several chunks");
    let invalid = count(&conn, "SELECT COUNT(*) FROM invalid");
    let shifted = count(
        &conn,
        "SELECT COUNT(*) FROM invalid WHERE rule = 'same_second'",
    );
    assert!(
        invalid > shifted && shifted > 0,
        "bad records and refused bursts"
    );
    let expected = dump(&conn);
    // Cut after every possible chunk, up to the last (then the export's final transaction,
    // with the order and the files, is what was lost).
    let mut cut = 0;
    for stop_after in 1.. {
        let path = dir.path().join(format!("cut{stop_after}.db"));
        let Some(_) = stage_with_crashes(&path, &full, stop_after, 0) else {
            break;
        };
        cut += 1;
        let conn = open_for_writing(&path).unwrap();
        assert_eq!(dump(&conn), expected, "cut after chunk {stop_after}");
    }
    assert!(cut >= 4, "{cut} cuts");
    // Cut again and again: each resumed staging is cut after one more chunk.
    let path = dir.path().join("cuts.db");
    stage_with_crashes(&path, &full, 1, 3).unwrap();
    let conn = open_for_writing(&path).unwrap();
    assert_eq!(dump(&conn), expected, "cut four times");
}

#[test]
fn a_delta_cut_short_resumes_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let full = export(dir.path(), "full", 7, None);
    let watermark = full.manifest.watermark;
    let delta = export(dir.path(), "delta", 8, watermark);
    let (path, mut conn) = store(dir.path(), "whole.db");
    for e in [&full, &delta] {
        stage_export_chunked(&mut conn, &path, e, options(), chunking(None)).unwrap();
    }
    let expected = dump(&conn);
    let restated = count(
        &conn,
        "SELECT COUNT(*) FROM item WHERE export_id = 2 AND kind IN (0, 4)",
    );
    assert!(restated > 0, "the delta restates accounts and groups");
    for stop_after in [1, 3, 5] {
        let path = dir.path().join(format!("cut{stop_after}.db"));
        let mut conn = open_for_writing(&path).unwrap();
        stage_export_chunked(&mut conn, &path, &full, options(), chunking(None)).unwrap();
        drop(conn);
        stage_with_crashes(&path, &delta, stop_after, 1).unwrap();
        let conn = open_for_writing(&path).unwrap();
        assert_eq!(dump(&conn), expected, "delta cut after chunk {stop_after}");
    }
}

#[test]
fn a_half_staged_export_is_not_staged_until_it_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let full = export(dir.path(), "full", 7, None);
    let delta = export(dir.path(), "delta", 8, full.manifest.watermark);
    let other = export(dir.path(), "other", 9, None);
    let (path, mut conn) = store(dir.path(), "s.db");
    stage_export_chunked(&mut conn, &path, &full, options(), chunking(None)).unwrap();
    let cut = stage_export_chunked(&mut conn, &path, &delta, options(), chunking(Some(2)));
    assert!(matches!(cut, Err(StageError::Interrupted { chunks: 2 })));
    assert!(count(&conn, "SELECT COUNT(*) FROM item WHERE export_id = 2") > 0);
    let print = fingerprint(&delta);
    // Every reader of staged exports sees the full export only.
    assert_eq!(phase::export_with(&conn, &print).unwrap(), None);
    assert_eq!(
        phase::newest_export(&conn).unwrap(),
        Some((1, full.manifest.watermark))
    );
    assert_eq!(staged::export_count(&conn).unwrap(), 1);
    assert_eq!(
        staged::exports(&conn)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![1]
    );
    let paths = queries::read_paths(&conn).unwrap();
    assert!(paths.keys().all(|(export_id, _)| *export_id == 1));
    // The delta still passes as the delta of what is staged, so a re-run stages it.
    crate::store::phase::check_export(&conn, &path, &print, delta.manifest.delta_of, false)
        .unwrap();
    // Another export waits for the half-staged one.
    let refused = stage_export_chunked(&mut conn, &path, &other, options(), chunking(None));
    assert!(
        matches!(refused, Err(StageError::Unfinished { ref root, .. }) if root.ends_with("delta")),
        "{refused:?}"
    );
    // The re-run finishes it, once.
    let done = stage_export_chunked(&mut conn, &path, &delta, options(), chunking(None)).unwrap();
    assert!(done.fresh);
    assert_eq!(done.export_id, 2);
    assert_eq!(phase::export_with(&conn, &print).unwrap(), Some(2));
    assert_eq!(staged::export_count(&conn).unwrap(), 2);
    let again = stage_export_chunked(&mut conn, &path, &delta, options(), chunking(None)).unwrap();
    assert!(!again.fresh);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM staging"), 0);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM stage_progress"), 0);
}
