//! `cutover usersig` as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const APP: &str = "1400000000";

fn usersig(key: Option<&str>, args: &[&str]) -> Output {
    usersig_with(key, args, "")
}

/// `cutover usersig ARGS` with `stdin` on its standard input.
fn usersig_with(key: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.arg("usersig")
        .args(args)
        .env_remove("CUTOVER_SECRET_KEY")
        .env_remove("CUTOVER_USERSIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(k) = key {
        cmd.env("CUTOVER_SECRET_KEY", k);
    }
    let mut child = cmd.spawn().expect("run cutover");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("run cutover")
}

/// A fresh token for `admin` of APP, made with KEY.
fn admin_token() -> String {
    let o = usersig(Some(KEY), &["--sdkappid", APP, "--identifier", "admin"]);
    assert_eq!(o.status.code(), Some(0));
    String::from_utf8(o.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// Verifies `token` for `identifier` of `app` with `key`: (exit code, stdout + stderr).
fn verify(key: &str, app: &str, identifier: &str, token: &str) -> (Option<i32>, String) {
    let args = ["--sdkappid", app, "--identifier", identifier, "--verify"];
    let o = usersig_with(Some(key), &args, &format!("{token}\n"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), text)
}

#[test]
fn generate_then_verify_round_trips() {
    let token = admin_token();
    assert!(!token.is_empty());
    let (code, text) = verify(KEY, APP, "admin", &token);
    assert_eq!(code, Some(0));
    assert!(text.starts_with("valid: identifier \"admin\""), "{text}");
}

#[test]
fn verify_says_what_is_wrong_and_never_echoes_the_key() {
    let token = admin_token();
    let cases = [
        (
            KEY,
            "1400000001",
            "admin",
            token.as_str(),
            "refused (70014)",
        ),
        (KEY, APP, "bob", token.as_str(), "refused (70013)"),
        (
            "another key",
            APP,
            "admin",
            token.as_str(),
            "refused (70009)",
        ),
        (KEY, APP, "admin", "garbage", "refused (70003)"),
    ];
    for (key, app, identifier, token, want) in cases {
        let (code, text) = verify(key, app, identifier, token);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains(want), "{text}");
        assert!(!text.contains(KEY), "the key must never be printed");
    }
}

#[test]
fn the_key_comes_only_from_the_environment() {
    let o = usersig(None, &["--sdkappid", APP, "--identifier", "admin"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CUTOVER_SECRET_KEY is not set"));
}

#[test]
fn a_token_on_the_command_line_is_refused_and_the_environment_is_read() {
    let token = admin_token();
    let args = ["--sdkappid", APP, "--identifier", "admin", "--verify"];
    let mut with_token = args.to_vec();
    with_token.push(&token);
    let o = usersig(Some(KEY), &with_token);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("process list"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("usersig")
        .args(args)
        .env("CUTOVER_SECRET_KEY", KEY)
        .env("CUTOVER_USERSIG", &token)
        .stdin(Stdio::null())
        .output()
        .expect("run cutover");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("valid: "));
}
