//! What was staged, as recorded: each export (its root, times and watermark) and its files'
//! record counts. Staging itself is [`super::stage`].

use super::{ItemState, Kind};
use rusqlite::{params, Connection, OptionalExtension};

/// One staged export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StagedExport {
    /// Its number in the store.
    pub(crate) id: i64,
    /// The export directory.
    pub(crate) root: String,
    /// When the old system took it (from its manifest).
    pub(crate) exported_at: i64,
    /// When it was staged into the store.
    pub(crate) staged_at: i64,
    /// The manifest's watermark, if any.
    pub(crate) watermark: Option<i64>,
    /// The export this one is a delta of, if any.
    pub(crate) delta_of: Option<i64>,
    /// The history cut-off it was staged with (unix seconds), if any.
    pub(crate) history_since: Option<i64>,
    /// Its files, in kind order.
    pub(crate) files: Vec<StagedFile>,
}

/// One file of a staged export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StagedFile {
    /// The stored kind code of its records (kept raw: a report names unknown codes too).
    pub(crate) kind: i64,
    /// The file's name.
    pub(crate) name: String,
    /// Records read.
    pub(crate) records: u64,
    /// Records refused at staging.
    pub(crate) invalid: u64,
}

/// Every staged export with its files, oldest first.
pub(crate) fn exports(conn: &Connection) -> rusqlite::Result<Vec<StagedExport>> {
    let mut stmt = conn.prepare(
        "SELECT id, root, exported_at, staged_at, watermark, delta_of, history_since FROM export
         ORDER BY id",
    )?;
    let mut out: Vec<StagedExport> = stmt
        .query_map([], |r| {
            Ok(StagedExport {
                id: r.get(0)?,
                root: r.get(1)?,
                exported_at: r.get(2)?,
                staged_at: r.get(3)?,
                watermark: r.get(4)?,
                delta_of: r.get(5)?,
                history_since: r.get(6)?,
                files: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut files = conn.prepare(
        "SELECT kind, name, records, invalid FROM source_file WHERE export_id = ?1 ORDER BY kind",
    )?;
    for export in &mut out {
        export.files = files
            .query_map([export.id], |r| {
                Ok(StagedFile {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    records: r.get(2)?,
                    invalid: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(out)
}

/// The root of the first export staged, if any (a later one may be a delta of it).
pub(crate) fn first_root(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT root FROM export ORDER BY id LIMIT 1", [], |r| {
        r.get(0)
    })
    .optional()
}

/// Messages of one kind staged as skipped for being older than one history cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistorySkip {
    /// One-to-one or group messages.
    pub kind: Kind,
    /// The cut-off (unix seconds).
    pub(crate) cutoff: i64,
    /// How many.
    pub items: u64,
}

impl HistorySkip {
    /// `older than history_since 2026-11-01`.
    pub(crate) fn reason(&self) -> String {
        crate::model::history::skip_reason(self.cutoff)
    }
}

/// The messages skipped at staging for `[import] history_since`, per kind and cut-off (a
/// `roaming` cut-off moves with each export staged). A skipped message of an export whose
/// cut-off it precedes can only have been skipped for that: it was never pending.
pub fn history_skips(conn: &Connection) -> rusqlite::Result<Vec<HistorySkip>> {
    let mut stmt = conn.prepare(
        "SELECT i.kind, e.history_since, COUNT(*) FROM item i JOIN export e ON e.id = i.export_id
         WHERE i.kind IN (?1, ?2) AND i.state = ?3 AND i.t < e.history_since
         GROUP BY i.kind, e.history_since ORDER BY i.kind, e.history_since",
    )?;
    let rows = stmt.query_map(
        params![
            Kind::C2cMessage.code(),
            Kind::GroupMessage.code(),
            ItemState::Skipped.code()
        ],
        |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, cutoff, items) = row?;
        if let Some(kind) = Kind::from_code(kind) {
            out.push(HistorySkip {
                kind,
                cutoff,
                items,
            });
        }
    }
    Ok(out)
}

/// Which items of a kind a count is about (for `cutover plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Share {
    /// Everything a full import sends: every item but the skipped ones.
    Unskipped,
    /// The messages skipped at staging for being older than the history cut-off.
    TooOld,
}

/// The number of `share` items of `kind`, per scope (`per_parent`: one count per group,
/// owner or conversation, as a batch never spans two) or as one total.
pub(crate) fn share_counts(
    conn: &Connection,
    kind: Kind,
    share: Share,
    per_parent: bool,
) -> rusqlite::Result<Vec<u64>> {
    let filter = match share {
        Share::Unskipped => "i.state <> 3",
        Share::TooOld => "i.state = 3 AND i.t < e.history_since",
    };
    let group = if per_parent { "GROUP BY i.parent" } else { "" };
    let sql = format!(
        "SELECT COUNT(*) FROM item i JOIN export e ON e.id = i.export_id
         WHERE i.kind = ?1 AND {filter} {group}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([kind.code()], |r| r.get(0))?;
    rows.collect()
}

/// The number of exports staged (more than one: later ones are deltas).
pub(crate) fn export_count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM export", [], |r| r.get(0))
}
