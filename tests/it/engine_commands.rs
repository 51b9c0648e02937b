//! Steering an import: the error budget pauses it and says why; pause, resume and cancel are
//! obeyed and audited; retry and skip change failed items and are audited too.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, runbook, sample_data};
use cutover::cli::{ActionArgs, StatusArgs};
use cutover::commands::store_cmds;
use cutover::engine::control::{Command, RunState};
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::store::{open_for_reading, queries};

async fn wait_for(
    handle: &cutover::engine::import::ImportHandle,
    want: impl Fn(&RunState) -> bool,
) -> RunState {
    let mut state = handle.state.clone();
    let seen = tokio::time::timeout(common::PATIENCE, state.wait_for(|s| want(s)))
        .await
        .expect("state reached in time")
        .unwrap()
        .clone();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_budget_pauses_and_a_cancel_stops_cleanly() {
    let mut config = app_config();
    config.app.friend_custom_tags = Vec::new(); // friend entries with custom fields fail: 30001
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(config).await;
    let extra = "[error_budget]\nitem_failures_per_code = 3\n[limits.importmsg]\nrate = 50\n";
    let runner = Runner::new(
        runbook(&handle, &sample_data(), &store, extra),
        RunOptions::default(),
    )
    .unwrap();
    runner.preflight().await.unwrap();
    let import = runner.prepare_import().unwrap();
    let steer = import.handle();
    let run = tokio::spawn(import.run());
    let paused = wait_for(&steer, |s| {
        matches!(s, RunState::Paused { budget: true, .. })
    })
    .await;
    assert_eq!(paused.reason(), "error budget — 3 × 30001 on friend_import");
    steer.send(Command::Resume {
        reason: "looked at it".into(),
    });
    wait_for(&steer, RunState::is_running).await;
    steer.send(Command::Pause {
        reason: "coffee".into(),
    });
    let paused = wait_for(&steer, |s| {
        matches!(s, RunState::Paused { budget: false, .. })
    })
    .await;
    assert_eq!(paused.reason(), "by operator: coffee");
    steer.send(Command::Cancel {
        reason: "window over".into(),
    });
    let ending = run.await.unwrap().unwrap();
    assert_eq!(ending, Ending::Cancelled("window over".into()));
    let conn = open_for_reading(&store).unwrap();
    let actions: Vec<(String, String, String)> = conn
        .prepare("SELECT actor, action, reason FROM audit ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let want = [
        (
            "engine",
            "pause",
            "error budget — 3 × 30001 on friend_import",
        ),
        ("operator", "resume", "looked at it"),
        ("operator", "pause", "coffee"),
        ("operator", "cancel", "window over"),
    ];
    let got: Vec<(&str, &str, &str)> = actions
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(got, want);
    assert!(
        queries::journal(&conn).unwrap().is_empty(),
        "nothing left in flight"
    );
    // Cancelled: the rest is still pending and a second run finishes it.
    let pending: u64 = queries::item_counts(&conn)
        .unwrap()
        .values()
        .map(|c| c[0])
        .sum();
    assert!(pending > 0);
    let extra = "[error_budget]\nitem_failures_per_code = 0\n";
    let ending = common::engine::import(runbook(&handle, &sample_data(), &store, extra)).await;
    assert!(
        matches!(ending, Ending::CompleteWithFailures(n) if n >= 3),
        "{ending:?}"
    );

    // Skip the failures with a reason; status then shows them skipped, not failed.
    let args = |reason: Option<&str>| ActionArgs {
        store: store.clone(),
        api: Some("friend_import".into()),
        code: Some(30001),
        stage: None,
        reason: reason.map(str::to_string),
    };
    let mut out = Vec::new();
    assert!(
        store_cmds::skip(&args(None), &mut out).is_err(),
        "skip needs a reason"
    );
    store_cmds::skip(&args(Some("custom tag retired")), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("skipped"), "{text}");
    let counts = queries::item_counts(&conn).unwrap();
    let friends = counts[&cutover::store::Kind::Friend];
    assert_eq!(friends[2], 0);
    assert!(friends[3] >= 3);
    let mut out = Vec::new();
    store_cmds::status(
        &StatusArgs {
            store: store.clone(),
            json: true,
        },
        &mut out,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let f = doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "friends")
        .unwrap();
    assert_eq!(f["skipped"].as_u64().unwrap(), friends[3]);
}
