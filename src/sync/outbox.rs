//! The outbox: new → old events (callbacks, reconciliation finds) delivered to the old system,
//! at least once and in order per scope.
//!
//! Pending events are picked fairly across scopes (at most [`PER_SCOPE`] from the head of
//! each), oldest first. Events of one scope (a conversation, a group) go strictly one after
//! another; different scopes go concurrently. A delivered event is settled `Done` through the
//! journal; one that fails stays pending with its attempt counted and the reason, and its scope
//! waits (0.5 s doubling to 30 s, jittered, kept in the store) before it is tried again —
//! later events of that scope are not delivered before it — while other scopes go on. After
//! `[sync] max_retry_secs` of failures it is held (its scope waits for an operator) or failed
//! (its scope goes on), as `on_failure` says. A 4xx answer other than 401, 403, 408 and 429 refuses
//! that event at once (failed; its scope goes on). A round in which the sink answered nothing
//! (down, or unreachable) pauses the whole outbox too (growing to 5 s), so a dead sink is
//! probed, not hammered scope by scope.
//!
//! Sinks: a webhook (`POST`, the event as JSON, `Idempotency-Key: <event_id>`, a bearer token
//! from `CUTOVER_WEBHOOK_TOKEN` when set, any 2xx is success) or a JSON Lines file (one line
//! per event, `fsync`ed before the events count as delivered). Both are at-least-once: a crash
//! between delivery and settling delivers again, and the `event_id` lets the old system drop
//! the duplicate.

use crate::config::OldSink;
use crate::model::sync_event::{Direction, SyncEvent};
use crate::store::open_for_reading;
use crate::store::sync::{EventState, Settle, StoredEvent};
use crate::store::sync_queue::pick;
use crate::sync::journal::Journal;
use crate::sync::retry::RetryPolicy;
use crate::sync::SyncError;
use crate::tim::client::refuses_one_request;
use crate::tim::lane::retry_delay;
use crate::timefmt::now_ms;
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The environment variable holding the webhook's bearer token (never logged).
pub(crate) const WEBHOOK_TOKEN_ENV: &str = "CUTOVER_WEBHOOK_TOKEN";

/// Most events delivered per round.
const BATCH: usize = 500;
/// Most pending events read from the head of one scope per round.
pub(crate) const PER_SCOPE: usize = 64;
/// Pending events read per round: more than a batch, so that scopes waiting for a retry do
/// not hide the other scopes' events behind their own.
const WINDOW: usize = 8 * BATCH;
/// Scopes delivered at once.
const PARALLEL: usize = 32;
/// The pause when nothing is pending.
const IDLE: Duration = Duration::from_millis(50);
/// The longest pause when everything pending waits for a retry.
const MAX_PAUSE: Duration = Duration::from_millis(500);
/// The longest pause of the whole outbox while its sink answers nothing.
const MAX_SINK_PAUSE: Duration = Duration::from_secs(5);
/// The webhook's timeout per request.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Delivers pending new → old events from the store at `store` to `sink` until `stop` turns
/// true (or its sender is dropped), retrying under `retry`; returns an error only when the
/// store or the journal cannot be used.
///
/// `wake` (when given) is notified by the receiver as soon as it has persisted something,
/// so the loop does not wait for its next poll.
pub(crate) async fn run(
    store: PathBuf,
    journal: Journal,
    sink: OldSink,
    retry: RetryPolicy,
    mut stop: watch::Receiver<bool>,
    wake: Option<Arc<Notify>>,
) -> Result<(), SyncError> {
    let sink = match sink {
        OldSink::Webhook(url) => {
            let token = std::env::var(WEBHOOK_TOKEN_ENV)
                .ok()
                .filter(|t| !t.is_empty());
            Sink::Webhook(Webhook::new(url, token)?)
        }
        OldSink::Jsonl(path) => Sink::Jsonl(path),
    };
    let mut conn = open_for_reading(&store)?;
    // Rounds in a row in which the sink answered nothing: it is down, not one event refused.
    let mut sink_down: u32 = 0;
    while !stopped(&stop) {
        if sink_down > 0 {
            // Probe again after a pause rather than walk every scope against a dead sink.
            sleep_or_stop(&mut stop, retry_delay(sink_down - 1).min(MAX_SINK_PAUSE)).await;
        }
        let (c, read) = tokio::task::spawn_blocking(move || {
            let read = pick(&conn, Direction::NewToOld, PER_SCOPE, WINDOW);
            (conn, read)
        })
        .await?;
        conn = c;
        let read = read?;
        let anything = !read.is_empty();
        let (batch, next_ms) = due(read, now_ms());
        if batch.is_empty() {
            let pause = match next_ms {
                Some(at) if anything => {
                    Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
                }
                _ => IDLE,
            };
            let pause = pause.clamp(IDLE, MAX_PAUSE);
            match &wake {
                // Nothing waits on a backoff: new events are worth a look at once.
                Some(w) if !anything => {
                    tokio::select! {
                        () = sleep_or_stop(&mut stop, pause) => {}
                        () = w.notified() => {}
                    }
                }
                _ => sleep_or_stop(&mut stop, pause).await,
            }
            continue;
        }
        let tried: HashMap<i64, (u32, Option<i64>)> = batch
            .iter()
            .map(|e| (e.seq, (e.attempts, e.first_fail_ms)))
            .collect();
        let outcomes = match &sink {
            Sink::Webhook(w) => deliver_webhook(w, batch, &stop).await,
            Sink::Jsonl(path) => deliver_jsonl(path, batch).await,
        };
        let now = now_ms();
        let answered = outcomes
            .iter()
            .any(|(_, s)| s.iter().any(|s| s.state != EventState::Pending));
        sink_down = if answered {
            0
        } else {
            sink_down.saturating_add(1)
        };
        let mut settled = Vec::new();
        for (scope, settles) in outcomes {
            for s in settles {
                if s.state != EventState::Pending {
                    settled.push(s);
                    continue;
                }
                let before = tried.get(&s.seq).copied().unwrap_or((0, None));
                let why = (s.api.unwrap_or_default(), s.code, s.info);
                let (s, _) = retry.after_failure(s.seq, before, now, why);
                tracing::warn!(scope, seq = s.seq, attempts = before.0 + 1, state = ?s.state,
                    why = %s.info, "new → old delivery failed");
                settled.push(s);
            }
        }
        journal.settle(settled).await?;
    }
    Ok(())
}

