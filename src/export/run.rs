//! One export: every mapped query in one snapshot, each row written as it arrives, the
//! written files checked by the validator `cutover validate` uses, then moved into place.

use super::cells::to_record;
use super::db::{run_jobs, Bound, Job, RowSink};
use super::mapping::Mapping;
use super::url::SourceUrl;
use super::write::{KeyLookup, KindFile};
use super::{io_err, ExportError};
use crate::model::Manifest;
use crate::source::export_dir::{FORMAT_NAME, FORMAT_VERSION};
use crate::source::validate::{validate_delta_with, Known, Problem, ValidationReport};
use crate::source::{ExportDir, ExportFile};
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
    pub problem: Problem,
    /// The row's `_key` column, when the query has one.
    pub source_key: Option<String>,
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportSummary {
    /// Its manifest.
    pub manifest: Manifest,
    /// Per kind, in file order.
    pub kinds: Vec<KindSummary>,
    /// The validation of the written files.
    pub report: ValidationReport,
}

/// Exports the database as `opts` says, writing progress lines to `progress` and handing each
/// problem the validator finds to `problems`.
pub async fn export(
    opts: &ExportOptions,
    progress: &mut dyn Write,
    problems: &mut dyn FnMut(SourceProblem),
) -> Result<ExportSummary, ExportError> {
    if let Some(since) = opts.since {
        if since > opts.until {
            return Err(ExportError::Settings(format!(
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
        staging: staging.clone(),
        keys_dir: keys_dir.clone(),
        gzip: opts.gzip,
        columns: Vec::new(),
        open: None,
        kinds: Vec::new(),
        known: Known::default(),
        progress,
    };
    run_jobs(&opts.url, &jobs, &mut sink).await?;
    let Sink { kinds, known, .. } = sink;

    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        exported_at: opts.until,
        source: opts.mapping.source.clone(),
        watermark: Some(opts.until),
        delta_of: opts.since,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| ExportError::Io {
        what: "encoding the manifest".into(),
        source: e.into(),
    })?;
    let manifest_path = staging.join("manifest.json");
    std::fs::write(&manifest_path, text + "\n")
        .map_err(io_err(format!("writing {}", manifest_path.display())))?;

    let report = check(&staging, &keys_dir, &known, problems)?;
    move_into_place(&staging, &opts.out)?;
    Ok(ExportSummary {
        manifest,
        kinds,
        report,
    })
}

/// Creates the output directory; refuses one that holds an export unless `force`.
fn prepare_out(out: &Path, force: bool) -> Result<(), ExportError> {
    std::fs::create_dir_all(out).map_err(io_err(format!("creating {}", out.display())))?;
    if out.join("manifest.json").exists() {
        if !force {
            return Err(ExportError::Settings(format!(
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

fn remove(path: &Path) -> Result<(), ExportError> {
    std::fs::remove_file(path).map_err(io_err(format!("removing {}", path.display())))
}

/// Validates the staged export with the same rules as `cutover validate`, naming each
/// problem's source key.
fn check(
    staging: &Path,
    keys_dir: &Path,
    known: &Known,
    problems: &mut dyn FnMut(SourceProblem),
) -> Result<ValidationReport, ExportError> {
    let export = ExportDir::open(staging)?;
    let mut lookup: Option<(String, KeyLookup)> = None;
    let report = validate_delta_with(
        &export,
        known,
        &mut |p: Problem| {
            let kind = ExportFile::ALL
                .into_iter()
                .find(|k| p.file.starts_with(&k.file_name()));
            let source_key = kind.and_then(|k| {
                if lookup.as_ref().map(|(f, _)| f != &p.file).unwrap_or(true) {
                    lookup = Some((p.file.clone(), KeyLookup::open(keys_dir, k)));
                }
                lookup.as_mut().and_then(|(_, l)| l.key(p.line))
            });
            problems(SourceProblem {
                problem: p,
                source_key,
            });
        },
        &mut |_, _| {},
    )?;
    Ok(report)
}

/// Moves the files out of the staging directory, the manifest last, then removes it.
fn move_into_place(staging: &Path, out: &Path) -> Result<(), ExportError> {
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
    staging: PathBuf,
    keys_dir: PathBuf,
    gzip: bool,
    columns: Vec<String>,
    open: Option<KindFile>,
    kinds: Vec<KindSummary>,
    known: Known,
    progress: &'a mut dyn Write,
}

impl RowSink for Sink<'_> {
    fn columns(&mut self, job: usize, names: &[String]) -> Result<(), ExportError> {
        self.columns = names.to_vec();
        if let Some(Target::File(kind)) = self.plan.get(job) {
            let mut file = KindFile::create(*kind, &self.staging, &self.keys_dir, self.gzip)?;
            file.progress(self.progress, false);
            self.open = Some(file);
        }
        Ok(())
    }

    fn row(&mut self, job: usize, cells: Vec<super::cells::Cell>) -> Result<(), ExportError> {
        let row = to_record(&self.columns, cells, self.unit);
        match (self.plan.get(job), self.open.as_mut()) {
            (Some(Target::File(_)), Some(file)) => {
                file.write(&row.record, row.key.as_deref())
                    .map_err(io_err(format!("writing {}", file.name)))?;
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

    fn done(&mut self, _job: usize) -> Result<(), ExportError> {
        if let Some(mut file) = self.open.take() {
            file.progress(self.progress, true);
            self.kinds.push(KindSummary {
                kind: file.kind,
                rows: file.rows,
                secs: file.elapsed(),
            });
            file.finish()?;
        }
        Ok(())
    }
}
