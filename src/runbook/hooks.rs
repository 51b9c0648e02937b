//! The stop/resume service hooks: a shell command or an HTTP request, with a timeout. A
//! command runs in a clean environment: PATH, HOME, LANG and what its runbook lists under
//! `env`, never the secret key or a token unless named there.

use crate::config::{HookConfig, HookKind};
use std::process::Stdio;

/// What a hook will do, in words, for the confirmation.
pub(crate) fn describe(hook: &HookConfig) -> String {
    let secs = hook.timeout.as_secs();
    match &hook.kind {
        HookKind::Command { command } => format!("run `sh -c {command:?}` (timeout {secs} s)"),
        HookKind::Http {
            url,
            method,
            expect_status,
            ..
        } => format!("{method} {url}, expecting HTTP {expect_status} (timeout {secs} s)"),
    }
}

/// Runs `hook`; `Ok` with what it said, or `Err` with why it failed.
pub async fn run_hook(hook: &HookConfig) -> Result<String, String> {
    let work = async {
        match &hook.kind {
            HookKind::Command { command } => run_command(command, &hook.env).await,
            HookKind::Http {
                url,
                method,
                expect_status,
                expect_body,
            } => run_http(url, method, *expect_status, expect_body.as_deref()).await,
        }
    };
    match tokio::time::timeout(hook.timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(format!("no result within {} s", hook.timeout.as_secs())),
    }
}

/// What every command hook is given from cutover's own environment, besides what its
/// runbook names under `env`.
const BASE_ENV: [&str; 3] = ["PATH", "HOME", "LANG"];

/// The environment of a command hook: [`BASE_ENV`] and the names in `listed`, as set in
/// cutover's environment; nothing else (the secret key and every token stay out unless named).
pub(crate) fn hook_env(listed: &[String]) -> Vec<(String, std::ffi::OsString)> {
    BASE_ENV
        .iter()
        .copied()
        .chain(listed.iter().map(String::as_str))
        .filter_map(|name| std::env::var_os(name).map(|v| (name.to_owned(), v)))
        .collect()
}

async fn run_command(command: &str, env: &[String]) -> Result<String, String> {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(hook_env(env))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let said = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    let tail = |s: &str| {
        s.trim()
            .chars()
            .rev()
            .take(300)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    if output.status.success() {
        Ok(tail(&said))
    } else {
        Err(format!("exit status {}: {}", output.status, tail(&err)))
    }
}

async fn run_http(
    url: &str,
    method: &str,
    expect_status: u16,
    expect_body: Option<&str>,
) -> Result<String, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("{method:?} is not an HTTP method"))?;
    let client = reqwest::Client::new();
    let resp = client
        .request(method, url)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    if status != expect_status {
        return Err(format!("HTTP {status}, expected {expect_status}"));
    }
    if let Some(want) = expect_body {
        if !body.contains(want) {
            return Err(format!("the answer does not contain {want:?}"));
        }
    }
    Ok(format!("HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn command(c: &str, secs: u64) -> HookConfig {
        HookConfig {
            kind: HookKind::Command { command: c.into() },
            timeout: Duration::from_secs(secs),
            env: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_command_succeeds_fails_or_times_out() {
        assert_eq!(
            run_hook(&command("echo stopped", 5)).await.unwrap(),
            "stopped"
        );
        let e = run_hook(&command("echo nope >&2; exit 3", 5))
            .await
            .unwrap_err();
        assert!(e.contains("nope") && e.contains('3'), "{e}");
        let e = run_hook(&command("sleep 5", 1)).await.unwrap_err();
        assert!(e.contains("within 1 s"), "{e}");
    }
}
