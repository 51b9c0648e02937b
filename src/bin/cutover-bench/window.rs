//! `cutover-bench window`: a pre-copy of a generated export, then a delta of about 1 % of it,
//! with tombstones deleting about 1 % of each kind of the pre-copy (`--delete-share`), against
//! the in-process simulator at the default limits with 40–120 ms latency per call. The window
//! runs as an operator runs it, `cutover run --headless --json --phase window --delta DIR
//! --delete-accounts` with `[window] max_delete_share` at twice the share (in this process,
//! against the same simulator). Prints the pre-copy's import time, the window's steps
//! (staging, import, window verification, from the run's JSON lines), the deletion stages'
//! calls per API and when they were sent, and the window's calls per API.

use crate::delta_deletions;
use crate::delta_split::split;
use crate::import::{bench_runbook, bench_setup, reference, start_sim, ImportBench, KEY, SDKAPPID};
use crate::window_steps::{deletion_times, print_deletions, step_times, DeletionTimes};
use anyhow::Context;
use clap::Parser;
use cutover::model::phase::Phase;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::SimHandle;
use cutover::source::gen::generate;
use cutover::tim::api::Api;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;
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
    /// The share of each kind of the pre-copy the delta deletes (0: no tombstones).
    #[arg(long, default_value_t = 0.01)]
    pub(crate) delete_share: f64,
    /// Instead: the window of a follow run (`--phase follow`) over a SQLite old database that
    /// takes 50 writes a second while followed (`--scale 9.3`: about 3 M items).
    #[arg(long)]
    pub(crate) follow: bool,
    /// With `--follow`: seconds of following before the stop.
    #[arg(long, default_value_t = 30)]
    pub(crate) follow_secs: u64,
    /// With `--follow`: the simulator's limits lifted (else the default limits, 40–120 ms
    /// latency).
    #[arg(long)]
    pub(crate) no_limits: bool,
}

/// Runs the benchmark and prints its figures.
pub(crate) fn run_window_bench(b: &WindowBench, out: &mut dyn Write) -> anyhow::Result<()> {
    // `cutover run` takes the key from the environment only; set before any thread starts.
    std::env::set_var("CUTOVER_SECRET_KEY", KEY);
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
    let mut deleted = HashSet::new();
    if b.delete_share > 0.0 {
        let d = delta_deletions::add(&precopy, &delta, b.delete_share)?;
        let list: Vec<String> = d
            .tombstones
            .iter()
            .map(|(file, n)| format!("{} {n}", file.trim_end_matches(".jsonl")))
            .collect();
        writeln!(
            out,
            "tombstones in the delta ({} % of each kind of the pre-copy): {}; {} records of the deleted (dormant) accounts left out of the export",
            b.delete_share * 100.0,
            list.join(", "),
            d.left_out
        )?;
        deleted = d.keys;
    }
    let book = dir.path().join("runbook.toml");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = dir.path().join("bench.db");
    let (handle, toml, pre_secs) = runtime.block_on(precopy_run(&precopy, &store, out))?;
    let max_share = (2.0 * b.delete_share).clamp(0.01, 1.0);
    std::fs::write(
        &book,
        format!("{toml}\n[window]\nmax_delete_share = {max_share}\n"),
    )?;
    let before = handle.sim().counts();
    let (stop, watched) = tokio::sync::watch::channel(false);
    let watch = runtime.spawn(deletion_times(handle.sim().clone(), watched));
    let started = Instant::now();
    let args = WindowArgs {
        url: &handle.url(),
        store: &store,
        precopy: &precopy,
        delta: &delta,
        book: &book,
    };
    let (lines, exit) = run_window(&args)?;
    let _ = stop.send(true);
    let times: DeletionTimes = runtime.block_on(watch)?;
    report(out, &lines, exit, pre_secs, &times, started)?;
    print_mismatches(out, &store, &deleted)?;
    print_deletions(out, &handle, &before, &times, started)?;
    print_calls(out, &handle, &before)
}

