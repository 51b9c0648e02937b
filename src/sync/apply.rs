//! Applying old → new events to Tencent IM: pending events oldest first, one scope (an
//! account, a conversation, a group) strictly in order, different scopes side by side, every
//! call paced by its API's lane and retried until it is answered for good.
//!
//! Every request is safe to send twice ([`convert`] derives the de-duplication values from the
//! old ids), and answers that mean "already so" count as done: `create_group` 10021/10025
//! (the id is taken — by the earlier attempt), `destroy_group` 10010/10015 (no such group),
//! `add_group_member` result 2 (already a member); `delete_group_member` of a non-member,
//! `importmsg`/`sendmsg` of the same (MsgSeq, MsgRandom, MsgTimeStamp) and `send_group_msg` of
//! the same `Random` are answered as successes by Tencent itself.
//!
//! An event that names an account created by an earlier event still pending waits until that
//! account is applied, although they have different scopes: the account must exist first.

use super::convert::{self, Call};
use super::journal::Journal;
use super::SyncError;
use crate::config::{C2cMode, SyncConfig};
use crate::model::sync_event::{Direction, EventKind, SyncEvent};
use crate::store::sync::{pending, EventState, Settle, StoredEvent};
use crate::tim::api::Api;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors::ErrorClass;
use crate::tim::lane::Lane;
use crate::tim::paced::{call_paced, PacedError, Policy, Waits};
use crate::tim::wire::group::MemberResultResponse;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// Most pending events read at a time.
pub const BATCH: usize = 500;
/// Most scopes applied at once.
pub const MAX_SCOPES: usize = 32;
/// How long to wait before looking again when there is nothing new to start.
const IDLE: Duration = Duration::from_millis(50);

/// How one call ended for good.
enum Answer {
    /// Applied (or already so), with a note when something is worth keeping.
    Done(Option<String>),
    /// Refused for this item.
    Refused { code: Option<i64>, info: String },
}

/// Why a scope stopped before its last event.
enum Halt {
    /// Asked to stop.
    Stopped,
    /// Nothing will work until a person fixes the setup.
    Fatal(CallError),
}

/// What the scope tasks share.
struct Shared {
    client: Arc<TimClient>,
    lanes: HashMap<Api, Lane>,
    mode: C2cMode,
    halt: watch::Receiver<bool>,
}

/// What one scope task did.
struct ScopeDone {
    scope: String,
    settled: Vec<Settle>,
    ledger: Vec<String>,
    fatal: Option<CallError>,
}

/// Applies pending old → new events from the store at `store` until `stop` turns true (or a
/// fatal error, which is returned). Pending events are read oldest first, at most [`BATCH`] at
/// a time; the events of one scope are applied strictly in order, up to [`MAX_SCOPES`] scopes
/// at once. Each API's calls are paced by a lane at `rates` (calls per second; an API not in
/// `rates` goes at its documented limit, [`Api::default_rate`], 200/s for all of these).
///
/// Retryable failures (transient, rate-limited — the lane backs off —, expired credentials,
/// lost connections) are retried with growing delays and keep the scope waiting, so its order
/// holds. A refused item (or a record that does not convert) settles its event `Failed` with
/// the API, code and reason, and the scope goes on. Applied events settle `Done` together with
/// their [`convert::ledger_keys`], in one journal write per finished group of scopes, before
/// their scopes are taken up again. Nothing pending: it looks again every 50 ms. The store
/// must exist (the journal creates it).
///
/// `wake` (when given) is notified by the receiver as soon as it has persisted something,
/// so the loop does not wait for its next poll.
pub async fn run(
    store: PathBuf,
    journal: Journal,
    client: Arc<TimClient>,
    config: SyncConfig,
    rates: HashMap<Api, u32>,
    mut stop: watch::Receiver<bool>,
    wake: Option<Arc<Notify>>,
) -> Result<(), SyncError> {
    if client.admin() != config.relay_admin {
        tracing::warn!(admin = client.admin(), relay_admin = %config.relay_admin,
            "the client does not call as the relay's own admin: its writes' callbacks can only be told apart by the ledger");
    }
    let mut conn = Some(crate::store::open_for_reading(&store)?);
    let (shared, halt_tx) = shared_state(client, &config, &rates);
    let mut busy: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<ScopeDone> = JoinSet::new();
    let mut fatal: Option<CallError> = None;
    let mut stopped = false;
    loop {
        stopped |= *stop.borrow();
        if stopped || fatal.is_some() {
            halt_tx.send_replace(true);
            if tasks.is_empty() {
                break;
            }
        } else if busy.len() < MAX_SCOPES {
            let Some(c) = conn.take() else { break };
            let (c, events) = tokio::task::spawn_blocking(move || {
                let events = pending(&c, Direction::OldToNew, BATCH);
                (c, events)
            })
            .await?;
            conn = Some(c);
            for (scope, events) in startable(events?, &busy, MAX_SCOPES - busy.len()) {
                busy.insert(scope.clone());
                tasks.spawn(apply_scope(Arc::clone(&shared), scope, events));
            }
        }
        tokio::select! {
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let mut done = vec![joined?];
                while let Some(more) = tasks.try_join_next() {
                    done.push(more?);
                }
                let (mut settled, mut ledger) = (Vec::new(), Vec::new());
                for d in &mut done {
                    settled.append(&mut d.settled);
                    ledger.append(&mut d.ledger);
                    if let Some(e) = d.fatal.take() {
                        fatal.get_or_insert(e);
                    }
                }
                if !settled.is_empty() {
                    journal.settle(settled, ledger).await?;
                }
                for d in done {
                    busy.remove(&d.scope);
                }
            }
            _ = tokio::time::sleep(IDLE) => {}
            () = async {
                match &wake {
                    Some(w) => w.notified().await,
                    None => std::future::pending().await,
                }
            } => {}
            changed = stop.changed(), if !stopped => stopped |= changed.is_err(),
        }
    }
    fatal.map_or(Ok(()), |e| Err(SyncError::Tencent(e)))
}

