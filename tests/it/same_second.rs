//! Same-second messages against the simulator (which refuses a group message that is not
//! newer than the group's newest, ties included): bursts of group and one-to-one messages
//! sharing one second are all imported and read back in export order, and the shifts are
//! counted; with `same_second = "refuse"` the later ones of each group burst are invalid at
//! staging and nothing else is lost.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, import, runbook};
use cutover::engine::import::{Ending, ImportSettings};
use cutover::engine::plan::plan;
use cutover::report::gather::gather;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::store::open_for_reading;
use cutover::store::order::{shifts, Shifts, RULE_SAME_SECOND};
use cutover::tim::wire::c2c::AdminGetRoamMsg;
use cutover::tim::wire::group_read::GroupMsgGetSimple;
use cutover::tim::TimClient;
use cutover::verify::Progress;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const T: i64 = 1_600_000_000;

/// Group `g` gets three bursts of three messages sharing one second (g1..g9 in time order,
/// written to the file out of order); a↔b three bursts of three one-to-one messages (c1..c9,
/// both directions, in file order within each second).
fn export(dir: &Path) -> PathBuf {
    let export = dir.join("export");
    std::fs::create_dir_all(&export).unwrap();
    std::fs::write(
        export.join("manifest.json"),
        r#"{"format": "cutover-export", "version": 1, "exported_at": 1700000000}"#,
    )
    .unwrap();
    std::fs::write(
        export.join("accounts.jsonl"),
        "{\"id\":\"a\"}\n{\"id\":\"b\"}\n",
    )
    .unwrap();
    std::fs::write(
        export.join("groups.jsonl"),
        "{\"id\":\"g\",\"type\":\"public\",\"name\":\"G\",\"owner\":\"a\",\"created_at\":1500000000}\n",
    )
    .unwrap();
    let body = |text: &str| format!("[{{\"type\":\"text\",\"text\":\"{text}\"}}]");
    // Bursts at T+10, T+11 (which collides with the first burst's shifts) and T+100, the
    // latest burst first in the file.
    let group_times = [
        (7, 100),
        (8, 100),
        (9, 100),
        (1, 10),
        (2, 10),
        (3, 10),
        (4, 11),
        (5, 11),
        (6, 11),
    ];
    let lines: String = group_times
        .iter()
        .map(|(n, dt)| {
            format!(
                "{{\"id\":\"g{n}\",\"group\":\"g\",\"from\":\"a\",\"sent_at\":{},\"body\":{}}}\n",
                T + dt,
                body(&format!("g{n}"))
            )
        })
        .collect();
    std::fs::write(export.join("group_messages.jsonl"), lines).unwrap();
    let lines: String = (1..=9)
        .map(|n| {
            let (from, to) = if n % 2 == 0 { ("b", "a") } else { ("a", "b") };
            let t = T + 10 * ((n - 1) / 3);
            format!(
                "{{\"id\":\"c{n}\",\"from\":\"{from}\",\"to\":\"{to}\",\"sent_at\":{t},\"body\":{}}}\n",
                body(&format!("c{n}"))
            )
        })
        .collect();
    std::fs::write(export.join("c2c_messages.jsonl"), lines).unwrap();
    export
}

