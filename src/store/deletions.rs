//! What a window deletes: per deletion kind, how much against what is imported (the share a
//! delta may delete is bounded), and the account deletions the runbook skips.

use super::{audit, ItemState, Kind};
use rusqlite::{params, Connection};

/// One deletion kind's size against its record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeletionShare {
    /// The deletion kind.
    pub(crate) kind: Kind,
    /// Its items still to apply.
    pub(crate) pending: u64,
    /// The records of the kind it deletes that are on the target.
    pub(crate) imported: u64,
}

impl DeletionShare {
    /// The share of the imported records it would delete (0 when there is nothing).
    pub(crate) fn share(&self) -> f64 {
        if self.pending == 0 {
            return 0.0;
        }
        self.pending as f64 / self.imported.max(1) as f64
    }
}

/// Per deletion kind with pending items: how many, and how many records it deletes from.
pub(crate) fn shares(conn: &Connection) -> rusqlite::Result<Vec<DeletionShare>> {
    let count = |kind: Kind, state: ItemState| -> rusqlite::Result<u64> {
        conn.query_row(
            "SELECT COUNT(*) FROM item WHERE kind = ?1 AND state = ?2",
            params![kind.code(), state.code()],
            |r| r.get(0),
        )
    };
    let mut out = Vec::new();
    for kind in Kind::DELETIONS {
        let pending = count(kind, ItemState::Pending)?;
        if pending == 0 {
            continue;
        }
        // Imported once, whether done now or staged again by a later change (a follow round
        // or a delta restates changed records: they are still on the target).
        let imported: u64 = conn.query_row(
            "SELECT COUNT(*) FROM item WHERE kind = ?1 AND (state = ?2 OR imported_before = 1)",
            params![kind.record().code(), ItemState::Done.code()],
            |r| r.get(0),
        )?;
        out.push(DeletionShare {
            kind,
            pending,
            imported,
        });
    }
    Ok(out)
}

/// Skips every pending item of deletion kind `kind`, recording why in the audit trail (in the
/// same transaction); how many.
pub(crate) fn skip_pending(
    conn: &mut Connection,
    kind: Kind,
    actor: &str,
    reason: &str,
) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE item SET state = ?2 WHERE kind = ?1 AND state = ?3",
        params![
            kind.code(),
            ItemState::Skipped.code(),
            ItemState::Pending.code()
        ],
    )?;
    if n > 0 {
        let detail = format!("{n} {} skipped", kind.stage());
        audit::record(&tx, actor, "skip deletions", &detail, reason)?;
    }
    tx.commit()?;
    Ok(n)
}
