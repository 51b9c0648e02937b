//! The old → new applier under faults: a poison group does not hold back the others, a 4xx
//! fails one event and not the relay, a held scope is released by skip, and a group message
//! whose answer was lost is not sent twice after a restart past Tencent's dedupe window.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::sync::{ev, relay_config, RELAY_ADMIN};
use common::{wait_for, PATIENCE};
use cutover::config::SyncConfig;
use cutover::model::sync_event::Direction;
use cutover::sim::config::{Faults, NoAnswer, SimConfig};
use cutover::sim::SimHandle;
use cutover::store::sync::{EventState, NewEvent};
use cutover::store::sync_queue::{held_scopes, move_failed};
use cutover::sync::apply::run;
use cutover::sync::journal::{Journal, JournalThread};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn group(id: &str) -> NewEvent {
    let t = cutover::timefmt::now_secs() - 60;
    #[rustfmt::skip]
    let record = json!({"id": id, "type": "public", "name": id, "owner": "u1", "created_at": t});
    ev(&format!("create-{id}"), "group_created", record)
}

fn message(id: &str, group: &str) -> NewEvent {
    let t = cutover::timefmt::now_secs() - 60;
    let body = json!([{"type": "text", "text": id}]);
    #[rustfmt::skip]
    let record = json!({"id": id, "group": group, "from": "u1", "sent_at": t, "body": body});
    ev(id, "group_message", record)
}

/// Faults for one API aimed at one group.
fn aimed(group: &str, faults: Faults) -> Faults {
    Faults {
        group_ids: vec![group.into()],
        ..faults
    }
}

/// A running applier: its stop signal and its task.
type Running = (
    watch::Sender<bool>,
    JoinHandle<Result<(), cutover::sync::SyncError>>,
);

/// A simulator, a store with its journal, and the applier (restartable) between them.
struct Rig {
    handle: SimHandle,
    store: PathBuf,
    journal: Journal,
    thread: JournalThread,
    config: SyncConfig,
    timeout: Duration,
    relay: Option<Running>,
    _dir: tempfile::TempDir,
}

impl Rig {
    #[rustfmt::skip]
    async fn new(sim: SimConfig, max_retry_secs: u64, timeout: Duration) -> Rig {
        let common::Rig { handle, store, dir } = common::Rig::new(sim).await;
        let (journal, thread) = Journal::open(&store).unwrap();
        let config = relay_config(dir.path().join("old.jsonl"), max_retry_secs);
        let mut rig = Rig { handle, store, journal, thread, config, timeout, relay: None, _dir: dir };
        rig.start();
        rig
    }

    fn start(&mut self) {
        let client = Arc::new(common::client_as(&self.handle, RELAY_ADMIN, self.timeout));
        let (stop, rx) = watch::channel(false);
        let (store, journal) = (self.store.clone(), self.journal.clone());
        let task = tokio::spawn(run(
            store,
            journal,
            client,
            self.config.clone(),
            HashMap::new(),
            rx,
            None,
        ));
        self.relay = Some((stop, task));
    }

    async fn stop(&mut self) {
        let (stop, task) = self.relay.take().unwrap();
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
    }

    /// Waits until event `id` is in `state` (its code and attempts then).
    async fn wait_state(&self, id: &str, state: EventState) -> (Option<i64>, u32) {
        let what = format!("{id} {state:?}");
        let got = wait_for(
            &what,
            PATIENCE,
            || fate(&self.store, id),
            |f| f.0 == state.code(),
        )
        .await;
        (got.1, got.2)
    }

    async fn finish(mut self) {
        if self.relay.is_some() {
            self.stop().await;
        }
        drop(self.journal);
        self.thread.join();
    }
}

