//! `cutover-bench export`: generate the reference export, validate it, print records/s and
//! peak memory of both steps; and the small helpers the other benchmarks share.

use crate::rss;
use anyhow::Context;
use cutover::source::gen::{generate, GenConfig};
use cutover::source::{validate_export, ExportDir};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Settings of `cutover-bench export`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ExportBench {
    /// Write the export here (must not hold an export yet) instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Multiply every size of the reference export (1M accounts …) by this factor.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Share of records made bad on purpose.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) bad_ratio: f64,
    /// Write gzip-compressed files (`.jsonl.gz`).
    #[arg(long)]
    pub(crate) gzip: bool,
    /// Keep the temporary export afterwards (prints its path).
    #[arg(long)]
    pub(crate) keep: bool,
}

fn scaled(n: u64, scale: f64) -> u64 {
    // Sizes are far below 2^52, where f64 stops being exact.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let v = (n as f64 * scale).round() as u64;
    v.max(1)
}

/// The reference export of the foundation issue: 1M accounts with 10 friend entries each,
/// 5M C2C messages, 100k groups with 2M members and 5M group messages, times `scale`.
fn reference_config(b: &ExportBench) -> GenConfig {
    GenConfig {
        seed: b.seed,
        accounts: u32::try_from(scaled(1_000_000, b.scale)).unwrap_or(u32::MAX),
        friends_per_account: 10.0,
        c2c_messages: scaled(5_000_000, b.scale),
        groups: u32::try_from(scaled(100_000, b.scale)).unwrap_or(u32::MAX),
        members_per_group: 20.0,
        group_messages: scaled(5_000_000, b.scale),
        bad_ratio: b.bad_ratio,
        gzip: b.gzip,
        // A temporary directory is new and empty; a given one must not hold an export yet.
        force: b.dir.is_none(),
        ..GenConfig::default()
    }
}

pub(crate) fn per_second(n: u64, secs: f64) -> u64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let v = (n as f64 / secs.max(1e-9)) as u64;
    v
}

pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Generates the reference export, validates it, and prints throughput and peak memory.
pub(crate) fn run_export_bench(b: &ExportBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let temp = match &b.dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("cutover-bench-")
                .tempdir()?,
        ),
    };
    let dir = match (&b.dir, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temporary directory is made when no --dir is given"),
    };
    let cfg = reference_config(b);
    writeln!(
        out,
        "bench export: seed {}, scale {}: {} accounts, {} friend entries/account, {} c2c messages, \
         {} groups, {} members/group, {} group messages, bad ratio {}{}",
        cfg.seed,
        b.scale,
        cfg.accounts,
        cfg.friends_per_account,
        cfg.c2c_messages,
        cfg.groups,
        cfg.members_per_group,
        cfg.group_messages,
        cfg.bad_ratio,
        if cfg.gzip { ", gzip" } else { "" }
    )?;
    writeln!(out, "export directory: {}", dir.display())?;
    out.flush()?;

    rss::reset_peak();
    let started = Instant::now();
    let stats = generate(&cfg, &dir).context("generating the export")?;
    let gen_secs = started.elapsed().as_secs_f64();
    let gen_peak = rss::peak_mib();
    writeln!(
        out,
        "generate: {} records ({} made bad) in {gen_secs:.1} s = {} records/s; {:.0} MiB on disk; peak RSS {}",
        stats.records(),
        stats.bad(),
        per_second(stats.records(), gen_secs),
        bytes_to_mib(dir_size(&dir)),
        gen_peak.map_or("unavailable".into(), |m| format!("{m} MiB")),
    )?;
    out.flush()?;

    let reset = rss::reset_peak();
    let started = Instant::now();
    let export = ExportDir::open(&dir)?;
    let mut problems = 0u64;
    let report = validate_export(&export, &mut |_| problems += 1)?;
    let val_secs = started.elapsed().as_secs_f64();
    let val_peak = if reset { rss::peak_mib() } else { None };
    writeln!(
        out,
        "validate: {} records in {val_secs:.1} s = {} records/s; {} invalid, {problems} problems; peak RSS {}",
        report.records(),
        per_second(report.records(), val_secs),
        report.invalid(),
        val_peak.map_or("unavailable (cannot reset the peak on this system)".into(), |m| format!("{m} MiB")),
    )?;
    match temp {
        Some(t) if b.keep => writeln!(out, "kept {}", t.keep().display())?,
        Some(t) => t.close().context("removing the temporary export")?,
        None => {}
    }
    Ok(())
}

pub(crate) fn bytes_to_mib(bytes: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let v = bytes as f64 / (1024.0 * 1024.0);
    v
}
