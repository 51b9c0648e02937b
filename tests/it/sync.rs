//! Two-way sync against the simulator: a message sent on the Tencent side reaches the old
//! system's webhook; an old-system message lands in Tencent IM; forged and stale callbacks are
//! refused; the relay's own writes do not come back as echoes.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::alone::in_own_process;
use common::engine::app_config;
use common::{client, free_port, wait_for, wait_until, webhook, Rig};
use common::{ADMIN, KEY, PATIENCE, SDKAPPID};
use cutover::config::{parse_file, resolve, Flags, Runbook};
use cutover::model::sync_event::Direction;
use cutover::sim::config::{Faults, SimConfig};
use cutover::sim::SimHandle;
use cutover::store::sync::{counts, EventState};
use cutover::sync::relay::{self, RelayHandle};
use cutover::tim::wire::account::{AccountItem, MultiaccountImport};
use cutover::tim::wire::c2c::SendMsg;
use cutover::tim::wire::group::SendGroupMsg;
use cutover::tim::wire::MsgElement;
use cutover::tim::SecretKey;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

pub(crate) const CALLBACK_TOKEN: &str = "callback-token-for-tests";
pub(crate) const INGEST_TOKEN: &str = "ingest-token-for-tests";

/// Whether test `name` runs its body here: it runs in a process of its own (see
/// `common::alone`) with the tokens every test here uses in its environment (the simulator
/// signs with the same one).
fn with_tokens(name: &str) -> bool {
    let tokens = [
        ("CUTOVER_CALLBACK_TOKEN", CALLBACK_TOKEN),
        ("CUTOVER_INGEST_TOKEN", INGEST_TOKEN),
    ];
    in_own_process(module_path!(), name, &tokens)
}

/// A rig whose simulator calls back a relay on `port`, with the store created.
async fn rig_calling(port: u16, config: SimConfig) -> Rig {
    let mut config = config;
    config.callback.url = Some(format!("http://127.0.0.1:{port}/tim/callback"));
    let rig = Rig::new(config).await;
    cutover::store::open_for_writing(&rig.store).unwrap();
    rig
}

fn sync_runbook(handle: &SimHandle, store: &Path, port: u16, hook: &str) -> Runbook {
    let text = format!(
        "[sync]\nlisten = \"127.0.0.1:{port}\"\nold_webhook = \"{hook}\"\nrelay_admin = \"sync_relay\"\nreconcile_secs = 1\n"
    );
    let file = parse_file(&text, "test").unwrap();
    let flags = Flags {
        source: Some(common::engine::sample_data()),
        store: Some(store.to_path_buf()),
        target_url: Some(handle.url()),
        sdkappid: Some(SDKAPPID),
        admin: Some(ADMIN.into()),
    };
    resolve(&file, &flags, Some(SecretKey::new(KEY))).unwrap()
}

async fn start_relay(rb: &Runbook) -> RelayHandle {
    let cfg = rb.sync.clone().unwrap();
    let relay = relay::start(rb, &cfg).await.unwrap();
    relay.health(&cfg).await.unwrap();
    relay
}

async fn accounts(handle: &SimHandle, ids: &[&str]) {
    let req = MultiaccountImport {
        Accounts: None,
        AccountList: Some(
            ids.iter()
                .map(|id| AccountItem {
                    UserID: (*id).into(),
                    Nick: None,
                    FaceUrl: None,
                })
                .collect(),
        ),
    };
    client(handle).call(&req).await.unwrap();
}

