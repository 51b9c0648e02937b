//! `cutover-bench stage`: staging alone (the validating pass that indexes an export into a new
//! store, as `cutover run`'s preflight does), on a generated export: time, records/s, peak
//! RSS and the store's size. No simulator, no import.

use crate::import::reference;
use crate::rss;
use anyhow::Context;
use cutover::source::gen::generate;
use cutover::source::ExportDir;
use cutover::store::stage::{stage_export_with, StageOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Settings of `cutover-bench stage`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StageBench {
    /// Multiply the generated export's sizes (those of `cutover-bench import`: 1 ≈ 330 k
    /// items; 9 ≈ 3.05 M, 90 ≈ 30.5 M).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// Stage this export instead of generating one (a directory `cutover-bench stage
    /// --keep-export` left, say).
    #[arg(long)]
    pub(crate) export: Option<PathBuf>,
    /// Generate the export into this directory and leave it there (for later runs'
    /// `--export`); the store is still deleted.
    #[arg(long)]
    pub(crate) keep_export: Option<PathBuf>,
}

/// Runs the benchmark and prints its figures (and, with `CUTOVER_BENCH_LOG=debug`, the
/// staging's own timings on stderr).
pub(crate) fn run_stage_bench(b: &StageBench, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("CUTOVER_BENCH_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let dir = tempfile::tempdir()?;
    let source = match (&b.export, &b.keep_export) {
        (Some(export), _) => export.clone(),
        (None, keep) => {
            let source = keep.clone().unwrap_or_else(|| dir.path().join("export"));
            let stats = generate(&reference(b.scale), &source)?;
            writeln!(out, "generated: {} records", stats.records())?;
            source
        }
    };
    let export = ExportDir::open(&source)?;
    let store = dir.path().join("bench.db");
    let mut conn = cutover::store::open_for_writing(&store)?;
    rss::reset_peak();
    let t = Instant::now();
    let staged = stage_export_with(&mut conn, &store, &export, StageOptions::default())
        .context("staging")?;
    let secs = t.elapsed().as_secs_f64();
    let peak = rss::peak_mib().map_or("unavailable".into(), |m| format!("{m} MiB"));
    let records: u64 = staged.counts.iter().map(|(_, read, _)| read).sum();
    let invalid: u64 = staged.counts.iter().map(|(_, _, bad)| bad).sum();
    writeln!(
        out,
        "staging: {records} records ({invalid} invalid) in {secs:.1} s = {:.0} records/s; \
         peak RSS {peak}; store {} MiB",
        records as f64 / secs.max(1e-9),
        size_mib(&store)
    )?;
    drop(conn);
    Ok(())
}

/// The store's size with its WAL, MiB.
fn size_mib(store: &Path) -> u64 {
    let wal = store.with_extension("db-wal");
    [store, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum::<u64>()
        / (1024 * 1024)
}
