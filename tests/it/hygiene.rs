//! Hygiene: hooks run in a clean environment, and what holds message content is created
//! readable by its owner only.

#![allow(clippy::unwrap_used)]

use crate::common::alone::in_own_process;
use cutover::config::{HookConfig, HookKind};
use cutover::runbook::hooks::run_hook;
use std::time::Duration;

fn env_hook(listed: &[&str]) -> HookConfig {
    HookConfig {
        kind: HookKind::Command {
            command: "env".into(),
        },
        timeout: Duration::from_secs(30),
        env: listed.iter().map(|s| (*s).to_string()).collect(),
    }
}

#[tokio::test]
async fn a_hook_sees_path_home_lang_and_what_it_lists_never_the_key_or_tokens() {
    // The key and a token in this process's environment, which every test would see.
    let vars = [
        ("CUTOVER_SECRET_KEY", "secret-key-for-the-hygiene-test"),
        (
            "CUTOVER_CALLBACK_TOKEN",
            "callback-token-for-the-hygiene-test",
        ),
        ("HYGIENE_LISTED", "listed-value"),
    ];
    let name = "a_hook_sees_path_home_lang_and_what_it_lists_never_the_key_or_tokens";
    if !in_own_process(module_path!(), name, &vars) {
        return;
    }
    let said = run_hook(&env_hook(&["HYGIENE_LISTED"])).await.unwrap();
    assert!(!said.contains("secret-key-for-the-hygiene-test"), "{said}");
    assert!(!said.contains("CUTOVER_SECRET_KEY"), "{said}");
    assert!(!said.contains("CUTOVER_CALLBACK_TOKEN"), "{said}");
    assert!(said.contains("HYGIENE_LISTED=listed-value"), "{said}");
    assert!(said.contains("PATH="), "{said}");
    // Named in the runbook, the key is passed: the operator chose it.
    let said = run_hook(&env_hook(&["CUTOVER_SECRET_KEY"])).await.unwrap();
    assert!(said.contains("CUTOVER_SECRET_KEY=secret-key-for-the-hygiene-test"));
}

#[cfg(unix)]
#[test]
fn the_store_its_journal_files_the_log_and_the_sink_are_the_owners_only() {
    // It installs the process's logger.
    let name = "the_store_its_journal_files_the_log_and_the_sink_are_the_owners_only";
    if !in_own_process(module_path!(), name, &[]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let conn = cutover::store::open_for_writing(&store).unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS hygiene (x); INSERT INTO hygiene VALUES (1);")
        .unwrap();
    assert_eq!(mode(&store), 0o600);
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("run.db{suffix}"));
        // The store is in WAL mode and its connection is open: both side files are there.
        assert!(side.exists(), "{suffix}");
        assert_eq!(mode(&side), 0o600, "{suffix}");
    }
    let logs = dir.path().join("logs").join("cutover.log");
    let _guard = cutover::logging::to_file(&logs).unwrap();
    assert_eq!(mode(&logs), 0o600);
    assert_eq!(mode(logs.parent().unwrap()), 0o700);
    let sink = dir.path().join("out.jsonl");
    cutover::private::append(&sink).unwrap();
    assert_eq!(mode(&sink), 0o600);
}
