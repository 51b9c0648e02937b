//! Hard deletes: a delta's key sets (`keys/<file>` in the export: every key of a kind the old
//! system holds now). A record imported before whose key is not in its kind's set was deleted
//! outright in the old system: it becomes a deletion item, as a tombstone would (see
//! `tombstones.rs`), in the transaction that completes the export.

use crate::source::ExportFile;
use crate::store::{pair_key, ItemState, Kind};
use rusqlite::{params, Transaction};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Why a key set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The key set.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not an object with the kind's key fields as non-empty strings.
    #[error("{path}:{line}: {reason}: a key set must hold every key whole (a hole would delete a live record)")]
    Line {
        /// The key set.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The store refused.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// The key set file of `kind` in the export at `root`, when the export has one.
pub(crate) fn path_of(root: &Path, kind: Kind) -> Option<PathBuf> {
    let path = root
        .join("keys")
        .join(format!("{}.jsonl", kind.file().stem()));
    path.is_file().then_some(path)
}

/// Turns the records of every kind with a key set in the export at `root` that are on the
/// target and no longer in the set into deletion items; how many, per deletion kind.
pub(crate) fn apply(tx: &Transaction<'_>, root: &Path) -> Result<Vec<(Kind, u64)>, KeySetError> {
    let mut out = Vec::new();
    for kind in Kind::RECORDS {
        let (Some(deletion), Some(path)) = (kind.deletion(), path_of(root, kind)) else {
            continue;
        };
        load(tx, &path, kind.file())?;
        let n = vanished(tx, kind, deletion)?;
        out.push((deletion, n));
    }
    tx.execute_batch("DROP TABLE IF EXISTS temp.key_set")?;
    Ok(out)
}

/// Loads a key set into `temp.key_set`, a line at a time.
fn load(tx: &Transaction<'_>, path: &Path, file: ExportFile) -> Result<(), KeySetError> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS key_set (key TEXT PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM temp.key_set;",
    )?;
    let io = |source| KeySetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let reader = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO temp.key_set (key) VALUES (?1)")?;
    let fields = file.key_fields();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| KeySetError::Line {
            path: path.to_path_buf(),
            line: n as u64 + 1,
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| bad(format!("not JSON ({e})")))?;
        let ids: Vec<&str> = fields
            .iter()
            .map(|f| {
                value[*f]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| bad(format!("no {f:?} as a non-empty string")))
            })
            .collect::<Result<_, _>>()?;
        let key = match ids.as_slice() {
            [a, b] => pair_key(a, b),
            [a] => (*a).to_string(),
            _ => continue,
        };
        insert.execute([key])?;
    }
    Ok(())
}

/// Deletion items for the records of `kind` on the target whose key left the set: in the
/// pending state, or back to pending when an upsert had superseded an earlier deletion (a
/// deletion done stays done). Group messages keep the MsgSeq the target gave them.
fn vanished(tx: &Transaction<'_>, kind: Kind, deletion: Kind) -> rusqlite::Result<u64> {
    let seq = if kind == Kind::GroupMessage {
        "r.target_seq"
    } else {
        "r.seq"
    };
    let sql = format!(
        "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t,
                           sent_t, seq, state)
         SELECT ?2, (SELECT COALESCE(MAX(id), -1) FROM item WHERE kind = ?2)
                    + ROW_NUMBER() OVER (ORDER BY r.id),
                r.export_id, r.key, r.line, r.offset, r.len, r.parent, -1, r.t, r.sent_t,
                {seq}, ?3
         FROM item r
         WHERE r.kind = ?1 AND (r.state = ?4 OR r.imported_before = 1)
           AND r.key NOT IN (SELECT key FROM temp.key_set)
         ON CONFLICT (kind, key) DO UPDATE SET
             state = CASE WHEN item.state = ?4 THEN ?4 ELSE excluded.state END"
    );
    let before = count(tx, deletion)?;
    tx.execute(
        &sql,
        params![
            kind.code(),
            deletion.code(),
            ItemState::Pending.code(),
            ItemState::Done.code()
        ],
    )?;
    // A record restated and waiting to go again, gone from the set: it does not go.
    tx.execute(
        "UPDATE item SET state = ?3 WHERE kind = ?1 AND state = ?2
             AND key NOT IN (SELECT key FROM temp.key_set)",
        params![
            kind.code(),
            ItemState::Pending.code(),
            ItemState::Skipped.code()
        ],
    )?;
    Ok(count(tx, deletion)?.saturating_sub(before))
}

/// Pending deletion items of `deletion`.
fn count(tx: &Transaction<'_>, deletion: Kind) -> rusqlite::Result<u64> {
    tx.query_row(
        "SELECT COUNT(*) FROM item WHERE kind = ?1 AND state = ?2",
        params![deletion.code(), ItemState::Pending.code()],
        |r| r.get(0),
    )
}
