//! The app's console settings as runbook data: the export's custom keys are listed by
//! `validate` and `plan`, an undeclared one stops `cutover run` before the stop-service step,
//! declared ones import and read back, `[import] drop_custom` leaves a key out and records it,
//! and `cutover gen`, `cutover sim` and `cutover run` with their defaults fail nothing.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, import, run_to_end, runbook, APP_KEYS};
use common::{ADMIN, KEY, SDKAPPID};
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::source::gen::{generate, GenConfig};
use cutover::source::{validate_export, ExportDir};
use cutover::store::{audit, open_for_reading, queries};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// A small generated export under `dir`, with or without custom keys.
fn export(dir: &Path, custom_keys: bool) -> PathBuf {
    let out = dir.join(if custom_keys { "keyed" } else { "plain" });
    let cfg = GenConfig {
        seed: 4,
        accounts: 120,
        friends_per_account: 8.0,
        c2c_messages: 300,
        groups: 40,
        members_per_group: 8.0,
        group_messages: 300,
        custom_keys,
        ..GenConfig::default()
    };
    generate(&cfg, &out).unwrap();
    let report = validate_export(&ExportDir::open(&out).unwrap(), &mut |_| {}).unwrap();
    let keys = report.custom_keys;
    let every_kind = !keys.profile.is_empty() && !keys.friend.is_empty() && !keys.group.is_empty();
    assert_eq!(
        every_kind, custom_keys,
        "each kind of custom key is used: {keys:?}"
    );
    out
}

/// Friend entries of `export` using `Tag_SNS_Custom_Close`, as validation counts them.
fn close_entries(export: &Path) -> u64 {
    let report = validate_export(&ExportDir::open(export).unwrap(), &mut |_| {}).unwrap();
    report.custom_keys.friend["Close"]
}

/// Failed items in the store.
fn failed(store: &Path) -> u64 {
    let conn = open_for_reading(store).unwrap();
    queries::item_counts(&conn)
        .unwrap()
        .values()
        .map(|v| v[2])
        .sum()
}

