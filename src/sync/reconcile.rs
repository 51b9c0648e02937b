//! Reconciliation: Tencent does not retry "after" callbacks, so every round reads back the
//! groups and conversations that were active lately (§6) and emits, as new → old events, the
//! messages no callback brought. Messages the relay itself wrote (the ledger) are not emitted;
//! what a callback already brought has the same `event_id` and is refused as a duplicate.

use super::callback::{c2c_event_from_roam, group_event_from_rsp};
use super::journal::Journal;
use super::SyncError;
use crate::model::sync_event::{Direction, SyncEvent};
use crate::store::open_for_reading;
use crate::store::sync::{ledger_has, EventState, NewEvent};
use crate::tim::api::Api;
use crate::tim::client::TimClient;
use crate::tim::paced::Reader;
use crate::tim::paging::Pager;
use crate::tim::wire::c2c::AdminGetRoamMsg;
use crate::tim::wire::group_read::GroupMsgGetSimple;
use crate::timefmt::now_ms;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How far back a round looks (conversations active in this window are read back).
const WINDOW_MS: i64 = 10 * 60 * 1000;

/// What a reconciliation loop needs.
pub(crate) struct Reconcile {
    /// The store.
    pub(crate) store: PathBuf,
    /// Where recovered events go.
    pub(crate) journal: Journal,
    /// The relay's client.
    pub(crate) client: Arc<TimClient>,
    /// Calls per second per API.
    pub(crate) rates: HashMap<Api, u32>,
    /// Tencent GroupId → old group id.
    pub(crate) groups: Arc<Mutex<HashMap<String, String>>>,
    /// Time between rounds.
    pub(crate) every: Duration,
    /// Stops the loop.
    pub(crate) stop: watch::Receiver<bool>,
    /// Wakes the outbox when something was recovered.
    pub(crate) wake: Arc<Notify>,
}

/// Scopes with events (either way) received since `since_ms`: groups first (one read
/// covers many people), then conversations, most recently active first.
fn active_scopes(r: &Reconcile, since_ms: i64) -> Result<Vec<String>, SyncError> {
    let conn = open_for_reading(&r.store)?;
    Ok(crate::store::sync::active_scopes(&conn, since_ms)?)
}

/// The ledger key the relay records for a one-to-one message it wrote (see `convert`).
fn c2c_key(from: &str, to: &str, msg_key: &str) -> String {
    format!("c2c:{from}:{to}:{msg_key}")
}

/// The ledger key the relay records for a group message it wrote (see `convert`).
fn group_msg_key(group: &str, from: &str, random: u32) -> String {
    format!("group:{group}:msg:{from}:{random}")
}

/// One round: returns how many events were recovered.
async fn round(r: &Reconcile, reader: &Reader, since_ms: i64) -> Result<usize, SyncError> {
    let since_secs = since_ms / 1000;
    let now_secs = crate::timefmt::now_secs();
    // (event, the ledger key the relay would have written for it); the ledger is looked up
    // after the reads, so no connection is held across them.
    let mut found = Vec::new();
    // A round may use half the time to the next one at the read APIs' pace; what it cannot
    // reach is said in the log (reconciliation is a safety net, not a second feed).
    let budget = (r.every.as_secs_f64() * 100.0).max(10.0) as usize;
    let scopes = active_scopes(r, since_ms)?;
    let total = scopes.len();
    let mut calls = 0usize;
    for (done, scope) in scopes.into_iter().enumerate() {
        if calls >= budget {
            tracing::warn!(
                read = done,
                active = total,
                "reconciliation round reached its budget; the rest waits for the next round"
            );
            break;
        }
        if let Some(pair) = scope.strip_prefix("c2c:") {
            let Some((a, b)) = pair.split_once('\u{1f}') else {
                continue;
            };
            calls += read_conversation(reader, (a, b), since_secs, now_secs, &mut found).await?;
        } else if let Some(old) = scope.strip_prefix("group:") {
            calls += read_group(r, reader, old, since_secs, &mut found).await?;
        }
    }
    let conn = open_for_reading(&r.store)?;
    let found: Vec<_> = found
        .into_iter()
        .filter(|(_, key)| !ledger_has(&conn, key, since_ms - WINDOW_MS).unwrap_or(false))
        .map(|(event, _)| event)
        .collect();
    drop(conn);
    if found.is_empty() {
        return Ok(0);
    }
    let events = found
        .into_iter()
        .map(|event| NewEvent {
            direction: Direction::NewToOld,
            event,
            origin: "reconcile",
            state: EventState::Pending,
            info: "no callback brought it; found by reconciliation".into(),
        })
        .collect();
    let fresh = r.journal.insert(events).await?;
    Ok(fresh.iter().filter(|f| **f).count())
}

