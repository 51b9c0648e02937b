//! kill -9 at several points of a run — while group message batches and requests whose answers
//! are lost are in flight — then resume: the target ends with every valid record exactly once.
#![allow(clippy::unwrap_used)]

mod common;

use common::engine::{app_config, assert_same, sample_data};
use cutover::sim::config::{Faults, NoAnswer};
use cutover::store::{open_for_reading, queries, Kind};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNBOOK: &str = r#"
[limits.import_group_msg]
rate = 20
[limits.importmsg]
rate = 100
[error_budget]
item_failures_per_code = 0
consecutive_transient = 0
"#;

fn cutover_run(url: &str, store: &std::path::Path, runbook: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args([
        "run",
        "--headless",
        "--progress-secs",
        "1",
        "--admin",
        common::ADMIN,
    ])
    .args([
        "--sdkappid",
        &common::SDKAPPID.to_string(),
        "--target-url",
        url,
    ])
    .arg("--source")
    .arg(sample_data())
    .arg("--store")
    .arg(store)
    .arg("--config")
    .arg(runbook)
    .env("CUTOVER_SECRET_KEY", common::KEY)
    .stdout(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_resume_to_exactly_the_export() {
    let mut config = app_config();
    let slow = Faults {
        latency_ms: 20,
        latency_spread_ms: 40,
        ..Faults::default()
    };
    config.faults.insert("all".into(), slow.clone());
    let lossy = Faults {
        no_answer_rate: 0.2,
        no_answer: NoAnswer::Drop,
        ..slow
    };
    config.faults.insert("import_group_msg".into(), lossy);
    let handle = common::sim(config).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let runbook = dir.path().join("runbook.toml");
    std::fs::write(&runbook, RUNBOOK).unwrap();

    let mut unresolved_group_batches = 0;
    for kill_after in [900, 1300, 1100, 800] {
        let mut child = cutover_run(&handle.url(), &store, &runbook)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(kill_after) {
            if let Some(status) = child.try_wait().unwrap() {
                eprintln!(
                    "run ended by itself after {:?}: {status}",
                    started.elapsed()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if let Ok(conn) = open_for_reading(&store) {
            if let Ok(journal) = queries::journal(&conn) {
                unresolved_group_batches += journal
                    .iter()
                    .filter(|j| j.kind == Kind::GroupMessage)
                    .count();
            }
        }
    }
    let status = tokio::task::spawn_blocking(move || {
        cutover_run(&handle.url(), &store, &runbook)
            .status()
            .map(|s| (s, handle))
    })
    .await
    .unwrap()
    .unwrap();
    let (status, handle) = status;
    assert_eq!(status.code(), Some(0), "the last run completes");
    assert!(
        unresolved_group_batches > 0,
        "some kill left a group message batch in flight"
    );
    assert_same(&handle, &sample_data());
}
