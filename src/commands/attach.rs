//! `cutover attach --store FILE`: the console of a live run, from another terminal.

use super::Outcome;
use crate::cli::AttachArgs;
use crate::ui::tui::control::client::attach;
use anyhow::Context;
use std::io::{IsTerminal, Write};

/// Runs `cutover attach`.
pub(crate) fn run(args: &AttachArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "cutover attach opens a console and needs a terminal; without one, \
             `cutover status --store {}` shows where the run is",
            args.store.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let why = runtime.block_on(attach(&args.store))?;
    writeln!(out, "{why}")?;
    Ok(Outcome::Ok)
}
