//! The subcommands, each writing its output to a `Write` so tests can read it.

mod attach;
mod custom_keys;
pub(crate) mod demo;
mod demo_media;
mod demo_trickle;
pub(crate) mod export;
pub(crate) mod gen;
pub(crate) mod init;
mod media;
mod media_cmds;
mod metrics;
pub mod plan;
mod plan_duration;
pub(crate) mod plan_scenario;
pub mod report;
pub(crate) mod rollback;
pub mod run;
pub(crate) mod sim;
pub mod store_cmds;
mod store_lock;
pub(crate) mod sync;
mod sync_cmds;
pub(crate) mod usersig;
pub(crate) mod validate;
pub(crate) mod verify;

use crate::cli::{Cli, Command};
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
        Command::Attach(args) => attach::run(&args, out),
        Command::Status(args) => store_cmds::status(&args, out),
        Command::Errors(args) => store_cmds::errors(&args, out),
        Command::Retry(args) => store_cmds::retry(&args, out),
        Command::Skip(args) => store_cmds::skip(&args, out),
        Command::Plan(args) => plan::plan(&args, out),
        Command::Verify(args) => verify::run(&args, out),
        Command::Sync(args) => sync::run(&args, out),
        Command::Rollback(args) => rollback::run(&args, out),
        Command::Report(args) => report::run(&args, out),
    }
}
