//! One export: every mapped query in one snapshot, each row written as it arrives and checked
//! on the way by the validator `cutover validate` uses, then the files moved into place.

use super::cells::to_record;
use super::check::FileCheck;
use super::db::{run_jobs, Bound, Job, RowSink};
use super::mapping::Mapping;
use super::url::SourceUrl;
use super::write::KindFile;
use super::{io_err, DbExportError};
use crate::model::Manifest;
use crate::source::export_dir::{FORMAT_NAME, FORMAT_VERSION};
use crate::source::validate::{Known, Problem, ValidationReport};
use crate::source::{ExportFile, StreamValidator};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The staging directory inside the output: nothing in it counts as an export.
const STAGING: &str = ".cutover-export-partial";

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The source database.
    pub url: SourceUrl,
    /// The mapping file's content.
    pub mapping: Mapping,
    /// The output directory.
    pub out: PathBuf,
    /// Export only what changed at or after this watermark (unix seconds): a delta.
    pub since: Option<i64>,
    /// The end of the range, exclusive (unix seconds); the manifest's `watermark`.
    pub until: i64,
    /// Write `*.jsonl.gz`.
    pub gzip: bool,
    /// Replace an export already in the output directory.
    pub force: bool,
}

/// Rows and time of one kind.
#[derive(Debug, Clone)]
pub struct KindSummary {
    /// The kind.
    pub kind: ExportFile,
    /// Rows written.
    pub rows: u64,
    /// Seconds from its query to its last row.
    pub secs: f64,
}

/// A problem of the written export, with the source row it came from.
#[derive(Debug, Clone)]
pub struct SourceProblem {
    /// The problem, by file and line of the written export.
    pub(crate) problem: Problem,
    /// The row's `_key` column, when the query has one.
    pub(crate) source_key: Option<String>,
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportSummary {
    /// Its manifest.
    pub(crate) manifest: Manifest,
    /// Per kind, in file order.
    pub kinds: Vec<KindSummary>,
    /// The validation of the written files.
    pub(crate) report: ValidationReport,
}

/// Exports the database as `opts` says, writing progress lines to `progress` and handing each
/// problem the validator finds to `problems`.
pub async fn export(
    opts: &ExportOptions,
    progress: &mut dyn Write,
    problems: &mut dyn FnMut(SourceProblem),
) -> Result<ExportSummary, DbExportError> {
    if let Some(since) = opts.since {
        if since > opts.until {
            return Err(DbExportError::Settings(format!(
                "--since {since} is after --until {}: nothing to export",
                opts.until
            )));
        }
    }
    prepare_out(&opts.out, opts.force)?;
    let staging = opts.out.join(STAGING);
    let keys_dir = staging.join("keys");
    std::fs::create_dir_all(&keys_dir)
        .map_err(io_err(format!("creating {}", keys_dir.display())))?;

    let unit = opts.mapping.unit;
    let until = Bound::at(opts.until, unit);
    let since = Bound::at(opts.since.unwrap_or(0), unit);
    let engine = opts.url.engine;
    let mut jobs = Vec::new();
    let mut plan = Vec::new();
    if opts.since.is_some() {
        // A delta refers to accounts and groups of earlier exports: their ids, read in the same
        // snapshot, let the validator tell a dangling reference from an earlier record.
        for kind in [ExportFile::Accounts, ExportFile::Groups] {
            if let Some(sql) = opts.mapping.query(kind) {
                let what = format!("{} (ids known before the delta)", kind.stem());
                jobs.push(Job::new(&what, sql, engine, Bound::at(0, unit), until));
                plan.push(Target::Known(kind));
            }
        }
    }
    for (kind, sql) in &opts.mapping.queries {
        jobs.push(Job::new(kind.stem(), sql, engine, since, until));
        plan.push(Target::File(*kind));
    }
    let mut sink = Sink {
        plan,
        unit,
        until: opts.until,
        delta: opts.since.is_some(),
        staging: staging.clone(),
        gzip: opts.gzip,
        columns: Vec::new(),
        open: None,
        kinds: Vec::new(),
        known: Known::default(),
        validator: None,
        progress,
        problems,
    };
    run_jobs(&opts.url, &jobs, &mut sink).await?;
    let Sink {
        kinds, validator, ..
    } = sink;
    let files = validator
        .unwrap_or_else(|| {
            StreamValidator::new(opts.until, &Known::default(), opts.since.is_some())
        })
        .finish();

    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        exported_at: opts.until,
        source: opts.mapping.source.clone(),
        watermark: Some(opts.until),
        delta_of: opts.since,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| DbExportError::Io {
        what: "encoding the manifest".into(),
        source: e.into(),
    })?;
    let manifest_path = staging.join("manifest.json");
    std::fs::write(&manifest_path, text + "\n")
        .map_err(io_err(format!("writing {}", manifest_path.display())))?;

    move_into_place(&staging, &opts.out)?;
    let report = ValidationReport {
        export: opts.out.clone(),
        manifest: manifest.clone(),
        files,
    };
    Ok(ExportSummary {
        manifest,
        kinds,
        report,
    })
}

