//! `cutover usersig` as a user runs it.

use std::process::{Command, Output};

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

fn usersig(key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.arg("usersig")
        .args(args)
        .env_remove("CUTOVER_SECRET_KEY");
    if let Some(k) = key {
        cmd.env("CUTOVER_SECRET_KEY", k);
    }
    cmd.output().expect("run cutover")
}

#[test]
fn generate_then_verify_round_trips() {
    let o = usersig(
        Some(KEY),
        &["--sdkappid", "1400000000", "--identifier", "admin"],
    );
    assert_eq!(o.status.code(), Some(0));
    let token = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(!token.is_empty());
    let o = usersig(
        Some(KEY),
        &[
            "--sdkappid",
            "1400000000",
            "--identifier",
            "admin",
            "--verify",
            &token,
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("valid: identifier \"admin\""));
}

#[test]
fn verify_says_what_is_wrong_and_never_echoes_the_key() {
    let o = usersig(
        Some(KEY),
        &["--sdkappid", "1400000000", "--identifier", "admin"],
    );
    let token = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let cases = [
        (
            vec!["--sdkappid", "1400000001", "--identifier", "admin"],
            "refused (70014)",
        ),
        (
            vec!["--sdkappid", "1400000000", "--identifier", "bob"],
            "refused (70013)",
        ),
    ];
    for (args, want) in cases {
        let mut args = args.clone();
        args.extend(["--verify", token.as_str()]);
        let o = usersig(Some(KEY), &args);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stdout).contains(want));
    }
    let o = usersig(
        Some("another key"),
        &[
            "--sdkappid",
            "1400000000",
            "--identifier",
            "admin",
            "--verify",
            &token,
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("refused (70009)"), "{text}");
    let o = usersig(
        Some(KEY),
        &[
            "--sdkappid",
            "1400000000",
            "--identifier",
            "admin",
            "--verify",
            "garbage",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("refused (70003)"));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains(KEY), "the key must never be printed");
}

#[test]
fn the_key_comes_only_from_the_environment() {
    let o = usersig(None, &["--sdkappid", "1400000000", "--identifier", "admin"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CUTOVER_SECRET_KEY is not set"));
}
