//! Staging: one validating pass over an export that records, for every valid record, where it
//! is (file, line, byte range) and what it waits for — never the record itself.
//!
//! Items are keyed by their natural key (account id, owner+friend, message id, …), so a later
//! delta export staged into the same store updates what changed and adds what is new: accounts,
//! profiles, friends, groups and members are re-imported when a delta changes them (re-import
//! overwrites), messages are added only when new. In the same transaction, [`super::order`]
//! fixes the new messages' order: group messages' send times (same-second bursts) and
//! one-to-one messages' MsgSeq.

use super::order::SameSecond;
use super::{cache_dir, now_secs, pair_key, ItemState, Kind, StoreError};
use crate::model::history::HistorySince;
use crate::source::{validate_delta_with, ExportDir, ExportError, Known, Loc, Problem, Valid};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Why staging failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The export could not be read.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A `.gz` file could not be decompressed into the store's cache.
    #[error("decompressing {path} into {cache}: {source}")]
    Decompress {
        /// The export file.
        path: PathBuf,
        /// The cache directory.
        cache: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What staging found, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staged {
    /// The export's row in the store.
    pub export_id: i64,
    /// False when this export had been staged before (nothing was read again).
    pub fresh: bool,
    /// Per kind: records read, and those skipped as invalid.
    pub counts: Vec<(Kind, u64, u64)>,
}

/// A fingerprint of an export: its manifest and its files' names and sizes.
pub fn fingerprint(export: &ExportDir) -> String {
    let m = &export.manifest;
    let mut out = format!(
        "exported_at={};source={};watermark={:?};delta_of={:?}",
        m.exported_at,
        m.source.as_deref().unwrap_or(""),
        m.watermark,
        m.delta_of
    );
    for kind in Kind::ALL {
        if let Some(path) = export.path(kind.file()) {
            let size = std::fs::metadata(path).map_or(0, |md| md.len());
            out.push_str(&format!(";{}={size}", export.display_name(kind.file())));
        }
    }
    out
}

/// How an export is staged (the runbook's `[import]` choices).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageOptions {
    /// What happens to a group message that is not newer than the one before it in its group
    /// (see [`super::order`]).
    pub same_second: SameSecond,
    /// Messages sent before the cut-off this gives at staging time are staged as skipped:
    /// never sent, counted with the reason (see [`super::staged::history_skips`]).
    pub history_since: Option<HistorySince>,
}

/// Stages `export` into the store at `store_path` (through `conn`, its writing connection),
/// unless the same export is staged already, shifting same-second group messages.
pub fn stage_export(
    conn: &mut Connection,
    store_path: &Path,
    export: &ExportDir,
) -> Result<Staged, StageError> {
    stage_export_with(conn, store_path, export, StageOptions::default())
}