fn text(body: &impl serde::Serialize) -> String {
    let v = serde_json::to_value(body).unwrap();
    v[0]["MsgContent"]["Text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The group's messages, oldest first (group_msg_get_simple order), as (text, time).
async fn group_history(client: &TimClient) -> Vec<(String, i64)> {
    let req = GroupMsgGetSimple {
        GroupId: "g".into(),
        ReqMsgSeq: None,
        ReqMsgNumber: 20,
    };
    let mut msgs = client.call(&req).await.unwrap().RspMsgList;
    msgs.sort_by_key(|m| m.MsgSeq);
    msgs.iter()
        .map(|m| (text(&m.MsgBody), m.MsgTimeStamp))
        .collect()
}

/// a↔b, oldest first (admin_getroammsg answers newest first).
async fn conversation(client: &TimClient) -> Vec<String> {
    let req = AdminGetRoamMsg {
        From_Account: "a".into(),
        To_Account: "b".into(),
        MaxCnt: 100,
        MinTime: 0,
        MaxTime: T + 1000,
        LastMsgKey: None,
    };
    let resp = client.call(&req).await.unwrap();
    assert_eq!(resp.Complete, 1);
    resp.MsgList
        .iter()
        .rev()
        .map(|m| text(&m.MsgBody))
        .collect()
}

fn names(prefix: &str, n: impl IntoIterator<Item = i64>) -> Vec<String> {
    n.into_iter().map(|i| format!("{prefix}{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_second_bursts_are_imported_whole_and_in_export_order() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = export(dir.path());
    let rb = || runbook(&handle, &export, &store, "[verify]\nroaming_days = 0\n");
    assert_eq!(import(rb()).await, Ending::Complete);
    let client = common::client(&handle);

    let history = group_history(&client).await;
    let texts: Vec<String> = history.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(texts, names("g", 1..=9), "every message, in export order");
    let times: Vec<i64> = history.iter().map(|(_, t)| t - T).collect();
    // 10,10,10 → 10,11,12; 11,11,11 → 13,14,15 (after the first burst's shifts); 100 → 100..102.
    assert_eq!(times, [10, 11, 12, 13, 14, 15, 100, 101, 102]);
    assert_eq!(conversation(&client).await, names("c", 1..=9));

    let conn = open_for_reading(&store).unwrap();
    assert_eq!(
        shifts(&conn).unwrap(),
        Shifts {
            shifted: 7,
            largest_secs: 4,
            refused: 0
        }
    );
    // The plan and the report count them too.
    let settings = ImportSettings::from_runbook(&rb());
    assert_eq!(plan(&conn, &settings).unwrap().same_second.shifted, 7);
    let report = gather(&conn, &store).unwrap();
    assert_eq!(report.same_second.largest_secs, 4);
    assert!(cutover::report::markdown::render(&report).contains("7 group messages shared a second"));
    let failed: u64 = conn
        .query_row("SELECT COUNT(*) FROM failure", [], |r| r.get(0))
        .unwrap();
    assert_eq!(failed, 0);

    // Verification expects the sent times and the assigned MsgSeq: everything matches.
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let runner = Runner::new(rb(), RunOptions::default()).unwrap();
    let summary = runner
        .verify(Arc::new(Progress::default()), stop)
        .await
        .unwrap();
    assert!(summary.finished, "{:?}", summary.unread_units);
    assert_eq!(summary.mismatched(), 0, "{:?}", summary.counts);
    for c in &summary.counts {
        assert_eq!(c.verified, c.imported, "{:?}", c.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_reports_the_later_messages_of_a_burst_invalid_and_loses_nothing_else() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = export(dir.path());
    let rb = runbook(
        &handle,
        &export,
        &store,
        "[import]\nsame_second = \"refuse\"\n",
    );
    assert_eq!(import(rb).await, Ending::Complete);
    let client = common::client(&handle);
    // Kept: the first of each second (g1 at 10, g4 at 11, g7 at 100).
    let texts: Vec<String> = group_history(&client)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(texts, names("g", [1, 4, 7]));
    assert_eq!(conversation(&client).await, names("c", 1..=9));

    let conn = open_for_reading(&store).unwrap();
    let mut stmt = conn
        .prepare("SELECT line, record, reason FROM invalid WHERE rule = ?1 ORDER BY line")
        .unwrap();
    let refused: Vec<(i64, String, String)> = stmt
        .query_map([RULE_SAME_SECOND], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let records: Vec<&str> = refused.iter().map(|(_, r, _)| r.as_str()).collect();
    assert_eq!(records, ["g8", "g9", "g2", "g3", "g5", "g6"]);
    assert_eq!(refused[0].0, 2, "the file's line");
    assert!(refused[0].2.contains("same_second"), "{}", refused[0].2);
    assert_eq!(shifts(&conn).unwrap().refused, 6);
}