/// Creates the output directory; refuses one that holds an export unless `force`.
fn prepare_out(out: &Path, force: bool) -> Result<(), DbExportError> {
    std::fs::create_dir_all(out).map_err(io_err(format!("creating {}", out.display())))?;
    if out.join("manifest.json").exists() {
        if !force {
            return Err(DbExportError::Settings(format!(
                "{} already holds an export (manifest.json); --force replaces it",
                out.display()
            )));
        }
        remove(&out.join("manifest.json"))?;
    }
    let staging = out.join(STAGING);
    if staging.exists() {
        // What an interrupted export left: never complete, so never kept.
        std::fs::remove_dir_all(&staging)
            .map_err(io_err(format!("removing {}", staging.display())))?;
    }
    Ok(())
}

fn remove(path: &Path) -> Result<(), DbExportError> {
    std::fs::remove_file(path).map_err(io_err(format!("removing {}", path.display())))
}

/// Moves the files out of the staging directory, the manifest last, then removes it.
fn move_into_place(staging: &Path, out: &Path) -> Result<(), DbExportError> {
    for kind in ExportFile::ALL {
        for name in [kind.file_name(), format!("{}.gz", kind.file_name())] {
            let (from, to) = (staging.join(&name), out.join(&name));
            if to.exists() {
                remove(&to)?;
            }
            if from.exists() {
                std::fs::rename(&from, &to)
                    .map_err(io_err(format!("moving {} into place", to.display())))?;
            }
        }
    }
    let manifest = out.join("manifest.json");
    std::fs::rename(staging.join("manifest.json"), &manifest)
        .map_err(io_err(format!("moving {} into place", manifest.display())))?;
    std::fs::remove_dir_all(staging).map_err(io_err(format!("removing {}", staging.display())))
}

/// What a job's rows are for.
enum Target {
    /// Only ids (and group creation times), for a delta's validation.
    Known(ExportFile),
    /// The export file of this kind.
    File(ExportFile),
}

struct Sink<'a> {
    plan: Vec<Target>,
    unit: super::TimeUnit,
    until: i64,
    staging: PathBuf,
    gzip: bool,
    columns: Vec<String>,
    /// The file being written and its validation.
    open: Option<(KindFile, FileCheck)>,
    kinds: Vec<KindSummary>,
    known: Known,
    /// A delta export (`--since`): tombstones are allowed.
    delta: bool,
    /// Between two files: the validator with the state of the files before.
    validator: Option<StreamValidator>,
    progress: &'a mut dyn Write,
    problems: &'a mut dyn FnMut(SourceProblem),
}

impl RowSink for Sink<'_> {
    fn columns(&mut self, job: usize, names: &[String]) -> Result<(), DbExportError> {
        self.columns = names.to_vec();
        if let Some(Target::File(kind)) = self.plan.get(job) {
            let file = KindFile::create(*kind, &self.staging, self.gzip)?;
            // Created at the first file: a delta's known ids are read by then.
            let validator = match self.validator.take() {
                Some(v) => v,
                None => StreamValidator::new(self.until, &self.known, self.delta),
            };
            let check = FileCheck::start(validator, *kind, file.name.clone());
            self.open = Some((file, check));
        }
        Ok(())
    }

    fn row(&mut self, job: usize, cells: Vec<super::cells::Cell>) -> Result<(), DbExportError> {
        let row = to_record(&self.columns, cells, self.unit);
        match (self.plan.get(job), self.open.as_mut()) {
            (Some(Target::File(_)), Some((file, check))) => {
                let kind = file.kind;
                let line = file
                    .write(&row.record)
                    .map_err(|source| DbExportError::Io {
                        what: format!("writing {}", kind.file_name()),
                        source,
                    })?;
                check.push(line, row.key)?;
                check.drain(self.problems);
                file.progress(self.progress, false);
            }
            (Some(Target::Known(kind)), _) => {
                let Some(Value::String(id)) = row.record.get("id") else {
                    return Ok(());
                };
                if *kind == ExportFile::Accounts {
                    self.known.accounts.push(id.clone());
                } else {
                    let created = row.record.get("created_at").and_then(Value::as_i64);
                    self.known.groups.push((id.clone(), created.unwrap_or(0)));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn done(&mut self, _job: usize) -> Result<(), DbExportError> {
        if let Some((mut file, check)) = self.open.take() {
            file.progress(self.progress, true);
            self.kinds.push(KindSummary {
                kind: file.kind,
                rows: file.rows,
                secs: file.elapsed(),
            });
            file.finish()?;
            self.validator = Some(check.finish(self.problems)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_export_is_kept_unless_forced_and_a_leftover_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::create_dir_all(out.join(STAGING)).unwrap();
        std::fs::write(out.join(STAGING).join("accounts.jsonl"), "{}\n").unwrap();
        prepare_out(out, false).unwrap();
        assert!(
            !out.join(STAGING).exists(),
            "an interrupted export's files are dropped"
        );

        std::fs::write(out.join("manifest.json"), "{}").unwrap();
        let refused = prepare_out(out, false).unwrap_err().to_string();
        assert!(refused.contains("--force"), "{refused}");
        assert!(out.join("manifest.json").exists());
        prepare_out(out, true).unwrap();
        assert!(!out.join("manifest.json").exists());
    }
}
