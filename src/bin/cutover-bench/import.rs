//! `cutover-bench import`: the real engine against the in-process simulator.
//!
//! At the default limits with 40–120 ms of latency per call it prints, per lane and overall,
//! the actual time against T_limit and the rate-limit answers received; with `--no-limits` (no
//! server limits, no latency, lanes unpaced) it prints calls/s, CPU per call and peak RSS.

use crate::rss;
use anyhow::Context;
use cutover::config::{parse_file, resolve, Flags, Runbook};
use cutover::engine::control::Command;
use cutover::engine::import::Ending;
use cutover::engine::import::{Import, ImportSettings};
use cutover::engine::plan::{plan, Plan};
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::config::{Faults, SimConfig};
use cutover::sim::{start, SimHandle, SimOptions};
use cutover::source::gen::{generate, GenConfig};
use cutover::store::{open_for_reading, Kind};
use cutover::tim::api::Api;
use cutover::tim::errors::{self, ErrorClass};
use cutover::tim::lane::LaneFigures;
use cutover::tim::SecretKey;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Settings of `cutover-bench import`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ImportBench {
    /// Import this export instead of generating one (the reference sizes × scale).
    #[arg(long, value_name = "DIR")]
    pub(crate) source: Option<PathBuf>,
    /// Multiply the generated export's sizes.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// No server limits, no latency, lanes unpaced: print calls/s, CPU per call, peak RSS.
    #[arg(long)]
    pub(crate) no_limits: bool,
    /// Latency per call, milliseconds (minimum).
    #[arg(long, default_value_t = 40)]
    pub(crate) latency_ms: u64,
    /// Further random latency per call, milliseconds.
    #[arg(long, default_value_t = 80)]
    pub(crate) latency_spread_ms: u64,
    /// Keep the store in this directory (as `bench.db`) for `cutover status`/`errors`.
    #[arg(long, value_name = "DIR")]
    pub(crate) keep: Option<PathBuf>,
    /// With `--no-limits`: stop the first run after this many milliseconds and measure the
    /// resumed one; 0 measures one uninterrupted run.
    #[arg(long, default_value_t = 2000)]
    pub(crate) stop_after_ms: u64,
}

pub(crate) const KEY: &str = "bench-key-0123456789abcdef";
pub(crate) const SDKAPPID: u64 = 1_400_000_000;

/// The reference export of the import and verify benchmarks, times `scale`.
pub(crate) fn reference(scale: f64) -> GenConfig {
    let n = |x: f64| ((x * scale).round() as u64).max(1);
    GenConfig {
        seed: 4,
        accounts: n(20_000.0) as u32,
        friends_per_account: 10.0,
        c2c_messages: n(20_000.0),
        groups: n(2_000.0) as u32,
        members_per_group: 20.0,
        group_messages: n(40_000.0),
        ..GenConfig::default()
    }
}

