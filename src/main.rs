//! The `cutover` binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;
use cutover::{cli::Cli, Outcome};
use std::io::Write;
use std::process::ExitCode;

/// Parsing allocates many small short-lived objects on several threads; mimalloc keeps that
/// cheap where the system allocator contends.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = cutover::run(cli, &mut out);
    let _ = out.flush();
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) => {
            #[allow(clippy::print_stderr)] // main owns the terminal; this is the last word.
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}
