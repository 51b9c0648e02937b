//! Applying old → new events to Tencent IM: one scope (an account, a conversation, a group)
//! strictly in order, different scopes side by side and picked fairly (at most [`PER_SCOPE`]
//! events from the head of each scope are read, so one scope with a long queue cannot hide the
//! others), every call paced by its API's lane.
//!
//! A retryable failure is tried again a few times at once; then the event backs off (0.5 s
//! doubling to 30 s) and its scope waits while every other scope goes on. Once an event has
//! kept failing for `[sync] max_retry_secs` it fails for good: held with its scope waiting
//! (`on_failure = "hold"`) or failed with its scope going on (`"skip"`). A refusal of the item
//! (a Tencent item error, an HTTP 4xx but 401/403/408/429, a record that does not convert) fails that event only;
//! only errors of the setup (key, app, admin) stop the applier.
//!
//! The ledger keys of a write (what its callback will come back with) are committed before
//! the request leaves, so an echo is known whenever it arrives. A group message send is marked
//! in the store before it leaves; a later attempt reads the group back first (by sender and
//! `Random`) and sends only when the message is not there, however long the relay was down.
//!
//! Every request is safe to send twice ([`convert`] derives the de-duplication values from the
//! old ids), and answers that mean "already so" count as done ([`super::answer`]);
//! `delete_group_member` of a non-member, `importmsg`/`sendmsg` of the same (MsgSeq,
//! MsgRandom, MsgTimeStamp) and `send_group_msg` of the same `Random` are answered as
//! successes by Tencent itself, and a repeated deletion or recall answers its repeat code
//! (§4.7b), so one whose outcome is unknown is simply sent again.
//!
//! A recall names the message by the old id; the applier finds it where the store says
//! ([`super::locate`]) and remembers, for every message it writes, what Tencent answered it
//! is known by (`MsgKey`, `MsgSeq`), settled with the event.
//!
//! An event that names an account created by an earlier event still pending waits until that
//! account is applied, although they have different scopes: the account must exist first.

use super::answer::{already_done, send, sent_message, Answer};
use super::convert::{self, Call, Record};
use super::journal::Journal;
use super::locate::{Located, Locator};
use super::readback::{self, ReadBackError};
use super::retry::RetryPolicy;
use super::SyncError;
use crate::config::{C2cMode, SyncConfig};
use crate::model::console::DropCustom;
use crate::model::sync_event::{Direction, EventKind, SyncEvent};
use crate::store::sync::{EventState, Settle, StoredEvent};
use crate::store::sync_msgs::SentMessage;
use crate::store::sync_queue::pick;
use crate::tim::api::Api;
use crate::tim::client::{refuses_one_request, CallError, TimClient};
use crate::tim::errors::ErrorClass;
use crate::tim::lane::Lane;
use crate::tim::paced::{call_paced, PacedError, Policy, Waits};
use crate::timefmt::now_ms;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// Most pending events read from the head of one scope.
pub(crate) const PER_SCOPE: usize = 64;
/// Most scopes applied at once.
pub(crate) const MAX_SCOPES: usize = 32;
/// Most pending events read at a time: room for the scopes being applied and as many again,
/// each with a full [`PER_SCOPE`].
pub(crate) const WINDOW: usize = 2 * MAX_SCOPES * PER_SCOPE;
/// Attempts of one call before its event backs off and lets the scope wait.
const ATTEMPTS_AT_ONCE: u32 = 3;
/// How long to wait before looking again when there is nothing new to start.
const IDLE: Duration = Duration::from_millis(50);

/// How one event ended this time.
enum Outcome {
    /// Applied, with notes and the messages it wrote.
    Done(String, Vec<SentMessage>),
    /// Refused for good by `api`.
    Refused(Api, Option<i64>, String),
    /// Still failing on `api`: back off, or fail once the retry time is up.
    Retry(Api, Option<i64>, String),
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
    journal: Journal,
    retry: RetryPolicy,
    /// Finds the messages recalls name.
    locator: Mutex<Locator>,
    /// Custom keys left out of every request.
    dropped: DropCustom,
}

/// What one scope task did.
struct ScopeDone {
    scope: String,
    settled: Vec<Settle>,
    /// The messages its events wrote, settled with them.
    sent: Vec<SentMessage>,
    fatal: Option<CallError>,
}

