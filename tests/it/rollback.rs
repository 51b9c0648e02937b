//! A rollback mid-import: the run stops cleanly, the old service is resumed, and the decision
//! with its reason is in the audit trail and the report.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, sample_data, with_app_keys};
use common::{wait_for, Rig, PATIENCE};
use cutover::store::{open_for_reading, queries};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_mid_import_stops_the_run_and_resumes_the_old_service() {
    let Rig { handle, store, dir } = Rig::new(app_config()).await;
    // The old system's maintenance endpoint records what it receives.
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&calls);
    let app = axum::Router::new().route(
        "/resume",
        axum::routing::post(move || {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push("resume".into());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resume = format!("http://{}/resume", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let rb = dir.path().join("runbook.toml");
    std::fs::write(
        &rb,
        with_app_keys(&format!(
            "[hooks.resume_service]\nurl = \"{resume}\"\n[limits.importmsg]\nrate = 20\n"
        )),
    )
    .unwrap();
    let common_args = |cmd: &mut Command| {
        cmd.args(["--admin", common::ADMIN, "--target-url", &handle.url()])
            .args(["--sdkappid", &common::SDKAPPID.to_string()])
            .arg("--source")
            .arg(sample_data())
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&rb)
            .env("CUTOVER_SECRET_KEY", common::KEY);
    };
    let mut run = Command::new(env!("CARGO_BIN_EXE_cutover"));
    run.args(["run", "--headless", "--yes"]);
    common_args(&mut run);
    let run = run.stdout(Stdio::piped()).spawn().unwrap();
    let live = || {
        open_for_reading(&store)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT owner_pid FROM run", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .ok()
            })
            .flatten()
    };
    wait_for("the run to own the store", PATIENCE, live, Option::is_some).await;
    let mut rollback = Command::new(env!("CARGO_BIN_EXE_cutover"));
    rollback.args(["rollback", "--yes", "--reason", "the window ran out"]);
    common_args(&mut rollback);
    let out = tokio::task::spawn_blocking(move || rollback.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("stopped the run (process"), "{text}");
    let run_out = tokio::task::spawn_blocking(move || run.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        run_out.status.code(),
        Some(4),
        "the run stopped as on SIGTERM"
    );
    assert_eq!(
        calls.lock().unwrap().as_slice(),
        ["resume"],
        "the old service resumed once"
    );

    let conn = open_for_reading(&store).unwrap();
    assert!(
        queries::journal(&conn).unwrap().is_empty(),
        "every request in flight was recorded"
    );
    let (state, reason): (String, String) = conn
        .query_row("SELECT state, reason FROM run", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (state.as_str(), reason.as_str()),
        ("rolled back", "the window ran out")
    );
    let report = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["report", "--format", "md", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("rollback") && report.contains("the window ran out"),
        "{report}"
    );
}
