//! A relay killed with SIGKILL loses nothing it acknowledged: events the old system POSTed and
//! callbacks Tencent delivered both arrive after `cutover sync` is started again.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::app_config;
use common::{client, free_port, wait_for, wait_for_async, wait_until, webhook, Rig};
use common::{ADMIN, KEY, PATIENCE, SDKAPPID};
use cutover::tim::wire::account::{AccountItem, MultiaccountImport};
use cutover::tim::wire::c2c::SendMsg;
use cutover::tim::wire::MsgElement;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

const CALLBACK_TOKEN: &str = "crash-callback-token";
const INGEST_TOKEN: &str = "crash-ingest-token";

fn relay(config: &Path, store: &Path, sim_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "sync",
            "--progress-secs",
            "0.5",
            "--admin",
            ADMIN,
            "--target-url",
            sim_url,
        ])
        .args(["--sdkappid", &SDKAPPID.to_string()])
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(store)
        .arg("--source")
        .arg(common::engine::sample_data())
        .env("CUTOVER_SECRET_KEY", KEY)
        .env("CUTOVER_CALLBACK_TOKEN", CALLBACK_TOKEN)
        .env("CUTOVER_INGEST_TOKEN", INGEST_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(port: u16) {
    let url = format!("http://127.0.0.1:{port}/health");
    let healthy = || async {
        reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
    };
    wait_for_async("the relay to come up", PATIENCE, healthy, |ok| *ok).await;
}

fn kill9(child: &mut Child) {
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_relay_loses_no_acknowledged_event_either_way() {
    // The simulator signs its callbacks with this token (it reads the variable too): a
    // process of its own, where the variable is set from the start.
    let vars = [("CUTOVER_CALLBACK_TOKEN", CALLBACK_TOKEN)];
    let name = "a_killed_relay_loses_no_acknowledged_event_either_way";
    if !common::alone::in_own_process(module_path!(), name, &vars) {
        return;
    }
    let port = free_port();
    let mut config = app_config();
    config.callback.url = Some(format!("http://127.0.0.1:{port}/tim/callback"));
    let Rig { handle, store, dir } = Rig::new(config).await;
    client(&handle)
        .call(&MultiaccountImport {
            Accounts: None,
            AccountList: Some(
                ["u1", "u2"]
                    .iter()
                    .map(|id| AccountItem {
                        UserID: (*id).into(),
                        Nick: None,
                        FaceUrl: None,
                    })
                    .collect(),
            ),
        })
        .await
        .unwrap();
    // The old system's webhook, answering slowly so deliveries are still queued at the kill.
    let (hook, got) = webhook(Duration::from_millis(100)).await;

    cutover::store::open_for_writing(&store).unwrap();
    let rb = dir.path().join("runbook.toml");
    std::fs::write(
        &rb,
        format!("[sync]\nlisten = \"127.0.0.1:{port}\"\nold_webhook = \"{hook}\"\nrelay_admin = \"sync_relay\"\nreconcile_secs = 0\n"),
    )
    .unwrap();
    let mut first = relay(&rb, &store, &handle.url());
    wait_healthy(port).await;

    // Old → new: 200 messages in batches of 20, each batch acknowledged.
    let http = reqwest::Client::new();
    let mut acked = BTreeSet::new();
    for batch in 0..10 {
        let lines: Vec<String> = (0..20)
            .map(|i| {
                let n = batch * 20 + i;
                json!({"event_id": format!("old-{n}"), "kind": "c2c_message", "at": 1_764_000_000 + n,
                    "record": {"id": format!("m-{n}"), "from": "u2", "to": "u1", "sent_at": 1_764_000_000 + n,
                               "body": [{"type": "text", "text": format!("old {n}")}]}})
                .to_string()
            })
            .collect();
        let answer = http
            .post(format!("http://127.0.0.1:{port}/sync/events"))
            .bearer_auth(INGEST_TOKEN)
            .body(lines.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        acked.extend((0..20).map(|i| batch * 20 + i));
    }
    // New → old: 40 messages sent on the Tencent side; their callbacks are acknowledged.
    for n in 0..40u32 {
        client(&handle)
            .call(&SendMsg {
                From_Account: Some("u1".into()),
                To_Account: "u2".into(),
                MsgRandom: 1000 + n,
                MsgBody: vec![MsgElement::text(&format!("new {n}"))],
                ..SendMsg::default()
            })
            .await
            .unwrap();
    }
    let stats = handle.sim().callbacks();
    wait_until("the 40 callbacks to settle", PATIENCE, || {
        stats.delivered.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) >= 40
    })
    .await;
    kill9(&mut first);
    let delivered_callbacks = stats.delivered.load(Ordering::Relaxed);
    assert!(delivered_callbacks > 0);
    // The slow webhook leaves acknowledged callbacks queued at the kill: the restart must
    // deliver them from the store.
    let conn = cutover::store::open_for_reading(&store).unwrap();
    let queued =
        cutover::store::sync::counts(&conn, cutover::model::sync_event::Direction::NewToOld)
            .unwrap()
            .pending;
    assert!(queued > 0, "nothing was left to deliver at the kill");
    drop(conn);

    // Started again on the same store: everything acknowledged arrives.
    let mut second = relay(&rb, &store, &handle.url());
    wait_healthy(port).await;
    let arrived = || {
        let in_sim = handle.sim().with_state(|st| {
            let (a, b) = (st.account_idx("u1").unwrap(), st.account_idx("u2").unwrap());
            st.conversation(a, b).map_or(0, |c| {
                c.msgs
                    .iter()
                    .filter(|m| m.time >= 1_764_000_000 && m.time < 1_764_000_200)
                    .count()
            })
        });
        let at_hook: BTreeSet<String> = got
            .lock()
            .unwrap()
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_string())
            .collect();
        (in_sim, at_hook.len() as u64)
    };
    wait_for(
        &format!(
            "after the restart: (old messages in Tencent IM, callbacks at the old system) = ({}, {delivered_callbacks})",
            acked.len()
        ),
        PATIENCE,
        arrived,
        |seen| *seen == (acked.len(), delivered_callbacks),
    )
    .await;
    Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    let status = second.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
