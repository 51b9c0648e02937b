//! `cutover-bench export-db --from URL`: the example schema (assets/example-im) filled with
//! a generated export of about a million rows, then `cutover export` of it, timed, with the
//! peak resident memory of the export alone; then 1 % of the rows with an `id` marked deleted
//! and a delta exported with every key set (the whole key set of each kind), timed likewise.

use crate::export::{bytes_to_mib, dir_size, per_second};
use crate::rss;
use anyhow::Context;
use cutover::export::example::{fill, mark_deleted, MAPPING};
use cutover::export::url::PASSWORD_ENV;
use cutover::export::{export, ExportOptions, Mapping, SourceUrl};
use cutover::source::gen::{generate, GenConfig};
use std::io::Write;
use std::time::Instant;

/// Settings of `cutover-bench export-db`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ExportDbBench {
    /// The database (empty: the example tables are created in it); the password may come from
    /// CUTOVER_SOURCE_PASSWORD.
    #[arg(long, value_name = "URL")]
    pub(crate) from: String,
    /// Multiply the rows (1.0 is about 1.07 M rows).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// Write `*.jsonl.gz`.
    #[arg(long)]
    pub(crate) gzip: bool,
}

/// Generated data taken at this time; the export's `:until` is after it.
const TAKEN_AT: i64 = 1_732_000_000;

fn config(scale: f64) -> GenConfig {
    let n = |x: f64| (x * scale).round().max(1.0);
    GenConfig {
        seed: 19,
        accounts: n(50_000.0) as u32,
        friends_per_account: 10.0,
        c2c_messages: n(300_000.0) as u64,
        groups: n(1_000.0) as u32,
        members_per_group: 20.0,
        group_messages: n(200_000.0) as u64,
        exported_at: TAKEN_AT,
        ..GenConfig::default()
    }
}

/// Runs the benchmark, printing its figures to `out` (progress to stderr).
pub(crate) fn run_export_db_bench(b: &ExportDbBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let url = SourceUrl::parse(&b.from, std::env::var(PASSWORD_ENV).ok())?;
    let dir = tempfile::Builder::new()
        .prefix("cutover-bench-export-db-")
        .tempdir()?;
    let generated = dir.path().join("generated");
    let cfg = config(b.scale);
    let stats = generate(&cfg, &generated).context("generating the data")?;
    writeln!(
        out,
        "bench export-db {}: {} rows generated (seed {}, scale {})",
        url.display(),
        stats.records(),
        cfg.seed,
        b.scale
    )?;
    out.flush()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let rows = runtime
        .block_on(fill(&url, &generated, (TAKEN_AT - 1) * 1000))
        .context("filling the example schema")?;
    let fill_secs = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "fill: {rows} rows in {fill_secs:.1} s = {} rows/s (multi-row INSERTs)",
        per_second(rows, fill_secs)
    )?;
    out.flush()?;

    let mapping = Mapping::parse(MAPPING).map_err(anyhow::Error::msg)?;
    let opts = ExportOptions {
        gzip: b.gzip,
        ..ExportOptions::new(url, mapping, dir.path().join("export"), None, TAKEN_AT)
    };
    let reset = rss::reset_peak();
    let started = Instant::now();
    let mut problems = 0u64;
    let summary = runtime
        .block_on(export(&opts, &mut std::io::stderr(), &mut |_| {
            problems += 1
        }))
        .context("exporting")?;
    let secs = started.elapsed().as_secs_f64();
    let peak = if reset { rss::peak_mib() } else { None };
    let exported: u64 = summary.kinds.iter().map(|k| k.rows).sum();
    let read_secs: f64 = summary.kinds.iter().map(|k| k.secs).sum();
    writeln!(
        out,
        "export: {exported} rows in {secs:.1} s = {} rows/s end to end (read and write {read_secs:.1} s = {} rows/s, then validation); {:.0} MiB written; {problems} problems; peak RSS {}",
        per_second(exported, secs),
        per_second(exported, read_secs),
        bytes_to_mib(dir_size(&dir.path().join("export"))),
        peak.map_or("unavailable".into(), |m| format!("{m} MiB"))
    )?;
    for k in &summary.kinds {
        writeln!(
            out,
            "  {:<16} {:>9} rows {:>9} rows/s",
            k.kind.stem(),
            k.rows,
            per_second(k.rows, k.secs)
        )?;
    }
    anyhow::ensure!(exported == rows, "exported {exported} rows of {rows}");
    delta_with_deletions(&runtime, &opts, out)
}

/// Marks 1 % of the rows of the tables with an `id` deleted after `full`'s watermark, then
/// exports the delta since it with every key set, printing its tombstones, keys, rate and peak
/// RSS.
fn delta_with_deletions(
    runtime: &tokio::runtime::Runtime,
    full: &ExportOptions,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let at_ms = (full.until + 60) * 1000;
    runtime
        .block_on(mark_deleted(&full.url, 100, at_ms))
        .context("marking 1 % deleted")?;
    let opts = ExportOptions {
        out: full.out.with_file_name("delta"),
        since: Some(full.until),
        until: full.until + 3600,
        ..full.clone()
    };
    let reset = rss::reset_peak();
    let started = Instant::now();
    let summary = runtime
        .block_on(export(&opts, &mut std::io::stderr(), &mut |_| {}))
        .context("exporting the delta")?;
    let secs = started.elapsed().as_secs_f64();
    let peak = if reset { rss::peak_mib() } else { None };
    let tombstones: u64 = summary.kinds.iter().map(|k| k.deleted.tombstones).sum();
    let keys: u64 = summary.key_sets.iter().map(|k| k.keys).sum();
    let key_secs: f64 = summary.key_sets.iter().map(|k| k.secs).sum();
    writeln!(
        out,
        "delta: {tombstones} tombstones (1 % of users, groups and messages marked deleted), {keys} keys in {} key sets ({} keys/s) in {secs:.1} s end to end; peak RSS {}",
        summary.key_sets.len(),
        per_second(keys, key_secs),
        peak.map_or("unavailable".into(), |m| format!("{m} MiB"))
    )?;
    anyhow::ensure!(tombstones > 0, "the delta holds no tombstone");
    Ok(())
}