/// (state, code, attempts) of event `id`.
fn fate(store: &Path, id: &str) -> (i64, Option<i64>, u32) {
    let conn = cutover::store::open_for_reading(store).unwrap();
    let sql = "SELECT state, code, attempts FROM sync_event WHERE event_id = ?1";
    conn.query_row(sql, [id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
}

/// How many events of `state` the store holds.
fn in_state(store: &Path, state: EventState) -> i64 {
    let conn = cutover::store::open_for_reading(store).unwrap();
    let sql = "SELECT COUNT(*) FROM sync_event WHERE state = ?1";
    conn.query_row(sql, [state.code()], |r| r.get(0)).unwrap()
}

/// The messages of group `id` in the simulator.
fn messages_in(handle: &SimHandle, id: &str) -> usize {
    let dump = handle.sim().dump();
    let groups = dump["groups"].as_array().cloned().unwrap_or_default();
    let g = groups.iter().find(|g| g["GroupId"] == id);
    g.and_then(|g| g["messages"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// Every send to `poison` refused as retryable (10002, an internal error).
fn poisoned() -> SimConfig {
    let mut sim = SimConfig::default();
    sim.app.roaming_days = 0;
    let refuse = Faults {
        error_rate: 1.0,
        error_codes: vec![10002],
        ..Faults::default()
    };
    sim.faults
        .insert("send_group_msg".into(), aimed("poison", refuse));
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_group_with_600_queued_events_does_not_delay_another_group() {
    let rig = Rig::new(poisoned(), 3600, Duration::from_secs(5)).await;
    let mut events = vec![
        ev("a1", "account_created", json!({"id": "u1"})),
        group("poison"),
        group("other"),
    ];
    events.extend((0..600).map(|i| message(&format!("p{i}"), "poison")));
    events.push(message("late", "other"));
    rig.journal.insert(events).await.unwrap();
    rig.wait_state("late", EventState::Done).await;
    assert_eq!(messages_in(&rig.handle, "other"), 1);
    // The poison group's first message is still being retried; the rest wait behind it. Its
    // group settles apart from the other one's, so its first refusal may land later.
    let first_refusal = |f: &(i64, Option<i64>, u32)| f.1.is_some();
    let (state, code, attempts) = wait_for(
        "p0 refused once",
        PATIENCE,
        || fate(&rig.store, "p0"),
        first_refusal,
    )
    .await;
    assert_eq!((state, code), (EventState::Pending.code(), Some(10002)));
    assert!(attempts >= 1);
    assert_eq!(
        fate(&rig.store, "p599").2,
        0,
        "order within the scope holds"
    );
    assert!(in_state(&rig.store, EventState::Pending) >= 600);
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_fails_its_event_only_and_the_relay_goes_on_after_a_restart() {
    let mut sim = SimConfig::default();
    sim.app.roaming_days = 0;
    let refuse = Faults {
        error_rate: 1.0,
        error_codes: vec![400],
        ..Faults::default()
    };
    sim.faults
        .insert("add_group_member".into(), aimed("bad", refuse));
    let mut rig = Rig::new(sim, 3600, Duration::from_secs(5)).await;
    #[rustfmt::skip]
    let events = vec![
        ev("a1", "account_created", json!({"id": "u1"})),
        ev("a2", "account_created", json!({"id": "u2"})),
        group("bad"),
        ev("j1", "member_joined", json!({"group": "bad", "member": "u2"})),
        message("after", "bad"),
    ];
    rig.journal.insert(events).await.unwrap();
    let (code, _) = rig.wait_state("j1", EventState::Failed).await;
    assert_eq!(code, Some(400));
    rig.wait_state("after", EventState::Done).await;
    assert!(
        !rig.relay.as_ref().unwrap().1.is_finished(),
        "the relay goes on"
    );
    rig.stop().await;
    rig.start();
    let more = vec![ev("a3", "account_created", json!({"id": "u3"}))];
    rig.journal.insert(more).await.unwrap();
    rig.wait_state("a3", EventState::Done).await;
    assert_eq!(fate(&rig.store, "j1").0, EventState::Failed.code());
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_out_of_retries_holds_its_scope_until_skipped() {
    let rig = Rig::new(poisoned(), 1, Duration::from_secs(5)).await;
    let events = vec![
        ev("a1", "account_created", json!({"id": "u1"})),
        group("poison"),
        message("m1", "poison"),
        message("m2", "poison"),
    ];
    rig.journal.insert(events).await.unwrap();
    let (code, _) = rig.wait_state("m1", EventState::Held).await;
    assert_eq!(code, Some(10002));
    assert_eq!(
        fate(&rig.store, "m2"),
        (EventState::Pending.code(), None, 0)
    );
    let conn = cutover::store::open_for_writing(&rig.store).unwrap();
    let held = held_scopes(&conn, Direction::OldToNew).unwrap();
    assert_eq!(held, [("group:poison".to_string(), 2)]);
    assert_eq!(move_failed(&conn, EventState::Skipped).unwrap(), 1);
    assert_eq!(fate(&rig.store, "m1").0, EventState::Skipped.code());
    // Released: the next event of the scope is tried.
    wait_for("m2 tried", PATIENCE, || fate(&rig.store, "m2"), |f| f.2 > 0).await;
    rig.finish().await;
}

/// A relay whose group message sends are applied and then answered by nothing for 3 s (then
/// the cut), past a dedupe window that holds nothing (Tencent forgets a Random after 5
/// minutes; here at once: a window of -1 s holds nothing, not even the same second, so a
/// second send would be kept as a new message), with m1 sent to g1: stopped once m1 is in the
/// group, while its send is in flight. Whether m1 was still pending after its first attempt
/// then.
async fn stopped_with_a_send_in_flight() -> (Rig, bool) {
    let mut sim = SimConfig::default();
    sim.app.roaming_days = 0;
    sim.app.random_dedupe_secs = -1;
    let lose = Faults {
        no_answer_rate: 1.0,
        no_answer: NoAnswer::Stall,
        stall_ms: 3000,
        ..Faults::default()
    };
    sim.faults.insert("send_group_msg".into(), lose);
    let mut rig = Rig::new(sim, 3600, Duration::from_secs(10)).await;
    let events = vec![
        ev("a1", "account_created", json!({"id": "u1"})),
        group("g1"),
        message("m1", "g1"),
    ];
    rig.journal.insert(events).await.unwrap();
    common::wait_until("the message in the group", PATIENCE, || {
        messages_in(&rig.handle, "g1") == 1
    })
    .await;
    rig.stop().await;
    let (state, _, attempts) = fate(&rig.store, "m1");
    let in_flight = (state, attempts) == (EventState::Pending.code(), 1);
    (rig, in_flight)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_answer_was_lost_is_not_repeated_after_the_dedupe_window() {
    // The stop must reach the relay while the answer is lost (3 s) or before its retry: on a
    // machine stalled for longer, the relay read the group back and settled m1 before it
    // stopped (still sent once); that run proves nothing about a restart, and goes again.
    for _ in 0..5 {
        let (mut rig, in_flight) = stopped_with_a_send_in_flight().await;
        if !in_flight {
            assert_eq!(messages_in(&rig.handle, "g1"), 1, "not sent twice");
            rig.finish().await;
            continue;
        }
        // Applied, its answer not back, pending after one attempt: a restarted relay reads the
        // group back instead of sending again.
        rig.start();
        rig.wait_state("m1", EventState::Done).await;
        assert_eq!(messages_in(&rig.handle, "g1"), 1, "not sent twice");
        rig.finish().await;
        return;
    }
    panic!("in 5 runs, the stop never reached the relay while m1's send was in flight");
}
