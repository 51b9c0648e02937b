//! The `/metrics` endpoint: a scrape after a whole run of the sample parses with a real
//! OpenMetrics parser (openmetrics-parser), and its figures are `cutover status --json`'s:
//! items per stage and outcome, each step's state, the read-back's mismatches; the process's
//! Tencent IM calls are counted by API and outcome with their latency.
#![allow(clippy::unwrap_used)]

use crate::common;
use common::engine::{app_config, run_to_end, sample_data};
use cutover::config::metrics::MetricsConfig;
use cutover::metrics::server::serve;
use cutover::tim::wire::account::{AccountCheck, CheckItem};
use openmetrics_parser::openmetrics::parse_openmetrics;
use openmetrics_parser::{MetricFamily, OpenMetricsType, OpenMetricsValue};
use serde_json::Value;

type Family = MetricFamily<OpenMetricsType, OpenMetricsValue>;

/// The value of the sample of `family` whose labels are `labels` (name, value).
fn value(family: &Family, labels: &[(&str, &str)]) -> Option<f64> {
    family.iter_samples().find_map(|s| {
        let set = s.get_labelset().ok()?;
        let all = labels
            .iter()
            .all(|(k, v)| set.get_label_value(k) == Some(*v));
        let number = match &s.value {
            OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
            OpenMetricsValue::Counter(c) => c.value.as_f64(),
            OpenMetricsValue::Histogram(h) => h.count? as f64,
            _ => return None,
        };
        all.then_some(number)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_parses_as_openmetrics_and_says_what_status_says() {
    let rig = common::Rig::new(app_config()).await;
    let out = run_to_end(&rig.handle, &rig.store, &sample_data(), &["--yes"]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A call of this process, counted by API and outcome.
    rig.client()
        .call(&AccountCheck {
            CheckItem: vec![CheckItem {
                UserID: "u0000001".into(),
            }],
        })
        .await
        .unwrap();

    let cfg = MetricsConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
    };
    let window_end = cutover::timefmt::now_secs() + 3600;
    let alerter = cutover::alerts::Alerter::disabled();
    let server = serve(&cfg, rig.store.clone(), Some(window_end), alerter)
        .await
        .unwrap();
    let answer = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap();
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = answer.text().await.unwrap();
    let parsed = parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let family = |name: &str| {
        parsed
            .families
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };

    let mut json = Vec::new();
    let args = cutover::cli::StatusArgs {
        store: rig.store.clone(),
        json: true,
    };
    cutover::commands::store_cmds::status(&args, &mut json).unwrap();
    let status: Value = serde_json::from_slice(&json).unwrap();
    let items = family("cutover_items");
    let mut compared = 0;
    for stage in status["stages"].as_array().unwrap() {
        let name = stage["stage"].as_str().unwrap();
        for outcome in ["pending", "imported", "failed", "skipped"] {
            let Some(want) = stage[outcome].as_u64() else {
                continue;
            };
            let got = value(items, &[("stage", name), ("outcome", outcome)]);
            assert_eq!(got, Some(want as f64), "{name} {outcome}");
            compared += 1;
        }
    }
    assert!(compared >= 28, "every record stage compared: {compared}");
    let steps = family("cutover_step_state");
    for step in status["steps"].as_array().unwrap() {
        let (name, state) = (
            step["step"].as_str().unwrap(),
            step["state"].as_str().unwrap(),
        );
        assert_eq!(
            value(steps, &[("step", name), ("state", state)]),
            Some(1.0),
            "{name}"
        );
    }
    assert_eq!(value(family("cutover_verify_mismatches"), &[]), Some(0.0));
    let left = value(family("cutover_window_seconds_left"), &[]).unwrap();
    assert!((3000.0..=3600.0).contains(&left), "{left}");
    let calls = family("cutover_api_calls");
    let checks = value(calls, &[("api", "account_check"), ("code", "0")]).unwrap();
    assert!(checks >= 1.0, "{checks}");
    let latency = family("cutover_api_latency_seconds");
    assert!(value(latency, &[("api", "account_check")]).unwrap() >= 1.0);

    // The Grafana dashboard asks only for what a scrape has.
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/grafana-dashboard.json"
    ))
    .unwrap();
    let _: Value = serde_json::from_str(&dashboard).unwrap();
    let mut asked = 0;
    for piece in dashboard.split("cutover_").skip(1) {
        let name: String = piece
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let name = ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .fold(name.clone(), |n, suffix| {
                n.strip_suffix(suffix).map_or(n.clone(), str::to_string)
            });
        if name.is_empty() || name == "run" {
            continue; // the dashboard's uid
        }
        // The lag has no sample before an event was applied (this run has no sync).
        if name == "sync_lag_seconds" && status["sync"].is_null() {
            continue;
        }
        let declared = text.contains(&format!("# TYPE cutover_{name} "));
        assert!(declared, "{name} in no scrape");
        asked += 1;
    }
    assert!(asked >= 10, "{asked}");
}
