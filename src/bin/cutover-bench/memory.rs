//! `cutover-bench memory`: the engine's own peak memory per step at a given size. The
//! simulator runs in a child process (that of `cutover sim`, through this binary's hidden
//! `simulator` subcommand; lean, every limit lifted), so the peak measured here is this
//! process's alone: staging, a first import stopped early, the resumed import (with the time
//! its first request leaves), and a whole read-back verification.

use crate::import::{bench_runbook, reference, stop_early, unlimited_runbook_toml, KEY, SDKAPPID};
use crate::rss;
use anyhow::Context;
use cutover::engine::control::Command;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::source::gen::generate;
use cutover::tim::api::Api;
use cutover::tim::SECRET_KEY_ENV;
use cutover::verify::Progress;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of `cutover-bench memory`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MemoryBench {
    /// Multiply the generated export's sizes (those of `cutover-bench import`: 1 ≈ 330 k
    /// items).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// Stop the first import after this many milliseconds, then measure the resumed one.
    #[arg(long, default_value_t = 2000)]
    pub(crate) stop_after_ms: u64,
    /// Stop the resumed import after this many seconds and skip verification (0: run both to
    /// their end), for sizes whose whole import would take hours.
    #[arg(long, default_value_t = 0)]
    pub(crate) import_secs: u64,
}

/// The simulator child; killed when dropped, so an early return does not leave it running.
struct SimChild(Child);

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmark and prints its figures.
pub(crate) fn run_memory_bench(b: &MemoryBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let source = dir.path().join("export");
    let stats = generate(&reference(b.scale), &source)?;
    writeln!(out, "generated: {} records", stats.records())?;
    let (child, url) = start_sim_process(dir.path())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(drive(b, &source, &dir.path().join("bench.db"), &url, out));
    drop(child);
    result
}

/// Starts the simulator of `cutover sim` in a child process (this executable's hidden
/// `simulator` subcommand) on a free loopback port with every limit lifted;
/// returns it and its URL, read from the line it prints when it listens.
fn start_sim_process(dir: &Path) -> anyhow::Result<(SimChild, String)> {
    let config = dir.join("sim.toml");
    let mut toml = String::from(
        "lean = true\n[app]\nprofile_custom_tags = [\"Hobby\", \"Vip\"]\n\
         friend_custom_tags = [\"Close\", \"Tag\"]\nroaming_days = 0\ngroup_msgs_per_sec = 0\n\
         [app.group_custom_fields]\nPrivate = [\"Category\"]\nPublic = [\"Category\"]\n\
         ChatRoom = [\"Category\"]\nCommunity = [\"Category\"]\n",
    );
    for api in Api::ALL {
        toml.push_str(&format!("[limits.{}]\nrate = 0\n", api.command()));
    }
    std::fs::write(&config, toml)?;
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let mut child = Process::new(exe)
        .args(["simulator", "--listen", "127.0.0.1:0", "--sdkappid"])
        .arg(SDKAPPID.to_string())
        .arg("--config")
        .arg(&config)
        .env(SECRET_KEY_ENV, KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the simulator process")?;
    let stdout = child.stdout.take().context("the simulator has no stdout")?;
    let child = SimChild(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    // "simulating Tencent IM for SDKAppID N at URL (admins: …); Ctrl-C stops"
    let url = line
        .split(" at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("the simulator did not say where it listens: {line:?}"))?;
    Ok((child, url.to_string()))
}

/// One measured step: its time and the peak resident memory during it.
fn step(out: &mut dyn Write, name: &str, started: Instant) -> anyhow::Result<()> {
    let peak = rss::peak_mib().map_or("unavailable".into(), |m| format!("{m} MiB"));
    writeln!(
        out,
        "{name:<28} {:>8.1} s   peak RSS {peak}",
        started.elapsed().as_secs_f64()
    )?;
    rss::reset_peak();
    Ok(())
}

async fn drive(
    b: &MemoryBench,
    source: &Path,
    store: &Path,
    url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // The generated export's custom keys, declared as the simulated console has them.
    let app =
        cutover::source::gen::CUSTOM_KEYS_APP.replacen("[app]\n", "[app]\nroaming_days = 0\n", 1);
    let toml = unlimited_runbook_toml(&app);
    let rb = bench_runbook(&toml, source, store, url)?;
    let runner = Runner::new(rb, RunOptions::default())?;
    writeln!(out, "engine alone (the simulator runs in its own process):")?;
    rss::reset_peak();
    let t = Instant::now();
    runner.preflight().await?;
    step(out, "staging", t)?;
    let t = Instant::now();
    stop_early(&runner, Duration::from_millis(b.stop_after_ms)).await?;
    step(out, "first import, stopped", t)?;
    let t = Instant::now();
    let import = runner.prepare_import()?;
    let handle = import.handle();
    let mut run = tokio::spawn(import.run());
    while handle.lanes().iter().all(|(_, f)| f.calls == 0) && !run.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    writeln!(
        out,
        "resumed import: first request {:.2} s after start",
        t.elapsed().as_secs_f64()
    )?;
    if b.import_secs > 0 {
        let left = Duration::from_secs(b.import_secs).saturating_sub(t.elapsed());
        if tokio::time::timeout(left, &mut run).await.is_err() {
            handle.send(Command::Cancel {
                reason: "bench: the measured time is over".into(),
            });
        }
    }
    let ending = run.await??;
    step(out, &format!("resumed import ({ending:?})"), t)?;
    if b.import_secs > 0 {
        return Ok(());
    }
    let t = Instant::now();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let summary = runner.verify(Arc::new(Progress::default()), stop).await?;
    step(out, "verification (whole)", t)?;
    let imported: u64 = summary.counts.iter().map(|c| c.imported).sum();
    let unchecked: u64 = summary.counts.iter().map(|c| c.unchecked).sum();
    writeln!(
        out,
        "read back {imported} imported items, {unchecked} left unchecked (the lean simulator \
         keeps hashes, not bodies: message bodies read back differ; memory and time count here)"
    )?;
    Ok(())
}
