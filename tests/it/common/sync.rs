//! The old → new applier's test pieces: the relay's admin, an event as the ingest endpoint
//! would journal it, and the relay's settings with a JSONL sink.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

use cutover::config::{C2cMode, OldSink, OnFailure, SyncConfig};
use cutover::model::sync_event::Direction;
use cutover::store::sync::{EventState, NewEvent};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The relay's admin (one of the simulator's admins in tests/it/common).
pub(crate) const RELAY_ADMIN: &str = "sync_relay";

/// An old → new event `id` of `kind` about `record`, pending, as the ingest endpoint takes it.
pub(crate) fn ev(id: &str, kind: &str, record: Value) -> NewEvent {
    let event = json!({"event_id": id, "kind": kind, "at": 1, "record": record});
    NewEvent {
        direction: Direction::OldToNew,
        event: serde_json::from_value(event).unwrap(),
        origin: "ingest",
        state: EventState::Pending,
        info: String::new(),
    }
}

/// The relay's settings: callbacks on a loopback port, new → old into the JSONL file `sink`,
/// no reconciliation, a failing event held after `max_retry_secs`.
pub(crate) fn relay_config(sink: PathBuf, max_retry_secs: u64) -> SyncConfig {
    SyncConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        callback_path: "/tim/callback".into(),
        ingest_file: None,
        sink: OldSink::Jsonl(sink),
        c2c_mode: C2cMode::Sendmsg,
        relay_admin: RELAY_ADMIN.into(),
        max_clock_skew_secs: 300,
        reconcile_secs: 0,
        max_retry_secs,
        on_failure: OnFailure::Hold,
    }
}