fn cpu_secs() -> Option<f64> {
    // utime and stime, fields 14 and 15 of /proc/self/stat, in USER_HZ (100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Runs the benchmark and prints its figures.
pub(crate) fn run_import_bench(b: &ImportBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let source = match &b.source {
        Some(s) => s.clone(),
        None => {
            let export = dir.path().join("export");
            let cfg = reference(b.scale);
            writeln!(out, "generating: {} accounts, ~{} friend entries, {} c2c messages, {} groups, ~{} members, {} group messages",
                cfg.accounts, (f64::from(cfg.accounts) * cfg.friends_per_account) as u64, cfg.c2c_messages,
                cfg.groups, (f64::from(cfg.groups) * cfg.members_per_group) as u64, cfg.group_messages)?;
            generate(&cfg, &export)?;
            export
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store_dir = match &b.keep {
        Some(keep) => {
            std::fs::create_dir_all(keep)?;
            keep.clone()
        }
        None => dir.path().to_path_buf(),
    };
    runtime.block_on(drive(b, source, store_dir.join("bench.db"), out))
}

async fn drive(
    b: &ImportBench,
    source: PathBuf,
    store: PathBuf,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (config, toml) = bench_setup(b);
    let handle = start_sim(config).await?;
    let rb = bench_runbook(&toml, &source, &store, &handle.url())?;
    let settings = ImportSettings::from_runbook(&rb);
    let runner = Runner::new(rb, RunOptions::default())?;
    let staged_at = Instant::now();
    runner.preflight().await?;
    let stage_secs = staged_at.elapsed().as_secs_f64();
    let the_plan = plan(&open_for_reading(&store)?, &settings)?;
    // The peak counts from here: the import's own memory (loading its work included), with
    // the simulator's, which runs in this process too.
    rss::reset_peak();
    let resumed = b.no_limits && b.stop_after_ms > 0;
    if resumed {
        stop_early(&runner, Duration::from_millis(b.stop_after_ms)).await?;
    }
    let cpu0 = cpu_secs();
    let started = Instant::now();
    let import = runner.prepare_import()?;
    let handle_import = import.handle();
    let (ending, finished, first) = run_watching_lanes(import, started).await?;
    if let Some(first) = first {
        writeln!(
            out,
            "{} run: first request {first:.2} s after start (prepare included)",
            if resumed { "resumed" } else { "first" }
        )?;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_secs().zip(cpu0).map(|(a, b)| a - b);
    let lanes = handle_import.lanes();
    let calls: u64 = lanes.iter().map(|(_, f)| f.calls).sum();
    let counts = handle.sim().counts();
    let rate_limited: u64 = counts
        .iter()
        .filter(|((_, code), _)| {
            *code > 0 && errors::lookup(*code).class == ErrorClass::RateLimited
        })
        .map(|(_, n)| n)
        .sum();
    writeln!(
        out,
        "staging (validate + index into the store): {stage_secs:.1} s"
    )?;
    if !matches!(ending, Ending::Complete) {
        writeln!(out, "the import did not complete: {ending:?}")?;
    }
    if b.no_limits {
        return print_unlimited(out, calls, secs, cpu);
    }
    print_lanes(out, &lanes, &the_plan, &finished, secs)?;
    writeln!(
        out,
        "overall: {secs:.1} s against T_limit {:.1} s (long pole: {}) = {:.3} × T_limit; rate-limit answers received: {rate_limited}",
        the_plan.t_limit_secs,
        the_plan.long_pole.unwrap_or("-"),
        secs / the_plan.t_limit_secs.max(1e-9)
    )?;
    Ok(())
}

/// The benchmark's simulator on loopback, its admin `administrator`.
pub(crate) async fn start_sim(config: SimConfig) -> anyhow::Result<SimHandle> {
    Ok(start(SimOptions {
        listen: "127.0.0.1:0".parse()?,
        sdkappid: SDKAPPID,
        admins: vec!["administrator".into()],
        key: SecretKey::new(KEY),
        config,
    })
    .await?)
}

/// The runbook `toml` for importing `source` into `handle` through the store at `store`.
pub(crate) fn bench_runbook(
    toml: &str,
    source: &Path,
    store: &Path,
    url: &str,
) -> anyhow::Result<Runbook> {
    // The generated exports' custom keys exist in the simulated console: declare them too.
    let toml = if toml.contains("[app]") {
        toml.to_string()
    } else {
        format!("{toml}\n{}", cutover::source::gen::CUSTOM_KEYS_APP)
    };
    let file = parse_file(&toml, "bench").map_err(anyhow::Error::msg)?;
    let flags = Flags {
        source: Some(source.to_path_buf()),
        store: Some(store.to_path_buf()),
        target_url: Some(url.to_string()),
        sdkappid: Some(SDKAPPID),
        admin: Some("administrator".into()),
    };
    resolve(&file, &flags, Some(SecretKey::new(KEY))).map_err(|p| anyhow::anyhow!(p.join("; ")))
}

/// The simulated app and the runbook text: no error budget; with `--no-limits` the simulator
/// and the lanes are unlimited, else the simulator keeps its limits and adds latency.
pub(crate) fn bench_setup(b: &ImportBench) -> (SimConfig, String) {
    let mut config = SimConfig {
        lean: true,
        ..SimConfig::default()
    };
    config.app.profile_custom_tags = vec!["Hobby".into(), "Vip".into()];
    config.app.friend_custom_tags = vec!["Close".into(), "Tag".into()];
    config.app.group_custom_fields =
        cutover::model::console::GroupCustomFields::every_type(&["Category"]);
    config.app.roaming_days = 0;
    let mut toml = String::from(NO_BUDGET);
    if b.no_limits {
        config = config.unlimited();
        config.app.group_msgs_per_sec = 0;
        toml = unlimited_runbook_toml("");
    } else {
        config.faults.insert(
            "all".into(),
            Faults {
                latency_ms: b.latency_ms,
                latency_spread_ms: b.latency_spread_ms,
                ..Faults::default()
            },
        );
    }
    (config, toml)
}

/// No error budget: a benchmark run stops at nothing.
const NO_BUDGET: &str = "[error_budget]\nitem_failures_per_code = 0\nconsecutive_transient = 0\n";

/// A runbook for an unlimited target: no error budget, every lane unpaced, 32–64 calls in
/// flight; `extra` is added as it is.
pub(crate) fn unlimited_runbook_toml(extra: &str) -> String {
    let mut toml = String::from(NO_BUDGET);
    for api in Api::ALL {
        toml.push_str(&format!("[limits.{}]\nrate = 1000000\n", api.command()));
    }
    toml.push_str("[concurrency]\nmin_in_flight = 32\nmax_in_flight = 64\n");
    toml.push_str(extra);
    toml
}

/// Imports for `after`, then stops, so that the measured run is a resumed one.
pub(crate) async fn stop_early(runner: &Runner, after: Duration) -> anyhow::Result<()> {
    let import = runner.prepare_import()?;
    let handle = import.handle();
    let run = tokio::spawn(import.run());
    tokio::time::sleep(after).await;
    handle.send(Command::Cancel {
        reason: "bench: measure a resumed run".into(),
    });
    run.await??;
    Ok(())
}

/// Runs the import to its end, noting (every 10 ms) when each kind had nothing left to do
/// and when the first request went: the seconds since `started`.
async fn run_watching_lanes(
    import: Import,
    started: Instant,
) -> anyhow::Result<(Ending, BTreeMap<Kind, f64>, Option<f64>)> {
    let handle_import = import.handle();
    let run = import.run();
    tokio::pin!(run);
    let mut finished: BTreeMap<Kind, f64> = BTreeMap::new();
    let mut first = None;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let ending = loop {
        tokio::select! {
            e = &mut run => break e?,
            _ = tick.tick() => {
                if first.is_none() && handle_import.lanes().iter().any(|(_, f)| f.calls > 0) {
                    first = Some(started.elapsed().as_secs_f64());
                }
                let committed = handle_import.committed.borrow().clone();
                for (kind, c) in &committed.items {
                    if c[0] == 0 && !finished.contains_key(kind) {
                        finished.insert(*kind, started.elapsed().as_secs_f64());
                    }
                }
            }
        }
    };
    Ok((ending, finished, first))
}

/// With limits off: calls per second, CPU per call and peak memory.
fn print_unlimited(
    out: &mut dyn Write,
    calls: u64,
    secs: f64,
    cpu: Option<f64>,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "limits off, no latency: {calls} calls in {secs:.1} s = {:.0} calls/s",
        calls as f64 / secs
    )?;
    if let Some(cpu) = cpu {
        writeln!(
            out,
            "CPU {cpu:.1} s for engine + simulator together = {:.0} µs per call",
            cpu * 1e6 / calls.max(1) as f64
        )?;
    }
    writeln!(
        out,
        "peak RSS during the import (engine and in-process simulator): {}",
        rss::peak_mib().map_or("unavailable".into(), |m| format!("{m} MiB"))
    )?;
    Ok(())
}

/// Per lane: its calls and rate, the time the plan allows it, and when it actually finished.
fn print_lanes(
    out: &mut dyn Write,
    lanes: &[(Kind, LaneFigures)],
    the_plan: &Plan,
    finished: &BTreeMap<Kind, f64>,
    secs: f64,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<16} {:<20} {:>8} {:>6} {:>9} {:>9} {:>7}",
        "stage", "api", "calls", "rate", "T_lane", "actual", "ratio"
    )?;
    for (kind, figures) in lanes {
        let Some(lp) = the_plan
            .lanes
            .iter()
            .find(|l| l.api == kind.api().command())
        else {
            continue;
        };
        let actual = finished.get(kind).copied().unwrap_or(secs);
        let ratio = if lp.secs > 0.0 {
            format!("{:.3}", actual / lp.secs)
        } else {
            "-".into()
        };
        writeln!(
            out,
            "{:<16} {:<20} {:>8} {:>5}/s {:>8.1}s {:>8.1}s {:>7}",
            kind.stage(),
            lp.api,
            figures.calls,
            lp.rate,
            lp.secs,
            actual,
            ratio
        )?;
    }
    Ok(())
}
