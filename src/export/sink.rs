//! Where the rows of the export's queries go, in the order they run: a delta's known ids, each
//! kind's file (records, and tombstones for the rows marked deleted), each kind's key set.

use super::cells::{to_record, Cell, RowRecord};
use super::check::FileCheck;
use super::db::RowSink;
use super::keys::KeySet;
use super::run::{ExportOptions, SourceProblem};
use super::tombstone::{check_columns, tombstone};
use super::write::KindFile;
use super::DbExportError;
use crate::source::validate::{Known, Problem};
use crate::source::{ExportFile, StreamValidator};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// What the rows of a kind marked deleted became.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deletions {
    /// Tombstone lines written (a delta export).
    pub tombstones: u64,
    /// Tombstones with a problem (a key field missing, not text or empty).
    pub invalid: u64,
    /// The problems of those tombstones.
    pub problems: u64,
    /// Rows marked deleted and left out (a full export writes no tombstones).
    pub left_out: u64,
}

/// Rows and time of one kind.
#[derive(Debug, Clone)]
pub struct KindSummary {
    /// The kind.
    pub kind: ExportFile,
    /// Lines written: records and tombstones.
    pub rows: u64,
    /// Seconds from its query to its last row.
    pub secs: f64,
    /// The rows marked deleted.
    pub deleted: Deletions,
}

/// One key set written (`keys/<stem>.jsonl`).
#[derive(Debug, Clone)]
pub struct KeySetSummary {
    /// The kind.
    pub kind: ExportFile,
    /// Its file, relative to the export directory.
    pub file: String,
    /// Keys written.
    pub keys: u64,
    /// Seconds from its query to its last row.
    pub secs: f64,
}

/// What a job's rows are for.
pub(crate) enum Target {
    /// Only ids (and group creation times) of live rows, for a delta's validation.
    Known(ExportFile),
    /// The export file of this kind.
    File(ExportFile),
    /// The key set of this kind.
    Keys(ExportFile),
}

/// The rows of the export's jobs, written as they come.
pub(crate) struct Sink<'a> {
    /// What each job's rows are for.
    plan: Vec<Target>,
    /// The mapping's time unit.
    unit: super::TimeUnit,
    /// The export's end (its watermark).
    until: i64,
    /// A delta: deleted rows become tombstones (else they are left out).
    delta: bool,
    /// The staging directory.
    staging: PathBuf,
    /// Write `*.jsonl.gz`.
    gzip: bool,
    /// The columns of the job running, and its rows so far.
    columns: Vec<String>,
    row_no: u64,
    /// The file being written and its validation, with what its deleted rows became.
    open: Option<(KindFile, FileCheck, Deletions)>,
    /// The key set being written.
    key_set: Option<KeySet>,
    /// What was written.
    pub(crate) kinds: Vec<KindSummary>,
    pub(crate) key_sets: Vec<KeySetSummary>,
    /// A delta's ids known from before it.
    known: Known,
    /// Between two files: the validator with the state of the files before.
    pub(crate) validator: Option<StreamValidator>,
    progress: &'a mut dyn Write,
    problems: &'a mut dyn FnMut(SourceProblem),
}

/// The error of row `row_no` of `kind`'s query.
fn row_error(kind: ExportFile, row_no: u64, key: Option<&str>, reason: String) -> DbExportError {
    let source = key.map_or(String::new(), |k| format!(" (source row {k})"));
    DbExportError::Entry {
        entry: format!("[queries] {}", kind.stem()),
        reason: format!("row {row_no}{source}: {reason}"),
    }
}

impl<'a> Sink<'a> {
    /// The sink of `plan`'s jobs for the export `opts`, its files in `staging`.
    pub(crate) fn new(
        plan: Vec<Target>,
        opts: &ExportOptions,
        staging: PathBuf,
        progress: &'a mut dyn Write,
        problems: &'a mut dyn FnMut(SourceProblem),
    ) -> Self {
        Self {
            plan,
            unit: opts.mapping.unit,
            until: opts.until,
            delta: opts.since.is_some(),
            staging,
            gzip: opts.gzip,
            columns: Vec::new(),
            row_no: 0,
            open: None,
            key_set: None,
            kinds: Vec::new(),
            key_sets: Vec::new(),
            known: Known::default(),
            validator: None,
            progress,
            problems,
        }
    }

