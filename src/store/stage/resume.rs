//! Staging in chunks, and resuming it: the export's row waits in `staging` (its id reserved)
//! while chunks of items commit, each with the progress it makes per file, and moves into
//! `export` with the last one. A staging cut short (a crash, a kill) leaves whole chunks and
//! their progress; the next staging of the same export reads it again from the start (the
//! validator's cross-file state needs every line) and writes only the lines after it.

use crate::source::ExportDir;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashMap;

/// An export whose staging has begun: its reserved id, when staging began, and the history
/// cut-off it is staged with (kept, so a resumed staging decides as the first one did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Begun {
    pub(crate) export_id: i64,
    pub(crate) staged_at: i64,
    pub(crate) cutoff: Option<i64>,
}

/// What the store holds of an export, by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// Staged in full, as this export.
    Staged(i64),
    /// This export's staging was cut short.
    Unfinished(Begun),
    /// Another export's staging was cut short (its root).
    Other(String),
    /// Nothing: stage it.
    New,
}

/// Looks `print` up among the staged exports and the one being staged.
pub(super) fn find(conn: &Connection, print: &str) -> rusqlite::Result<Found> {
    let staged: Option<i64> = conn
        .query_row(
            "SELECT id FROM export WHERE fingerprint = ?1",
            [print],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = staged {
        return Ok(Found::Staged(id));
    }
    let unfinished: Option<(i64, String, String, i64, Option<i64>)> = conn
        .query_row(
            "SELECT export_id, fingerprint, root, staged_at, history_since FROM staging
             ORDER BY export_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    Ok(match unfinished {
        Some((export_id, fp, _, staged_at, cutoff)) if fp == print => Found::Unfinished(Begun {
            export_id,
            staged_at,
            cutoff,
        }),
        Some((_, _, root, _, _)) => Found::Other(root),
        None => Found::New,
    })
}

/// Reserves the next export id for `export` and records that its staging began.
pub(super) fn begin(
    conn: &mut Connection,
    export: &ExportDir,
    print: &str,
    staged_at: i64,
    cutoff: Option<i64>,
) -> rusqlite::Result<Begun> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The id `export` would give the row itself (its rowid: one past the largest).
    let export_id: i64 = tx.query_row(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM
           (SELECT id FROM export UNION ALL SELECT export_id FROM staging)",
        [],
        |r| r.get(0),
    )?;
    let m = &export.manifest;
    tx.execute(
        "INSERT INTO staging (export_id, root, fingerprint, exported_at, watermark, delta_of,
                              staged_at, history_since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            export_id,
            export.root.to_string_lossy(),
            print,
            m.exported_at,
            m.watermark,
            m.delta_of,
            staged_at,
            cutoff
        ],
    )?;
    // Into a store without items, the export comes in bulk: the item indexes it does not
    // need are built once it is in (by `complete_indexes`), not kept up to date row by row.
    // A staging cut short leaves them out until it is resumed and finishes.
    let empty: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM item)", [], |r| r.get(0))?;
    if empty {
        crate::store::schema::drop_deferrable_indexes(&tx)?;
        // A full export's keys cannot repeat: its key index is built at the end too. (A
        // delta's tombstones and updates look items up by key.)
        if m.delta_of.is_none() {
            crate::store::schema::defer_key_index(&tx)?;
        }
    }
    tx.commit()?;
    Ok(Begun {
        export_id,
        staged_at,
        cutoff,
    })
}

/// Per kind code: the last line of its file that committed chunks of `export_id` hold.
pub(super) fn progress(conn: &Connection, export_id: i64) -> rusqlite::Result<HashMap<i64, u64>> {
    let mut stmt = conn.prepare("SELECT kind, lines FROM stage_progress WHERE export_id = ?1")?;
    let rows = stmt.query_map([export_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Lines that committed chunks hold, over every file of an export whose staging has not
/// finished; `None` when no staging is under way or cut short.
#[cfg(any(test, feature = "test-support"))]
pub fn unfinished_lines(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    conn.query_row(
        "SELECT SUM(COALESCE((SELECT SUM(p.lines) FROM stage_progress p
                              WHERE p.export_id = s.export_id), 0))
         FROM staging s",
        [],
        |r| r.get(0),
    )
}

