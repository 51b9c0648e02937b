//! Two-way sync in the store: events (persisted before they are acknowledged), their fate,
//! the echo ledger, cursors, and the counts every front end shows.

use crate::model::sync_event::{Direction, SyncEvent};
use crate::timefmt::now_ms;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

/// Where an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Received, not yet applied (old → new) or delivered (new → old).
    Pending = 0,
    /// Applied to Tencent IM, or delivered to the old system.
    Done = 1,
    /// Refused for good (the row says by which API, code and why).
    Failed = 2,
    /// Dropped: caused by the relay itself (an echo).
    Echo = 3,
    /// Given up by an operator.
    Skipped = 4,
    /// Failed for good after its retries ran out, with its scope waiting for an operator
    /// (`[sync] on_failure = "hold"`): `retry` or `skip` releases it.
    Held = 5,
}

impl EventState {
    /// The number stored.
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// An event to persist.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Which way it goes.
    pub direction: Direction,
    /// The event.
    pub event: SyncEvent,
    /// `ingest`, `file`, `callback`, `reconcile`.
    pub origin: &'static str,
    /// Pending, or already settled as an echo.
    pub state: EventState,
    /// Why (for echoes: what identified it).
    pub info: String,
}

/// Persists events in one transaction; per event, true when it was new (false: the same
/// direction already had this `event_id`, so it is a duplicate and is not applied twice).
pub(crate) fn insert_events(
    tx: &Transaction<'_>,
    events: &[NewEvent],
) -> rusqlite::Result<Vec<bool>> {
    let mut put = tx.prepare_cached(
        "INSERT OR IGNORE INTO sync_event
           (direction, event_id, kind, scope, body, origin, received_ms, state, info, done_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, CASE WHEN ?8 = 0 THEN NULL ELSE ?7 END)",
    )?;
    let now = now_ms();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let body = serde_json::to_string(&e.event).unwrap_or_default();
        let n = put.execute(params![
            e.direction.code(),
            e.event.event_id,
            e.event.kind.name(),
            e.event.scope(),
            body,
            e.origin,
            now,
            e.state.code(),
            e.info,
        ])?;
        out.push(n == 1);
    }
    Ok(out)
}

/// A persisted event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredEvent {
    /// Its arrival order.
    pub(crate) seq: i64,
    /// The event.
    pub(crate) event: SyncEvent,
    /// Its scope.
    pub(crate) scope: String,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// When it was received.
    pub(crate) received_ms: i64,
    /// Not to be tried before this time (ms), after a retryable failure.
    pub(crate) next_ms: Option<i64>,
    /// When its first retryable failure was (its retries end `max_retry_secs` later).
    pub(crate) first_fail_ms: Option<i64>,
    /// When a group message send for it first left (its outcome is not known until read back).
    pub(crate) send_ms: Option<i64>,
}

/// The columns [`stored_events`] reads, in its order.
pub(super) const STORED_COLUMNS: &str =
    "seq, body, scope, attempts, received_ms, next_ms, first_fail_ms, send_ms";

/// Reads the rows of a statement selecting [`STORED_COLUMNS`].
pub(super) fn stored_events(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let rows = stmt.query_map(params, |r| {
        let body: String = r.get(1)?;
        Ok((
            body,
            StoredEvent {
                seq: r.get(0)?,
                event: SyncEvent {
                    event_id: String::new(),
                    kind: crate::model::sync_event::EventKind::AccountCreated,
                    at: 0,
                    record: serde_json::Value::Null,
                },
                scope: r.get(2)?,
                attempts: r.get(3)?,
                received_ms: r.get(4)?,
                next_ms: r.get(5)?,
                first_fail_ms: r.get(6)?,
                send_ms: r.get(7)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (body, mut stored) = row?;
        // Bodies are written by `insert_events` from a `SyncEvent`; one that does not read
        // back is skipped (and stays pending for a person to look at) rather than misapplied.
        if let Ok(event) = serde_json::from_str(&body) {
            stored.event = event;
            out.push(stored);
        }
    }
    Ok(out)
}

/// Pending events of `direction`, oldest first, at most `limit`.
#[cfg(test)]
pub(crate) fn pending(
    conn: &Connection,
    direction: Direction,
    limit: usize,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STORED_COLUMNS} FROM sync_event
         WHERE direction = ?1 AND state = 0 ORDER BY seq LIMIT ?2"
    ))?;
    stored_events(&mut stmt, params![direction.code(), limit as i64])
}

/// The fate of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Settle {
    /// The event.
    pub seq: i64,
    /// Done, failed, or still pending (a retry later).
    pub state: EventState,
    /// The API that refused it.
    pub api: Option<String>,
    /// Its code.
    pub code: Option<i64>,
    /// What was said.
    pub info: String,
    /// Still pending after a retryable failure: not to be tried before this time (ms). Its
    /// first failure's time is kept (set now if it is the first).
    pub retry_at_ms: Option<i64>,
}

