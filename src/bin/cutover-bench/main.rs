//! `cutover-bench`: the benchmarks that print the figures of docs/performance.md (never timed
//! tests). A binary of its own, not a module of the `cutover` library: it uses the library
//! only through its public API (`cutover::…`), and `cutover --help` lists only what an operator
//! runs. Build and run it with `cargo run --release --bin cutover-bench -- <benchmark>`.

mod delta_deletions;
mod delta_split;
mod export;
mod export_db;
mod import;
mod media;
mod memory;
mod rss;
mod sim;
mod stage;
mod sync;
mod verify;
mod window;
mod window_follow;
mod window_steps;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// The same allocator as the `cutover` binary, so the figures are those the operator gets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// cutover-bench — benchmarks of cutover that print throughput and memory figures.
#[derive(Debug, Parser)]
#[command(name = "cutover-bench", version)]
struct Cli {
    /// Which benchmark.
    #[command(subcommand)]
    bench: Bench,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
enum Bench {
    /// Generate the reference export (1M accounts, 10M friend entries, 5M C2C messages, 100k
    /// groups, 2M members, 5M group messages), validate it, print records/s and peak RSS.
    Export(export::ExportBench),
    /// Drive the simulator on loopback with limits lifted and print requests/s against the sum
    /// of the documented per-API limits.
    Sim(sim::SimBench),
    /// Import a generated export (20k accounts, 200k friend entries, 20k C2C messages, 2k
    /// groups, 40k members, 40k group messages) into the in-process simulator at the default
    /// limits with 40–120 ms latency; print time / T_limit per lane and rate-limit answers.
    Import(import::ImportBench),
    /// Import the same generated export with import limits lifted, then read it all back at
    /// the documented read limits with 40–120 ms latency; print verification time / T_limit.
    Verify(verify::VerifyBench),
    /// Run the two-way sync relay against the in-process simulator (default limits) and a
    /// counting webhook: old → new events and new → old callbacks at steady rates at once;
    /// print sent / acknowledged / applied per direction, loss, lag, rate-limit answers, CPU.
    /// Exits with an error when an acknowledged event was lost.
    Sync(sync::SyncBench),
    /// Pre-copy a generated export (that of `import`), then run the window of a delta of about
    /// 1 % of it that also deletes about 1 % of each kind, at the default limits with 40–120 ms
    /// latency: print the window's time (delta import + window verification) against the
    /// pre-copy's, the deletion stages' calls and time, and the window's calls.
    Window(window::WindowBench),
    /// The engine's own peak memory per step (staging, an import stopped early and resumed,
    /// a whole verification) on a generated export, with the simulator in a child process and
    /// every limit lifted; prints each step's time and peak RSS, and when the resumed import's
    /// first request left.
    Memory(memory::MemoryBench),
    /// Stage a generated export into a new store, nothing else: print records/s, peak RSS
    /// and the store's size.
    Stage(stage::StageBench),
    /// Fill the example schema (assets/example-im) of an empty database with a generated
    /// export of about 1.07 M rows, then `cutover export` it: rows/s and peak RSS.
    ExportDb(export_db::ExportDbBench),
    /// Copy objects of a size (`--size 1MB --count 200`) from a local HTTP server into a local
    /// S3 server (s3s-fs, scripts/s3/) as the media stage does: GET to a temporary file with
    /// its SHA-256, then PUT (multipart above 16 MiB); print objects/s, MB/s and peak RSS.
    Media(media::MediaBench),
    /// The simulator of `cutover sim`: the `memory` benchmark's child process.
    #[command(hide = true)]
    Simulator(cutover::cli::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(cli.bench, &mut out);
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)] // main owns the terminal; this is the last word.
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Runs one benchmark, writing its figures to `out`.
fn run(bench: Bench, out: &mut dyn Write) -> anyhow::Result<()> {
    match bench {
        Bench::Export(b) => export::run_export_bench(&b, out),
        Bench::Sim(b) => sim::run_sim_bench(&b, out),
        Bench::Import(b) => import::run_import_bench(&b, out),
        Bench::Verify(b) => verify::run_verify_bench(&b, out),
        Bench::Sync(b) => sync::run_sync_bench(&b, out),
        Bench::Window(b) if b.follow => window_follow::run_follow_bench(&b, out),
        Bench::Window(b) => window::run_window_bench(&b, out),
        Bench::Memory(b) => memory::run_memory_bench(&b, out),
        Bench::Stage(b) => stage::run_stage_bench(&b, out),
        Bench::ExportDb(b) => export_db::run_export_db_bench(&b, out),
        Bench::Media(b) => media::run_media_bench(&b, out),
        Bench::Simulator(args) => {
            let cli = cutover::cli::Cli {
                command: cutover::cli::Command::Sim(args),
            };
            cutover::run(cli, out).map(|_| ())
        }
    }
}