/// `APP_KEYS` without the friend key `Close`.
fn app_without_close() -> String {
    APP_KEYS.replace("[\"Close\", \"Tag\"]", "[\"Tag\"]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_key_stops_the_run_before_the_stop_and_declared_it_imports() {
    let rig = common::Rig::new(app_config()).await;
    let source = export(rig.dir.path(), true);
    let n = close_entries(&source);
    assert!(n > 0, "the export has Close entries");
    let stopped = rig.path("stopped");
    let hook = format!(
        "[hooks.stop_service]\ncommand = \"echo stopped > {}\"\n",
        stopped.display()
    );
    let book = rig.path("runbook.toml");
    std::fs::write(&book, format!("{hook}{}", app_without_close())).unwrap();
    let (handle, store) = (&rig.handle, &rig.store);
    let args = ["--yes", "--config", book.to_str().unwrap()];
    let out = run_to_end(handle, store, &source, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("Tag_SNS_Custom_Close in {n} friend entries")),
        "{text}"
    );
    assert!(
        text.contains("drop_custom = [\"Tag_SNS_Custom_Close\"]"),
        "{text}"
    );
    assert!(!text.contains("Tag_Profile_Custom_Hobby in"), "{text}");
    assert!(!stopped.exists(), "the stop hook must not run");
    assert!(handle.sim().dump()["accounts"]
        .as_array()
        .unwrap()
        .is_empty());

    // Declared, the same store resumes (the inventory staging kept is checked again) and
    // imports with no failure; the keys read back on the target.
    std::fs::write(&book, format!("{hook}{APP_KEYS}")).unwrap();
    let out = run_to_end(handle, store, &source, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(stopped.exists());
    assert_eq!(failed(store), 0, "{text}");
    let dump = handle.sim().dump().to_string();
    for key in [
        "Tag_Profile_Custom_Hobby",
        "Tag_SNS_Custom_Close",
        "\"Category\"",
    ] {
        assert!(dump.contains(key), "{key} on the target");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_custom_imports_the_rest_of_each_record_and_is_recorded() {
    let mut config = app_config();
    config.app.friend_custom_tags = Vec::new(); // the console has no friend fields
    let rig = common::Rig::new(config).await;
    let source = export(rig.dir.path(), true);
    let n = close_entries(&source);
    let extra = format!(
        "{}[import]\ndrop_custom = [\"Tag_SNS_Custom_Close\", \"Tag_SNS_Custom_Tag\"]\n\
         [verify]\nroaming_days = 0\n",
        APP_KEYS.replace("friend_custom_tags = [\"Close\", \"Tag\"]\n", "")
    );
    // The [app.group_custom_fields] table ends APP_KEYS: [import] after it is its own table.
    let rb = runbook(&rig.handle, &source, &rig.store, &extra);
    import(rb.clone()).await;
    assert_eq!(failed(&rig.store), 0);
    let dump = rig.handle.sim().dump();
    let text = dump.to_string();
    assert!(
        !text.contains("Tag_SNS_Custom_"),
        "no friend field on the target"
    );
    assert!(
        text.contains("Tag_Profile_Custom_Hobby"),
        "profile fields still go"
    );
    let friends: usize = dump["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["friends"].as_array().unwrap().len())
        .sum();
    assert!(friends > 0, "the friend entries themselves are imported");
    let conn = open_for_reading(&rig.store).unwrap();
    let entry = audit::entries(&conn)
        .unwrap()
        .into_iter()
        .find(|e| e.action == "drop custom keys")
        .expect("the drop is in the audit trail");
    assert!(
        entry
            .detail
            .contains(&format!("Tag_SNS_Custom_Close ({n} records)")),
        "{entry:?}"
    );
    assert!(entry.reason.contains("[import] drop_custom"), "{entry:?}");
    // Verification expects what was sent: the entries match without the dropped keys.
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let progress = Arc::new(cutover::verify::Progress::default());
    let summary = runner.verify(progress, stop).await.unwrap();
    assert_eq!(summary.mismatched(), 0, "{summary:?}");
}

/// `cutover ARGS` with the key set; its output and exit code.
fn cutover(args: &[&str]) -> (String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .env("CUTOVER_SECRET_KEY", KEY)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

#[test]
fn validate_and_plan_list_the_keys_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let source = export(dir.path(), true);
    let n = close_entries(&source);
    let book = dir.path().join("runbook.toml");
    std::fs::write(&book, app_without_close()).unwrap();
    let src = source.to_str().unwrap();
    let (text, code) = cutover(&["validate", src, "--config", book.to_str().unwrap()]);
    assert_eq!(code, Some(1), "an undeclared key is a problem: {text}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("Tag_SNS_Custom_Close"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains(&n.to_string()) && row.contains("NOT DECLARED"),
        "{row}"
    );
    assert!(
        text.contains("create Tag_SNS_Custom_Close in the console"),
        "{text}"
    );
    let (text, code) = cutover(&["validate", src]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Tag_Profile_Custom_Hobby"), "{text}");
    let (text, code) = cutover(&["plan", "--source", src, "--config", book.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("NOT DECLARED"), "{text}");
    assert!(
        text.contains("Community groups") || text.contains("Public groups"),
        "{text}"
    );
    let book = book.to_str().unwrap();
    let (text, code) = cutover(&["plan", "--source", src, "--config", book, "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let undeclared = doc["undeclared_custom_keys"].to_string();
    assert!(undeclared.contains("Tag_SNS_Custom_Close"), "{text}");
    let rows = doc["custom_key_status"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r.to_string().contains(&n.to_string())),
        "{text}"
    );
    let plain = export(dir.path(), false);
    let (text, _) = cutover(&["validate", plain.to_str().unwrap()]);
    assert!(text.contains("custom keys: none"), "{text}");
}

/// `cutover sim` as a process on a free port, with `args`; the child and its URL.
fn sim_process(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--sdkappid",
            &SDKAPPID.to_string(),
        ])
        .args(args)
        .env("CUTOVER_SECRET_KEY", KEY)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    (child, url)
}

/// `cutover run --headless` with only the required flags and `extra`.
fn run_defaults(url: &str, source: &Path, store: &Path, extra: &[&str]) -> (String, Option<i32>) {
    let sdkappid = SDKAPPID.to_string();
    let mut args = vec![
        "run",
        "--headless",
        "--target-url",
        url,
        "--sdkappid",
        &sdkappid,
    ];
    args.extend(["--admin", ADMIN, "--source", source.to_str().unwrap()]);
    args.extend(["--store", store.to_str().unwrap()]);
    args.extend(extra);
    cutover(&args)
}

#[test]
fn gen_sim_and_run_with_their_defaults_fail_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exp");
    let o = out.to_str().unwrap();
    let (text, code) = cutover(&["gen", "--out", o, "--seed", "3", "--accounts", "150"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("No custom keys"), "{text}");
    let (mut sim, url) = sim_process(&[]);
    let (text, code) = run_defaults(&url, &out, &dir.path().join("a.db"), &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("failed 0"), "{text}");
    assert_eq!(failed(&dir.path().join("a.db")), 0, "{text}");

    // With --custom-keys and the same defaults: refused before the stop, saying why; then
    // the [app] gen prints, given to both the simulator and the run, imports everything.
    let keyed = dir.path().join("keyed");
    let k = keyed.to_str().unwrap();
    let (printed, _) = cutover(&[
        "gen",
        "--out",
        k,
        "--seed",
        "3",
        "--accounts",
        "150",
        "--custom-keys",
    ]);
    let (text, code) = run_defaults(&url, &keyed, &dir.path().join("b.db"), &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("custom keys the app's console does not have"),
        "{text}"
    );
    sim.kill().unwrap();
    sim.wait().unwrap();
    let app = printed.find("[app]").map(|at| &printed[at..]).unwrap();
    let book = dir.path().join("runbook.toml");
    std::fs::write(&book, app).unwrap();
    let (mut sim, url) = sim_process(&["--config", book.to_str().unwrap()]);
    let extra = ["--config", book.to_str().unwrap()];
    let (text, code) = run_defaults(&url, &keyed, &dir.path().join("c.db"), &extra);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(failed(&dir.path().join("c.db")), 0, "{text}");
    sim.kill().unwrap();
    sim.wait().unwrap();
}