impl Settle {
    /// The fate `state` of event `seq`, as `api` answered it (no retry time).
    pub(crate) fn new(
        seq: i64,
        state: EventState,
        api: Option<&str>,
        code: Option<i64>,
        info: String,
    ) -> Self {
        Self {
            seq,
            state,
            api: api.map(str::to_owned),
            code,
            info,
            retry_at_ms: None,
        }
    }
}

/// Records fates in one transaction; each counts one attempt. A pending fate without a retry
/// time starts the event afresh (no failure on record).
pub(crate) fn settle(tx: &Transaction<'_>, settled: &[Settle]) -> rusqlite::Result<()> {
    let mut put = tx.prepare_cached(
        "UPDATE sync_event SET state = ?2, api = ?3, code = ?4, info = ?5, attempts = attempts + 1,
             done_ms = CASE WHEN ?2 = 0 THEN NULL ELSE ?6 END,
             next_ms = ?7,
             first_fail_ms = CASE WHEN ?7 IS NOT NULL THEN COALESCE(first_fail_ms, ?6)
                                  WHEN ?2 = 0 THEN NULL ELSE first_fail_ms END
         WHERE seq = ?1",
    )?;
    let now = now_ms();
    for s in settled {
        put.execute(params![
            s.seq,
            s.state.code(),
            s.api,
            s.code,
            s.info,
            now,
            s.retry_at_ms
        ])?;
    }
    Ok(())
}

/// Remembers keys of what the relay wrote, so that the change coming back is known as an echo.
pub(crate) fn ledger_put(tx: &Transaction<'_>, keys: &[String]) -> rusqlite::Result<()> {
    let mut put =
        tx.prepare_cached("INSERT OR REPLACE INTO sync_ledger (key, at_ms) VALUES (?1, ?2)")?;
    let now = now_ms();
    for k in keys {
        put.execute(params![k, now])?;
    }
    Ok(())
}

/// Whether the relay wrote `key` at or after `since_ms`.
pub fn ledger_has(conn: &Connection, key: &str, since_ms: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sync_ledger WHERE key = ?1 AND at_ms >= ?2",
        params![key, since_ms],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// A cursor's value.
pub(crate) fn cursor(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM sync_cursor WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

/// Sets a cursor.
pub(crate) fn set_cursor(tx: &Transaction<'_>, name: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO sync_cursor (name, value) VALUES (?1, ?2)",
        params![name, value],
    )?;
    Ok(())
}

/// Whether `direction` holds an event with this `event_id` (new → old: the relay delivered
/// it to the old system, so seeing it come back is an echo).
pub(crate) fn has_event(
    conn: &Connection,
    direction: Direction,
    event_id: &str,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sync_event WHERE direction = ?1 AND event_id = ?2",
        params![direction.code(), event_id],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// Scopes with events (either way) received since `since_ms`: groups first, then the
/// others, most recently active first.
pub(crate) fn active_scopes(conn: &Connection, since_ms: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT scope FROM sync_event WHERE received_ms >= ?1 GROUP BY scope
         ORDER BY scope NOT LIKE 'group:%', MAX(received_ms) DESC",
    )?;
    let rows = stmt.query_map([since_ms], |row| row.get(0))?;
    rows.collect()
}

/// Delivery attempts made on all events so far (0 when there are none).
#[cfg(test)]
pub(crate) fn attempts_total(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(SUM(attempts), 0) FROM sync_event",
        [],
        |r| r.get(0),
    )
}

