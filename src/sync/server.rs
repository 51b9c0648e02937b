//! The relay's HTTP side: Tencent's callbacks (new → old), the old system's ingest endpoint
//! (old → new) and a health check. Whatever is accepted is persisted before it is answered.

use super::callback::{check_query, ok_answer, translate, CallbackAuth, Known, Translated};
use super::convert::TargetMsg;
use super::ingest::{bearer_ok, parse_events};
use super::journal::Journal;
use super::ledger::ledger_keys;
use super::locate::Locator;
use crate::model::sync_event::{Direction, SyncEvent};
use crate::store::sync::{has_event, ledger_has, EventState, NewEvent};
use crate::timefmt::now_ms;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// How long the relay's own writes are remembered as possible echoes.
pub(crate) const ECHO_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Requests refused, by reason class.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    /// Callbacks with a wrong app, a bad or missing Sign, or a stale RequestTime.
    pub(crate) callbacks: AtomicU64,
    /// Ingest requests without the bearer token.
    pub(crate) unauthorized: AtomicU64,
    /// Ingest bodies refused as malformed.
    pub(crate) malformed: AtomicU64,
    /// Callbacks answered OK without being taken in again: the same body seen before.
    pub(crate) replays: AtomicU64,
    /// Callbacks taken in (every so many, the old replay keys are forgotten).
    pub(crate) taken: AtomicU64,
}

/// How a callback is recognized when it comes again: its `Sign`, `RequestTime` and a hash of
/// its body. A replay older than the allowed clock skew is refused by its RequestTime anyway,
/// so the keys need not be kept longer than that.
fn replay_key(query: &HashMap<String, String>, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [query.get("Sign"), query.get("RequestTime")] {
        h.update(part.map_or("", String::as_str).as_bytes());
        h.update([0]);
    }
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the handlers share.
pub(crate) struct ServerState {
    /// Where events are persisted.
    pub(crate) journal: Journal,
    /// Callback authentication (`None`: no token configured, callbacks are refused).
    pub(crate) auth: Option<CallbackAuth>,
    /// The ingest bearer token (`None`: ingest is refused).
    pub(crate) ingest_token: Option<String>,
    /// The relay's own admin identifier.
    pub(crate) relay_admin: String,
    /// Tencent GroupId → the old system's group id.
    pub(crate) old_group_ids: Arc<Mutex<HashMap<String, String>>>,
    /// A read connection for echo lookups and health figures.
    pub(crate) reader: Mutex<Connection>,
    /// Finds the old ids of messages recalled on Tencent's side.
    pub(crate) locator: Mutex<Locator>,
    /// Wakes the outbox (new → old).
    pub(crate) outbox: Arc<Notify>,
    /// Wakes the applier (old → new).
    pub(crate) apply: Arc<Notify>,
    /// Refusals so far.
    pub(crate) refusals: Refusals,
}

impl Known for ServerState {
    fn old_group_id(&self, tencent: &str) -> String {
        self.old_group_ids
            .lock()
            .ok()
            .and_then(|m| m.get(tencent).cloned())
            .unwrap_or_else(|| tencent.to_string())
    }

    fn old_message_id(&self, msg: &TargetMsg, old_group: &str) -> Option<String> {
        let mut locator = self.locator.lock().ok()?;
        match locator.old_id_of(msg, old_group) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "the old id of a recalled message could not be looked up");
                None
            }
        }
    }

    fn relay_wrote(&self, key: &str) -> bool {
        let Ok(conn) = self.reader.lock() else {
            return false;
        };
        ledger_has(&conn, key, now_ms() - ECHO_WINDOW_MS).unwrap_or(false)
    }
}

impl ServerState {
    /// True when the relay itself wrote what `event` describes, recently.
    fn is_own_write(&self, event: &SyncEvent) -> bool {
        let Ok(conn) = self.reader.lock() else {
            return false;
        };
        let since = now_ms() - ECHO_WINDOW_MS;
        ledger_keys(event)
            .iter()
            .any(|k| ledger_has(&conn, k, since).unwrap_or(false))
    }

    /// True when `event_id` is one the relay delivered to the old system (coming back).
    fn was_delivered(&self, event_id: &str) -> bool {
        let Ok(conn) = self.reader.lock() else {
            return false;
        };
        has_event(&conn, Direction::NewToOld, event_id).unwrap_or(false)
    }
}

/// The router: `callback_path` (POST), `/sync/events` (POST), `/health` (GET).
pub(crate) fn router(state: Arc<ServerState>, callback_path: &str) -> Router {
    Router::new()
        .route(callback_path, post(callback))
        .route("/sync/events", post(ingest))
        .route("/health", get(health))
        .with_state(state)
}

fn fail(status: StatusCode, info: &str) -> Response {
    (
        status,
        Json(json!({"ActionStatus": "FAIL", "ErrorCode": 1, "ErrorInfo": info})),
    )
        .into_response()
}

