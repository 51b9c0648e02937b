//! `cutover-bench window`: a pre-copy of a generated export, then a delta of about 1 % of it,
//! against the in-process simulator at the default limits with 40–120 ms latency per call.
//! Prints the pre-copy's import time, the window's (delta import + window verification), and
//! the window's calls per API.

use crate::delta_split::split;
use crate::import::{bench_runbook, bench_setup, reference, start_sim, ImportBench};
use anyhow::Context;
use cutover::model::phase::Phase;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::SimHandle;
use cutover::source::gen::generate;
use cutover::tim::api::Api;
use cutover::verify::Progress;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Settings of `cutover-bench window`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WindowBench {
    /// Multiply the generated export's sizes (those of `cutover-bench import`).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// The delta's share of the export.
    #[arg(long, default_value_t = 0.01)]
    pub(crate) share: f64,
}

/// Runs the benchmark and prints its figures.
pub(crate) fn run_window_bench(b: &WindowBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (full, precopy, delta) = (
        dir.path().join("full"),
        dir.path().join("pre"),
        dir.path().join("delta"),
    );
    generate(&reference(b.scale), &full)?;
    let s = split(&full, &precopy, &delta, b.share)?;
    writeln!(
        out,
        "generated export split at watermark {}: {} records pre-copied, {} in the delta (new and changed)",
        s.watermark, s.precopy, s.delta
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(drive(&precopy, &delta, &dir.path().join("bench.db"), out))
}

async fn drive(
    precopy: &Path,
    delta: &Path,
    store: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let limited = ImportBench {
        source: None,
        scale: 1.0,
        no_limits: false,
        latency_ms: 40,
        latency_spread_ms: 80,
        keep: None,
        stop_after_ms: 0,
    };
    let (mut config, toml) = bench_setup(&limited);
    // Verification compares message bodies: the simulator must keep them.
    config.lean = false;
    let handle = start_sim(config).await?;
    let runner = |source: &Path, phase| -> anyhow::Result<Runner> {
        let rb = bench_runbook(&toml, source, store, &handle.url())?;
        let opts = RunOptions {
            phase: Some(phase),
            ..RunOptions::default()
        };
        Ok(Runner::new(rb, opts)?)
    };
    let pre = runner(precopy, Phase::Precopy)?;
    let (pre_secs, _) = import(&pre).await?;
    writeln!(
        out,
        "pre-copy import (app live, not window time): {pre_secs:.1} s"
    )?;
    let before = handle.sim().counts();
    let window = runner(delta, Phase::Window)?;
    let (import_secs, stage_secs) = import(&window).await?;
    let started = Instant::now();
    let (_, stop) = tokio::sync::watch::channel(false);
    let summary = window.verify(Arc::new(Progress::default()), stop).await?;
    let verify_secs = started.elapsed().as_secs_f64();
    let total = stage_secs + import_secs + verify_secs;
    writeln!(out, "window: staging the delta {stage_secs:.1} s + delta import {import_secs:.1} s + window verification {verify_secs:.1} s = {total:.1} s")?;
    writeln!(out, "window verification: {}", summary.line())?;
    let conn = cutover::store::open_for_reading(store)?;
    for m in cutover::store::verify::mismatches(&conn, None, 5)? {
        writeln!(
            out,
            "  mismatch: {} {} {}: {} ({})",
            m.kind.stage(),
            m.record,
            m.what,
            m.detail,
            m.source
        )?;
    }
    writeln!(
        out,
        "window time / pre-copy import time: {:.3} (a whole export imported inside the window would take about the pre-copy's time)",
        total / pre_secs.max(1e-9)
    )?;
    print_calls(out, &handle, &before)
}

/// Stages and imports through `runner`: (import seconds, staging seconds).
async fn import(runner: &Runner) -> anyhow::Result<(f64, f64)> {
    let staged = Instant::now();
    runner.preflight().await?;
    let stage_secs = staged.elapsed().as_secs_f64();
    let started = Instant::now();
    let ending = runner.prepare_import()?.run().await?;
    anyhow::ensure!(
        matches!(ending, cutover::engine::import::Ending::Complete),
        "the import did not complete: {ending:?}"
    );
    Ok((started.elapsed().as_secs_f64(), stage_secs))
}

/// The window's successful calls per API (those since `before`).
fn print_calls(
    out: &mut dyn Write,
    handle: &SimHandle,
    before: &BTreeMap<(Api, i64), u64>,
) -> anyhow::Result<()> {
    writeln!(out, "{:<32} {:>8}", "window calls (answered 0)", "calls")?;
    for ((api, code), n) in handle.sim().counts() {
        let was = before.get(&(api, code)).copied().unwrap_or(0);
        if code == 0 && n > was {
            writeln!(out, "{:<32} {:>8}", api.command(), n - was)?;
        }
    }
    Ok(())
}
