//! The run from outside: SIGTERM stops cleanly with its exit code, a store refuses another
//! target, and plan estimates from an export.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, runbook, sample_data, with_app_keys};
use common::{wait_for, PATIENCE};
use cutover::cli::PlanArgs;
use cutover::commands::store_cmds;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::store::{open_for_reading, queries};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_4() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let rb = dir.path().join("runbook.toml");
    std::fs::write(&rb, with_app_keys("[limits.importmsg]\nrate = 40\n")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "run",
            "--headless",
            "--admin",
            common::ADMIN,
            "--target-url",
            &handle.url(),
        ])
        .args(["--sdkappid", &common::SDKAPPID.to_string()])
        .arg("--source")
        .arg(sample_data())
        .arg("--store")
        .arg(&store)
        .arg("--config")
        .arg(&rb)
        .env("CUTOVER_SECRET_KEY", common::KEY)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the import is under way (the store has committed progress).
    let done = || {
        open_for_reading(&store)
            .ok()
            .and_then(|c| queries::item_counts(&c).ok())
            .map_or(0, |c| c.values().map(|v| v[1]).sum::<u64>())
    };
    wait_for("the import to commit progress", PATIENCE, done, |n| *n > 0).await;
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("interrupted (SIGTERM)"), "{text}");
    let conn = open_for_reading(&store).unwrap();
    assert!(
        queries::journal(&conn).unwrap().is_empty(),
        "every request in flight was recorded"
    );
    let pending: u64 = queries::item_counts(&conn)
        .unwrap()
        .values()
        .map(|c| c[0])
        .sum();
    assert!(pending > 0, "stopped before the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_refuses_another_target_unless_told() {
    let one = common::sim(app_config()).await;
    let two = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let runner = Runner::new(
        runbook(&one, &sample_data(), &store, ""),
        RunOptions::default(),
    )
    .unwrap();
    runner.preflight().await.unwrap();
    let other = Runner::new(
        runbook(&two, &sample_data(), &store, ""),
        RunOptions::default(),
    )
    .unwrap();
    let err = format!("{:#}", other.preflight().await.unwrap_err());
    assert!(
        err.contains("belongs to a different target") && err.contains("--reuse-store"),
        "{err}"
    );
    let told = RunOptions {
        reuse_store: true,
        ..RunOptions::default()
    };
    let other = Runner::new(runbook(&two, &sample_data(), &store, ""), told).unwrap();
    other.preflight().await.unwrap();
}

#[test]
fn plan_counts_calls_per_api_and_names_the_long_pole() {
    let args = PlanArgs {
        store: None,
        source: Some(sample_data()),
        config: None,
        json: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    store_cmds::plan(&args, &mut out).unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let lane = |api: &str| {
        plan["lanes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["api"] == api)
            .unwrap()
            .clone()
    };
    assert_eq!(
        lane("multiaccount_import")["calls"],
        1,
        "50 accounts, 100 per call"
    );
    assert_eq!(lane("importmsg")["calls"], 500, "one message per call");
    assert_eq!(plan["long_pole"], "c2c messages");
    let t = plan["t_limit_secs"].as_f64().unwrap();
    assert!((t - (0.01 + 2.5)).abs() < 1e-9, "{t}");
}

#[test]
fn the_demo_runs_the_whole_runbook_with_no_setup() {
    let output = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("demo")
        .env_remove("CUTOVER_SECRET_KEY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    for want in [
        "step stop service: done — HTTP 200",
        "step import: done — 5 items failed",
        "step resume service: done — HTTP 200",
        "POST /maintenance/stop",
        "POST /maintenance/resume",
        "step start sync: done — receiver on",
        "sync events on /sync/webhook",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(
        !text.contains("  0 sync events"),
        "the trickle reached the old system through the relay:\n{text}"
    );
    let kept = text
        .lines()
        .find_map(|l| l.strip_prefix("store, runbook and log kept in "))
        .and_then(|l| l.strip_suffix("; try:"))
        .unwrap();
    std::fs::remove_dir_all(kept).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_upgrade_runs_every_step_but_sync() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    let rb = runbook(
        &handle,
        &sample_data(),
        &store,
        "strategy = \"forced_upgrade\"\n[verify]\nroaming_days = 0\n[window]\nends_at = \"2099-01-01T00:00:00Z\"\n",
    );
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let mut out = Vec::new();
    let exit =
        cutover::ui::headless::run(runner, &mut out, false, Duration::from_secs(1), true, None)
            .await
            .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(exit as u8, 0, "{text}");
    assert!(
        text.contains("step start sync: skipped — forced upgrade: no sync"),
        "{text}"
    );
    assert!(text.contains("step verify: done"), "{text}");
    assert!(!text.contains("sync is running"), "{text}");
    assert!(
        text.contains("before the window closes (00:00:00 UTC)"),
        "progress lines set the finish against the window: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_without_yes_stops_waiting_for_confirmation_then_resumes_with_it() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let stopped = dir.path().join("stopped");
    let rb = dir.path().join("runbook.toml");
    std::fs::write(
        &rb,
        with_app_keys(&format!(
            "[hooks.stop_service]\ncommand = \"echo stopped > {}\"\n",
            stopped.display()
        )),
    )
    .unwrap();
    let run = |yes: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.args(["run", "--headless", "--admin", common::ADMIN])
            .args(["--target-url", &handle.url()])
            .args(["--sdkappid", &common::SDKAPPID.to_string()])
            .arg("--source")
            .arg(sample_data())
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&rb)
            .env("CUTOVER_SECRET_KEY", common::KEY);
        if yes {
            cmd.arg("--yes");
        }
        cmd
    };
    let mut first = run(false);
    let out = tokio::task::spawn_blocking(move || first.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7), "{text}");
    assert!(text.contains("stopped, waiting for confirmation"), "{text}");
    assert!(!stopped.exists(), "the hook must not run unconfirmed");
    let conn = open_for_reading(&store).unwrap();
    let stop = cutover::store::steps::state_of(&conn, cutover::model::step::Step::StopService)
        .unwrap()
        .unwrap();
    assert_eq!(stop.word(), "stopped", "{stop:?}");
    // Run again, confirmed: it carries on and completes.
    let mut again = run(true);
    let out = tokio::task::spawn_blocking(move || again.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(stopped.exists());
}