/// [`stage_export`] with the runbook's choices in `options`.
pub fn stage_export_with(
    conn: &mut Connection,
    store_path: &Path,
    export: &ExportDir,
    options: StageOptions,
) -> Result<Staged, StageError> {
    let sql = |source| StoreError::Sql {
        path: store_path.to_path_buf(),
        source,
    };
    let print = fingerprint(export);
    let known: Option<i64> = conn
        .query_row(
            "SELECT id FROM export WHERE fingerprint = ?1",
            [&print],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    if let Some(export_id) = known {
        let counts = file_counts(conn, export_id).map_err(sql)?;
        return Ok(Staged {
            export_id,
            fresh: false,
            counts,
        });
    }
    let readable = readable_copy(export, &cache_dir(store_path))?;
    let tx = conn.transaction().map_err(sql)?;
    let earlier = staged_before(&tx).map_err(sql)?;
    let staged_at = now_secs();
    let cutoff = options.history_since.and_then(|h| h.cutoff(staged_at));
    let export_id = insert_export(&tx, export, &print, staged_at, cutoff).map_err(sql)?;
    let loader = Loader::new(&tx, export_id, cutoff).map_err(sql)?;
    let loader = RefCell::new(loader);
    let report = validate_delta_with(
        &readable,
        &earlier,
        &mut |p| loader.borrow_mut().invalid(&p),
        &mut |loc, record| loader.borrow_mut().valid(loc, record),
    )?;
    let loader = loader.into_inner();
    if let Some(e) = loader.error {
        return Err(sql(e).into());
    }
    insert_files(&tx, export_id, &readable, &report.files).map_err(sql)?;
    super::order::assign(&tx, export_id, options.same_second).map_err(sql)?;
    tx.commit().map_err(sql)?;
    let counts = file_counts(conn, export_id).map_err(sql)?;
    Ok(Staged {
        export_id,
        fresh: true,
        counts,
    })
}

/// The export's row (where it is, its fingerprint and times, the history cut-off it was
/// staged with); its id.
fn insert_export(
    tx: &Transaction<'_>,
    export: &ExportDir,
    print: &str,
    staged_at: i64,
    history_since: Option<i64>,
) -> rusqlite::Result<i64> {
    let m = &export.manifest;
    tx.execute(
        "INSERT INTO export (root, fingerprint, exported_at, watermark, delta_of, staged_at,
                             history_since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            export.root.to_string_lossy(),
            print,
            m.exported_at,
            m.watermark,
            m.delta_of,
            staged_at,
            history_since
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// One row per file present: its name, the path items are read back from, and its counts.
fn insert_files(
    tx: &Transaction<'_>,
    export_id: i64,
    readable: &ExportDir,
    files: &[crate::source::FileSummary],
) -> rusqlite::Result<()> {
    for (kind, summary) in Kind::ALL.into_iter().zip(file_order(files)) {
        let Some(summary) = summary else { continue };
        let Some(read_path) = readable.path(kind.file()) else {
            continue;
        };
        tx.execute(
            "INSERT INTO source_file (export_id, kind, name, read_path, records, invalid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                export_id,
                kind.code(),
                summary.file,
                read_path.to_string_lossy(),
                summary.records,
                summary.invalid
            ],
        )?;
    }
    Ok(())
}

/// The report's summaries in [`Kind::ALL`] order.
fn file_order(files: &[crate::source::FileSummary]) -> Vec<Option<&crate::source::FileSummary>> {
    Kind::ALL
        .iter()
        .map(|k| {
            files
                .iter()
                .find(|f| f.present && Kind::of_file_name(&f.file) == Some(*k))
        })
        .collect()
}

fn file_counts(conn: &Connection, export_id: i64) -> rusqlite::Result<Vec<(Kind, u64, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT kind, records, invalid FROM source_file WHERE export_id = ?1 ORDER BY kind",
    )?;
    let rows = stmt.query_map([export_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, u64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, records, invalid) = row?;
        if let Some(kind) = Kind::from_code(kind) {
            out.push((kind, records, invalid));
        }
    }
    Ok(out)
}

/// The export with every `.gz` file replaced by a decompressed copy in `cache`.
fn readable_copy(export: &ExportDir, cache: &Path) -> Result<ExportDir, StageError> {
    let mut readable = export.clone();
    for kind in Kind::ALL {
        let Some(path) = export.path(kind.file()) else {
            continue;
        };
        if path.extension().is_none_or(|e| e != "gz") {
            continue;
        }
        let failed = |source| StageError::Decompress {
            path: path.to_path_buf(),
            cache: cache.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(cache).map_err(failed)?;
        let copy = cache.join(format!(
            "{}-{}",
            export.manifest.exported_at,
            kind.file().file_name()
        ));
        let mut input = flate2::read::MultiGzDecoder::new(File::open(path).map_err(failed)?);
        let mut output = io::BufWriter::new(File::create(&copy).map_err(failed)?);
        io::copy(&mut input, &mut output).map_err(failed)?;
        io::Write::flush(&mut output).map_err(failed)?;
        readable.replace_path(kind.file(), copy);
    }
    Ok(readable)
}

/// Where one staged item goes: see [`Loader::placement`].
struct Placement {
    kind: Kind,
    key: String,
    parent: Option<i64>,
    needs: i64,
    t: i64,
    /// A message older than the history cut-off: staged as skipped.
    too_old: bool,
}

/// Inserts items as the validator hands them over.
struct Loader<'t> {
    tx: &'t Transaction<'t>,
    export_id: i64,
    next_id: HashMap<Kind, i64>,
    accounts: HashMap<String, i64>,
    groups: HashMap<String, i64>,
    /// Messages sent before this (unix seconds) are staged as skipped.
    cutoff: Option<i64>,
    error: Option<rusqlite::Error>,
}

impl<'t> Loader<'t> {
    fn new(tx: &'t Transaction<'t>, export_id: i64, cutoff: Option<i64>) -> rusqlite::Result<Self> {
        let mut next_id = HashMap::new();
        for kind in Kind::ALL {
            let max: Option<i64> = tx.query_row(
                "SELECT MAX(id) FROM item WHERE kind = ?1",
                [kind.code()],
                |r| r.get(0),
            )?;
            next_id.insert(kind, max.map_or(0, |m| m + 1));
        }
        Ok(Self {
            tx,
            export_id,
            next_id,
            accounts: keys_of(tx, Kind::Account)?,
            groups: keys_of(tx, Kind::Group)?,
            cutoff,
            error: None,
        })
    }

    fn invalid(&mut self, p: &Problem) {
        let kind = Kind::of_file_name(&p.file).map_or(-1, Kind::code);
        let result = self
            .tx
            .prepare_cached(
                "INSERT INTO invalid (export_id, kind, file, line, record, field, rule, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    self.export_id,
                    kind,
                    p.file,
                    p.line,
                    p.record,
                    p.field,
                    p.rule.name(),
                    p.reason
                ])
            });
        self.keep_error(result.map(|_| ()));
    }

    fn valid(&mut self, loc: Loc, record: Valid<'_>) {
        let place = self.placement(record);
        let id = self.next_id.get(&place.kind).copied().unwrap_or(0);
        match self.insert(id, loc, &place) {
            Ok(stored) => {
                let stored = stored.unwrap_or(id);
                if stored == id {
                    self.next_id.insert(place.kind, id + 1);
                }
                match record {
                    Valid::Account(a) => {
                        self.accounts.insert(a.id.clone(), stored);
                    }
                    Valid::Group(g) => {
                        self.groups.insert(g.id.clone(), stored);
                    }
                    _ => {}
                }
            }
            Err(e) => self.keep_error(Err(e)),
        }
    }

    /// Where a valid record goes: its kind, natural key, parent, the newest account it waits
    /// for (-1: none, or one not staged), its time, and whether it is a message older than
    /// the history cut-off (one sent exactly at the cut-off is kept).
    fn placement(&self, record: Valid<'_>) -> Placement {
        let account = |id: &str| self.accounts.get(id).copied().unwrap_or(-1);
        let (kind, key, parent, needs, t) = match record {
            Valid::Account(a) => (Kind::Account, a.id.clone(), None, -1, 0),
            Valid::Profile(p) => (Kind::Profile, p.id.clone(), None, account(&p.id), 0),
            Valid::Friend(f) => {
                let owner = account(&f.owner);
                let needs = owner.max(account(&f.friend));
                let key = pair_key(&f.owner, &f.friend);
                (Kind::Friend, key, Some(owner), needs, 0)
            }
            Valid::C2cMessage(m) => {
                let (from, to) = (account(&m.from), account(&m.to));
                let conversation = super::order::conversation(from, to);
                (
                    Kind::C2cMessage,
                    m.id.clone(),
                    conversation,
                    from.max(to),
                    m.sent_at,
                )
            }
            Valid::Group(g) => {
                let needs = g.owner.as_deref().map_or(-1, account);
                (Kind::Group, g.id.clone(), None, needs, g.created_at)
            }
            Valid::GroupMember(m) => {
                let group = self.groups.get(&m.group).copied();
                let key = pair_key(&m.group, &m.member);
                (Kind::GroupMember, key, group, account(&m.member), 0)
            }
            Valid::GroupMessage(m) => {
                let group = self.groups.get(&m.group).copied();
                let needs = account(&m.from);
                (Kind::GroupMessage, m.id.clone(), group, needs, m.sent_at)
            }
        };
        let message = matches!(kind, Kind::C2cMessage | Kind::GroupMessage);
        Placement {
            too_old: message && self.cutoff.is_some_and(|c| t < c),
            kind,
            key,
            parent,
            needs,
            t,
        }
    }

    /// Stages one item as `id`, or updates the item of the same key an earlier export staged;
    /// the id it is stored under (`None`: a message staged before, left as it was).
    fn insert(&self, id: i64, loc: Loc, place: &Placement) -> rusqlite::Result<Option<i64>> {
        // Messages are added once; every other kind takes the newest export's version.
        let on_conflict = match place.kind {
            Kind::C2cMessage | Kind::GroupMessage => "DO NOTHING",
            _ => {
                "DO UPDATE SET export_id = excluded.export_id, line = excluded.line,
                  offset = excluded.offset, len = excluded.len, needs = excluded.needs,
                  t = excluded.t, state = 0,
                  imported_before = MAX(imported_before, state = 1)"
            }
        };
        let sql = format!(
            "INSERT INTO item (kind, id, export_id, key, line, offset, len, parent, needs, t, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (kind, key) {on_conflict} RETURNING id"
        );
        self.tx.prepare_cached(&sql).and_then(|mut stmt| {
            stmt.query_row(
                params![
                    place.kind.code(),
                    id,
                    self.export_id,
                    place.key,
                    loc.line,
                    loc.offset,
                    loc.len,
                    place.parent,
                    place.needs,
                    place.t,
                    if place.too_old {
                        ItemState::Skipped.code()
                    } else {
                        ItemState::Pending.code()
                    }
                ],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
    }

    fn keep_error(&mut self, result: rusqlite::Result<()>) {
        if let (Err(e), None) = (result, &self.error) {
            self.error = Some(e);
        }
    }
}

/// The accounts and groups earlier exports staged, which a delta may refer to.
fn staged_before(tx: &Transaction<'_>) -> rusqlite::Result<Known> {
    let mut accounts = tx.prepare("SELECT key FROM item WHERE kind = ?1")?;
    let accounts = accounts
        .query_map([Kind::Account.code()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut groups = tx.prepare("SELECT key, t FROM item WHERE kind = ?1")?;
    let groups = groups
        .query_map([Kind::Group.code()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Known { accounts, groups })
}

/// Key → id of every staged item of `kind` (for deltas, which refer to earlier exports).
fn keys_of(tx: &Transaction<'_>, kind: Kind) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = tx.prepare("SELECT key, id FROM item WHERE kind = ?1")?;
    let rows = stmt.query_map([kind.code()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
