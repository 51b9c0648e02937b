//! A run outlives its terminal: SIGHUP detaches the console and the run goes on; `cutover
//! attach` from another terminal confirms the step that waits; a headless run whose stdout
//! goes away finishes; a killed run is not reported as running.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::tui_pty::in_a_pty;
use common::engine::{app_config, sample_data};
use common::{wait_for, PATIENCE};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// `cutover status --json` of `store`.
fn status(store: &Path) -> serde_json::Value {
    let mut out = Vec::new();
    let args = cutover::cli::StatusArgs {
        store: store.to_path_buf(),
        json: true,
    };
    // Before the run has written its first row there is no run to show yet.
    match cutover::commands::store_cmds::status(&args, &mut out) {
        Ok(_) => serde_json::from_slice(&out).unwrap(),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

/// The state word of `step` in a status document.
fn step_state(doc: &serde_json::Value, step: &str) -> String {
    doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == step))
        .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// The arguments of `cutover run` against the rig's simulator with `runbook`.
fn run_args(rig: &common::Rig, runbook: &Path) -> Vec<String> {
    let args = [
        "run",
        "--admin",
        common::ADMIN,
        "--target-url",
        &rig.handle.url(),
        "--sdkappid",
        &common::SDKAPPID.to_string(),
        "--source",
        &sample_data().display().to_string(),
        "--store",
        &rig.store.display().to_string(),
        "--config",
        &runbook.display().to_string(),
    ];
    args.iter().map(|s| s.to_string()).collect()
}

fn send_signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_outlives_its_terminal_and_an_attached_console_confirms_the_waiting_step() {
    let rig = common::Rig::new(app_config()).await;
    let hooks = rig.path("hooks");
    let runbook = rig.path("runbook.toml");
    let text = format!(
        "[limits.importmsg]\nrate = 60\n\
         [hooks.stop_service]\ncommand = \"echo stopped >> {h}\"\n\
         [hooks.resume_service]\ncommand = \"echo resumed >> {h}\"\n",
        h = hooks.display()
    );
    std::fs::write(&runbook, common::engine::with_app_keys(&text)).unwrap();
    let args = run_args(&rig, &runbook);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let key = |cmd: &mut portable_pty::CommandBuilder| cmd.env("CUTOVER_SECRET_KEY", common::KEY);
    let (screen, mut keys, mut run) = in_a_pty(&args, key);
    screen.wait_for(" CONFIRM ").await;
    keys.write_all(b"\r").unwrap();
    screen.wait_for("Press y to run it").await;
    keys.write_all(b"y").unwrap();
    screen.wait_for(" RUNNING ").await;

    // The terminal goes: the run does not.
    send_signal(run.process_id().unwrap(), "-HUP");
    drop(keys);
    let doc = wait_for(
        "the import to finish and the resume-service step to wait",
        PATIENCE,
        || status(&rig.store),
        |d| step_state(d, "resume service") == "needs confirmation",
    )
    .await;
    assert_eq!(step_state(&doc, "import"), "done", "{doc:#}");
    assert_eq!(doc["live"], true, "{doc:#}");
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run ended with its terminal"
    );

    // Another terminal attaches, confirms, and sees the run to its end.
    let store = rig.store.display().to_string();
    let (other, mut other_keys, mut attached) = in_a_pty(&["attach", "--store", &store], |_| {});
    let first = other.wait_for(" CONFIRM ").await;
    assert!(first.contains("attached: you"), "{first}");
    other_keys.write_all(b"\r").unwrap();
    other.wait_for("Press y to run it").await;
    other_keys.write_all(b"y").unwrap();
    other.wait_for(" FINISHED ").await;
    other_keys.write_all(b"q").unwrap();
    let left = wait_for(
        "the attached console to leave",
        PATIENCE,
        || attached.try_wait().unwrap(),
        |s| s.is_some(),
    )
    .await;
    assert_eq!(left.unwrap().exit_code(), 0);
    let ended = wait_for(
        "the run to end",
        PATIENCE,
        || run.try_wait().unwrap(),
        |s| s.is_some(),
    )
    .await;
    assert_eq!(ended.unwrap().exit_code(), 0, "{}", other.text());
    let hooks = std::fs::read_to_string(&hooks).unwrap();
    assert_eq!(hooks, "stopped\nresumed\n");
    let doc = status(&rig.store);
    assert_eq!(doc["live"], false, "{doc:#}");
    assert_eq!(step_state(&doc, "verify"), "done", "{doc:#}");
    drop(other_keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_run_whose_stdout_is_closed_goes_on_and_finishes() {
    let rig = common::Rig::new(app_config()).await;
    let runbook = rig.path("runbook.toml");
    let text = common::engine::with_app_keys("[limits.importmsg]\nrate = 60\n");
    std::fs::write(&runbook, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(run_args(&rig, &runbook))
        .arg("--headless")
        .env("CUTOVER_SECRET_KEY", common::KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read the first bytes, then close the pipe while the run goes on.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let ended = wait_for(
        "the run to end",
        PATIENCE,
        || child.try_wait().unwrap(),
        |s| s.is_some(),
    )
    .await;
    // Invalid records are skipped at staging (and counted): every item imported, exit 0.
    assert_eq!(ended.unwrap().code(), Some(0));
    let doc = status(&rig.store);
    assert_eq!(step_state(&doc, "import"), "done", "{doc:#}");
    assert_eq!(step_state(&doc, "verify"), "done", "{doc:#}");
    let log = std::fs::read_to_string(rig.path("run.db.log")).unwrap();
    assert!(log.contains("stdout is gone; the run goes on"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_not_reported_running_and_status_says_how_to_carry_on() {
    let rig = common::Rig::new(app_config()).await;
    let runbook = rig.path("runbook.toml");
    let text = common::engine::with_app_keys("[limits.importmsg]\nrate = 5\n");
    std::fs::write(&runbook, text).unwrap();
    let args = run_args(&rig, &runbook);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(&args)
        .arg("--headless")
        .env("CUTOVER_SECRET_KEY", common::KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let doc = wait_for(
        "the import to run",
        PATIENCE,
        || status(&rig.store),
        |d| step_state(d, "import") == "running",
    )
    .await;
    assert_eq!(doc["live"], true, "{doc:#}");
    assert_eq!(doc["process"]["pid"], child.id(), "{doc:#}");
    child.kill().unwrap();
    child.wait().unwrap();
    let doc = status(&rig.store);
    assert_eq!(doc["live"], false, "{doc:#}");
    assert!(doc["process"].is_null(), "{doc:#}");
    let resume = doc["idle"]["resume"].as_str().unwrap();
    assert!(resume.contains("cutover run --admin"), "{resume}");
    assert!(resume.contains("--headless"), "{resume}");
    let text = common::status_text(&rig.store);
    assert!(text.contains("(no process is running it)"), "{text}");
    assert!(text.contains("nothing has run it since"), "{text}");
}
