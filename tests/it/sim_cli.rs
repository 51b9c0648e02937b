//! `cutover sim` as a process: it says where it listens, serves, and on Ctrl-C writes the
//! state dump it was asked for.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;

use common::{KEY, SDKAPPID};
use cutover::tim::wire::account::AccountImport;
use cutover::tim::{ClientConfig, SecretKey, Target, TimClient};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_until_interrupted_then_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--sdkappid",
            &SDKAPPID.to_string(),
            "--admin",
            "ops",
        ])
        .arg("--dump-on-exit")
        .arg(&dump)
        .env("CUTOVER_SECRET_KEY", KEY)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let client = TimClient::new(ClientConfig::new(
        Target::parse(&url).unwrap(),
        SDKAPPID,
        "ops",
        SecretKey::new(KEY),
    ))
    .unwrap();
    client
        .call(&AccountImport {
            UserID: "u1".into(),
            Nick: Some("One".into()),
            FaceUrl: None,
        })
        .await
        .unwrap();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
    assert!(rest.iter().any(|l| l.contains("state written")), "{rest:?}");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
    assert_eq!(state["accounts"][0]["UserID"], "u1");
    assert_eq!(
        state["accounts"][0]["profile"]["Tag_Profile_IM_Nick"],
        "One"
    );
}

#[test]
fn refuses_to_start_without_the_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["sim", "--listen", "127.0.0.1:0", "--sdkappid", "1"])
        .env_remove("CUTOVER_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CUTOVER_SECRET_KEY"));
}

#[test]
fn a_bad_config_is_named_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.toml");
    std::fs::write(&path, "[limits.importmsgs]\nrate = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--sdkappid",
            "1",
            "--config",
        ])
        .arg(&path)
        .env("CUTOVER_SECRET_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sim.toml") && err.contains("limits.importmsgs"),
        "{err}"
    );
}
