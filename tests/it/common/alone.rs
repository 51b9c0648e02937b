//! Tests that need a process of their own in the one test binary: a test that sets
//! environment variables (which every other test in the process, and every child it starts,
//! would see) or installs the process's global logger runs its body in a child of this binary
//! that runs that test only, with the variables set from its start.

#![allow(clippy::unwrap_used)] // test support: a failure here is a test failure

use std::process::Command;

/// Set in the child: the test it runs.
const ALONE: &str = "CUTOVER_TEST_ALONE";

/// Whether the caller, test `name` of module `module` (`module_path!()`), is to run its body
/// here: true in the child started for it. Elsewhere it runs the test in a child of this
/// binary with `vars` set, fails if the test failed there (or did not run), and returns
/// false: the caller returns.
pub(crate) fn in_own_process(module: &str, name: &str, vars: &[(&str, &str)]) -> bool {
    // The test's path in the harness leaves out the crate (`it::`).
    let path = match module.split_once("::") {
        Some((_, inner)) => format!("{inner}::{name}"),
        None => name.to_string(),
    };
    if std::env::var(ALONE).is_ok_and(|t| t == path) {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([path.as_str(), "--exact", "--test-threads=1"])
        .env(ALONE, &path)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.contains("test result: ok. 1 passed;"),
        "{path}, run in a process of its own, failed:\n{said}"
    );
    false
}