/// Reads the conversation of `a` and `b` since `since_secs`, newest page first, adding each
/// message (with its ledger key) to `found`; returns the calls made.
async fn read_conversation(
    reader: &Reader,
    (a, b): (&str, &str),
    since_secs: i64,
    now_secs: i64,
    found: &mut Vec<(SyncEvent, String)>,
) -> Result<usize, SyncError> {
    let mut calls = 0;
    let mut last_key = None;
    let mut max_time = now_secs;
    let mut pager = Pager::new(Api::AdminGetRoamMsg);
    loop {
        let req = AdminGetRoamMsg {
            From_Account: a.to_string(),
            To_Account: b.to_string(),
            MaxCnt: 100,
            MinTime: since_secs,
            MaxTime: max_time,
            LastMsgKey: last_key.clone(),
        };
        calls += 1;
        let resp = reader.call(&req).await?;
        for m in &resp.MsgList {
            if m.MsgFlagBits == 0 {
                let key = c2c_key(&m.From_Account, &m.To_Account, &m.MsgKey);
                found.push((c2c_event_from_roam(m), key));
            }
        }
        if resp.Complete == 1 || resp.MsgList.is_empty() {
            return Ok(calls);
        }
        match pager.advance((resp.LastMsgTime, resp.LastMsgKey)) {
            Ok((time, key)) => (max_time, last_key) = (time, Some(key)),
            Err(stuck) => {
                tracing::warn!(pair = %format!("{a}:{b}"), error = %stuck, "reconcile stopped reading a conversation");
                return Ok(calls);
            }
        }
    }
}

/// Reads the group whose old id is `old` back to `since_secs`, a page at a time, adding each
/// message (with its ledger key) to `found`; returns the calls made.
async fn read_group(
    r: &Reconcile,
    reader: &Reader,
    old: &str,
    since_secs: i64,
    found: &mut Vec<(SyncEvent, String)>,
) -> Result<usize, SyncError> {
    let tencent = {
        let map = r
            .groups
            .lock()
            .map_err(|_| SyncError::Poisoned("group map"))?;
        map.iter()
            .find(|(_, o)| o.as_str() == old)
            .map_or_else(|| old.to_string(), |(t, _)| t.clone())
    };
    let mut calls = 0;
    let mut below = None;
    let mut pager = Pager::descending(Api::GroupMsgGetSimple);
    'pages: loop {
        let req = GroupMsgGetSimple {
            GroupId: tencent.clone(),
            ReqMsgSeq: below,
            ReqMsgNumber: 20,
        };
        calls += 1;
        let resp = match reader.call(&req).await {
            Ok(r) => r,
            // A group destroyed since: nothing left to read.
            Err(e) => {
                tracing::debug!(group = %tencent, error = %e, "reconcile skipped a group");
                break;
            }
        };
        for m in &resp.RspMsgList {
            if m.MsgTimeStamp < since_secs {
                break 'pages;
            }
            if m.IsPlaceMsg == 0 {
                let key = group_msg_key(&tencent, &m.From_Account, m.MsgRandom);
                found.push((group_event_from_rsp(&tencent, old, m), key));
            }
        }
        match resp.RspMsgList.iter().map(|m| m.MsgSeq).min() {
            Some(seq) if resp.IsFinished == 0 && seq > 1 => match pager.advance(seq - 1) {
                Ok(next) => below = Some(next),
                Err(stuck) => {
                    tracing::warn!(group = %tencent, error = %stuck, "reconcile stopped reading a group");
                    break;
                }
            },
            _ => break,
        }
    }
    Ok(calls)
}

/// Runs rounds every `every` until stopped.
pub(crate) async fn run(r: Reconcile) -> Result<(), SyncError> {
    let reader = Reader::new(Arc::clone(&r.client), &r.rates, 8, r.stop.clone());
    let mut stop = r.stop.clone();
    let mut since = now_ms() - WINDOW_MS;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(r.every) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        let started = now_ms();
        match round(&r, &reader, since).await {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(
                        recovered = n,
                        "reconciliation found events no callback brought"
                    );
                    r.wake.notify_one();
                }
                // The next round overlaps this one by a minute: late-arriving history is not missed.
                since = started - 60_000;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reconciliation round failed; the next one covers it")
            }
        }
    }
}