/// POSTs `body` as JSON (with the bearer token when given); the status and the JSON answer.
async fn post_json(url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let answer = req.send().await.unwrap();
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_directions_arrive_and_echoes_do_not_come_back() {
    if !with_tokens("both_directions_arrive_and_echoes_do_not_come_back") {
        return;
    }
    let port = free_port();
    let Rig {
        handle,
        store,
        dir: _dir,
    } = rig_calling(port, app_config()).await;
    let (hook, got) = webhook(Duration::ZERO).await;
    let rb = sync_runbook(&handle, &store, port, &hook);
    let relay = start_relay(&rb).await;
    accounts(&handle, &["u1", "u2"]).await;

    // New → old: a message sent on the Tencent side reaches the webhook as a sync event.
    client(&handle)
        .call(&SendMsg {
            From_Account: Some("u1".into()),
            To_Account: "u2".into(),
            MsgRandom: 7,
            MsgBody: vec![MsgElement::text("hello from tencent")],
            ..SendMsg::default()
        })
        .await
        .unwrap();
    wait_until("the webhook to receive the message", PATIENCE, || {
        got.lock()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "c2c_message")
    })
    .await;
    let event = got.lock().unwrap()[0].clone();
    assert_eq!(event["record"]["from"], "u1");
    assert_eq!(event["record"]["to"], "u2");
    assert!(event["event_id"].as_str().unwrap().starts_with("tim-c2c-"));

    // Old → new: an ingested message lands in the simulator.
    let ingest = format!("http://{}/sync/events", relay.addr);
    let body = json!({"event_id": "old-1", "kind": "c2c_message", "at": 1_764_000_000,
        "record": {"id": "m-old-1", "from": "u2", "to": "u1", "sent_at": 1_764_000_000,
                   "body": [{"type": "text", "text": "hello from the old app"}]}});
    let (status, _) = post_json(&ingest, Some(INGEST_TOKEN), &body).await;
    assert_eq!(status, 200);
    let sim = handle.sim().clone();
    wait_until("the old message to land in the simulator", PATIENCE, || {
        sim.dump()["c2c_messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["MsgTimeStamp"] == 1_764_000_000)
    })
    .await;
    // The same event again is a duplicate, not a second message.
    let (_, again) = post_json(&ingest, Some(INGEST_TOKEN), &body).await;
    assert_eq!(again["duplicates"], 1);
    // Without the token: refused, nothing stored.
    let (refused, _) = post_json(&ingest, None, &body).await;
    assert_eq!(refused, 401);

    // No echo: a group the old system creates is created by the relay, whose own callback is
    // dropped and counted, and never reaches the webhook.
    let create = json!({"event_id": "old-2", "kind": "group_created", "at": 1_764_000_100,
        "record": {"id": "g-sync-1", "type": "public", "name": "Made on the old side", "owner": "u1",
                   "created_at": 1_764_000_100}});
    let (status, _) = post_json(&ingest, Some(INGEST_TOKEN), &create).await;
    assert_eq!(status, 200);
    let s = store.clone();
    wait_until(
        "the relay's own callback to be dropped as an echo",
        PATIENCE,
        || {
            let conn = cutover::store::open_for_reading(&s).unwrap();
            counts(&conn, Direction::NewToOld).unwrap().dropped_as_echo >= 1
        },
    )
    .await;
    assert!(handle
        .sim()
        .with_state(|st| st.groups.contains_key("g-sync-1")));
    // The proof that the echo never reaches the webhook: a later message in the same group,
    // sent on the Tencent side after the echo was dropped, is delivered in the group's order —
    // after anything of that group queued before it.
    client(&handle)
        .call(&SendGroupMsg {
            GroupId: "g-sync-1".into(),
            Random: 8,
            MsgBody: vec![MsgElement::text("after the echo")],
            From_Account: Some("u1".into()),
            ..SendGroupMsg::default()
        })
        .await
        .unwrap();
    wait_until(
        "the later group message to reach the webhook",
        PATIENCE,
        || {
            got.lock()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "group_message")
        },
    )
    .await;
    let kinds: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        ["c2c_message", "group_message"],
        "the echo reached the old system"
    );
    // The applier settles an event in the store after Tencent IM has answered.
    let settled = || {
        let conn = cutover::store::open_for_reading(&store).unwrap();
        let c = counts(&conn, Direction::OldToNew).unwrap();
        (c.applied, c.failed)
    };
    wait_for("both old events settled", PATIENCE, settled, |c| {
        *c == (2, 0)
    })
    .await;
    relay.stop().await.unwrap();
    let conn = cutover::store::open_for_writing(&store).unwrap();
    let id = cutover::store::queries::RunIdentity {
        target: handle.url(),
        sdkappid: SDKAPPID,
        admin: ADMIN.into(),
        config: "{}".into(),
    };
    cutover::store::queries::ensure_run(&conn, &store, &id, false).unwrap();
    drop(conn);
    let status = common::status_text(&store);
    assert!(
        status.contains("sync old → new: 2 received, 2 applied, 0 failed"),
        "{status}"
    );
    assert!(status.contains("1 dropped as echo"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_foreign_callbacks_are_refused() {
    if !with_tokens("forged_stale_and_foreign_callbacks_are_refused") {
        return;
    }
    let port = free_port();
    let Rig {
        handle,
        store,
        dir: _dir,
    } = rig_calling(port, app_config()).await;
    let (hook, got) = webhook(Duration::ZERO).await;
    let rb = sync_runbook(&handle, &store, port, &hook);
    let relay = start_relay(&rb).await;
    let now = cutover::timefmt::now_secs() as u64;
    let body = json!({"CallbackCommand": "C2C.CallbackAfterSendMsg", "From_Account": "u1",
        "To_Account": "u2", "MsgSeq": 1, "MsgRandom": 2, "MsgTime": now, "MsgKey": format!("1_2_{now}"),
        "SendMsgResult": 0, "MsgBody": [], "EventTime": now * 1000});
    let addr = relay.addr;
    let post = |app: u64, sign: String, time: u64| {
        let url = format!(
            "http://{addr}/tim/callback?SdkAppid={app}&CallbackCommand=C2C.CallbackAfterSendMsg&contenttype=json&ClientIP=127.0.0.1&OptPlatform=Android&Sign={sign}&RequestTime={time}"
        );
        let body = body.clone();
        async move { post_json(&url, None, &body).await }
    };
    let good = cutover::tim::callback::sign(CALLBACK_TOKEN, now);
    let forged = cutover::tim::callback::sign("not-the-token", now);
    let stale_time = now - 3600;
    let stale = cutover::tim::callback::sign(CALLBACK_TOKEN, stale_time);
    assert_eq!(post(SDKAPPID, forged, now).await.0, 403);
    assert_eq!(post(SDKAPPID, stale, stale_time).await.0, 403);
    // From the future as well as from the past.
    let future_time = now + 3600;
    let future = cutover::tim::callback::sign(CALLBACK_TOKEN, future_time);
    assert_eq!(post(SDKAPPID, future, future_time).await.0, 403);
    assert_eq!(post(1, good.clone(), now).await.0, 403);
    let (status, answer) = post(SDKAPPID, good.clone(), now).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})
    );
    // The same body again (same Sign and RequestTime): answered OK, taken in once.
    let (status, again) = post(SDKAPPID, good, now).await;
    assert_eq!((status, &again), (200, &answer));
    let conn = cutover::store::open_for_reading(&store).unwrap();
    let seen: i64 = conn
        .query_row("SELECT COUNT(*) FROM sync_seen", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seen, 1);
    wait_until("the one good callback to be delivered", PATIENCE, || {
        got.lock().unwrap().len() == 1
    })
    .await;
    let conn = cutover::store::open_for_reading(&store).unwrap();
    assert_eq!(counts(&conn, Direction::NewToOld).unwrap().received, 1);
    // The relay's health counts the four refusals and the one replay.
    let health = reqwest::get(format!("http://{addr}/health"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["refused_callbacks"], 4, "{health}");
    assert_eq!(health["replayed_callbacks"], 1, "{health}");
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_recovers_a_message_whose_callback_never_came() {
    if !with_tokens("reconciliation_recovers_a_message_whose_callback_never_came") {
        return;
    }
    let port = free_port();
    let mut config = app_config();
    // Tencent's one-to-one callbacks are lost: only group callbacks are ever sent.
    config.callback.commands = Some(vec!["Group.CallbackAfterSendMsg".into()]);
    let Rig {
        handle,
        store,
        dir: _dir,
    } = rig_calling(port, config).await;
    let (hook, got) = webhook(Duration::ZERO).await;
    let rb = sync_runbook(&handle, &store, port, &hook);
    let relay = start_relay(&rb).await;
    accounts(&handle, &["u1", "u2"]).await;
    // The conversation is active: the old system wrote into it (the relay's own write, which
    // reconciliation must not send back).
    let now = cutover::timefmt::now_secs();
    let old = json!({"event_id": "old-r1", "kind": "c2c_message", "at": now,
        "record": {"id": "m-r1", "from": "u2", "to": "u1", "sent_at": now,
                   "body": [{"type": "text", "text": "from the old app"}]}});
    let ingest = format!("http://{}/sync/events", relay.addr);
    assert_eq!(post_json(&ingest, Some(INGEST_TOKEN), &old).await.0, 200);
    // A new-app user answers; no callback comes.
    let answer = |random: u32, text: &str| {
        let send = SendMsg {
            From_Account: Some("u1".into()),
            To_Account: "u2".into(),
            MsgRandom: random,
            MsgBody: vec![MsgElement::text(text)],
            ..SendMsg::default()
        };
        let c = client(&handle);
        async move { c.call(&send).await.unwrap() }
    };
    answer(99, "from the new app").await;
    let texts = || -> Vec<Value> {
        let got = got.lock().unwrap();
        got.iter()
            .map(|e| e["record"]["body"][0]["text"].clone())
            .collect()
    };
    wait_until("reconciliation to deliver the message", PATIENCE, || {
        !texts().is_empty()
    })
    .await;
    // The proof that later rounds send nothing twice and never the relay's own write: a second
    // lost message, recovered by a later round that reads the same conversation again.
    answer(100, "again from the new app").await;
    wait_until(
        "reconciliation to deliver the second message",
        PATIENCE,
        || texts().len() >= 2,
    )
    .await;
    assert_eq!(
        texts(),
        ["from the new app", "again from the new app"],
        "only the lost messages, once each: {:?}",
        got.lock().unwrap()
    );
    // The outbox settles a delivery in the store after the webhook has answered.
    let settled = || {
        let conn = cutover::store::open_for_reading(&store).unwrap();
        let c = counts(&conn, Direction::NewToOld).unwrap();
        (c.recovered, c.applied)
    };
    wait_for("both recoveries settled", PATIENCE, settled, |c| {
        *c == (2, 2)
    })
    .await;
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_of_the_relays_own_write_before_its_batch_settles_is_dropped() {
    if !with_tokens("a_callback_of_the_relays_own_write_before_its_batch_settles_is_dropped") {
        return;
    }
    let port = free_port();
    let mut config = app_config();
    // create_group answers slowly: the group's scope settles well after the destroy's
    // callback (which names no operator: only the ledger tells it from a real destroy).
    let slow = Faults {
        latency_ms: 1500,
        ..Faults::default()
    };
    config.faults.insert("create_group".into(), slow);
    let Rig {
        handle,
        store,
        dir: _dir,
    } = rig_calling(port, config).await;
    let (hook, got) = webhook(Duration::ZERO).await;
    let rb = sync_runbook(&handle, &store, port, &hook);
    let relay = start_relay(&rb).await;
    accounts(&handle, &["u1"]).await;
    let create = |id: &str, at: i64| {
        json!({"event_id": id, "kind": "group_created", "at": at, "record": {"id": "g-echo",
            "type": "public", "name": "Echo", "owner": "u1", "created_at": at}})
    };
    let destroy = json!({"event_id": "old-d1", "kind": "group_destroyed", "at": 1_764_000_200,
        "record": {"id": "g-echo"}});
    let body = json!([
        create("old-c1", 1_764_000_100),
        destroy,
        create("old-c2", 1_764_000_300)
    ]);
    let ingest = format!("http://{}/sync/events", relay.addr);
    assert_eq!(post_json(&ingest, Some(INGEST_TOKEN), &body).await.0, 200);
    let fates = |kind: &'static str| {
        let s = store.clone();
        move || {
            let conn = cutover::store::open_for_reading(&s).unwrap();
            let sql = "SELECT direction, state FROM sync_event WHERE kind = ?1 ORDER BY seq";
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)));
            rows.unwrap()
                .collect::<Result<Vec<(i64, i64)>, _>>()
                .unwrap()
        }
    };
    let (old_to_new, new_to_old) = (Direction::OldToNew.code(), Direction::NewToOld.code());
    let (done, echo) = (EventState::Done.code(), EventState::Echo.code());
    wait_for(
        "the last create applied",
        PATIENCE,
        fates("group_created"),
        |f| {
            f.iter()
                .filter(|(d, s)| *d == old_to_new && *s == done)
                .count()
                == 2
        },
    )
    .await;
    let destroyed = wait_for(
        "the destroy's callback",
        PATIENCE,
        fates("group_destroyed"),
        |f| f.iter().any(|(d, _)| *d == new_to_old),
    )
    .await;
    assert_eq!(destroyed, [(old_to_new, done), (new_to_old, echo)]);
    assert!(got
        .lock()
        .unwrap()
        .iter()
        .all(|e| e["kind"] != "group_destroyed"));
    relay.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recalls_go_both_ways_through_the_simulator_without_echoes() {
    if !with_tokens("recalls_go_both_ways_through_the_simulator_without_echoes") {
        return;
    }
    let port = free_port();
    let Rig {
        handle,
        store,
        dir: _dir,
    } = rig_calling(port, app_config()).await;
    let (hook, got) = webhook(Duration::ZERO).await;
    let rb = sync_runbook(&handle, &store, port, &hook);
    let relay = start_relay(&rb).await;
    accounts(&handle, &["u1", "u2"]).await;
    let ingest = format!("http://{}/sync/events", relay.addr);
    let recalled = |sim: &cutover::sim::Sim| -> usize {
        sim.dump()["c2c_messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["recalled"] == true)
            .count()
    };

    // Old → new: a message, then its recall, which the relay names by the MsgKey it was given.
    let msg = json!({"event_id": "old-1", "kind": "c2c_message", "at": 1_764_000_000,
        "record": {"id": "m-old-1", "from": "u2", "to": "u1", "sent_at": 1_764_000_000,
                   "body": [{"type": "text", "text": "soon gone"}]}});
    let recall = json!({"event_id": "old-2", "kind": "c2c_message_recalled", "at": 1_764_000_010,
        "record": {"id": "m-old-1"}});
    for body in [&msg, &recall] {
        let (status, _) = post_json(&ingest, Some(INGEST_TOKEN), body).await;
        assert_eq!(status, 200);
    }
    let sim = handle.sim().clone();
    wait_until("the old recall to land in the simulator", PATIENCE, || {
        recalled(&sim) == 1
    })
    .await;
    // Its callback comes back to the relay and is dropped as the relay's own.
    let s = store.clone();
    wait_until("the recall's callback dropped as an echo", PATIENCE, || {
        let conn = cutover::store::open_for_reading(&s).unwrap();
        // The relay's message fired no callback (it forbids them); its recall's did.
        counts(&conn, Direction::NewToOld).unwrap().dropped_as_echo >= 1
    })
    .await;

    // New → old: a message sent and recalled on the Tencent side reaches the old system as a
    // message and its recall, under the id it was delivered with.
    let sent = client(&handle)
        .call(&SendMsg {
            From_Account: Some("u1".into()),
            To_Account: "u2".into(),
            MsgRandom: 9,
            MsgBody: vec![MsgElement::text("also soon gone")],
            ..SendMsg::default()
        })
        .await
        .unwrap();
    client(&handle)
        .call(&cutover::tim::wire::c2c::AdminMsgWithdraw {
            From_Account: "u1".into(),
            To_Account: "u2".into(),
            MsgKey: sent.MsgKey.clone(),
        })
        .await
        .unwrap();
    wait_until("the webhook to receive the recall", PATIENCE, || {
        got.lock()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "c2c_message_recalled")
    })
    .await;
    let events = got.lock().unwrap().clone();
    let kinds: Vec<&Value> = events.iter().map(|e| &e["kind"]).collect();
    assert_eq!(
        kinds,
        ["c2c_message", "c2c_message_recalled"],
        "the relay's own message and recall never came back: {events:?}"
    );
    assert_eq!(
        events[1]["record"]["id"], events[0]["event_id"],
        "{events:?}"
    );
    relay.stop().await.unwrap();
}
