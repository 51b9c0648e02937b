//! The sync queues: picking pending events fairly across scopes, the events that failed for
//! good (failed, or held with their scope waiting), what an operator does with them, the
//! group message sends whose outcome is not known yet, and the callbacks already taken in.

use super::sync::{stored_events, EventState, StoredEvent, STORED_COLUMNS};
use crate::model::sync_event::Direction;
use crate::timefmt::now_ms;
use rusqlite::{params, Connection, Transaction};
use serde::Serialize;

/// Pending events of `direction`, fairly across scopes: at most `per_scope` from the head of
/// each scope (so no scope can fill the window), at most `limit` in all, oldest first. Scopes
/// with a held event are left out: they wait for an operator. Events backing off after a
/// retryable failure are read too (their `next_ms` says when they may go), so that a caller
/// still sees what they hold back.
pub(crate) fn pick(
    conn: &Connection,
    direction: Direction,
    per_scope: usize,
    limit: usize,
) -> rusqlite::Result<Vec<StoredEvent>> {
    // The ranking reads only seq and scope; bodies are read for the rows picked.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STORED_COLUMNS} FROM sync_event WHERE seq IN (
             SELECT seq FROM (
                 SELECT seq, ROW_NUMBER() OVER (PARTITION BY scope ORDER BY seq) AS rank
                 FROM sync_event WHERE direction = ?1 AND state = 0
                   AND scope NOT IN
                       (SELECT scope FROM sync_event WHERE direction = ?1 AND state = 5))
             WHERE rank <= ?2 ORDER BY seq LIMIT ?3)
         ORDER BY seq"
    ))?;
    stored_events(
        &mut stmt,
        params![direction.code(), per_scope as i64, limit as i64],
    )
}

/// The scopes of `direction` waiting on a held event, with how many events each holds back
/// (the held one included), most first.
pub fn held_scopes(
    conn: &Connection,
    direction: Direction,
) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT scope, COUNT(*) FROM sync_event
         WHERE direction = ?1 AND state IN (0, 5)
           AND scope IN (SELECT scope FROM sync_event WHERE direction = ?1 AND state = 5)
         GROUP BY scope ORDER BY COUNT(*) DESC, scope",
    )?;
    let rows = stmt.query_map([direction.code()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Events of `direction` in `scope`: (pending, held).
pub fn scope_waiting(
    conn: &Connection,
    direction: Direction,
    scope: &str,
) -> rusqlite::Result<(u64, u64)> {
    conn.query_row(
        "SELECT COALESCE(SUM(state = 0), 0), COALESCE(SUM(state = 5), 0) FROM sync_event
         WHERE direction = ?1 AND scope = ?2",
        params![direction.code(), scope],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Receive-to-done lag (ms) of every applied event of `direction` outside `scope`, unsorted.
pub fn applied_lags_outside(
    conn: &Connection,
    direction: Direction,
    scope: &str,
) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT done_ms - received_ms FROM sync_event
         WHERE direction = ?1 AND state = 1 AND scope <> ?2",
    )?;
    let rows = stmt.query_map(params![direction.code(), scope], |r| r.get(0))?;
    rows.collect()
}

/// Records that a group message send of event `seq` is about to leave (before it does); the
/// first send's time is kept, so that a read-back looks back far enough for any of them.
pub(crate) fn mark_send(tx: &Transaction<'_>, seq: i64, at_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sync_event SET send_ms = COALESCE(send_ms, ?2) WHERE seq = ?1",
        params![seq, at_ms],
    )?;
    Ok(())
}

/// Remembers `key` (a callback already taken in); false when it was there already.
pub(crate) fn seen_put(tx: &Transaction<'_>, key: &str) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO sync_seen (key, at_ms) VALUES (?1, ?2)",
        params![key, now_ms()],
    )?;
    Ok(n == 1)
}

/// Forgets the callbacks taken in before `before_ms` (older than any replay still accepted).
pub(crate) fn seen_forget(tx: &Transaction<'_>, before_ms: i64) -> rusqlite::Result<usize> {
    tx.execute("DELETE FROM sync_seen WHERE at_ms < ?1", [before_ms])
}

