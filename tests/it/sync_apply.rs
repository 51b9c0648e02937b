//! The old → new applier against the simulator: events apply in order and once, lost and
//! refused calls are retried without doing anything twice.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::sync::{ev, relay_config, RELAY_ADMIN};
use common::{wait_for, PATIENCE};
use cutover::sim::config::{Faults, SimConfig};
use cutover::sim::SimHandle;
use cutover::store::sync::{ledger_has, NewEvent};
use cutover::store::sync::{EventState, Settle};
use cutover::sync::apply::run;
use cutover::sync::journal::Journal;
use cutover::tim::api::Api;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Accounts, a message, a group joined, written in, left and renamed, and a second group
/// with a member who does not exist and a message that does not convert.
#[rustfmt::skip]
fn events() -> Vec<NewEvent> {
    let t = cutover::timefmt::now_secs() - 60;
    let text = |s: &str| json!([{"type": "text", "text": s}]);
    vec![
        ev("a1", "account_created", json!({"id": "u1", "nick": "One"})),
        ev("a2", "account_created", json!({"id": "u2"})),
        ev("a3", "account_created", json!({"id": "u3"})),
        ev("c1", "c2c_message", json!({"id": "m1", "from": "u1", "to": "u2", "sent_at": t, "body": text("hi")})),
        ev("g1", "group_created", json!({"id": "g1", "type": "public", "name": "Chess", "owner": "u1", "created_at": t})),
        ev("j1", "member_joined", json!({"group": "g1", "member": "u2"})),
        ev("m1", "group_message", json!({"id": "gm1", "group": "g1", "from": "u2", "sent_at": t, "body": text("gg")})),
        ev("l1", "member_left", json!({"group": "g1", "member": "u2"})),
        ev("u1", "group_updated", json!({"id": "g1", "name": "Go club", "notification": "n"})),
        ev("g2", "group_created", json!({"id": "g2", "type": "private", "name": "Two", "owner": "u3", "created_at": t})),
        ev("j2", "member_joined", json!({"group": "g2", "member": "ghost"})),
        ev("m2", "group_message", json!({"id": "gm2", "group": "g2", "from": "u3", "sent_at": t, "body": []})),
        ev("j3", "member_joined", json!({"group": "g2", "member": "u1"})),
    ]
}

/// The common rig (simulator, temp dir, store), the store's journal, and the relay running
/// between them.
struct Rig {
    handle: SimHandle,
    store: PathBuf,
    journal: Journal,
    thread: cutover::sync::journal::JournalThread,
    stop: watch::Sender<bool>,
    relay: tokio::task::JoinHandle<Result<(), cutover::sync::SyncError>>,
    _dir: tempfile::TempDir,
}

impl Rig {
    #[rustfmt::skip]
    async fn new(faults: Option<Faults>) -> Rig {
        let mut sim = SimConfig::default();
        sim.app.roaming_days = 0;
        sim.faults.extend(faults.map(|f| ("all".to_string(), f)));
        let common::Rig { handle, store, dir } = common::Rig::new(sim).await;
        // A call the simulator never answers costs one timeout: keep it short, so that a
        // run of unlucky retries cannot outlast the wait below.
        let client = Arc::new(common::client_as(&handle, RELAY_ADMIN, Duration::from_secs(1)));
        let (journal, thread) = Journal::open(&store).unwrap();
        let config = relay_config(dir.path().join("old.jsonl"), 3600);
        let (stop, rx) = watch::channel(false);
        let relay = tokio::spawn(run(store.clone(), journal.clone(), client, config, HashMap::new(), rx, None));
        Rig { handle, store, journal, thread, stop, relay, _dir: dir }
    }

    /// Persists `events` and waits until none is pending.
    async fn apply(&self, events: Vec<NewEvent>) {
        self.journal.insert(events).await.unwrap();
        let pending = EventState::Pending.code();
        let settled = |fates: &Vec<Fate>| fates.iter().all(|f| f.1 != pending);
        wait_for("no event pending", PATIENCE, || fates(&self.store), settled).await;
    }

    async fn finish(self) {
        self.stop.send(true).unwrap();
        self.relay.await.unwrap().unwrap();
        drop(self.journal);
        self.thread.join();
    }
}

/// What became of an event: (event_id, state, api, code).
type Fate = (String, i64, Option<String>, Option<i64>);

/// Every event, in the order received.
fn fates(store: &Path) -> Vec<Fate> {
    let conn = cutover::store::open_for_reading(store).unwrap();
    let sql = "SELECT event_id, state, api, code FROM sync_event ORDER BY seq";
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
    rows.unwrap().collect::<Result<_, _>>().unwrap()
}

