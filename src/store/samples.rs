//! Throughput samples as stored: per kind, the items done and failed so far at a moment (the
//! writer records them while it runs).

use rusqlite::Connection;

/// One sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleRow {
    /// Seconds since the epoch.
    pub(crate) at: i64,
    /// The stored kind code (kept raw: a report names unknown codes too).
    pub(crate) kind: i64,
    /// Items done so far.
    pub(crate) done: u64,
    /// Items failed so far.
    pub(crate) failed: u64,
}

/// Every sample, by time then kind.
pub(crate) fn all(conn: &Connection) -> rusqlite::Result<Vec<SampleRow>> {
    let mut stmt = conn.prepare("SELECT at, kind, done, failed FROM sample ORDER BY at, kind")?;
    let rows = stmt.query_map([], |r| {
        Ok(SampleRow {
            at: r.get(0)?,
            kind: r.get(1)?,
            done: r.get(2)?,
            failed: r.get(3)?,
        })
    })?;
    rows.collect()
}
