//! `cutover plan` after a pre-copy: the delta still to import next to a full import, each
//! against `[window] ends_at`; and the calls and time `[import] history_since` saves.
#![allow(clippy::unwrap_used)]

use cutover::config::{parse_file, resolve, Flags};
use cutover::engine::import::ImportSettings;
use cutover::engine::plan_window::window_plan;
use cutover::model::history::HistorySince;
use cutover::source::gen::{generate, GenConfig};
use cutover::source::ExportDir;
use cutover::store::stage::{stage_export_with, StageOptions};
use cutover::store::{open_for_writing, queries, ItemState, Kind};
use serde_json::Value;
use std::fs;
use std::path::Path;

const EXPORTED_AT: i64 = 1_732_000_000;

/// The default limits but one one-to-one message a second, so that seconds tell apart.
fn settings() -> ImportSettings {
    let flags = Flags {
        source: Some(".".into()),
        store: Some(".".into()),
        target_url: Some("http://127.0.0.1:1".into()),
        sdkappid: Some(1),
        admin: Some("plan".into()),
    };
    let key = cutover::tim::SecretKey::new("k".to_string());
    let rb = resolve(
        &parse_file("[limits.importmsg]\nrate = 1\n", "t").unwrap(),
        &flags,
        Some(key),
    )
    .unwrap();
    ImportSettings::from_runbook(&rb)
}

/// A generated export as the pre-copy, staged and all imported; then a hand-made delta of it:
/// the first group (and its owner) again, a new account, 3 one-to-one and 8 group messages.
/// Returns the store's path.
pub(crate) fn precopy_then_delta(dir: &Path, history_since: Option<i64>) -> std::path::PathBuf {
    let pre = dir.join("pre");
    let cfg = GenConfig {
        seed: 7,
        accounts: 60,
        c2c_messages: 400,
        groups: 6,
        members_per_group: 8.0,
        group_messages: 300,
        ..GenConfig::default()
    };
    generate(&cfg, &pre).unwrap();
    let store = dir.join("run.db");
    let mut conn = open_for_writing(&store).unwrap();
    let options = StageOptions {
        history_since: history_since.map(HistorySince::At),
        ..StageOptions::default()
    };
    stage_export_with(&mut conn, &store, &ExportDir::open(&pre).unwrap(), options).unwrap();
    for kind in Kind::ALL {
        for item in queries::pending(&conn, kind).unwrap() {
            queries::set_item_state(&conn, kind, item.id, ItemState::Done).unwrap();
        }
    }
    let delta = dir.join("delta");
    fs::create_dir_all(&delta).unwrap();
    let group_line = fs::read_to_string(pre.join("groups.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let group: Value = serde_json::from_str(&group_line).unwrap();
    let (gid, owner) = (
        group["id"].as_str().unwrap(),
        group["owner"].as_str().unwrap(),
    );
    let t = EXPORTED_AT + 60;
    fs::write(
        delta.join("manifest.json"),
        format!(
            r#"{{"format": "cutover-export", "version": 1, "exported_at": {}, "watermark": {}, "delta_of": {EXPORTED_AT}}}"#,
            t + 600,
            t + 600
        ),
    )
    .unwrap();
    fs::write(
        delta.join("accounts.jsonl"),
        format!("{{\"id\":\"{owner}\"}}\n{{\"id\":\"newbie1\"}}\n"),
    )
    .unwrap();
    fs::write(delta.join("groups.jsonl"), format!("{group_line}\n")).unwrap();
    let body = r#"[{"type":"text","text":"hi"}]"#;
    let c2c: String = (0..3)
        .map(|i| {
            format!(
                "{{\"id\":\"dm{i}\",\"from\":\"{owner}\",\"to\":\"newbie1\",\"sent_at\":{},\"body\":{body}}}\n",
                t + i
            )
        })
        .collect();
    fs::write(delta.join("c2c_messages.jsonl"), c2c).unwrap();
    let group_msgs: String = (0..8)
        .map(|i| {
            format!(
                "{{\"id\":\"dg{i}\",\"group\":\"{gid}\",\"from\":\"{owner}\",\"sent_at\":{},\"body\":{body}}}\n",
                t + 10 + i
            )
        })
        .collect();
    fs::write(delta.join("group_messages.jsonl"), group_msgs).unwrap();
    let staged = stage_export_with(
        &mut conn,
        &store,
        &ExportDir::open(&delta).unwrap(),
        options,
    )
    .unwrap();
    assert!(
        staged.counts.iter().all(|(_, _, invalid)| *invalid == 0),
        "{staged:?}"
    );
    store
}

/// A cut-off some 40 days before the export: inside its generated history.
fn cutoff() -> Option<i64> {
    cutover::timefmt::parse_date_or_time("2024-10-20")
}

/// (items, calls) per stage name of a lane list.
fn lane(lanes: &[cutover::engine::plan::LanePlan], stage: &str) -> (u64, u64) {
    let l = lanes.iter().find(|l| l.stage == stage).unwrap();
    (l.items, l.calls)
}

#[test]
fn the_delta_is_planned_next_to_a_full_import_against_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = precopy_then_delta(dir.path(), None);
    let conn = cutover::store::open_for_reading(&store).unwrap();
    let settings = settings();
    let now = 1_800_000_000;
    let probe = window_plan(&conn, &settings, None, now).unwrap();
    assert_eq!(probe.exports, 2);
    let full = probe.full.as_ref().unwrap();
    // Still to import: exactly the delta (its group and owner re-imported, as changed).
    let pending = &probe.pending.lanes;
    assert_eq!(lane(pending, "accounts"), (2, 1));
    assert_eq!(lane(pending, "groups"), (1, 1));
    assert_eq!(lane(pending, "c2c messages"), (3, 3));
    assert_eq!(
        lane(pending, "group messages"),
        (8, 2),
        "7 per call, one group"
    );
    assert_eq!(lane(pending, "friends"), (0, 0));
    // A full import: everything staged (the pre-copy's 60 accounts and the new one).
    assert_eq!(lane(&full.lanes, "accounts").0, 61);
    assert_eq!(lane(&full.lanes, "c2c messages"), (403, 403));
    assert_eq!(lane(&full.lanes, "group messages").0, 308);
    assert!(full.t_limit_secs > probe.pending.t_limit_secs);
    assert!(probe.window.is_none() && probe.history.is_none());

    // A window between the two: the delta fits, the full import does not.
    let ends_at = now + ((probe.pending.t_limit_secs + full.t_limit_secs) / 2.0) as i64;
    let p = window_plan(&conn, &settings, Some(ends_at), now).unwrap();
    let w = p.window.unwrap();
    assert!(w.still_to_import.fits && w.still_to_import.margin_secs > 0);
    assert_eq!(
        w.still_to_import.finish_at,
        now + probe.pending.t_limit_secs.ceil() as i64
    );
    let f = w.full.unwrap();
    assert!(!f.fits && f.margin_secs < 0);
    assert_eq!(
        f.margin_secs,
        ends_at - (now + full.t_limit_secs.ceil() as i64)
    );
}

#[test]
fn history_since_shows_the_calls_and_time_it_saves() {
    let dir = tempfile::tempdir().unwrap();
    // A cut-off inside the generated history: the older messages are skipped.
    let store = precopy_then_delta(dir.path(), cutoff());
    let conn = cutover::store::open_for_reading(&store).unwrap();
    let settings = settings();
    let p = window_plan(&conn, &settings, None, 1_800_000_000).unwrap();
    let h = p.history.as_ref().unwrap();
    let skips = cutover::store::staged::history_skips(&conn).unwrap();
    let skipped = |kind| {
        skips
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.items)
            .sum::<u64>()
    };
    let (c2c, group) = (skipped(Kind::C2cMessage), skipped(Kind::GroupMessage));
    assert!(c2c > 0 && group > 0, "the cut-off falls inside the history");
    assert_eq!(h.items, c2c + group);
    assert_eq!(h.reasons, ["older than history_since 2024-10-20"]);
    let c2c_lane = h.lanes.iter().find(|l| l.stage == "c2c messages").unwrap();
    assert_eq!((c2c_lane.items, c2c_lane.calls), (c2c, c2c), "one per call");
    assert_eq!(c2c_lane.secs, c2c as f64 / f64::from(c2c_lane.rate));
    let group_lane = h
        .lanes
        .iter()
        .find(|l| l.stage == "group messages")
        .unwrap();
    assert!(group_lane.calls >= group.div_ceil(7) && group_lane.calls <= group);
    assert_eq!(h.calls, c2c_lane.calls + group_lane.calls);
    // The full import does not count them; without the cut-off it would take longer.
    let full = p.full.as_ref().unwrap();
    assert_eq!(lane(&full.lanes, "c2c messages").0, 403 - c2c);
    assert!(h.t_limit_saved_secs > 0.0);
    assert!(
        (h.t_limit_without_cutoff_secs - h.t_limit_saved_secs - full.t_limit_secs).abs() < 1e-6
    );
}

