//! `cutover-bench verify`: import a generated export quickly (import limits lifted), then read
//! it all back at the documented read-API limits with 40–120 ms of latency, and print the
//! verification's time against its own T_limit (per read lane: calls / rate; the lanes run at
//! once, so the longest lane bounds the pass).

use crate::import::reference;
use anyhow::Context;
use cutover::config::{parse_file, resolve, Flags};
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::config::{Faults, SimConfig};
use cutover::sim::{start, SimOptions};
use cutover::source::gen::generate;
use cutover::tim::api::Api;
use cutover::tim::errors::{self, ErrorClass};
use cutover::tim::SecretKey;
use cutover::verify::Progress;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Settings of `cutover-bench verify`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct VerifyBench {
    /// Multiply the generated export's sizes.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// Latency per read call, milliseconds (minimum).
    #[arg(long, default_value_t = 40)]
    pub(crate) latency_ms: u64,
    /// Further random latency per read call, milliseconds.
    #[arg(long, default_value_t = 80)]
    pub(crate) latency_spread_ms: u64,
}

const KEY: &str = "bench-key-0123456789abcdef";
const SDKAPPID: u64 = 1_400_000_000;

/// The simulated app: import APIs unlimited and instant (only the read-back is measured),
/// read APIs at their documented limits with latency.
fn app(b: &VerifyBench) -> SimConfig {
    let mut config = SimConfig::default();
    config.app.profile_custom_tags = vec!["Hobby".into(), "Vip".into()];
    config.app.friend_custom_tags = vec!["Close".into(), "Tag".into()];
    config.app.group_custom_fields =
        cutover::model::console::GroupCustomFields::every_type(&["Category"]);
    config.app.roaming_days = 0;
    config.app.group_msgs_per_sec = 0;
    for api in Api::ALL.iter().filter(|a| !a.is_read_only()) {
        config
            .api_quotas
            .entry(api.command().to_string())
            .or_default()
            .rate = Some(0);
    }
    for api in Api::ALL.iter().filter(|a| a.is_read_only()) {
        config.faults.insert(
            api.command().to_string(),
            Faults {
                latency_ms: b.latency_ms,
                latency_spread_ms: b.latency_spread_ms,
                ..Faults::default()
            },
        );
    }
    config
}

/// Runs the benchmark and prints its figures.
pub(crate) fn run_verify_bench(b: &VerifyBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let export = dir.path().join("export");
    let cfg = reference(b.scale);
    writeln!(out, "generating: {} accounts, ~{} friend entries, {} c2c messages, {} groups, ~{} members, {} group messages",
        cfg.accounts, (f64::from(cfg.accounts) * cfg.friends_per_account) as u64, cfg.c2c_messages,
        cfg.groups, (f64::from(cfg.groups) * cfg.members_per_group) as u64, cfg.group_messages)?;
    generate(&cfg, &export)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(drive(b, export, dir.path().join("bench.db"), out))
}

/// Imports `export` into the simulator with the import limits lifted, then verifies it at the
/// documented read limits and prints the figures.
async fn drive(
    b: &VerifyBench,
    export: PathBuf,
    store: PathBuf,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let handle = start(SimOptions {
        listen: "127.0.0.1:0".parse()?,
        sdkappid: SDKAPPID,
        admins: vec!["administrator".into()],
        key: SecretKey::new(KEY),
        config: app(b),
    })
    .await?;
    let mut toml = String::from(
        "[error_budget]\nitem_failures_per_code = 0\nconsecutive_transient = 0\n\
         [concurrency]\nmin_in_flight = 8\nmax_in_flight = 64\n[verify]\nroaming_days = 0\n",
    );
    for api in Api::ALL.iter().filter(|a| !a.is_read_only()) {
        toml.push_str(&format!("[limits.{}]\nrate = 1000000\n", api.command()));
    }
    toml.push_str(cutover::source::gen::CUSTOM_KEYS_APP);
    let file = parse_file(&toml, "bench").map_err(anyhow::Error::msg)?;
    let flags = Flags {
        source: Some(export),
        store: Some(store),
        target_url: Some(handle.url()),
        sdkappid: Some(SDKAPPID),
        admin: Some("administrator".into()),
    };
    let rb = resolve(&file, &flags, Some(SecretKey::new(KEY)))
        .map_err(|p| anyhow::anyhow!(p.join("; ")))?;
    let runner = Runner::new(rb, RunOptions::default())?;
    runner.preflight().await?;
    let started = Instant::now();
    let ending = runner.prepare_import()?.run().await?;
    writeln!(
        out,
        "import (limits lifted): {:.1} s, {ending:?}",
        started.elapsed().as_secs_f64()
    )?;
    let progress = Arc::new(Progress::default());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let summary = runner.verify(Arc::clone(&progress), stop).await?;
    print_read_lanes(out, &progress)?;
    let rate_limited: u64 = handle
        .sim()
        .counts()
        .iter()
        .filter(|((api, code), _)| {
            api.is_read_only()
                && *code > 0
                && errors::lookup(*code).class == ErrorClass::RateLimited
        })
        .map(|(_, n)| n)
        .sum();
    writeln!(out, "{}", summary.line())?;
    writeln!(
        out,
        "verification: {:.1} s against its T_limit {:.1} s = {:.3} × T_limit; rate-limit answers received: {rate_limited}",
        summary.elapsed_secs,
        summary.t_limit_secs,
        summary.elapsed_secs / summary.t_limit_secs.max(1e-9)
    )?;
    Ok(())
}

/// Per read lane that was used: its calls, rate, the time the rate allows and the latency.
fn print_read_lanes(out: &mut dyn Write, progress: &Progress) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<26} {:>8} {:>6} {:>9} {:>9}",
        "read lane", "calls", "rate", "T_lane", "latency"
    )?;
    for (api, f) in progress.lanes().iter().filter(|(_, f)| f.calls > 0) {
        writeln!(
            out,
            "{:<26} {:>8} {:>4}/s {:>8.1}s {:>6.0} ms",
            api.command(),
            f.calls,
            f.rate,
            f.calls as f64 / f64::from(f.rate.max(1)),
            f.latency * 1000.0
        )?;
    }
    Ok(())
}