/// What the first event tried at least once says about its last attempt, if one was tried.
#[cfg(test)]
pub(crate) fn attempted_info(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT info FROM sync_event WHERE attempts > 0 ORDER BY seq LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// Forgets every event, whatever its state (cursors and the ledger stay): for tests that
/// replay a feed into the same store.
#[cfg(test)]
pub(crate) fn delete_all_events(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sync_event", [])
}

/// Receive-to-done lag (ms) of every applied event of `direction`, unsorted.
pub fn applied_lags(conn: &Connection, direction: Direction) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT done_ms - received_ms FROM sync_event WHERE direction = ?1 AND state = ?2",
    )?;
    let rows = stmt.query_map(params![direction.code(), EventState::Done.code()], |r| {
        r.get(0)
    })?;
    rows.collect()
}

/// One direction's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DirectionCounts {
    /// Events received (echoes included).
    pub received: u64,
    /// Applied (old → new) or delivered (new → old).
    pub applied: u64,
    /// Refused for good.
    pub failed: u64,
    /// Dropped as echoes of the relay's own writes.
    pub dropped_as_echo: u64,
    /// Found by reconciliation (callbacks that never came).
    pub recovered: u64,
    /// Waiting (the outbox depth for new → old).
    pub pending: u64,
    /// Skipped by an operator.
    pub skipped: u64,
    /// Failed for good with their scope waiting (`on_failure = "hold"`).
    #[serde(default)]
    pub held: u64,
    /// The scopes waiting on a held event (the first few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_scopes: Vec<String>,
    /// Receive-to-applied lag of the last 1000 applied events, milliseconds: p50.
    pub lag_p50_ms: Option<i64>,
    /// … and p99.
    pub lag_p99_ms: Option<i64>,
}

impl DirectionCounts {
    /// The figures as table cells: received, applied, failed, dropped as echo, recovered,
    /// waiting, lag p50, lag p99 (`12 ms`, or `-` when nothing was applied yet).
    pub(crate) fn cells(&self) -> [String; 8] {
        [
            self.received.to_string(),
            self.applied.to_string(),
            self.failed.to_string(),
            self.dropped_as_echo.to_string(),
            self.recovered.to_string(),
            self.pending.to_string(),
            ms_text(self.lag_p50_ms),
            ms_text(self.lag_p99_ms),
        ]
    }
}

/// Both directions' figures: old → new, then new → old.
pub(crate) fn both(conn: &Connection) -> rusqlite::Result<[DirectionCounts; 2]> {
    Ok([
        counts(conn, Direction::OldToNew)?,
        counts(conn, Direction::NewToOld)?,
    ])
}

/// Both directions' figures, once any event came either way.
pub(crate) fn any(conn: &Connection) -> rusqlite::Result<Option<[DirectionCounts; 2]>> {
    let c = both(conn)?;
    Ok((c[0].received + c[1].received > 0).then_some(c))
}

/// A lag as read: `12 ms`, or `-` when nothing was applied yet.
pub(crate) fn ms_text(v: Option<i64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v} ms"))
}

