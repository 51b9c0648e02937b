//! The phases run on a store (a pre-copy, then delta windows), the exports it accepts and the
//! watermark a delta must follow. Each new phase, or a new export within one, starts the
//! runbook's steps afresh.

use super::{Kind, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::Path;

/// Records that `phase` runs with the export fingerprinted `source`; true when that is new
/// (another phase or another export than the last one recorded), and then the step rows of
/// the previous phase are cleared so its steps start afresh.
pub(crate) fn begin(
    conn: &mut Connection,
    phase: &str,
    source: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    let last: Option<(String, String)> = tx
        .query_row(
            "SELECT phase, source FROM phase ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let fresh = last.as_ref().is_none_or(|(p, s)| p != phase || s != source);
    if fresh {
        // The first phase of a store keeps whatever steps an older cutover recorded.
        if last.is_some() {
            tx.execute("DELETE FROM step", [])?;
        }
        tx.execute(
            "INSERT INTO phase (phase, source, started_at) VALUES (?1, ?2, ?3)",
            params![phase, source, now],
        )?;
    }
    tx.commit()?;
    Ok(fresh)
}

/// The phase last begun on the store, if any.
#[cfg(test)]
pub(crate) fn current(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT phase FROM phase ORDER BY id DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// The newest staged export: its id and watermark (`None` when the store holds none).
pub(crate) fn newest_export(conn: &Connection) -> rusqlite::Result<Option<(i64, Option<i64>)>> {
    conn.query_row(
        "SELECT id, watermark FROM export ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The newest send time (unix seconds) of a pending message, as it will go (a group message's
/// shifted time): the target refuses one that is not in the past.
pub(crate) fn newest_pending_send_time(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT MAX(COALESCE(sent_t, t)) FROM item WHERE state = 0 AND kind IN (?1, ?2)",
        [Kind::C2cMessage.code(), Kind::GroupMessage.code()],
        |r| r.get(0),
    )
}

/// Whether a pre-copy ever ran on the store.
pub(crate) fn has_precopy(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM phase WHERE phase = 'precopy')",
        [],
        |r| r.get(0),
    )
}

/// The id of the export staged with `fingerprint`, if it is.
pub(crate) fn export_with(conn: &Connection, fingerprint: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT id FROM export WHERE fingerprint = ?1",
        [fingerprint],
        |r| r.get(0),
    )
    .optional()
}

/// The id of the first export staged by the current window (or follow) phase: the items of it
/// and of later exports are the delta. `None` outside those phases.
pub(crate) fn window_exports_from(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT MIN(e.id) FROM export e
         WHERE e.staged_at >= (SELECT started_at FROM phase ORDER BY id DESC LIMIT 1)
           AND (SELECT phase FROM phase ORDER BY id DESC LIMIT 1) IN ('window', 'follow')
           AND e.delta_of IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// Refuses an export that is neither one already staged in this store nor a delta of one.
pub(crate) fn check_export(
    conn: &Connection,
    path: &Path,
    fingerprint: &str,
    delta_of: Option<i64>,
    reuse: bool,
) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sql {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare("SELECT fingerprint, watermark, root FROM export ORDER BY id")
        .map_err(sql)?;
    let staged: Vec<(String, Option<i64>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect())
        .map_err(sql)?;
    let Some((_, _, first_root)) = staged.first() else {
        return Ok(());
    };
    let same = staged.iter().any(|(f, _, _)| f == fingerprint);
    let delta = delta_of.is_some_and(|d| staged.iter().any(|(_, w, _)| *w == Some(d)));
    if same || delta || reuse {
        return Ok(());
    }
    Err(StoreError::Mismatch {
        path: path.to_path_buf(),
        what: "export",
        detail: format!("it holds the export staged from {first_root}, which differs from this one (manifest or file sizes)"),
    })
}

/// The pending items of `kind` that an earlier export had imported before a later one
/// changed them (a changed group is brought up to date rather than created).
pub(crate) fn reimported(conn: &Connection, kind: Kind) -> rusqlite::Result<HashSet<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM item WHERE kind = ?1 AND state = 0 AND imported_before = 1",
    )?;
    let rows = stmt.query_map([kind.code()], |r| r.get(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::step::{Step, StepState};

    #[test]
    fn a_new_phase_starts_the_steps_afresh_and_the_same_one_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
        assert!(begin(&mut conn, "precopy", "a", 1).unwrap());
        crate::store::steps::record(&conn, Step::Import, &StepState::done(""), 2).unwrap();
        assert!(
            !begin(&mut conn, "precopy", "a", 3).unwrap(),
            "same phase resumes"
        );
        let kept = crate::store::steps::state_of(&conn, Step::Import).unwrap();
        assert_eq!(kept, Some(StepState::done("")));
        assert!(begin(&mut conn, "window", "b", 4).unwrap());
        assert_eq!(
            crate::store::steps::state_of(&conn, Step::Import).unwrap(),
            None
        );
        assert_eq!(current(&conn).unwrap().as_deref(), Some("window"));
    }
}