/// One failed sync event, for the operator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedEvent {
    /// Which way.
    pub(crate) direction: Direction,
    /// The event id.
    pub(crate) event_id: String,
    /// Its kind.
    pub(crate) kind: String,
    /// Its scope.
    pub(crate) scope: String,
    /// The API.
    pub(crate) api: String,
    /// The code.
    pub(crate) code: Option<i64>,
    /// What was said.
    pub(crate) info: String,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// Held: its scope waits for an operator.
    pub(crate) held: bool,
}

/// Failed and held events, oldest first, at most `limit`.
pub fn failed_events(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<FailedEvent>> {
    let mut stmt = conn.prepare(
        "SELECT direction, event_id, kind, scope, COALESCE(api, ''), code, info, attempts, state
         FROM sync_event WHERE state IN (2, 5) ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(FailedEvent {
            direction: if r.get::<_, i64>(0)? == 0 {
                Direction::OldToNew
            } else {
                Direction::NewToOld
            },
            event_id: r.get(1)?,
            kind: r.get(2)?,
            scope: r.get(3)?,
            api: r.get(4)?,
            code: r.get(5)?,
            info: r.get(6)?,
            attempts: r.get(7)?,
            held: r.get::<_, i64>(8)? == EventState::Held.code(),
        })
    })?;
    rows.collect()
}

/// What an operator does: `retry` puts failed and held events back to pending with a fresh
/// retry limit; `skip` gives up failed and held events and the pending ones still failing
/// (backing off after a retryable failure), which releases their scopes. Returns how many
/// moved. Any other target state moves nothing.
pub fn move_failed(conn: &Connection, to: EventState) -> rusqlite::Result<usize> {
    match to {
        EventState::Pending => conn.execute(
            "UPDATE sync_event SET state = 0, done_ms = NULL, next_ms = NULL, first_fail_ms = NULL
             WHERE state IN (2, 5)",
            [],
        ),
        EventState::Skipped => conn.execute(
            "UPDATE sync_event SET state = 4, done_ms = ?1, next_ms = NULL
             WHERE state IN (2, 5) OR (state = 0 AND first_fail_ms IS NOT NULL)",
            [now_ms()],
        ),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sync_event::{EventKind, SyncEvent};
    use crate::store::sync::{insert_events, settle, NewEvent, Settle};
    use serde_json::json;

    fn message(id: &str, group: &str) -> NewEvent {
        NewEvent {
            direction: Direction::OldToNew,
            event: SyncEvent {
                event_id: id.into(),
                kind: EventKind::GroupMessage,
                at: 1,
                record: json!({"id": id, "group": group, "from": "u", "sent_at": 1, "body": []}),
            },
            origin: "ingest",
            state: EventState::Pending,
            info: String::new(),
        }
    }

    fn scopes(events: &[StoredEvent]) -> Vec<&str> {
        events.iter().map(|e| e.scope.as_str()).collect()
    }

    #[test]
    fn a_long_scope_takes_only_its_share_and_a_held_scope_none() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let mut events: Vec<NewEvent> = (0..100).map(|i| message(&format!("a{i}"), "a")).collect();
        events.push(message("b0", "b"));
        insert_events(&tx, &events).unwrap();
        tx.commit().unwrap();
        let picked = pick(&conn, Direction::OldToNew, 5, 50).unwrap();
        let want = ["group:a"; 5]
            .into_iter()
            .chain(["group:b"])
            .collect::<Vec<_>>();
        assert_eq!(scopes(&picked), want);
        // a0 runs out of retries and is held: scope a waits, b goes on.
        let tx = conn.transaction().unwrap();
        #[rustfmt::skip]
        let held = Settle { seq: picked[0].seq, state: EventState::Held, api: None, code: Some(10002), info: "busy".into(), retry_at_ms: None };
        settle(&tx, &[held]).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            scopes(&pick(&conn, Direction::OldToNew, 5, 50).unwrap()),
            ["group:b"]
        );
        assert_eq!(
            held_scopes(&conn, Direction::OldToNew).unwrap(),
            [("group:a".to_string(), 100)]
        );
        let failed = failed_events(&conn, 10).unwrap();
        assert!(failed[0].held && failed[0].scope == "group:a");
        // Retry releases it; skip gives it up (and only the events still failing).
        assert_eq!(move_failed(&conn, EventState::Pending).unwrap(), 1);
        assert_eq!(pick(&conn, Direction::OldToNew, 5, 50).unwrap().len(), 6);
        assert_eq!(move_failed(&conn, EventState::Skipped).unwrap(), 0);
    }
}