/// Marks `export_id` staged (in the last chunk's transaction): its row moves into `export`.
pub(super) fn complete(tx: &Transaction<'_>, export_id: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO export (id, root, fingerprint, exported_at, watermark, delta_of, staged_at,
                             history_since)
         SELECT export_id, root, fingerprint, exported_at, watermark, delta_of, staged_at,
                history_since
         FROM staging WHERE export_id = ?1",
        [export_id],
    )?;
    tx.execute("DELETE FROM staging WHERE export_id = ?1", [export_id])?;
    tx.execute(
        "DELETE FROM stage_progress WHERE export_id = ?1",
        [export_id],
    )?;
    Ok(())
}

/// Why the chunked writes stopped.
#[derive(Debug)]
pub(super) enum Stop {
    /// SQLite refused.
    Sql(rusqlite::Error),
    /// The test hook asked to stop after this many chunks.
    Interrupted(u64),
}

impl From<rusqlite::Error> for Stop {
    fn from(e: rusqlite::Error) -> Self {
        Stop::Sql(e)
    }
}

/// The open chunk: one transaction, the lines it handles, and where each file stands.
pub(super) struct Chunks<'c> {
    conn: &'c Connection,
    tx: Option<Transaction<'c>>,
    export_id: i64,
    /// Records (lines) per chunk.
    records: u64,
    /// Stop once this many chunks are committed (tests).
    stop_after: Option<u64>,
    /// Per kind code: lines up to this one are in committed chunks; they are not written again.
    resumed: HashMap<i64, u64>,
    /// Per kind code: the last line handled in full.
    done: HashMap<i64, u64>,
    /// The line whose rows are being written (its callbacks may not be over).
    current: Option<(i64, u64)>,
    /// Lines handled since the last commit.
    handled: u64,
    /// Chunks committed.
    committed: u64,
    /// When the first chunk opened (for the debug log's timings).
    opened: std::time::Instant,
}

impl<'c> Chunks<'c> {
    /// Opens the first chunk of `export_id`, after the `resumed` progress committed earlier.
    pub(crate) fn open(
        conn: &'c Connection,
        export_id: i64,
        records: u64,
        stop_after: Option<u64>,
        resumed: HashMap<i64, u64>,
    ) -> rusqlite::Result<Self> {
        Ok(Self {
            conn,
            tx: Some(Transaction::new_unchecked(
                conn,
                TransactionBehavior::Immediate,
            )?),
            export_id,
            records: records.max(1),
            stop_after,
            done: resumed.clone(),
            resumed,
            current: None,
            handled: 0,
            committed: 0,
            opened: std::time::Instant::now(),
        })
    }

    /// Called before writing the rows of `line` of the file of `kind` (once or more per line,
    /// lines in order): false when a committed chunk holds them already. A new line ends the
    /// one before it, and commits the chunk when it is full.
    pub(crate) fn enter(&mut self, kind: i64, line: u64) -> Result<bool, Stop> {
        if self.resumed.get(&kind).is_some_and(|&last| line <= last) {
            return Ok(false);
        }
        if self.current == Some((kind, line)) {
            return Ok(true);
        }
        if let Some((k, l)) = self.current {
            self.done.insert(k, l);
            self.handled += 1;
            if k != kind {
                let secs = self.opened.elapsed().as_secs_f64();
                tracing::debug!(kind = k, lines = l, secs, "staging: a file written");
            }
        }
        self.current = Some((kind, line));
        if self.handled >= self.records {
            self.commit()?;
        }
        Ok(true)
    }

    /// Commits the chunk with its progress (every line before the current one) and opens the
    /// next.
    fn commit(&mut self) -> Result<(), Stop> {
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        {
            let mut set = tx.prepare_cached(
                "INSERT INTO stage_progress (export_id, kind, lines) VALUES (?1, ?2, ?3)
                 ON CONFLICT (export_id, kind) DO UPDATE SET lines = excluded.lines",
            )?;
            for (kind, lines) in &self.done {
                set.execute(params![self.export_id, kind, lines])?;
            }
        }
        tx.commit()?;
        self.committed += 1;
        self.handled = 0;
        if self.stop_after == Some(self.committed) {
            return Err(Stop::Interrupted(self.committed));
        }
        self.tx = Some(Transaction::new_unchecked(
            self.conn,
            TransactionBehavior::Immediate,
        )?);
        Ok(())
    }

    /// The last chunk's transaction, for what completes the export. Its lines need no
    /// progress: the export is staged when it commits. (`None` only after an error, which
    /// the caller reports first.)
    pub(crate) fn last(mut self) -> Option<Transaction<'c>> {
        self.tx.take()
    }
}
