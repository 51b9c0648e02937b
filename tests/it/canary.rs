//! A canary run touches only the listed accounts' data.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_run_touches_only_the_listed_accounts_data() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let list: BTreeSet<String> = (1..=20).map(|n| format!("u{n:07}")).collect();
    let file = dir.path().join("canary.txt");
    let text: Vec<String> = list.iter().cloned().collect();
    std::fs::write(&file, format!("# test users\n{}\n", text.join("\n"))).unwrap();
    let mut rb = runbook(&handle, &sample_data(), &store, "");
    rb.canary = Some(file);
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let pre = runner.preflight().await.unwrap();
    assert!(pre.canary.unwrap().starts_with("canary of 20 accounts"));
    let ending = runner.prepare_import().unwrap().run().await.unwrap();
    assert!(
        matches!(ending, Ending::Complete | Ending::CompleteWithFailures(_)),
        "{ending:?}"
    );

    let dump = handle.sim().dump();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let accounts: BTreeSet<String> = dump["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| s(&a["UserID"]))
        .filter(|id| id != common::ADMIN)
        .collect();
    assert!(
        !accounts.is_empty() && accounts.is_subset(&list),
        "{accounts:?}"
    );
    for a in dump["accounts"].as_array().unwrap() {
        for f in a["friends"].as_array().unwrap() {
            assert!(list.contains(&s(&f["To_Account"])));
        }
    }
    for m in dump["c2c_messages"].as_array().unwrap() {
        assert!(list.contains(&s(&m["From_Account"])) && list.contains(&s(&m["To_Account"])));
    }
    for g in dump["groups"].as_array().unwrap() {
        for m in g["members"].as_array().unwrap() {
            assert!(
                list.contains(&s(&m["Member_Account"])),
                "group {} has an outsider",
                g["GroupId"]
            );
        }
    }
    // The rest is skipped, and the audit trail says why.
    let conn = cutover::store::open_for_reading(&store).unwrap();
    let skipped: u64 = conn
        .query_row("SELECT COUNT(*) FROM item WHERE state = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(skipped > 0);
    let reason: String = conn
        .query_row(
            "SELECT reason FROM audit WHERE action = 'canary'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reason, "canary run limited to 20 accounts");
}