/// The events to deliver now, at most [`BATCH`], oldest first: those of the scopes whose
/// first event is not backing off until after `now_ms`; and the earliest time one that is
/// may go.
fn due(read: Vec<StoredEvent>, now_ms: i64) -> (Vec<StoredEvent>, Option<i64>) {
    let mut waiting: HashMap<String, bool> = HashMap::new();
    let mut next: Option<i64> = None;
    let mut batch = Vec::new();
    for e in read {
        // The events come oldest first: a scope's first one seen is its head.
        let waits = *waiting.entry(e.scope.clone()).or_insert_with(|| {
            let at = e.next_ms.filter(|t| *t > now_ms);
            if let Some(at) = at {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            at.is_some()
        });
        if !waits && batch.len() < BATCH {
            batch.push(e);
        }
    }
    (batch, next)
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

async fn sleep_or_stop(stop: &mut watch::Receiver<bool>, pause: Duration) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        _ = stop.changed() => {}
    }
}

enum Sink {
    Webhook(Webhook),
    Jsonl(PathBuf),
}

/// Events grouped by scope, each group in the order read (oldest first).
fn by_scope(batch: Vec<StoredEvent>) -> Vec<(String, Vec<StoredEvent>)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<StoredEvent>)> = Vec::new();
    for e in batch {
        let i = *index.entry(e.scope.clone()).or_insert_with(|| {
            groups.push((e.scope.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(e);
    }
    groups
}

/// The old system's webhook.
struct Webhook {
    http: reqwest::Client,
    url: String,
    /// Sent as `Authorization: Bearer …`; never logged.
    token: Option<String>,
}

/// Why a request was not accepted.
struct Refused {
    status: Option<u16>,
    why: String,
}

impl Webhook {
    fn new(url: String, token: Option<String>) -> Result<Self, SyncError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, url, token })
    }

    async fn post(&self, event: &SyncEvent) -> Result<(), Refused> {
        let body = serde_json::to_vec(event).map_err(|e| Refused {
            status: None,
            why: format!("the event cannot be written as JSON: {e}"),
        })?;
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", header_safe(&event.event_id))
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                Err(Refused {
                    status: Some(status.as_u16()),
                    why: format!("the webhook answered HTTP {status}: {}", text.trim()),
                })
            }
            Err(e) => Err(Refused {
                status: None,
                why: error_chain(&e.without_url()),
            }),
        }
    }
}