/// The figures of `direction`.
pub fn counts(conn: &Connection, direction: Direction) -> rusqlite::Result<DirectionCounts> {
    let mut c = DirectionCounts::default();
    let mut stmt = conn.prepare_cached(
        "SELECT state, COUNT(*), SUM(origin = 'reconcile') FROM sync_event WHERE direction = ?1 GROUP BY state",
    )?;
    let rows = stmt.query_map([direction.code()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, Option<u64>>(2)?,
        ))
    })?;
    for row in rows {
        let (state, n, recovered) = row?;
        c.received += n;
        c.recovered += recovered.unwrap_or(0);
        match state {
            0 => c.pending = n,
            1 => c.applied = n,
            2 => c.failed = n,
            3 => c.dropped_as_echo = n,
            5 => c.held = n,
            _ => c.skipped += n,
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT done_ms - received_ms FROM sync_event WHERE direction = ?1 AND state = 1
         ORDER BY seq DESC LIMIT 1000",
    )?;
    let mut lags: Vec<i64> = stmt
        .query_map([direction.code()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    lags.sort_unstable();
    if c.held > 0 {
        let scopes = super::sync_queue::held_scopes(conn, direction)?;
        c.held_scopes = scopes.into_iter().take(5).map(|(s, _)| s).collect();
    }
    c.lag_p50_ms = percentile(&lags, 0.50);
    c.lag_p99_ms = percentile(&lags, 0.99);
    Ok(c)
}

/// The `q` quantile of sorted values (nearest rank).
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::super::sync_queue::{failed_events, move_failed};
    use super::*;
    use crate::model::sync_event::EventKind;
    use serde_json::json;

    fn event(id: &str) -> SyncEvent {
        SyncEvent {
            event_id: id.into(),
            kind: EventKind::C2cMessage,
            at: 1,
            record: json!({"id": id, "from": "a", "to": "b", "sent_at": 1, "body": []}),
        }
    }

    fn new(id: &str, state: EventState) -> NewEvent {
        NewEvent {
            direction: Direction::OldToNew,
            event: event(id),
            origin: "ingest",
            state,
            info: String::new(),
        }
    }

    #[test]
    fn an_event_is_kept_once_and_counted_by_its_fate() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let fresh = insert_events(
            &tx,
            &[
                new("e1", EventState::Pending),
                new("e2", EventState::Pending),
                new("e1", EventState::Pending),
                new("e3", EventState::Echo),
            ],
        )
        .unwrap();
        tx.commit().unwrap();
        assert_eq!(fresh, [true, true, false, true]);
        let p = pending(&conn, Direction::OldToNew, 10).unwrap();
        assert_eq!(
            p.iter()
                .map(|e| e.event.event_id.as_str())
                .collect::<Vec<_>>(),
            ["e1", "e2"]
        );
        assert_eq!(p[0].scope, "c2c:a\u{1f}b");
        let tx = conn.transaction().unwrap();
        settle(
            &tx,
            &[
                Settle {
                    seq: p[0].seq,
                    state: EventState::Done,
                    api: None,
                    code: None,
                    info: String::new(),
                    retry_at_ms: None,
                },
                Settle {
                    seq: p[1].seq,
                    state: EventState::Failed,
                    api: Some("importmsg".into()),
                    code: Some(90001),
                    info: "bad".into(),
                    retry_at_ms: None,
                },
            ],
        )
        .unwrap();
        tx.commit().unwrap();
        let c = counts(&conn, Direction::OldToNew).unwrap();
        assert_eq!(
            (
                c.received,
                c.applied,
                c.failed,
                c.dropped_as_echo,
                c.pending
            ),
            (3, 1, 1, 1, 0)
        );
        assert!(c.lag_p50_ms.is_some());
        assert_eq!(failed_events(&conn, 10).unwrap()[0].code, Some(90001));
        assert!(has_event(&conn, Direction::OldToNew, "e2").unwrap());
        assert!(!has_event(&conn, Direction::NewToOld, "e2").unwrap());
        assert_eq!(active_scopes(&conn, 0).unwrap(), ["c2c:a\u{1f}b"]);
        assert_eq!(attempts_total(&conn).unwrap(), 2);
        assert_eq!(attempted_info(&conn).unwrap().as_deref(), Some(""));
        assert_eq!(applied_lags(&conn, Direction::OldToNew).unwrap().len(), 1);
        assert_eq!(move_failed(&conn, EventState::Pending).unwrap(), 1);
        assert_eq!(pending(&conn, Direction::OldToNew, 10).unwrap().len(), 1);
        assert_eq!(
            counts(&conn, Direction::NewToOld).unwrap(),
            DirectionCounts::default()
        );
        assert_eq!(delete_all_events(&conn).unwrap(), 3);
        assert_eq!(attempts_total(&conn).unwrap(), 0);
    }

    #[test]
    fn the_ledger_remembers_within_its_window_and_percentiles_are_nearest_rank() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        ledger_put(&tx, &["group:g1:create".into()]).unwrap();
        set_cursor(&tx, "file", "42").unwrap();
        tx.commit().unwrap();
        assert!(ledger_has(&conn, "group:g1:create", 0).unwrap());
        assert!(!ledger_has(&conn, "group:g1:create", i64::MAX).unwrap());
        assert!(!ledger_has(&conn, "other", 0).unwrap());
        assert_eq!(cursor(&conn, "file").unwrap().as_deref(), Some("42"));
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(
            (percentile(&v, 0.5), percentile(&v, 0.99)),
            (Some(50), Some(99))
        );
        assert_eq!(percentile(&[], 0.5), None);
    }
}