#[test]
fn the_plan_command_prints_and_serializes_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = precopy_then_delta(dir.path(), cutoff());
    let config = dir.path().join("rb.toml");
    fs::write(&config, "[window]\nends_at = \"2999-01-01T00:00:00Z\"\n").unwrap();
    let run = |json: bool| plan_of(&store, &config, json);
    let v: Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(v["exports"], 2);
    assert_eq!(v["lanes"][3]["items"], 3, "pending c2c: the delta's");
    assert_eq!(v["full"]["lanes"][0]["items"], 61);
    assert_eq!(v["window"]["still_to_import"]["fits"], true);
    assert_eq!(v["window"]["full"]["fits"], true);
    assert!(v["history"]["calls"].as_u64().unwrap() > 0);
    let text = run(false);
    for want in [
        "2 exports staged (a pre-copy and its deltas): still to import vs. a full import",
        "window ends 2999-01-01 00:00:00 UTC",
        "  still to import ",
        "  full import ",
        "fits, ",
        "history_since skipped ",
        "(older than history_since 2024-10-20)",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

/// What `cutover plan --store STORE --config CONFIG [--json]` prints.
pub(crate) fn plan_of(store: &Path, config: &Path, json: bool) -> String {
    let mut out = Vec::new();
    let args = cutover::cli::PlanArgs {
        store: Some(store.to_path_buf()),
        source: None,
        config: Some(config.to_path_buf()),
        json,
        ..Default::default()
    };
    cutover::commands::plan::plan(&args, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}