/// What every scope task shares: the client, one paced lane per API at its rate (`rates`, or
/// the API's default), and the halt signal the returned sender raises.
fn shared_state(
    client: Arc<TimClient>,
    config: &SyncConfig,
    rates: &HashMap<Api, u32>,
) -> (Arc<Shared>, watch::Sender<bool>) {
    let rate = |api: &Api| {
        rates
            .get(api)
            .copied()
            .unwrap_or_else(|| api.default_rate())
    };
    let lanes = Api::ALL
        .iter()
        .map(|a| (*a, Lane::new(rate(a), 1, MAX_SCOPES)))
        .collect();
    let (halt_tx, halt) = watch::channel(false);
    let shared = Arc::new(Shared {
        client,
        lanes,
        mode: config.c2c_mode,
        halt,
    });
    (shared, halt_tx)
}

/// The accounts an event needs to exist.
fn accounts_named(event: &SyncEvent) -> Vec<&str> {
    let text = |field| event.record.get(field).and_then(|v| v.as_str());
    let fields: &[&str] = match event.kind {
        EventKind::C2cMessage => &["from", "to"],
        EventKind::GroupCreated => &["owner"],
        EventKind::MemberJoined => &["member"],
        EventKind::GroupMessage => &["from"],
        _ => &[],
    };
    fields.iter().copied().filter_map(text).collect()
}