/// Checks what the events of [`events`] leave in the simulator and the store.
#[rustfmt::skip]
fn check_applied(handle: &SimHandle, store: &Path) {
    let dump = handle.sim().dump();
    let group = |id: &str| dump["groups"].as_array().unwrap().iter().find(|g| g["GroupId"] == id).cloned();
    let g1 = group("g1").expect("g1 created");
    assert_eq!((&g1["Name"], &g1["Notification"]), (&json!("Go club"), &json!("n")));
    let members: Vec<_> = g1["members"].as_array().unwrap().iter().map(|m| &m["Member_Account"]).collect();
    assert_eq!(members, [&json!("u1")], "u2 joined, then left");
    assert_eq!(g1["messages"].as_array().map(Vec::len), Some(1), "{g1}");
    let g2 = group("g2").expect("g2 created");
    assert_eq!(g2["members"].as_array().map(Vec::len), Some(2), "{g2}");
    let c2c = dump["c2c_messages"].as_array().unwrap();
    assert_eq!(c2c.len(), 1, "{dump}");
    assert_eq!((&c2c[0]["From_Account"], &c2c[0]["origin"]), (&json!("u1"), &json!("sendmsg")));
    let fates = fates(store);
    let failed: Vec<_> = fates.iter().filter(|f| f.1 != EventState::Done.code()).collect();
    let want = [("j2", Some("add_group_member"), Some(10019)), ("m2", Some("send_group_msg"), None)];
    let got: Vec<_> = failed.iter().map(|f| (f.0.as_str(), f.2.as_deref(), f.3)).collect();
    assert_eq!(got, want, "{fates:?}");
    assert!(failed.iter().all(|f| f.1 == EventState::Failed.code()));
}

#[tokio::test]
async fn events_apply_in_order_and_applying_them_again_changes_nothing() -> anyhow::Result<()> {
    let rig = Rig::new(None).await;
    rig.apply(events()).await;
    check_applied(&rig.handle, &rig.store);
    assert_eq!(rig.handle.sim().count(Api::AddGroupMember, 0), 2);
    rig.apply(vec![ev("d1", "group_destroyed", json!({"id": "g1"}))])
        .await;
    let groups = rig.handle.sim().dump()["groups"].clone();
    assert!(groups
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["GroupId"] != "g1"));
    let conn = cutover::store::open_for_reading(&rig.store)?;
    #[rustfmt::skip]
    let keys = ["group:g1:created", "group:g1:join:u2", "group:g1:exit:u2", "group:g1:info:Name:Go club", "group:g1:destroyed"];
    for key in keys {
        assert!(ledger_has(&conn, key, 0)?, "{key}");
    }

    // Everything again, as after a crash before the settle: nothing changes.
    let before = (rig.handle.sim().dump(), fates(&rig.store));
    let known = rig
        .journal
        .insert(vec![ev("a1", "account_created", json!({"id": "u1"}))]);
    assert_eq!(known.await?, [false], "a known event_id is not kept twice");
    let mut stmt = conn.prepare("SELECT seq FROM sync_event")?;
    let seqs: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let (state, info) = (EventState::Pending, String::new());
    #[rustfmt::skip]
    let again = seqs.into_iter().map(|seq| Settle { seq, state, api: None, code: None, info: info.clone(), retry_at_ms: None });
    rig.journal.settle(again.collect()).await?;
    rig.apply(Vec::new()).await;
    assert_eq!((rig.handle.sim().dump(), fates(&rig.store)), before);
    let known = rig.handle.sim().count(Api::CreateGroup, 10025);
    assert_eq!(known, 1, "g2 is there already");
    rig.finish().await;
    Ok(())
}

#[tokio::test]
async fn lost_and_refused_calls_are_retried_without_doing_anything_twice() {
    // One call in five fails either way: enough that faults surely strike across some sixty
    // calls, rare enough that no scope meets the seven failures in a row whose growing
    // backoff (to 30 s) would outlast the wait.
    let (error_rate, no_answer_rate, error_codes, seed) = (0.1, 0.1, vec![502], 14);
    #[rustfmt::skip]
    let rig = Rig::new(Some(Faults { seed, error_rate, error_codes, no_answer_rate, ..Faults::default() })).await;
    // Forty more accounts, so that faults surely strike.
    let more = (0..40).map(|i| {
        ev(
            &format!("x{i}"),
            "account_created",
            json!({ "id": format!("x{i}") }),
        )
    });
    rig.apply(events().into_iter().chain(more).collect()).await;
    check_applied(&rig.handle, &rig.store);
    let counts = rig.handle.sim().counts();
    let faulted = |code| counts.iter().filter(|((_, c), _)| *c == code).count();
    let no_answer = cutover::sim::server::NO_ANSWER;
    assert!(faulted(502) > 0 && faulted(no_answer) > 0, "{counts:?}");
    rig.finish().await;
}
