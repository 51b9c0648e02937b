//! The runbook's alerts reach a robot: a step waiting for confirmation fires (and the run
//! stopped waiting says so before it exits), and a run to its end resolves it and tells the
//! import's end once. The robot is a local webhook receiver; the run a `cutover run` process.
#![allow(clippy::unwrap_used)]

use crate::common;
use common::engine::{app_config, run_command, sample_data, APP_KEYS};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// A webhook on 127.0.0.1:0 that keeps every JSON body posted to it.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/alerts",
        axum::routing::post(move |body: axum::Json<Value>| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock().unwrap().push(body.0);
                "ok"
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got, task)
}

/// (state, key) of every alert received, in order.
fn seen(got: &Mutex<Vec<Value>>) -> Vec<(String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    got.lock()
        .unwrap()
        .iter()
        .map(|a| (s(&a["state"]), s(&a["key"])))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_step_fires_and_the_end_of_the_import_is_told_once() {
    let rig = common::Rig::new(app_config()).await;
    let (url, got, _task) = receiver().await;
    let book = rig.path("alerts.toml");
    let stopped = rig.path("stopped");
    std::fs::write(
        &book,
        format!(
            "{APP_KEYS}\n[hooks.stop_service]\ncommand = \"touch {}\"\n\
             [[alerts.channel]]\nname = \"ops\"\ntype = \"webhook\"\nurl_env = \"TEST_ALERTS_URL\"\n",
            stopped.display()
        ),
    )
    .unwrap();
    let config = ["--config", book.to_str().unwrap()];
    // Headless without --yes: the stop waits for a confirmation, and the robot is told.
    let out = run_command(&rig.handle, &rig.store, &sample_data(), &config)
        .env("TEST_ALERTS_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let first = seen(&got);
    assert!(
        first.contains(&("firing".into(), "confirm_stop_service".into())),
        "{first:?}"
    );
    let body = got.lock().unwrap()[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("cutover attach --store"), "{body}");

    let args = ["--yes", config[0], config[1]];
    let out = run_command(&rig.handle, &rig.store, &sample_data(), &args)
        .env("TEST_ALERTS_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all = seen(&got);
    let done = all.iter().filter(|(_, k)| k == "import_done").count();
    assert_eq!(done, 1, "the import's end told once: {all:?}");
    assert!(
        all.contains(&("resolved".into(), "confirm_stop_service".into())),
        "{all:?}"
    );
}
