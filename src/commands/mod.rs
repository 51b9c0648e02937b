//! The subcommands, each writing its output to a `Write` so tests can read it.

pub mod demo;
mod demo_trickle;
pub mod export;
pub mod gen;
pub mod init;
pub mod plan;
pub mod plan_scenario;
pub mod report;
pub mod rollback;
pub mod run;
pub mod sim;
pub mod store_cmds;
mod store_lock;
pub mod sync;
mod sync_cmds;
pub mod usersig;
pub mod validate;
pub mod verify;

use crate::cli::{BenchCommand, Cli, Command};
use std::io::Write;

/// How a command ended, mapped to the process exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything fine: exit 0.
    Ok,
    /// The command worked and found problems in the data: exit 1.
    Problems,
    /// `cutover run`'s documented exit codes.
    Exit(u8),
}

/// Runs the command line, writing normal output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&args, out),
        Command::Gen(args) => gen::run(&args, out),
        Command::Export(args) => export::run(&args, out),
        Command::Usersig(args) => usersig::run(&args, out),
        Command::Sim(args) => sim::run(&args, out),
        Command::Init(args) => init::run(&args, out),
        Command::Demo(args) => demo::run(&args, out),
        Command::Run(args) => run::run(&args, out),
        Command::Status(args) => store_cmds::status(&args, out),
        Command::Errors(args) => store_cmds::errors(&args, out),
        Command::Retry(args) => store_cmds::retry(&args, out),
        Command::Skip(args) => store_cmds::skip(&args, out),
        Command::Plan(args) => plan::plan(&args, out),
        Command::Verify(args) => verify::run(&args, out),
        Command::Sync(args) => sync::run(&args, out),
        Command::Rollback(args) => rollback::run(&args, out),
        Command::Report(args) => report::run(&args, out),
        Command::Bench(BenchCommand::Sim(a)) => {
            let bench = crate::bench::SimBench {
                seconds: a.seconds,
                concurrency: a.concurrency,
                lean: a.lean,
            };
            crate::bench::run_sim_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::Verify(a)) => {
            let bench = crate::bench::VerifyBench {
                scale: a.scale,
                latency_ms: a.latency_ms,
                latency_spread_ms: a.latency_spread_ms,
            };
            crate::bench::run_verify_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::Sync(a)) => {
            let bench = crate::bench::SyncBench {
                seconds: a.seconds,
                c2c_per_sec: a.c2c_per_sec,
                group_per_sec: a.group_per_sec,
                callbacks_per_sec: a.callbacks_per_sec,
                faults: a.faults,
            };
            crate::bench::run_sync_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::Memory(a)) => {
            let bench = crate::bench::MemoryBench {
                scale: a.scale,
                stop_after_ms: a.stop_after_ms,
                import_secs: a.import_secs,
            };
            crate::bench::run_memory_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::Window(a)) => {
            let bench = crate::bench::WindowBench {
                scale: a.scale,
                share: a.share,
            };
            crate::bench::run_window_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::Import(a)) => {
            let bench = crate::bench::ImportBench {
                source: a.source,
                scale: a.scale,
                no_limits: a.no_limits,
                latency_ms: a.latency_ms,
                latency_spread_ms: a.latency_spread_ms,
                keep: a.keep,
                stop_after_ms: a.stop_after_ms,
            };
            crate::bench::run_import_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::ExportDb(a)) => {
            let bench = crate::bench::ExportDbBench {
                from: a.from,
                scale: a.scale,
                gzip: a.gzip,
            };
            crate::bench::run_export_db_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
        Command::Bench(BenchCommand::Export(a)) => {
            let bench = crate::bench::ExportBench {
                dir: a.dir,
                scale: a.scale,
                seed: a.seed,
                bad_ratio: a.bad_ratio,
                gzip: a.gzip,
                keep: a.keep,
            };
            crate::bench::run_export_bench(&bench, out)?;
            Ok(Outcome::Ok)
        }
    }
}
