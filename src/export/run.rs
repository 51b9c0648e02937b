//! One export: every mapped query in one snapshot, each row written as it arrives and checked
//! on the way by the validator `cutover validate` uses, a delta's key sets after them, then
//! the files moved into place.

use super::db::{run_jobs, Bound, Job};
use super::mapping::Mapping;
use super::sink::{KeySetSummary, KindSummary, Sink, Target};
use super::url::SourceUrl;
use super::write::KEYS_DIR;
use super::{io_err, DbExportError};
use crate::model::Manifest;
use crate::source::export_dir::{FORMAT_NAME, FORMAT_VERSION};
use crate::source::validate::{Known, Problem, ValidationReport};
use crate::source::{ExportFile, StreamValidator};
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
    /// With `since`: the queries also read this many seconds before it (rows whose change
    /// time was set before a transaction that committed after the previous export read);
    /// the manifest's `delta_of` stays `since`.
    pub reread_secs: i64,
    /// With `since`: read the ids of the accounts and groups of earlier exports, so that the
    /// export's own report tells a dangling reference from an earlier record (a follow round
    /// leaves that to staging, which knows them from the store).
    pub known_ids: bool,
    /// With `since`: read the `[keys]` key sets (a follow round reads them in its last round).
    pub key_sets: bool,
}

impl ExportOptions {
    /// A full export (`since` = `None`) or a delta of `url` through `mapping` into `out`,
    /// with the command's defaults: no re-read, known ids and key sets read.
    pub fn new(
        url: SourceUrl,
        mapping: Mapping,
        out: PathBuf,
        since: Option<i64>,
        until: i64,
    ) -> Self {
        ExportOptions {
            url,
            mapping,
            out,
            since,
            until,
            gzip: false,
            force: false,
            reread_secs: 0,
            known_ids: true,
            key_sets: true,
        }
    }
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
    /// The key sets written (a delta export with `[keys]`), in file order.
    pub key_sets: Vec<KeySetSummary>,
    /// The validation of the written records (tombstones are checked on their own: `kinds`).
    pub(crate) report: ValidationReport,
}

impl ExportSummary {
    /// Lines written: records and tombstones.
    pub fn records(&self) -> u64 {
        self.report.records() + self.tombstones(|d| d.tombstones)
    }

    /// Records and tombstones with a problem.
    pub fn invalid(&self) -> u64 {
        self.report.invalid() + self.tombstones(|d| d.invalid)
    }

    /// Problems of records and tombstones.
    pub fn problems(&self) -> u64 {
        self.report.problems() + self.tombstones(|d| d.problems)
    }

    /// True when no record and no tombstone has a problem.
    pub(crate) fn is_clean(&self) -> bool {
        self.invalid() == 0
    }

    fn tombstones(&self, count: impl Fn(&super::Deletions) -> u64) -> u64 {
        self.kinds.iter().map(|k| count(&k.deleted)).sum()
    }
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
    let keys_dir = staging.join(KEYS_DIR);
    std::fs::create_dir_all(&keys_dir)
        .map_err(io_err(format!("creating {}", keys_dir.display())))?;

    let (jobs, plan) = plan(opts);
    let mut sink = Sink::new(plan, opts, staging.clone(), progress, problems);
    run_jobs(&opts.url, &jobs, &mut sink).await?;
    let Sink {
        kinds,
        key_sets,
        validator,
        ..
    } = sink;
    let (files, custom_keys, media) = validator
        .unwrap_or_else(|| {
            StreamValidator::new(opts.until, &Known::default(), opts.since.is_some())
        })
        .finish_with_inventories();

    let manifest = write_manifest(opts, &staging)?;
    move_into_place(&staging, &opts.out)?;
    let report = ValidationReport {
        export: opts.out.clone(),
        manifest: manifest.clone(),
        files,
        custom_keys,
        media,
    };
    Ok(ExportSummary {
        manifest,
        kinds,
        key_sets,
        report,
    })
}

