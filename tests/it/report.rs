//! `cutover report` on a real store: sample-data imported into the simulator (with the friend
//! key `Tag` missing, so five friend entries fail for good), then the report in all three
//! formats carries the store's own figures.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, import, runbook, sample_data};
use cutover::cli::{ActionArgs, ReportArgs};
use cutover::commands::{report, store_cmds};
use cutover::report::Format;
use cutover::store::verify::{self, ItemResult, Outcome};
use cutover::store::{open_for_reading, open_for_writing, queries, Kind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Imports sample-data into a fresh simulator whose app lacks the friend key `Tag`; returns
/// the directory holding the store, and the store.
async fn imported_store() -> (tempfile::TempDir, PathBuf) {
    let mut config = app_config();
    config.app.friend_custom_tags = vec!["Close".into()];
    let common::Rig { handle, store, dir } = common::Rig::new(config).await;
    import(runbook(&handle, &sample_data(), &store, "")).await;
    (dir, store)
}

fn report_text(store: &Path, format: Format) -> String {
    let args = ReportArgs {
        store: store.to_path_buf(),
        format,
        out: None,
    };
    let mut out = Vec::new();
    report::run(&args, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn report_json(store: &Path) -> Value {
    serde_json::from_str(&report_text(store, Format::Json)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_carries_the_stores_figures() {
    let (dir, store) = imported_store().await;
    // An operator action for the audit trail (it matches no failure, so nothing moves).
    let retry = ActionArgs {
        store: store.clone(),
        api: None,
        code: Some(99_999),
        stage: None,
        reason: Some("checking <nothing>".into()),
    };
    store_cmds::retry(&retry, &mut Vec::new()).unwrap();

    let conn = open_for_reading(&store).unwrap();
    let counts = verify::entity_counts(&conn).unwrap();
    let groups = queries::failure_groups(&conn).unwrap();
    let accounts = &counts[0];
    assert_eq!(accounts.kind, Some(Kind::Account));
    assert!(accounts.imported > 0);
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        (groups[0].api.as_str(), groups[0].code, groups[0].count),
        ("friend_import", Some(30001), 5)
    );

    let json = report_json(&store);
    assert_eq!(json["report_version"], 1);
    assert_eq!(json["store"], store.display().to_string());
    assert_eq!(json["run"]["sdkappid"], common::SDKAPPID);
    for (row, c) in json["entities"].as_array().unwrap().iter().zip(&counts) {
        assert_eq!(row["kind"], c.kind.unwrap().name());
        assert_eq!(row["source"], c.source);
        assert_eq!(row["invalid"], c.invalid);
        assert_eq!(row["imported"], c.imported);
        assert_eq!(row["failed"], c.failed);
        assert_eq!(row["unchecked"], c.unchecked);
    }
    let imported: u64 = counts.iter().map(|c| c.imported).sum();
    assert_eq!(json["totals"]["imported"], imported);
    assert_eq!(json["failures"]["total"], 5);
    let group = &json["failures"]["groups"][0];
    assert_eq!(group["api"], "friend_import");
    assert_eq!(group["code"], 30001);
    assert_eq!(group["count"], 5);
    assert_eq!(
        group["meaning"],
        cutover::tim::errors::lookup(30001).meaning
    );
    assert_eq!(json["verification"]["status"], "not_run");
    let audit = json["audit"].as_array().unwrap();
    assert!(audit
        .iter()
        .any(|a| a["action"] == "retry" && a["reason"] == "checking <nothing>"));
    let staged = &json["exports"][0];
    assert_eq!(staged["files"].as_array().unwrap().len(), 7);
    let samples = json["throughput"]["samples"].as_u64().unwrap();
    assert!(samples >= 1, "the writer samples at least when it stops");
    let settled: u64 = json["throughput"]["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["imported"].as_u64().unwrap() + i["failed"].as_u64().unwrap())
        .sum();
    assert!(settled <= imported + 5);

    let md = report_text(&store, Format::Md);
    assert!(md.starts_with("# Cutover run report"));
    assert!(md.contains("verification not run"));
    let row = format!(
        "| accounts | {} | {} | {} | {} |",
        accounts.source, accounts.invalid, accounts.imported, accounts.failed
    );
    assert!(md.contains(&row), "{row} missing:\n{md}");
    assert!(md.contains("| friend_import | 30001 | 5 | no |"));
    assert!(md.contains("checking \\<nothing\\>"));

    let html = report_text(&store, Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Cutover run report"));
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("verification not run"));
    assert!(html.contains("<td class=\"n\">30001</td>"));
    assert!(html.contains("checking &lt;nothing&gt;"));
    assert!(!html.contains("<script"));

    // --out writes the file and says where.
    let file = dir.path().join("report.html");
    let args = ReportArgs {
        store: store.clone(),
        format: Format::Html,
        out: Some(file.clone()),
    };
    let mut out = Vec::new();
    report::run(&args, &mut out).unwrap();
    assert!(String::from_utf8(out).unwrap().contains("report.html"));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("<h1>Cutover run report</h1>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampled_pass_is_reported_unfinished_then_with_what_it_sampled() {
    let (_dir, store) = imported_store().await;
    let (id, key, line): (i64, String, u64) = open_for_reading(&store)
        .unwrap()
        .query_row(
            "SELECT id, key, line FROM item WHERE kind = 0 AND state = 1 ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let mut conn = open_for_writing(&store).unwrap();
    verify::begin_pass(&mut conn, 0.3, 0, None).unwrap();
    let missing = ItemResult {
        kind: Kind::Account,
        id,
        outcome: Outcome::Missing,
        detail: "not on the target".into(),
    };
    verify::record(&mut conn, &[missing], &[]).unwrap();

    let json = report_json(&store);
    assert_eq!(json["verification"]["status"], "unfinished");
    let md = report_text(&store, Format::Md);
    assert!(md.contains("did not finish"), "{md}");

    let units = BTreeMap::from([("group_messages".to_string(), (12, 40))]);
    verify::end_pass(&conn, &units).unwrap();
    let json = report_json(&store);
    let v = &json["verification"];
    assert_eq!(v["status"], "finished");
    assert_eq!(v["sample"], 0.3);
    assert_eq!(v["totals"]["missing"], 1);
    assert_eq!(json["entities"][0]["missing"], 1);
    assert_eq!(json["totals"]["mismatched"], 1);
    assert_eq!(v["mismatches"][0]["record"], key.as_str());
    assert_eq!(
        v["mismatches"][0]["source"],
        format!("accounts.jsonl:{line}")
    );
    for text in [
        report_text(&store, Format::Md),
        report_text(&store, Format::Html),
    ] {
        assert!(text.contains("group messages: 12 of 40 groups read back (sample 0.3)"));
        assert!(text.contains(&format!("accounts.jsonl:{line}")));
        assert!(!text.contains("did not finish"));
    }
}

#[test]
fn a_missing_store_is_named() {
    let args = ReportArgs {
        store: PathBuf::from("/nonexistent/run.db"),
        format: Format::Md,
        out: None,
    };
    let err = report::run(&args, &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/run.db"), "{err:#}");
}
