//! The audit trail: every operator action and every decision the engine takes on its own
//! (skips, a canary restriction, a rollback), one row each, never rewritten.

use crate::timefmt::now_secs;
use rusqlite::{params, Connection};

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When (seconds since the epoch).
    pub(crate) at: i64,
    /// `operator`, `engine`, `cli` or `console`.
    pub actor: String,
    /// `pause`, `resume`, `retry`, `skip`, `canary`, `rollback`, …
    pub action: String,
    /// What exactly.
    pub detail: String,
    /// Why.
    pub reason: String,
}

/// Appends an entry stamped now. Takes a plain connection so it can run inside the caller's
/// transaction (a `Transaction` derefs to one) and commit with what it records.
pub(crate) fn record(
    conn: &Connection,
    actor: &str,
    action: &str,
    detail: &str,
    reason: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, action, detail, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![now_secs(), actor, action, detail, reason])?;
    Ok(())
}

/// Every entry, oldest first.
pub fn entries(conn: &Connection) -> rusqlite::Result<Vec<AuditRow>> {
    let mut stmt =
        conn.prepare("SELECT at, actor, action, detail, reason FROM audit ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(AuditRow {
            at: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            detail: r.get(3)?,
            reason: r.get(4)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_entries_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
        record(&conn, "cli", "skip", "3 items", "known bad").unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        record(&tx, "engine", "canary", "9 items skipped", "canary").unwrap();
        tx.commit().unwrap();
        let got: Vec<_> = entries(&conn)
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.detail, e.reason))
            .collect();
        assert_eq!(
            got,
            [
                ("cli", "skip", "3 items", "known bad"),
                ("engine", "canary", "9 items skipped", "canary"),
            ]
            .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
        );
    }
}