/// The pre-copy, imported through the library into a new simulator: the simulator, the
/// runbook text used, and the import's seconds.
async fn precopy_run(
    precopy: &Path,
    store: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<(SimHandle, String, f64)> {
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
    let rb = bench_runbook(&toml, precopy, store, &handle.url())?;
    let opts = RunOptions {
        phase: Some(Phase::Precopy),
        ..RunOptions::default()
    };
    let pre = Runner::new(rb, opts)?;
    let (pre_secs, _) = import(&pre).await?;
    writeln!(
        out,
        "pre-copy import (app live, not window time): {pre_secs:.1} s"
    )?;
    Ok((handle, toml, pre_secs))
}

/// Where the window's `cutover run` goes.
struct WindowArgs<'a> {
    url: &'a str,
    store: &'a Path,
    precopy: &'a Path,
    delta: &'a Path,
    book: &'a Path,
}

/// `cutover run --headless --json --phase window --delta DIR --delete-accounts`, in this
/// process (outside the simulator's runtime: it starts its own): its output and exit code.
fn run_window(a: &WindowArgs<'_>) -> anyhow::Result<(String, u8)> {
    let path = |p: &Path| p.display().to_string();
    let args = [
        "cutover".to_string(),
        "run".into(),
        "--headless".into(),
        "--json".into(),
        "--progress-secs".into(),
        "1".into(),
        "--phase".into(),
        "window".into(),
        "--delta".into(),
        path(a.delta),
        "--delete-accounts".into(),
        "--config".into(),
        path(a.book),
        "--source".into(),
        path(a.precopy),
        "--store".into(),
        path(a.store),
        "--target-url".into(),
        a.url.to_string(),
        "--sdkappid".into(),
        SDKAPPID.to_string(),
        "--admin".into(),
        "administrator".into(),
    ];
    run_cutover(args)
}

/// `cutover` with `args` (the program's name first), in this process: its output and exit code.
pub(crate) fn run_cutover(args: impl IntoIterator<Item = String>) -> anyhow::Result<(String, u8)> {
    let cli = cutover::cli::Cli::try_parse_from(args)?;
    let mut lines = Vec::new();
    let exit = match cutover::run(cli, &mut lines)? {
        cutover::Outcome::Ok => 0,
        cutover::Outcome::Problems => 1,
        cutover::Outcome::Exit(code) => code,
    };
    Ok((String::from_utf8_lossy(&lines).into_owned(), exit))
}

/// The window's steps, from its JSON lines, against the pre-copy's time.
fn report(
    out: &mut dyn Write,
    lines: &str,
    exit: u8,
    pre_secs: f64,
    times: &DeletionTimes,
    started: Instant,
) -> anyhow::Result<()> {
    let steps = step_times(lines);
    let secs = |name: &str| steps.get(name).map_or(0.0, |s| s.secs);
    let (stage, import, verify) = (secs("preflight"), secs("import"), secs("verify"));
    let total = stage + import + verify;
    let deleting = times.span(started).map_or(0.0, |(from, to)| to - from);
    writeln!(out, "window (cutover run --phase window --delete-accounts, exit {exit}): staging the delta {stage:.1} s + delta import {import:.1} s (of which the deletion stages {deleting:.1} s) + window verification {verify:.1} s = {total:.1} s")?;
    if let Some(v) = steps.get("verify") {
        writeln!(out, "window verification: {}", v.reason)?;
    }
    writeln!(
        out,
        "window time / pre-copy import time: {:.3} (a whole export imported inside the window would take about the pre-copy's time)",
        total / pre_secs.max(1e-9)
    )?;
    Ok(())
}

/// How many of the mismatches the window's verification recorded are records the delta
/// deleted (`deleted`, as the mismatch list names them), and the first five of the others.
fn print_mismatches(
    out: &mut dyn Write,
    store: &Path,
    deleted: &HashSet<String>,
) -> anyhow::Result<()> {
    let conn = cutover::store::open_for_reading(store)?;
    let all = cutover::store::verify::mismatches(&conn, None, 1_000_000)?;
    let (gone, others): (Vec<_>, Vec<_>) = all.iter().partition(|m| deleted.contains(&m.record));
    if !gone.is_empty() {
        writeln!(
            out,
            "  {} of the {} mismatches are records this window deleted, read back as missing",
            gone.len(),
            all.len()
        )?;
    }
    for m in others.iter().take(5) {
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
    Ok(())
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