/// The scopes to start now, each with its events in order, at most `room` of them: not those
/// already being applied, and for each scope only the events before the first one that names
/// an account whose `account_created` is still pending before it.
fn startable(
    events: Vec<StoredEvent>,
    busy: &HashSet<String>,
    room: usize,
) -> Vec<(String, Vec<StoredEvent>)> {
    let mut held: HashSet<String> = busy.clone();
    let mut new_accounts: HashSet<String> = HashSet::new();
    let mut order: Vec<(String, Vec<StoredEvent>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in events {
        let waits = accounts_named(&e.event)
            .iter()
            .any(|a| new_accounts.contains(*a));
        if e.event.kind == EventKind::AccountCreated {
            if let Some(id) = e.event.record.get("id").and_then(|v| v.as_str()) {
                new_accounts.insert(id.to_owned());
            }
        }
        if held.contains(&e.scope) {
            continue;
        }
        if waits {
            held.insert(e.scope.clone());
            continue;
        }
        match index.get(&e.scope) {
            Some(&i) => order[i].1.push(e),
            None if order.len() < room => {
                index.insert(e.scope.clone(), order.len());
                order.push((e.scope.clone(), vec![e]));
            }
            None => {
                held.insert(e.scope.clone());
            }
        }
    }
    order
}

/// Applies one scope's events in order, stopping early only when halted.
async fn apply_scope(shared: Arc<Shared>, scope: String, events: Vec<StoredEvent>) -> ScopeDone {
    let mut done = ScopeDone {
        scope,
        settled: Vec::new(),
        ledger: Vec::new(),
        fatal: None,
    };
    for e in events {
        let (state, api, code, info) = match apply_event(&shared, &e.event).await {
            Ok(Ok(note)) => {
                done.ledger.extend(convert::ledger_keys(&e.event));
                (EventState::Done, None, None, note)
            }
            Ok(Err((api, code, info))) => {
                tracing::warn!(event_id = %e.event.event_id, %api, ?code, "sync event refused: {info}");
                (
                    EventState::Failed,
                    Some(api.command().to_owned()),
                    code,
                    info,
                )
            }
            Err(Halt::Stopped) => break,
            Err(Halt::Fatal(err)) => {
                done.fatal = Some(err);
                break;
            }
        };
        let seq = e.seq;
        done.settled.push(Settle {
            seq,
            state,
            api,
            code,
            info,
        });
    }
    done
}

/// Applies one event: Ok(notes) when done, Err((api, code, reason)) when refused.
async fn apply_event(
    shared: &Shared,
    event: &SyncEvent,
) -> Result<Result<String, (Api, Option<i64>, String)>, Halt> {
    let calls = match convert::request_for(event, shared.mode) {
        Ok(calls) => calls,
        Err(e) => {
            let api = convert::api_for(event.kind, shared.mode);
            return Ok(Err((api, None, e.to_string())));
        }
    };
    let mut notes = Vec::new();
    for call in &calls {
        match call_until_answered(shared, call).await? {
            Answer::Done(note) => notes.extend(note),
            Answer::Refused { code, info } => return Ok(Err((call.api(), code, info))),
        }
    }
    Ok(Ok(notes.join("; ")))
}

/// Whether `code` from `api` means the change is already in place.
fn already_done(api: Api, code: i64) -> bool {
    matches!(
        (api, code),
        (Api::CreateGroup, 10021 | 10025) | (Api::DestroyGroup, 10010 | 10015)
    )
}

/// How the applier calls: until answered for good (a scope's order depends on every event
/// being settled), with a halt cutting any wait short; a rate-limit answer backs the lane off
/// about a second, the server's window.
const UNTIL_ANSWERED: Policy = Policy {
    max_attempts: None,
    waits: Waits::ByClass,
    stop_during_waits: true,
};

/// Sends `call` on its lane until it is answered for good.
async fn call_until_answered(shared: &Shared, call: &Call) -> Result<Answer, Halt> {
    let api = call.api();
    let lane = shared.lanes.get(&api);
    let paced = call_paced(lane, &UNTIL_ANSWERED, &shared.halt, || {
        send(&shared.client, call)
    });
    let err = match paced.await {
        Ok(answer) => return Ok(answer),
        Err(PacedError::Stopped) => return Err(Halt::Stopped),
        Err(PacedError::Call(err)) => err,
    };
    if let Some(code) = err.code().filter(|c| already_done(api, *c)) {
        return Ok(Answer::Done(Some(format!(
            "{api} answered {code}: already so"
        ))));
    }
    // Without an attempt limit only an error no retry can fix comes back: fatal, or refused.
    match err.class() {
        ErrorClass::Fatal => Err(Halt::Fatal(err)),
        _ => Ok(Answer::Refused {
            code: err.code(),
            info: err.to_string(),
        }),
    }
}

/// The answer to `add_group_member`: refused when the member was not added.
fn members_answer(resp: &MemberResultResponse) -> Answer {
    let mut notes = Vec::new();
    for m in &resp.MemberList {
        match m.Result {
            0 => {
                let info = format!("{} was not added (Result 0)", m.Member_Account);
                return Answer::Refused { code: None, info };
            }
            2 => notes.push(format!("{} was already a member", m.Member_Account)),
            3 => notes.push(format!(
                "{} is invited, waiting to confirm",
                m.Member_Account
            )),
            _ => {}
        }
    }
    Answer::Done((!notes.is_empty()).then(|| notes.join("; ")))
}

/// Sends one call once.
async fn send(client: &TimClient, call: &Call) -> Result<Answer, CallError> {
    let done = Answer::Done(None);
    Ok(match call {
        Call::AccountImport(r) => client.call(r).await.map(|_| done)?,
        Call::ImportMsg(r) => client.call(r).await.map(|_| done)?,
        Call::SendMsg(r) => client.call(r).await.map(|_| done)?,
        Call::CreateGroup(r) => client.call(r).await.map(|_| done)?,
        Call::ModifyGroupBaseInfo(r) => client.call(r).await.map(|_| done)?,
        Call::AddGroupMember(r) => members_answer(&client.call(r).await?),
        Call::DeleteGroupMember(r) => client.call(r).await.map(|_| done)?,
        Call::DestroyGroup(r) => client.call(r).await.map(|_| done)?,
        Call::SendGroupMsg(r) => client.call(r).await.map(|_| done)?,
    })
}
