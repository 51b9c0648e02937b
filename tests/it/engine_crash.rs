//! kill -9 at several points of a run — while group message batches and requests whose answers
//! are lost are in flight — then resume: the target ends with every valid record exactly once.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, assert_same, sample_data, with_app_keys};
use common::{wait_for, PATIENCE};
use cutover::sim::config::{Faults, NoAnswer};
use cutover::store::{open_for_reading, queries, Kind};
use std::process::{Command, Stdio};

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

/// Where a kill strikes.
#[derive(Debug, Clone, Copy)]
enum Strike {
    /// Once the run has committed 50 more items.
    Progress,
    /// While a group message batch is in flight (its journal entry written, no answer yet).
    GroupBatch,
}

/// Items done, and group message batches in the journal (in flight, or unresolved by a kill).
fn progress(store: &std::path::Path) -> (u64, usize) {
    let Ok(conn) = open_for_reading(store) else {
        return (0, 0);
    };
    let done = queries::item_counts(&conn).map_or(0, |c| c.values().map(|v| v[1]).sum());
    let batches = queries::journal(&conn).map_or(0, |j| {
        j.iter().filter(|j| j.kind == Kind::GroupMessage).count()
    });
    (done, batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_resume_to_exactly_the_export() {
    let mut config = app_config();
    let slow = Faults {
        seed: 1114,
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
    let common::Rig { handle, store, dir } = common::Rig::new(config).await;
    let runbook = dir.path().join("runbook.toml");
    std::fs::write(&runbook, with_app_keys(RUNBOOK)).unwrap();

    // Each kill waits for a positive sign that the run is where the kill should strike: some
    // progress committed since the run started, or a group message batch in flight.
    let mut unresolved_group_batches = 0;
    for (round, strike) in [Strike::Progress, Strike::GroupBatch]
        .repeat(2)
        .iter()
        .enumerate()
    {
        let before = progress(&store).0;
        let mut child = cutover_run(&handle.url(), &store, &runbook)
            .spawn()
            .unwrap();
        let seen = wait_for(
            &format!("kill {round}: {strike:?} (or the run to end by itself)"),
            PATIENCE,
            || (child.try_wait().unwrap(), progress(&store)),
            |(ended, (done, group_batches))| match strike {
                _ if ended.is_some() => true,
                Strike::Progress => *done >= before + 50,
                Strike::GroupBatch => *group_batches > 0,
            },
        )
        .await;
        if let (Some(status), _) = seen {
            eprintln!("run ended by itself before kill {round}: {status}");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        unresolved_group_batches += progress(&store).1;
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
