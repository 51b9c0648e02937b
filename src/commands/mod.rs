//! The subcommands, each writing its output to a `Write` so tests can read it.

pub mod validate;

use crate::cli::{Cli, Command};
use std::io::Write;

/// How a command ended, mapped to the process exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything fine: exit 0.
    Ok,
    /// The command worked and found problems in the data: exit 1.
    Problems,
}

/// Runs the command line, writing normal output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&args, out),
    }
}
