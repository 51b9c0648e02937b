//! What was staged, as recorded: each export (its root, times and watermark) and its files'
//! record counts. Staging itself is [`super::stage`].

use rusqlite::{Connection, OptionalExtension};

/// One staged export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedExport {
    /// Its number in the store.
    pub id: i64,
    /// The export directory.
    pub root: String,
    /// When the old system took it (from its manifest).
    pub exported_at: i64,
    /// When it was staged into the store.
    pub staged_at: i64,
    /// The manifest's watermark, if any.
    pub watermark: Option<i64>,
    /// The export this one is a delta of, if any.
    pub delta_of: Option<i64>,
    /// Its files, in kind order.
    pub files: Vec<StagedFile>,
}

/// One file of a staged export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// The stored kind code of its records (kept raw: a report names unknown codes too).
    pub kind: i64,
    /// The file's name.
    pub name: String,
    /// Records read.
    pub records: u64,
    /// Records refused at staging.
    pub invalid: u64,
}

/// Every staged export with its files, oldest first.
pub fn exports(conn: &Connection) -> rusqlite::Result<Vec<StagedExport>> {
    let mut stmt = conn.prepare(
        "SELECT id, root, exported_at, staged_at, watermark, delta_of FROM export ORDER BY id",
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
pub fn first_root(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT root FROM export ORDER BY id LIMIT 1", [], |r| {
        r.get(0)
    })
    .optional()
}
