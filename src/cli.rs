//! The command line: one subcommand per job.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// cutover — move a self-hosted IM onto Tencent Cloud IM, and prove nothing was lost.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an export directory against the export format; exit 0 clean, 1 problems, 2 unreadable.
    Validate(ValidateArgs),
}

/// `cutover validate`
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The export directory (with manifest.json).
    pub dir: PathBuf,
    /// Print a machine-readable JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write every problem to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub problems_out: Option<PathBuf>,
    /// How many problems to show on screen (or in --json); 0 shows all.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_shown: usize,
}