/// An error with its causes (`error sending request: connection refused`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `id` as a header value: visible ASCII kept, every other byte (and `%`) as `%XX`.
fn header_safe(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Posts each scope's events in order, scopes concurrently; a scope stops at its first
/// failure (and when `stop` turns true). Returns, per scope, the fates of what was tried.
async fn deliver_webhook(
    w: &Webhook,
    batch: Vec<StoredEvent>,
    stop: &watch::Receiver<bool>,
) -> Vec<(String, Vec<Settle>)> {
    stream::iter(by_scope(batch))
        .map(|(scope, events)| async move {
            let mut settles = Vec::with_capacity(events.len());
            for e in events {
                if stopped(stop) {
                    break;
                }
                match w.post(&e.event).await {
                    Ok(()) => settles.push(Settle::new(
                        e.seq,
                        EventState::Done,
                        Some("webhook"),
                        None,
                        String::new(),
                    )),
                    // A refusal of this event (not a timeout, not a rate limit): it alone fails.
                    Err(r) if r.status.is_some_and(refuses_one_request) => {
                        let code = r.status.map(i64::from);
                        settles.push(Settle::new(
                            e.seq,
                            EventState::Failed,
                            Some("webhook"),
                            code,
                            r.why,
                        ));
                    }
                    Err(r) => {
                        let code = r.status.map(i64::from);
                        settles.push(Settle::new(
                            e.seq,
                            EventState::Pending,
                            Some("webhook"),
                            code,
                            r.why,
                        ));
                        break;
                    }
                }
            }
            (scope, settles)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await
}

/// Appends the batch to the file (in store order, so each scope's order holds) and syncs it
/// to disk; on failure every event stays pending and a partly written batch is cut off again.
async fn deliver_jsonl(path: &Path, batch: Vec<StoredEvent>) -> Vec<(String, Vec<Settle>)> {
    let mut lines = Vec::new();
    for e in &batch {
        // A `SyncEvent` is strings, numbers and a JSON value: writing it cannot fail.
        if serde_json::to_writer(&mut lines, &e.event).is_ok() {
            lines.push(b'\n');
        }
    }
    let file = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || append_synced(&file, &lines))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    let why = written
        .err()
        .map(|e| format!("{}: {}", path.display(), error_chain(&e)));
    by_scope(batch)
        .into_iter()
        .map(|(scope, events)| {
            let settles = events
                .iter()
                .map(|e| match &why {
                    None => {
                        Settle::new(e.seq, EventState::Done, Some("jsonl"), None, String::new())
                    }
                    Some(why) => {
                        Settle::new(e.seq, EventState::Pending, Some("jsonl"), None, why.clone())
                    }
                })
                .collect();
            (scope, settles)
        })
        .collect()
}

fn append_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let created = !path.exists();
    let mut f = crate::private::append(path)?;
    let before = f.metadata()?.len();
    let result = f.write_all(bytes).and_then(|()| f.sync_data());
    if result.is_err() {
        // No half line may stay behind for the reader; the batch is written again later.
        let _ = f.set_len(before);
        return result;
    }
    if created {
        // The new file's directory entry too (best effort: not every system can sync one).
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sync_event::EventKind;
    use crate::store::sync::{counts, NewEvent};
    use axum::http::{HeaderMap, StatusCode};
    use serde_json::json;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    /// 15 events over three scopes (one conversation, two groups), interleaved.
    fn events() -> Vec<SyncEvent> {
        (0..15)
            .map(|i| {
                let (kind, record) = match i % 3 {
                    0 => (
                        EventKind::C2cMessage,
                        json!({"id": i, "from": "b", "to": "a"}),
                    ),
                    1 => (EventKind::GroupMessage, json!({"id": i, "group": "g1"})),
                    _ => (EventKind::MemberLeft, json!({"group": "g2", "member": i})),
                };
                SyncEvent {
                    event_id: format!("tim-{i}"),
                    kind,
                    at: i,
                    record,
                }
            })
            .collect()
    }

    async fn start(dir: &Path) -> (PathBuf, Journal, crate::sync::journal::JournalThread) {
        let store = dir.join("store.db");
        let (journal, thread) = Journal::open(&store).unwrap();
        let new = events().into_iter().map(|event| NewEvent {
            direction: Direction::NewToOld,
            event,
            origin: "callback",
            state: EventState::Pending,
            info: String::new(),
        });
        journal.insert(new.collect()).await.unwrap();
        (store, journal, thread)
    }

    /// Runs the outbox until nothing is pending (or 30 s), then stops it.
    async fn deliver_all(store: &Path, journal: &Journal, sink: OldSink, until_attempts: i64) {
        let (stop, rx) = watch::channel(false);
        let retry = RetryPolicy::default();
        let task = tokio::spawn(run(
            store.to_path_buf(),
            journal.clone(),
            sink,
            retry,
            rx,
            None,
        ));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let conn = open_for_reading(store).unwrap();
            let c = counts(&conn, Direction::NewToOld).unwrap();
            let attempts = crate::store::sync::attempts_total(&conn).unwrap();
            if c.pending == 0 && c.applied == 15 && attempts >= until_attempts {
                break;
            }
            assert!(Instant::now() < deadline, "not delivered: {c:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
    }

    fn per_scope(events: &[SyncEvent]) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for e in events {
            out.entry(e.scope()).or_default().push(e.event_id.clone());
        }
        out
    }

    #[derive(Default)]
    struct Hook {
        requests: usize,
        accepted: Vec<SyncEvent>,
        wrong_headers: usize,
    }

    async fn hook(
        axum::extract::State(state): axum::extract::State<Arc<Mutex<Hook>>>,
        headers: HeaderMap,
        body: String,
    ) -> StatusCode {
        let mut s = state.lock().unwrap();
        s.requests += 1;
        if s.requests <= 2 {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        let event: SyncEvent = serde_json::from_str(&body).unwrap();
        let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let json = headers.get("content-type").and_then(|v| v.to_str().ok());
        if key != Some(&event.event_id) || json != Some("application/json") {
            s.wrong_headers += 1;
        }
        s.accepted.push(event);
        StatusCode::OK
    }

    #[tokio::test]
    async fn the_webhook_gets_every_event_in_scope_order_despite_failures() {
        let dir = tempfile::tempdir().unwrap();
        let (store, journal, thread) = start(dir.path()).await;
        let state = Arc::new(Mutex::new(Hook::default()));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        // 15 deliveries plus the 2 refused attempts, each counted.
        deliver_all(&store, &journal, OldSink::Webhook(url), 17).await;
        server.abort();
        let s = state.lock().unwrap();
        assert_eq!(s.requests, 17);
        assert_eq!(s.wrong_headers, 0);
        assert_eq!(per_scope(&s.accepted), per_scope(&events()));
        drop(journal);
        thread.join();
    }

    #[tokio::test]
    async fn the_jsonl_file_gets_every_event_once_written_and_waits_for_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (store, journal, thread) = start(dir.path()).await;
        let out = dir.path().join("later").join("events.jsonl");
        let (stop, rx) = watch::channel(false);
        let sink = OldSink::Jsonl(out.clone());
        let retry = RetryPolicy::default();
        let task = tokio::spawn(run(store.clone(), journal.clone(), sink, retry, rx, None));
        // The directory does not exist yet: the events stay pending, their attempts counted.
        loop {
            let conn = open_for_reading(&store).unwrap();
            let info = crate::store::sync::attempted_info(&conn).ok().flatten();
            if let Some(info) = info {
                assert!(info.contains("events.jsonl"), "{info}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            counts(&open_for_reading(&store).unwrap(), Direction::NewToOld)
                .unwrap()
                .pending,
            15
        );
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
        std::fs::create_dir(out.parent().unwrap()).unwrap();
        deliver_all(&store, &journal, OldSink::Jsonl(out.clone()), 0).await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the sink holds message content");
        }
        let text = std::fs::read_to_string(&out).unwrap();
        let written: Vec<SyncEvent> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Each scope retries on its own backoff: the order holds within a scope.
        assert_eq!(written.len(), 15);
        assert_eq!(per_scope(&written), per_scope(&events()));
        drop(journal);
        thread.join();
    }

    #[test]
    fn ids_are_header_safe() {
        assert_eq!(
            header_safe("tim-gmsg-@TGS#2J4SZEAEL-1"),
            "tim-gmsg-@TGS#2J4SZEAEL-1"
        );
        assert_eq!(header_safe("a b%é"), "a%20b%25%C3%A9");
    }
}
