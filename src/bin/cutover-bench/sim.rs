//! `cutover-bench sim`: how many requests per second the simulator serves on loopback with
//! limits lifted and faults off, against the sum of the documented per-API limits. The
//! simulator must be far above that sum so that it is never what a benchmark measures.

use anyhow::Context;
use cutover::sim::config::SimConfig;
use cutover::sim::{start, SimOptions};
use cutover::tim::api::Api;
use cutover::tim::wire::account::{AccountCheck, CheckItem, MultiaccountImport};
use cutover::tim::wire::c2c::ImportMsg;
use cutover::tim::wire::MsgElement;
use cutover::tim::{CallError, ClientConfig, SecretKey, Target, TimClient};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of `cutover-bench sim`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SimBench {
    /// Seconds to drive it.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) seconds: f64,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Keep message hashes instead of bodies (lean mode).
    #[arg(long)]
    pub(crate) lean: bool,
}

const SDKAPPID: u64 = 1_400_000_000;
const ADMIN: &str = "administrator";
const ACCOUNTS: usize = 1000;

/// The sum of the documented default rate limits over every API.
fn sum_of_default_limits() -> u64 {
    Api::ALL.iter().map(|a| u64::from(a.default_rate())).sum()
}

/// Runs the benchmark and prints its figures.
pub(crate) fn run_sim_bench(b: &SimBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(drive(b, out))
}

async fn drive(b: &SimBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let key = SecretKey::new("bench-key");
    let mut config = SimConfig::default().unlimited();
    config.lean = b.lean;
    let handle = start(SimOptions {
        listen: "127.0.0.1:0".parse().context("loopback address")?,
        sdkappid: SDKAPPID,
        admins: vec![ADMIN.into()],
        key: key.clone(),
        config,
    })
    .await
    .context("cannot start the simulator")?;
    let target = Target::parse(&handle.url()).context("simulator URL")?;
    let client = Arc::new(TimClient::new(ClientConfig::new(
        target, SDKAPPID, ADMIN, key,
    ))?);
    let ids: Vec<String> = (0..ACCOUNTS).map(|i| format!("bench{i}")).collect();
    for chunk in ids.chunks(100) {
        client
            .call(&MultiaccountImport {
                Accounts: Some(chunk.to_vec()),
                AccountList: None,
            })
            .await?;
    }
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(b.seconds.max(0.5));
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    let tasks: Vec<_> = (0..b.concurrency.max(1))
        .map(|worker| {
            let (client, ok, failed) = (Arc::clone(&client), Arc::clone(&ok), Arc::clone(&failed));
            tokio::spawn(async move {
                let mut n: u32 = 0;
                while Instant::now() < deadline {
                    n = n.wrapping_add(1);
                    let result = one_call(&client, worker, n, now).await;
                    let counter = if result.is_ok() { &ok } else { &failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.context("a benchmark task failed")?;
    }
    let secs = started.elapsed().as_secs_f64();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    print_figures(out, b, ok, failed, secs)?;
    if failed > 0 {
        anyhow::bail!("{failed} requests failed: the figure is not clean");
    }
    Ok(())
}

/// A worker's `n`th call: a write (importmsg, the long pole) and a read (account_check) in turn.
async fn one_call(client: &TimClient, worker: usize, n: u32, now: i64) -> Result<(), CallError> {
    if n.is_multiple_of(2) {
        let from = (worker * 7 + n as usize) % ACCOUNTS;
        client
            .call(&ImportMsg {
                SyncFromOldSystem: 2,
                From_Account: format!("bench{from}"),
                To_Account: format!("bench{}", (from + 1) % ACCOUNTS),
                MsgSeq: Some(n),
                MsgRandom: u32::try_from(worker).unwrap_or(0),
                MsgTimeStamp: now - 1,
                MsgBody: vec![MsgElement::text("benchmark message")],
                CloudCustomData: None,
            })
            .await
            .map(|_| ())
    } else {
        client
            .call(&AccountCheck {
                CheckItem: vec![CheckItem {
                    UserID: format!("bench{}", n as usize % ACCOUNTS),
                }],
            })
            .await
            .map(|_| ())
    }
}

/// Requests, time and throughput, against the sum of the documented limits.
fn print_figures(
    out: &mut dyn Write,
    b: &SimBench,
    ok: u64,
    failed: u64,
    secs: f64,
) -> std::io::Result<()> {
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rate = (ok + failed) as f64 / secs;
    let sum = sum_of_default_limits();
    writeln!(
        out,
        "simulator on loopback, limits lifted, faults off, {} in flight, {}:",
        b.concurrency,
        if b.lean { "lean" } else { "full bodies" }
    )?;
    writeln!(
        out,
        "  requests      {:>10}  ({failed} failed)",
        ok + failed
    )?;
    writeln!(out, "  elapsed       {secs:>10.2} s")?;
    writeln!(
        out,
        "  throughput    {rate:>10.0} requests/s (half importmsg, half account_check)"
    )?;
    #[allow(clippy::cast_precision_loss)]
    let ratio = rate / sum as f64;
    writeln!(
        out,
        "  default limits, all {} APIs together: {sum} requests/s -> {ratio:.1}x headroom",
        Api::ALL.len()
    )
}
