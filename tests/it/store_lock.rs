//! One writer per store: a second `cutover run` on a store in use is refused naming the holder;
//! the lock of a run that was killed is taken over, and said so.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, sample_data, with_app_keys};
use common::{wait_for, Rig, PATIENCE};
use cutover::store::lock::{lock_path, this_host, Holder};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `cutover run --headless --yes` against the rig, with `config` as its runbook file.
fn run_command(rig: &Rig, config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(["run", "--headless", "--yes"])
        .args(["--admin", common::ADMIN, "--target-url", &rig.handle.url()])
        .args(["--sdkappid", &common::SDKAPPID.to_string()])
        .arg("--source")
        .arg(sample_data())
        .arg("--store")
        .arg(&rig.store)
        .arg("--config")
        .arg(config)
        .env("CUTOVER_SECRET_KEY", common::KEY);
    cmd
}

/// Who the lock file names (nothing while it is empty).
fn holder(store: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(lock_path(store)).ok()?;
    serde_json::from_str(&text).ok()
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_is_refused_and_a_dead_runs_lock_is_taken_over() {
    let rig = Rig::new(app_config()).await;
    // Slow enough that the first run is still importing while the second one tries.
    let slow = rig.path("slow.toml");
    std::fs::write(&slow, with_app_keys("[limits.importmsg]\nrate = 5\n")).unwrap();
    let mut first = run_command(&rig, &slow)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = first.id();
    let held = wait_for(
        "the first run to hold the store",
        PATIENCE,
        || holder(&rig.store),
        Option::is_some,
    )
    .await
    .unwrap();
    assert_eq!((held.pid, held.command.as_str()), (pid, "run"));

    let second = output(run_command(&rig, &slow)).await;
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    let expected = format!(
        "is in use by cutover run, pid {pid} on host {} since",
        this_host()
    );
    assert!(said.contains(&expected), "{said}");
    // So is a retry, which would move items under the running import.
    let mut retry = Command::new(env!("CARGO_BIN_EXE_cutover"));
    retry.args(["retry", "--store"]).arg(&rig.store);
    let retry = output(retry).await;
    assert!(!retry.status.success());
    assert!(
        String::from_utf8_lossy(&retry.stderr).contains(&expected),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );

    // Killed: no clean release, its details stay in the lock file, the lock itself is gone.
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(holder(&rig.store).map(|h| h.pid), Some(pid));
    let fast = rig.path("fast.toml");
    std::fs::write(&fast, with_app_keys("")).unwrap();
    let third = output(run_command(&rig, &fast)).await;
    let said = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "took over the stale lock of cutover run, pid {pid} on host"
        )),
        "{said}"
    );
    // A clean release leaves no holder behind.
    assert_eq!(holder(&rig.store), None);
}