/// The jobs of the export, in order, and what each one's rows are for.
fn plan(opts: &ExportOptions) -> (Vec<Job>, Vec<Target>) {
    let unit = opts.mapping.unit;
    let until = Bound::at(opts.until, unit);
    let reread = opts
        .since
        .map_or(0, |s| (s - opts.reread_secs.max(0)).max(0));
    let since = Bound::at(reread, unit);
    let engine = opts.url.engine;
    let mut jobs = Vec::new();
    let mut plan = Vec::new();
    if opts.since.is_some() && opts.known_ids {
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
    if opts.since.is_some() && opts.key_sets {
        // The whole current key set of each kind, in the same snapshot: what vanished from it
        // since the pre-copy was deleted outright.
        for (kind, sql) in &opts.mapping.keys {
            let what = format!("{} (key set)", kind.stem());
            jobs.push(Job::new(&what, sql, engine, since, until));
            plan.push(Target::Keys(*kind));
        }
    }
    (jobs, plan)
}

/// Writes the manifest into `staging`.
fn write_manifest(opts: &ExportOptions, staging: &Path) -> Result<Manifest, DbExportError> {
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
    Ok(manifest)
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

/// Moves the files out of the staging directory, the manifest last, then removes it. Files
/// of the format an earlier export left in the directory go: a stale key set most of all,
/// which would stand for the old system's keys.
fn move_into_place(staging: &Path, out: &Path) -> Result<(), DbExportError> {
    let keys = Path::new(KEYS_DIR);
    let staged_keys = staging.join(KEYS_DIR);
    let has_keys = std::fs::read_dir(&staged_keys)
        .map_err(io_err(format!("reading {}", staged_keys.display())))?
        .next()
        .is_some();
    let dir = out.join(KEYS_DIR);
    if has_keys {
        std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
    }
    for kind in ExportFile::ALL {
        let plain = kind.file_name();
        let names = [
            PathBuf::from(&plain),
            PathBuf::from(format!("{plain}.gz")),
            keys.join(&plain),
            keys.join(format!("{plain}.gz")),
        ];
        for name in names {
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
    if !has_keys && dir.is_dir() {
        // Emptied of an earlier export's key sets; kept when it holds files of someone else.
        let _ = std::fs::remove_dir(&dir);
    }
    let manifest = out.join("manifest.json");
    std::fs::rename(staging.join("manifest.json"), &manifest)
        .map_err(io_err(format!("moving {} into place", manifest.display())))?;
    std::fs::remove_dir_all(staging).map_err(io_err(format!("removing {}", staging.display())))
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

    #[test]
    fn key_sets_move_into_place_and_an_earlier_exports_go() {
        let dir = tempfile::tempdir().unwrap();
        let (out, staging) = (dir.path(), dir.path().join(STAGING));
        std::fs::create_dir_all(staging.join(KEYS_DIR)).unwrap();
        std::fs::create_dir_all(out.join(KEYS_DIR)).unwrap();
        std::fs::write(out.join("keys/friends.jsonl"), "stale\n").unwrap();
        std::fs::write(staging.join("keys/accounts.jsonl"), "{\"id\":\"u1\"}\n").unwrap();
        std::fs::write(staging.join("manifest.json"), "{}").unwrap();
        move_into_place(&staging, out).unwrap();
        assert!(out.join("keys/accounts.jsonl").is_file());
        assert!(
            !out.join("keys/friends.jsonl").exists(),
            "a stale key set goes"
        );
        assert!(!staging.exists());

        // A full export over it: no key set is left behind.
        std::fs::create_dir_all(staging.join(KEYS_DIR)).unwrap();
        std::fs::write(staging.join("manifest.json"), "{}").unwrap();
        move_into_place(&staging, out).unwrap();
        assert!(!out.join(KEYS_DIR).exists());
    }
}