/// Applies pending old → new events from the store at `store` until `stop` turns true (or a
/// fatal error, which is returned). Pending events are picked fairly across scopes (see the
/// module); the events of one scope are applied strictly in order, up to [`MAX_SCOPES`] scopes
/// at once. Each API's calls are paced by a lane at `rates` (calls per second; an API not in
/// `rates` goes at its documented limit, [`Api::default_rate`], 200/s for all of these).
///
/// Fates are settled in one journal write per finished group of scopes, before their scopes
/// are taken up again. Nothing pending: it looks again every 50 ms. The store must exist (the
/// journal creates it).
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
    let locator = Locator::new(store.clone());
    // The custom keys the import left out (`[import] drop_custom`) stay out of what the old
    // system's events write too: Tencent would refuse them the same way.
    let dropped = match conn.as_ref() {
        Some(c) => crate::store::custom_keys::dropped(c)?,
        None => DropCustom::default(),
    };
    let (shared, halt_tx) =
        shared_state(client, journal.clone(), &config, &rates, (locator, dropped));
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
                let events = pick(&c, Direction::OldToNew, PER_SCOPE, WINDOW);
                (c, events)
            })
            .await?;
            conn = Some(c);
            let room = MAX_SCOPES - busy.len();
            for (scope, events) in startable(events?, &busy, room, now_ms()) {
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
                let (mut settled, mut sent) = (Vec::new(), Vec::new());
                for d in &mut done {
                    settled.append(&mut d.settled);
                    sent.append(&mut d.sent);
                    if let Some(e) = d.fatal.take() {
                        fatal.get_or_insert(e);
                    }
                }
                if !settled.is_empty() {
                    journal.settle_sent(settled, sent).await?;
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

/// What every scope task shares: the client, the journal, one paced lane per API at its rate
/// (`rates`, or the API's default), the retry limit, the locator of recalled messages, and
/// the halt signal the returned sender raises.
fn shared_state(
    client: Arc<TimClient>,
    journal: Journal,
    config: &SyncConfig,
    rates: &HashMap<Api, u32>,
    (locator, dropped): (Locator, DropCustom),
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
        journal,
        retry: RetryPolicy::of(config),
        locator: Mutex::new(locator),
        dropped,
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
        EventKind::FriendDeleted => &["owner", "friend"],
        EventKind::C2cMessageRecalled => &["from", "to"],
        _ => &[],
    };
    fields.iter().copied().filter_map(text).collect()
}

/// The scopes to start now, each with its events in order, at most `room` of them: not those
/// already being applied, nor those whose first event backs off until after `now_ms`, and for
/// each scope only the events before the first one that names an account whose
/// `account_created` is still pending before it.
fn startable(
    events: Vec<StoredEvent>,
    busy: &HashSet<String>,
    room: usize,
    now_ms: i64,
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
        // The events come oldest first: a scope's first one seen is its head.
        let backs_off = !index.contains_key(&e.scope) && e.next_ms.is_some_and(|t| t > now_ms);
        if waits || backs_off {
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

/// Applies one scope's events in order, stopping early when halted, at an event that backs
/// off, and at an event held.
async fn apply_scope(shared: Arc<Shared>, scope: String, events: Vec<StoredEvent>) -> ScopeDone {
    let mut done = ScopeDone {
        scope,
        settled: Vec::new(),
        sent: Vec::new(),
        fatal: None,
    };
    for e in events {
        let (settle, go_on) = match apply_event(&shared, &e).await {
            Ok(Outcome::Done(note, mut sent)) => {
                done.sent.append(&mut sent);
                (Settle::new(e.seq, EventState::Done, None, None, note), true)
            }
            Ok(Outcome::Refused(api, code, info)) => {
                tracing::warn!(event_id = %e.event.event_id, %api, ?code, "sync event refused: {info}");
                (
                    Settle::new(e.seq, EventState::Failed, Some(api.command()), code, info),
                    true,
                )
            }
            Ok(Outcome::Retry(api, code, info)) => {
                let why = (api.command().to_owned(), code, info);
                let (s, go_on) =
                    shared
                        .retry
                        .after_failure(e.seq, (e.attempts, e.first_fail_ms), now_ms(), why);
                if s.state != EventState::Pending {
                    tracing::warn!(event_id = %e.event.event_id, scope = %e.scope, state = ?s.state,
                        "sync event failed for good: {}", s.info);
                }
                (s, go_on)
            }
            Err(Halt::Stopped) => break,
            Err(Halt::Fatal(err)) => {
                done.fatal = Some(err);
                break;
            }
        };
        done.settled.push(settle);
        if !go_on {
            break;
        }
    }
    done
}

/// Applies one event: commits its intent (ledger keys, a group message send) before any
/// call leaves, and for a send that may have left before, reads the group back first.
async fn apply_event(shared: &Shared, stored: &StoredEvent) -> Result<Outcome, Halt> {
    let event = &stored.event;
    let calls = match requests(shared, event) {
        Ok(calls) => calls,
        Err(outcome) => return Ok(outcome),
    };
    let api = convert::api_for(event.kind, shared.mode);
    let intent = |ledger: Vec<String>, send| async move {
        shared.journal.intent(ledger, send).await.map_err(|e| {
            // Without its intent the write would not be known as the relay's: not sent now.
            (api, None, format!("the intent could not be committed: {e}"))
        })
    };
    // One commit before anything leaves: the ledger keys, and for a group message the mark
    // of its send (its first send's time is kept: a read-back looks from there).
    let sends = calls.iter().any(|c| matches!(c, Call::SendGroupMsg(_)));
    let mark = sends.then(|| (stored.seq, now_ms()));
    if let Err((api, code, info)) = intent(super::ledger::call_keys(&calls), mark).await {
        return Ok(Outcome::Retry(api, code, info));
    }
    let (mut notes, mut sent) = (Vec::new(), Vec::new());
    for call in &calls {
        if let Call::SendGroupMsg(msg) = call {
            if let Some(sent_ms) = stored.send_ms {
                let lane = shared.lanes.get(&Api::GroupMsgGetSimple);
                let found = readback::find_sent(&shared.client, lane, &shared.halt, msg, sent_ms);
                match found.await {
                    Ok(Some(seq)) => {
                        notes.push("found delivered by an earlier attempt (read back)".into());
                        sent.extend(sent_message(event, call, Some(seq.to_string())));
                        continue;
                    }
                    Ok(None) => {}
                    Err(ReadBackError::Stopped) => return Err(Halt::Stopped),
                    Err(ReadBackError::Fatal(e)) => return Err(Halt::Fatal(e)),
                    Err(ReadBackError::Unknown(code, info)) => {
                        return Ok(Outcome::Retry(Api::GroupMsgGetSimple, code, info))
                    }
                }
            }
        }
        match call_once(shared, call).await? {
            Answer::Done(note, answered) => {
                notes.extend(note);
                sent.extend(sent_message(event, call, answered));
            }
            Answer::Refused { code, info } => return Ok(Outcome::Refused(call.api(), code, info)),
            Answer::Retry { code, info } => return Ok(Outcome::Retry(call.api(), code, info)),
        }
    }
    Ok(Outcome::Done(notes.join("; "), sent))
}

/// The requests of `event`; a recall's with the message found where the store says it is.
/// An event that cannot be applied (now) is the outcome it ends with: refused for a bad
/// record or a message that cannot be named, done for a message never brought onto the
/// target, retried for a message not known yet (its own event may still be on its way).
fn requests(shared: &Shared, event: &SyncEvent) -> Result<Vec<Call>, Outcome> {
    let api = convert::api_for(event.kind, shared.mode);
    let refused = |e: convert::ConvertError| Outcome::Refused(api, None, e.to_string());
    let found = match convert::validate(event).map_err(refused)? {
        Record::Recalled(named) => {
            let located = match shared.locator.lock() {
                Ok(mut locator) => locator.target_of(&named),
                Err(_) => Err("the message locator is poisoned".into()),
            };
            match located {
                Ok(Located::Found(target)) => Some(target),
                Ok(Located::NotThere(why)) => return Err(Outcome::Done(why, Vec::new())),
                Ok(Located::Unusable(why)) => return Err(Outcome::Refused(api, None, why)),
                Ok(Located::Unknown) => {
                    let why = "the message is not known: neither written by the relay nor \
                        imported (yet); tried again until [sync] max_retry_secs";
                    return Err(Outcome::Retry(api, None, why.into()));
                }
                Err(e) => return Err(Outcome::Retry(api, None, e)),
            }
        }
        _ => None,
    };
    convert::calls(event, shared.mode, found.as_ref(), &shared.dropped).map_err(refused)
}

/// How the applier calls: a few attempts at once, with a halt cutting any wait short; a
/// rate-limit answer backs the lane off about a second, the server's window.
const A_FEW_TIMES: Policy = Policy {
    max_attempts: Some(ATTEMPTS_AT_ONCE),
    waits: Waits::ByClass,
    stop_during_waits: true,
};

/// A group message is sent once per attempt: every later attempt reads the group back first.
const ONCE: Policy = Policy {
    max_attempts: Some(1),
    waits: Waits::ByClass,
    stop_during_waits: true,
};

/// Sends `call` on its lane: done, refused, or still failing.
async fn call_once(shared: &Shared, call: &Call) -> Result<Answer, Halt> {
    let api = call.api();
    let lane = shared.lanes.get(&api);
    let policy = match call {
        Call::SendGroupMsg(_) => &ONCE,
        _ => &A_FEW_TIMES,
    };
    let paced = call_paced(lane, policy, &shared.halt, || send(&shared.client, call));
    let err = match paced.await {
        Ok(answer) => return Ok(answer),
        Err(PacedError::Stopped) => return Err(Halt::Stopped),
        Err(PacedError::Call(err)) => err,
    };
    if let Some(code) = err.code().filter(|c| already_done(api, *c)) {
        let note = format!("{api} answered {code}: already so");
        return Ok(Answer::Done(Some(note), None));
    }
    let (code, info) = (err.code(), err.to_string());
    match err {
        // A refusal of this request by the HTTP layer: this event only.
        CallError::Http { status, .. } if refuses_one_request(status) => Ok(Answer::Refused {
            code: Some(i64::from(status)),
            info,
        }),
        _ if err.class() == ErrorClass::Fatal => Err(Halt::Fatal(err)),
        _ if err.class().is_retryable() => Ok(Answer::Retry { code, info }),
        _ => Ok(Answer::Refused { code, info }),
    }
}