    /// One row of `kind`'s file: a record, a tombstone, or (full export) left out.
    fn file_row(&mut self, kind: ExportFile, row: RowRecord) -> Result<(), DbExportError> {
        let Some((file, check, deleted)) = self.open.as_mut() else {
            return Ok(());
        };
        let marked = row
            .deleted
            .map_err(|r| row_error(kind, self.row_no, row.key.as_deref(), r))?;
        let io = |source| DbExportError::Io {
            what: format!("writing {}", kind.file_name()),
            source,
        };
        if !marked {
            let line = file.write(&row.record).map_err(io)?;
            check.push(line, row.key)?;
        } else if self.delta {
            let t = tombstone(kind, &row.record, row.deleted_at);
            file.write(&t.fields).map_err(io)?;
            // The validator reads records; a blank line keeps its line numbers the file's.
            check.push(b"\n", row.key.clone())?;
            deleted.tombstones += 1;
            deleted.invalid += u64::from(!t.problems.is_empty());
            deleted.problems += t.problems.len() as u64;
            for p in t.problems {
                (self.problems)(SourceProblem {
                    problem: Problem {
                        file: file.name.clone(),
                        line: file.rows,
                        record: t.name.clone(),
                        field: p.field.to_string(),
                        rule: p.rule,
                        reason: p.reason,
                    },
                    source_key: row.key.clone(),
                });
            }
        } else {
            deleted.left_out += 1;
        }
        check.drain(self.problems);
        file.progress(self.progress, false);
        Ok(())
    }

    /// One row of a delta's known ids: live rows only.
    fn known_row(&mut self, kind: ExportFile, row: RowRecord) -> Result<(), DbExportError> {
        let marked = row
            .deleted
            .map_err(|r| row_error(kind, self.row_no, row.key.as_deref(), r))?;
        let Some(Value::String(id)) = row.record.get("id") else {
            return Ok(());
        };
        if marked {
            return Ok(());
        }
        if kind == ExportFile::Accounts {
            self.known.accounts.push(id.clone());
        } else {
            let created = row.record.get("created_at").and_then(Value::as_i64);
            self.known.groups.push((id.clone(), created.unwrap_or(0)));
        }
        Ok(())
    }
}

impl RowSink for Sink<'_> {
    fn columns(&mut self, job: usize, names: &[String]) -> Result<(), DbExportError> {
        self.columns = names.to_vec();
        self.row_no = 0;
        let bad_columns = |kind: ExportFile| {
            check_columns(kind, names).map_err(|reason| DbExportError::Entry {
                entry: format!("[queries] {}", kind.stem()),
                reason,
            })
        };
        match self.plan.get(job) {
            Some(Target::File(kind)) => {
                bad_columns(*kind)?;
                let file = KindFile::create(*kind, &self.staging, self.gzip)?;
                // Created at the first file: a delta's known ids are read by then.
                let validator = match self.validator.take() {
                    Some(v) => v,
                    None => StreamValidator::new(self.until, &self.known, self.delta),
                };
                let check = FileCheck::start(validator, *kind, file.name.clone());
                self.open = Some((file, check, Deletions::default()));
            }
            Some(Target::Known(kind)) => bad_columns(*kind)?,
            Some(Target::Keys(kind)) => {
                self.key_set = Some(KeySet::start(*kind, names, &self.staging)?);
            }
            None => {}
        }
        Ok(())
    }

    fn row(&mut self, job: usize, cells: Vec<Cell>) -> Result<(), DbExportError> {
        self.row_no += 1;
        match self.plan.get(job) {
            Some(Target::File(kind)) => {
                let kind = *kind;
                let row = to_record(&self.columns, cells, self.unit);
                self.file_row(kind, row)
            }
            Some(Target::Known(kind)) => {
                let kind = *kind;
                let row = to_record(&self.columns, cells, self.unit);
                self.known_row(kind, row)
            }
            Some(Target::Keys(_)) => match self.key_set.as_mut() {
                Some(set) => {
                    set.row(cells)?;
                    set.file.progress(self.progress, false);
                    Ok(())
                }
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    fn done(&mut self, _job: usize) -> Result<(), DbExportError> {
        if let Some((mut file, check, deleted)) = self.open.take() {
            file.progress(self.progress, true);
            self.kinds.push(KindSummary {
                kind: file.kind,
                rows: file.rows,
                secs: file.elapsed(),
                deleted,
            });
            file.finish()?;
            self.validator = Some(check.finish(self.problems)?);
        }
        if let Some(set) = self.key_set.take() {
            let mut file = set.file;
            file.progress(self.progress, true);
            self.key_sets.push(KeySetSummary {
                kind: file.kind,
                file: file.name.clone(),
                keys: file.rows,
                secs: file.elapsed(),
            });
            file.finish()?;
        }
        Ok(())
    }
}
