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
/// Items settled (done or failed) per second over the last `window` seconds of samples, if
/// the samples span some of it and anything settled.
pub fn recent_rate(conn: &Connection, window: i64) -> rusqlite::Result<Option<f64>> {
    let mut stmt = conn.prepare(
        "SELECT at, SUM(done + failed) FROM sample
         WHERE at >= (SELECT MAX(at) FROM sample) - ?1 GROUP BY at ORDER BY at",
    )?;
    let points: Vec<(i64, i64)> = stmt
        .query_map([window], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(None);
    };
    let (secs, settled) = (last.0 - first.0, last.1 - first.1);
    Ok((secs > 0 && settled > 0).then(|| settled as f64 / secs as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_rate_goes_by_the_last_window_of_samples() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_for_writing(&dir.path().join("s.db")).unwrap();
        assert_eq!(recent_rate(&conn, 60).unwrap(), None);
        // Two kinds; 100 settled a second over the last minute, slower before it.
        for (at, done) in [(0, 0), (100, 50), (160, 50 + 6000)] {
            for kind in [0, 3] {
                conn.execute(
                    "INSERT INTO sample (at, kind, done, failed, calls) VALUES (?1, ?2, ?3, 0, 0)",
                    [at, kind, done / 2],
                )
                .unwrap();
            }
        }
        let rate = recent_rate(&conn, 60).unwrap().unwrap();
        assert!((rate - 100.0).abs() < 1.0, "{rate}");
    }
}
