//! `cutover plan --scenario` reproduces the guide's table (shared/spec/scenarios.md), labels a
//! combination that is no row as derived, and `cutover run` refuses a strategy the runbook's
//! `[scenario]` cannot support before anything runs.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn cutover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .env("CUTOVER_SECRET_KEY", "k")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn advise(facts: [&str; 4], json: bool) -> String {
    let mut args = vec![
        "plan",
        "--scenario",
        "--old-system",
        facts[0],
        "--accounts-in-old-system",
        facts[1],
        "--message-routing",
        facts[2],
        "--richer-callbacks",
        facts[3],
    ];
    if json {
        args.push("--json");
    }
    let out = cutover(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_advisor_reproduces_the_four_rows_of_the_guide() {
    // scenario, facts, one-to-one coexistence, group coexistence, how, a phrase of the reason.
    let rows = [
        (
            1,
            ["third-party", "yes", "no", "no"],
            "not_possible",
            "not_possible",
            "forced upgrade",
            "With no message routing, two-way sync between old and new is essentially impossible",
        ),
        (
            2,
            ["third-party", "yes", "yes", "no"],
            "not_possible",
            "not_possible",
            "forced upgrade",
            "users who register there cannot be synced to the new system in real time",
        ),
        (
            3,
            ["third-party", "no", "yes", "no"],
            "possible",
            "not_possible",
            "forced upgrade, or coexistence",
            "group chat can still only be migrated by forced upgrade",
        ),
        (
            4,
            ["self-built", "no", "yes", "yes"],
            "possible",
            "possible",
            "forced upgrade, or coexistence",
            "two-way sync is feasible for everything",
        ),
    ];
    for (n, facts, c2c, group, how, reason) in rows {
        let v: serde_json::Value = serde_json::from_str(&advise(facts, true)).unwrap();
        assert_eq!(v["scenario"], n, "{v}");
        assert_eq!(v["forced_upgrade"], "possible", "{v}");
        assert_eq!(v["coexistence_one_to_one"], c2c, "{v}");
        assert_eq!(v["coexistence_group"], group, "{v}");
        assert_eq!(v["how"], how, "{v}");
        assert!(v["derived"].is_null(), "{v}");
        let reasons = v["reasons"].to_string();
        assert!(reasons.contains(reason), "{reasons}");
        let text = advise(facts, false);
        assert!(
            text.contains(&format!("scenario {n} of the migration guide's table")),
            "{text}"
        );
        assert!(text.contains(reason), "{text}");
    }
}

#[test]
fn a_combination_that_is_no_row_is_labelled_derived_with_the_advice_to_ask_tencent() {
    // A self-built old system without richer callbacks is none of the four rows.
    let text = advise(["self-built", "no", "yes", "no"], false);
    assert!(
        text.contains("derived from the guide's reasons, not a row of the guide"),
        "{text}"
    );
    assert!(text.contains("Tencent's business contact"), "{text}");
    assert!(text.contains("group chat cannot use coexistence"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&advise(["self-built", "no", "yes", "no"], true)).unwrap();
    assert!(v["scenario"].is_null(), "{v}");
    assert_eq!(v["coexistence_group"], "not_possible", "{v}");
    assert_eq!(v["coexistence_one_to_one"], "not_ruled_out", "{v}");
}

#[test]
fn headless_the_advisor_names_the_missing_facts() {
    let out = cutover(&["plan", "--scenario", "--old-system", "self-built"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--accounts-in-old-system, --message-routing, --richer-callbacks"),
        "{err}"
    );
    assert!(!err.contains("missing: --old-system"), "{err}");
}

#[test]
fn a_coexistence_runbook_with_scenario_one_facts_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let runbook = dir.path().join("runbook.toml");
    std::fs::write(
        &runbook,
        "strategy = \"coexistence\"\n\
         [scenario]\nold_system = \"third_party\"\naccounts_in_old_system = true\n\
         message_routing = false\nricher_callbacks = false\n\
         [sync]\nold_jsonl = \"old.jsonl\"\n",
    )
    .unwrap();
    let store = dir.path().join("s.db");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data");
    let out = cutover(&[
        "run",
        "--headless",
        "--yes",
        "--config",
        runbook.to_str().unwrap(),
        "--source",
        sample,
        "--store",
        store.to_str().unwrap(),
        "--target-url",
        "http://127.0.0.1:1",
        "--sdkappid",
        "1400000000",
        "--admin",
        "administrator",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("coexistence is not possible in scenario 1"),
        "{err}"
    );
    assert!(err.contains("With no message routing"), "{err}");
    assert!(!store.exists(), "nothing may run: the store was created");
}
