//! The order pass: the shift cascade, MsgSeq per conversation, refusal, and a second export
//! generation continuing after the first.

use super::*;
use crate::source::ExportDir;
use crate::store::queries::pending;
use crate::store::stage::{stage_export_with, StageOptions};
use crate::store::{open_for_writing, Kind};
use std::fs;

#[test]
fn a_burst_cascades_one_second_at_a_time() {
    let mut prev = None;
    let sent: Vec<i64> = [100, 100, 100, 101, 105, 105]
        .into_iter()
        .map(|t| {
            let at = send_time(prev, t);
            prev = Some(at);
            at
        })
        .collect();
    assert_eq!(sent, [100, 101, 102, 103, 105, 106]);
}

#[test]
fn a_conversation_is_the_unordered_pair() {
    assert_eq!(conversation(3, 7), conversation(7, 3));
    assert_ne!(conversation(3, 7), conversation(3, 8));
    assert_eq!(conversation(-1, 7), None);
}

/// An export at `dir`: accounts a, b, c; group g (created at 10); `group_msgs` as (id, time)
/// and `c2c` as (id, from, to, time), each file in the order given.
fn write_export(
    dir: &Path,
    exported_at: i64,
    group_msgs: &[(&str, i64)],
    c2c: &[(&str, &str, &str, i64)],
) {
    fs::create_dir_all(dir).unwrap();
    let delta = if exported_at > 1_000_000 {
        ", \"delta_of\": 1000000"
    } else {
        ""
    };
    fs::write(
        dir.join("manifest.json"),
        format!(
            "{{\"format\": \"cutover-export\", \"version\": 1, \"exported_at\": {exported_at}, \"watermark\": {exported_at}{delta}}}"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("accounts.jsonl"),
        "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n",
    )
    .unwrap();
    fs::write(
        dir.join("groups.jsonl"),
        "{\"id\":\"g\",\"type\":\"public\",\"name\":\"G\",\"created_at\":10}\n",
    )
    .unwrap();
    let lines: String = group_msgs
        .iter()
        .map(|(id, t)| {
            format!("{{\"id\":\"{id}\",\"group\":\"g\",\"from\":\"a\",\"sent_at\":{t},\"body\":[{{\"type\":\"text\",\"text\":\"x\"}}]}}\n")
        })
        .collect();
    fs::write(dir.join("group_messages.jsonl"), lines).unwrap();
    let lines: String = c2c
        .iter()
        .map(|(id, from, to, t)| {
            format!("{{\"id\":\"{id}\",\"from\":\"{from}\",\"to\":\"{to}\",\"sent_at\":{t},\"body\":[{{\"type\":\"text\",\"text\":\"x\"}}]}}\n")
        })
        .collect();
    fs::write(dir.join("c2c_messages.jsonl"), lines).unwrap();
}

/// (key, export time, sent time) of the staged group messages, in sending order.
fn group_rows(conn: &Connection) -> Vec<(String, i64, i64)> {
    let mut stmt = conn
        .prepare("SELECT key, t, sent_t FROM item WHERE kind = 6 ORDER BY sent_t")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// (key, MsgSeq) of the staged one-to-one messages.
fn c2c_rows(conn: &Connection) -> Vec<(String, i64)> {
    let mut stmt = conn
        .prepare("SELECT key, seq FROM item WHERE kind = 3 ORDER BY parent, seq")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn owned(rows: &[(&str, i64, i64)]) -> Vec<(String, i64, i64)> {
    rows.iter()
        .map(|(k, t, s)| (k.to_string(), *t, *s))
        .collect()
}

#[test]
fn shifts_and_sequences_continue_across_generations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    // Out of order in the file: the pass orders each group by (time, line) itself.
    let first = dir.path().join("first");
    write_export(
        &first,
        1_000_000,
        &[
            ("m3", 200),
            ("m1", 100),
            ("m2", 100),
            ("m4", 100),
            ("m5", 300),
        ],
        &[
            ("c2", "b", "a", 50),
            ("c1", "a", "b", 50),
            ("c3", "a", "c", 40),
            ("c4", "a", "b", 49),
        ],
    );
    stage_export_with(
        &mut conn,
        &path,
        &ExportDir::open(&first).unwrap(),
        StageOptions::default(),
    )
    .unwrap();
    assert_eq!(
        group_rows(&conn),
        owned(&[
            ("m1", 100, 100),
            ("m2", 100, 101),
            ("m4", 100, 102),
            ("m3", 200, 200),
            ("m5", 300, 300)
        ])
    );
    // a↔b in (time, line) order: c4 (49), then c2 and c1 (50, lines 1 and 2); a↔c apart.
    let seqs = c2c_rows(&conn);
    let ab: Vec<_> = seqs.iter().filter(|(k, _)| k != "c3").cloned().collect();
    assert_eq!(ab, [("c4".into(), 1), ("c2".into(), 2), ("c1".into(), 3)]);
    assert!(seqs.contains(&("c3".into(), 1)));
    assert_eq!(
        shifts(&conn).unwrap(),
        Shifts {
            shifted: 2,
            largest_secs: 2,
            refused: 0
        }
    );

    // A delta: its messages go after what is staged, whatever their own time.
    let second = dir.path().join("second");
    write_export(
        &second,
        1_000_100,
        &[("m6", 300), ("m7", 250), ("m8", 301)],
        &[("c5", "a", "b", 10)],
    );
    stage_export_with(
        &mut conn,
        &path,
        &ExportDir::open(&second).unwrap(),
        StageOptions::default(),
    )
    .unwrap();
    let rows = group_rows(&conn);
    assert_eq!(
        rows[5..],
        owned(&[("m7", 250, 301), ("m6", 300, 302), ("m8", 301, 303)])
    );
    assert!(c2c_rows(&conn).contains(&("c5".into(), 4)));
    // The engine sends the sent times, oldest first.
    let times: Vec<i64> = pending(&conn, Kind::GroupMessage)
        .unwrap()
        .iter()
        .map(|i| i.t)
        .collect();
    assert_eq!(times, [100, 101, 102, 200, 300, 301, 302, 303]);
    let c5 = pending(&conn, Kind::C2cMessage)
        .unwrap()
        .into_iter()
        .find(|i| i.seq == Some(4));
    assert!(c5.is_some());
}

#[test]
fn refuse_turns_a_burst_into_invalid_records_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    let first = dir.path().join("first");
    write_export(
        &first,
        1_000_000,
        &[("m1", 100), ("m2", 100), ("m3", 101), ("m4", 100)],
        &[],
    );
    let staged = stage_export_with(
        &mut conn,
        &path,
        &ExportDir::open(&first).unwrap(),
        StageOptions {
            same_second: SameSecond::Refuse,
            history_since: None,
        },
    )
    .unwrap();
    assert_eq!(
        group_rows(&conn),
        owned(&[("m1", 100, 100), ("m3", 101, 101)])
    );
    let counts = staged
        .counts
        .iter()
        .find(|(k, _, _)| *k == Kind::GroupMessage)
        .unwrap();
    assert_eq!((counts.1, counts.2), (4, 2));
    let mut stmt = conn
        .prepare("SELECT file, line, record, field, rule, reason FROM invalid ORDER BY line")
        .unwrap();
    let invalid: Vec<(String, i64, String, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(invalid.len(), 2);
    let (file, line, record, field, rule, reason) = &invalid[0];
    assert_eq!(
        (
            file.as_str(),
            *line,
            record.as_str(),
            field.as_str(),
            rule.as_str()
        ),
        ("group_messages.jsonl", 2, "m2", "sent_at", RULE_SAME_SECOND)
    );
    assert!(
        reason.contains("not after the group's previous message"),
        "{reason}"
    );
    assert_eq!(
        shifts(&conn).unwrap(),
        Shifts {
            shifted: 0,
            largest_secs: 0,
            refused: 2
        }
    );
}

#[test]
fn the_scratch_counts_what_staging_would_do() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch::open(&dir.path().join("scratch.db")).unwrap();
    for (group, t, line) in [
        ("g", 100, 1),
        ("g", 100, 2),
        ("h", 100, 3),
        ("g", 100, 4),
        ("g", 101, 5),
    ] {
        scratch.add(group, t, line).unwrap();
    }
    // g: 100, 101, 102, 103 (101 shifted by 2): three shifted, largest 2; refuse keeps 100
    // and 101 and turns away the two other 100s.
    assert_eq!(
        scratch.shifts().unwrap(),
        Shifts {
            shifted: 3,
            largest_secs: 2,
            refused: 2
        }
    );
}

/// (key, state, sent time) of the staged messages of `kind`, by key.
fn states(conn: &Connection, kind: Kind) -> Vec<(String, i64, Option<i64>)> {
    let mut stmt = conn
        .prepare("SELECT key, state, sent_t FROM item WHERE kind = ?1 ORDER BY key")
        .unwrap();
    let rows = stmt
        .query_map([kind.code()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn messages_older_than_history_since_are_staged_skipped_and_counted() {
    use crate::model::history::HistorySince;
    use crate::store::staged::{history_skips, HistorySkip};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    let first = dir.path().join("first");
    // A burst just before the cut-off must not push the message at the cut-off later.
    write_export(
        &first,
        1_000_000,
        &[("o1", 99), ("o2", 99), ("o3", 99), ("k1", 100), ("k2", 150)],
        &[
            ("c_old", "a", "b", 99),
            ("c_at", "a", "b", 100),
            ("c_new", "b", "a", 101),
        ],
    );
    let options = StageOptions {
        history_since: Some(HistorySince::At(100)),
        ..StageOptions::default()
    };
    stage_export_with(&mut conn, &path, &ExportDir::open(&first).unwrap(), options).unwrap();
    let skipped = |k: &str| (k.to_string(), 3, None);
    assert_eq!(
        states(&conn, Kind::GroupMessage),
        [
            ("k1".to_string(), 0, Some(100)),
            ("k2".to_string(), 0, Some(150)),
            skipped("o1"),
            skipped("o2"),
            skipped("o3"),
        ]
    );
    // One-to-one MsgSeq counts the kept messages only.
    let c2c: Vec<_> = states(&conn, Kind::C2cMessage)
        .into_iter()
        .map(|(k, state, _)| (k, state))
        .collect();
    assert_eq!(
        c2c,
        [("c_at".into(), 0), ("c_new".into(), 0), ("c_old".into(), 3)]
    );
    let seqs: Vec<Option<i64>> = conn
        .prepare("SELECT seq FROM item WHERE kind = 3 ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, [Some(1), Some(2), None]);
    let counts = crate::store::queries::item_counts(&conn).unwrap();
    assert_eq!(counts[&Kind::GroupMessage], [2, 0, 0, 3]);
    assert_eq!(counts[&Kind::C2cMessage], [2, 0, 0, 1]);
    let by_kind = crate::store::verify::entity_counts(&conn).unwrap();
    let groups = by_kind
        .iter()
        .find(|c| c.kind == Some(Kind::GroupMessage))
        .unwrap();
    assert_eq!((groups.source, groups.skipped, groups.failed), (5, 3, 0));
    let skips = history_skips(&conn).unwrap();
    let want = |kind, items| HistorySkip {
        kind,
        cutoff: 100,
        items,
    };
    assert_eq!(
        skips,
        [want(Kind::C2cMessage, 1), want(Kind::GroupMessage, 3)]
    );
    assert_eq!(
        skips[0].reason(),
        "older than history_since 1970-01-01 00:01:40 UTC"
    );
    // Nothing skipped is handed to the import.
    assert!(pending(&conn, Kind::GroupMessage)
        .unwrap()
        .iter()
        .all(|item| item.t >= 100));
}

#[test]
fn roaming_counts_back_from_the_time_of_staging() {
    use crate::model::history::HistorySince;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut conn = open_for_writing(&path).unwrap();
    let now = crate::timefmt::now_secs();
    let day = 86_400;
    let export = dir.path().join("e");
    write_export(
        &export,
        1_000_000,
        &[("g8", now - 8 * day), ("g6", now - 6 * day)],
        &[
            ("c8", "a", "b", now - 8 * day),
            ("c6", "a", "b", now - 6 * day),
        ],
    );
    // Exported now (the helper's manifest is older than these messages).
    fs::write(
        export.join("manifest.json"),
        format!("{{\"format\": \"cutover-export\", \"version\": 1, \"exported_at\": {now}}}"),
    )
    .unwrap();
    let options = StageOptions {
        history_since: Some(HistorySince::Roaming { days: 7 }),
        ..StageOptions::default()
    };
    stage_export_with(
        &mut conn,
        &path,
        &ExportDir::open(&export).unwrap(),
        options,
    )
    .unwrap();
    for kind in [Kind::GroupMessage, Kind::C2cMessage] {
        let got: Vec<i64> = states(&conn, kind).into_iter().map(|r| r.1).collect();
        assert_eq!(
            got,
            [0, 3],
            "{kind:?}: the 6-day-old kept, the 8-day-old skipped"
        );
    }
    let skips = crate::store::staged::history_skips(&conn).unwrap();
    let cutoff = skips[0].cutoff;
    assert!((now - 7 * day..=crate::timefmt::now_secs() - 7 * day).contains(&cutoff));
}