async fn callback(
    State(st): State<Arc<ServerState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(auth) = &st.auth else {
        st.refusals.callbacks.fetch_add(1, Ordering::Relaxed);
        return fail(
            StatusCode::FORBIDDEN,
            "callback authentication is not configured (CUTOVER_CALLBACK_TOKEN)",
        );
    };
    if let Err(why) = check_query(&query, auth, crate::timefmt::now_secs()) {
        st.refusals.callbacks.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%why, "callback refused");
        return fail(StatusCode::FORBIDDEN, &why.to_string());
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        st.refusals.callbacks.fetch_add(1, Ordering::Relaxed);
        return fail(StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let command = query
        .get("CallbackCommand")
        .cloned()
        .or_else(|| value["CallbackCommand"].as_str().map(str::to_string))
        .unwrap_or_default();
    let translated = match translate(&command, &query, &value, &st.relay_admin, st.as_ref()) {
        Ok(t) => t,
        Err(why) => {
            st.refusals.callbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%why, command, "callback not understood");
            return fail(StatusCode::BAD_REQUEST, &why.to_string());
        }
    };
    let mut events = Vec::new();
    for t in translated {
        match t {
            Translated::Event(event) => {
                let (state, info) = if st.is_own_write(&event) {
                    (
                        EventState::Echo,
                        "matches a write of the relay (ledger)".to_string(),
                    )
                } else {
                    (EventState::Pending, String::new())
                };
                events.push(NewEvent {
                    direction: Direction::NewToOld,
                    event,
                    origin: "callback",
                    state,
                    info,
                });
            }
            Translated::Echo(event, why) => events.push(NewEvent {
                direction: Direction::NewToOld,
                event,
                origin: "callback",
                state: EventState::Echo,
                info: why,
            }),
            Translated::Ignored(why) => tracing::debug!(why, command, "callback ignored"),
        }
    }
    if !events.is_empty() {
        // Forget old keys now and then (a sweep per callback would cost a scan each).
        let taken = st.refusals.taken.fetch_add(1, Ordering::Relaxed);
        let skew_ms = i64::try_from(auth.max_skew_secs.saturating_mul(2000)).unwrap_or(i64::MAX);
        let forget = (taken % 1024 == 0).then(|| now_ms().saturating_sub(skew_ms));
        match st
            .journal
            .insert_once(replay_key(&query, &body), forget, events)
            .await
        {
            Ok(Some(_)) => st.outbox.notify_one(),
            Ok(None) => {
                st.refusals.replays.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    command,
                    "callback seen before: answered, not taken in again"
                );
            }
            Err(e) => {
                // Not persisted: not acknowledged (Tencent may retry, reconciliation finds it).
                tracing::error!(error = %e, "callback not persisted");
                return fail(StatusCode::SERVICE_UNAVAILABLE, "not persisted");
            }
        }
    }
    Json(ok_answer()).into_response()
}

async fn ingest(State(st): State<Arc<ServerState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = &st.ingest_token else {
        st.refusals.unauthorized.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "ingest is not configured (CUTOVER_INGEST_TOKEN)"})),
        )
            .into_response();
    };
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !bearer_ok(auth, token) {
        st.refusals.unauthorized.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "a valid Authorization: Bearer token is required"})),
        )
            .into_response();
    }
    let events = match parse_events(&body, "request body") {
        Ok(e) => e,
        Err(why) => {
            st.refusals.malformed.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": why.to_string()})),
            )
                .into_response();
        }
    };
    let new: Vec<NewEvent> = events
        .into_iter()
        .map(|event| {
            let echo = st.was_delivered(&event.event_id);
            NewEvent {
                direction: Direction::OldToNew,
                origin: "ingest",
                state: if echo {
                    EventState::Echo
                } else {
                    EventState::Pending
                },
                info: if echo {
                    "an event the relay delivered to the old system, coming back".into()
                } else {
                    String::new()
                },
                event,
            }
        })
        .collect();
    let echoes = new.iter().filter(|e| e.state == EventState::Echo).count();
    match st.journal.insert(new).await {
        Ok(fresh) => {
            st.apply.notify_one();
            let accepted = fresh.iter().filter(|f| **f).count();
            Json(json!({"accepted": accepted, "duplicates": fresh.len() - accepted, "echoes": echoes}))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "ingest not persisted");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "not persisted; send again"})),
            )
                .into_response()
        }
    }
}

async fn health(State(st): State<Arc<ServerState>>) -> Response {
    let figures = st
        .reader
        .lock()
        .ok()
        .and_then(|conn| crate::store::sync::both(&conn).ok());
    match figures {
        Some([a, b]) => Json(json!({"status": "ok", "old_to_new": a, "new_to_old": b,
            "refused_callbacks": st.refusals.callbacks.load(Ordering::Relaxed),
            "replayed_callbacks": st.refusals.replays.load(Ordering::Relaxed),
            "refused_ingest": st.refusals.unauthorized.load(Ordering::Relaxed)
                + st.refusals.malformed.load(Ordering::Relaxed)}))
        .into_response(),
        None => fail(StatusCode::SERVICE_UNAVAILABLE, "the store cannot be read"),
    }
}
