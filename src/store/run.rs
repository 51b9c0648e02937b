//! The run's row as the companion commands and the report read it, and the operator's
//! changes of its state made outside a running import (a running one goes through the writer).

use super::HEARTBEAT_LIVE_SECS;
use crate::timefmt::now_secs;
use rusqlite::{params, Connection, OptionalExtension};

/// The store's run (there is at most one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunRow {
    /// The target: a base URL or a region.
    pub(crate) target: String,
    /// The app's SDKAppID.
    pub(crate) sdkappid: u64,
    /// The admin identifier the run used.
    pub(crate) admin: String,
    /// `running`, `paused`, `done`, `rolled back`, …
    pub(crate) state: String,
    /// Why it is in that state (may be empty).
    pub(crate) reason: String,
    /// When the store was bound to this run.
    pub(crate) created_at: i64,
    /// When the state last changed.
    pub(crate) updated_at: i64,
    /// The running writer's last heartbeat, while a process runs the import.
    pub(crate) heartbeat_at: Option<i64>,
    /// That process.
    pub(crate) owner_pid: Option<i64>,
}

impl RunRow {
    /// Whether a process is running the import now: its writer beat recently.
    pub(crate) fn live(&self) -> bool {
        self.heartbeat_at
            .is_some_and(|b| now_secs() - b <= HEARTBEAT_LIVE_SECS)
    }
}

/// The run, if the store holds one yet.
pub(crate) fn get(conn: &Connection) -> rusqlite::Result<Option<RunRow>> {
    conn.query_row(
        "SELECT target, sdkappid, admin, state, reason, created_at, updated_at, heartbeat_at, owner_pid
         FROM run",
        [],
        |r| {
            Ok(RunRow {
                target: r.get(0)?,
                sdkappid: r.get(1)?,
                admin: r.get(2)?,
                state: r.get(3)?,
                reason: r.get(4)?,
                created_at: r.get(5)?,
                updated_at: r.get(6)?,
                heartbeat_at: r.get(7)?,
                owner_pid: r.get(8)?,
            })
        },
    )
    .optional()
}

/// Sets the run's state and reason, stamped now.
pub(crate) fn set_state(conn: &Connection, state: &str, reason: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE run SET state = ?1, reason = ?2, updated_at = ?3",
        params![state, reason, now_secs()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::{ensure_run, RunIdentity};

    #[test]
    fn a_new_run_reads_back_and_its_state_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = crate::store::open_for_writing(&path).unwrap();
        assert_eq!(get(&conn).unwrap(), None);
        let id = RunIdentity {
            target: "http://t".into(),
            sdkappid: 7,
            admin: "admin".into(),
            config: "{}".into(),
        };
        ensure_run(&conn, &path, &id, false).unwrap();
        let run = get(&conn).unwrap().unwrap();
        assert_eq!((run.target.as_str(), run.sdkappid), ("http://t", 7));
        assert_eq!((run.state.as_str(), run.live()), ("starting", false));
        set_state(&conn, "rolled back", "bad data").unwrap();
        let run = get(&conn).unwrap().unwrap();
        assert_eq!(
            (run.state.as_str(), run.reason.as_str()),
            ("rolled back", "bad data")
        );
    }
}
