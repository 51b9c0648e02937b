//! `cutover plan`'s whole window: staging the delta, its import at T_limit, the window's
//! verification and the hooks, each with how it was estimated, their total and the margin
//! against `[window] ends_at` — in text and in `--json`.
#![allow(clippy::unwrap_used)]

use super::plan_window::{plan_of, precopy_then_delta};
use cutover::engine::plan_duration::DEFAULT_STAGING_RATE;
use serde_json::Value;
use std::fs;

const RUNBOOK: &str = "[window]\nends_at = \"2999-01-01T00:00:00Z\"\n\
[hooks.stop_service]\ncommand = \"true\"\ntimeout_secs = 120\n\
[hooks.resume_service]\nurl = \"http://127.0.0.1:1/resume\"\ntimeout_secs = 60\n";

#[test]
fn the_whole_window_adds_staging_import_verification_and_hooks_against_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = precopy_then_delta(dir.path(), None);
    let config = dir.path().join("rb.toml");
    fs::write(&config, RUNBOOK).unwrap();
    let run = |json: bool| plan_of(&store, &config, json);
    let v: Value = serde_json::from_str(&run(true)).unwrap();
    let w = &v["window_duration"];
    let parts: Vec<(&str, f64)> = w["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["secs"].as_f64().unwrap()))
        .collect();
    let names: Vec<&str> = parts.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "staging",
            "stop_service",
            "import",
            "verification",
            "resume_service"
        ]
    );
    let secs = |name: &str| parts.iter().find(|(n, _)| *n == name).unwrap().1;
    // The delta's 16 records (2 accounts, 1 group, 3 + 8 messages, its 2 profiles…) at the
    // default rate: this store never ran a preflight.
    let delta_records = 2 + 1 + 3 + 8;
    assert!(secs("staging") >= f64::from(delta_records) / DEFAULT_STAGING_RATE);
    assert!(w["parts"][0]["basis"]
        .as_str()
        .unwrap()
        .contains("documented default"));
    // The hooks at their timeouts: never run on this store.
    assert_eq!(
        (secs("stop_service"), secs("resume_service")),
        (120.0, 60.0)
    );
    assert_eq!(secs("import"), v["t_limit_secs"].as_f64().unwrap());
    assert!(secs("verification") > 0.0);
    let total: f64 = parts.iter().map(|(_, s)| s).sum();
    assert!((w["total_secs"].as_f64().unwrap() - total).abs() < 1e-9);
    let fit = &w["fit"];
    assert_eq!(fit["fits"], true);
    let ends_at = cutover::timefmt::parse_date_or_time("2999-01-01T00:00:00Z").unwrap();
    assert_eq!(
        fit["margin_secs"].as_i64().unwrap(),
        ends_at - fit["finish_at"].as_i64().unwrap()
    );
    let text = run(false);
    for want in [
        "the whole window, part by part:",
        "  staging ",
        "  stop_service ",
        "its configured timeout",
        "  import ",
        "  verification ",
        "the delta whole and 1 % of the pre-copy",
        "  resume_service ",
        "  total ",
        "the window ends its work at ",
        "fits, ",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

#[test]
fn a_window_longer_than_its_end_is_said_not_to_fit() {
    let dir = tempfile::tempdir().unwrap();
    let store = precopy_then_delta(dir.path(), None);
    let config = dir.path().join("rb.toml");
    // Ends a minute from now: the stop hook's timeout alone is two.
    let ends = cutover::timefmt::now_secs() + 60;
    let runbook = RUNBOOK.replace(
        "ends_at = \"2999-01-01T00:00:00Z\"",
        &format!(
            "ends_at = \"{}\"",
            cutover::timefmt::utc(ends)
                .replace(' ', "T")
                .replace("TUTC", "Z")
        ),
    );
    fs::write(&config, runbook).unwrap();
    let mut out = Vec::new();
    let args = cutover::cli::PlanArgs {
        store: Some(store),
        config: Some(config),
        ..Default::default()
    };
    cutover::commands::plan::plan(&args, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("does NOT fit: over by "), "{text}");
}
