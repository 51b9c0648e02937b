//! `cutover rollback`: back out of the cutover — stop the run that holds the store (SIGTERM to
//! the process the store names, which stops cleanly), run the resume-service hook so the old
//! app serves again with the old system as the source of truth, and record the decision and
//! its reason in the audit trail (and so in the report).

use super::Outcome;
use crate::cli::RollbackArgs;
use crate::model::step::{Step, StepState};
use crate::runbook::hooks;
use crate::runbook::runner::{RunOptions, Runner};
use crate::store::{audit, open_for_writing, run};
use anyhow::{bail, Context};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the running process gets to stop cleanly.
const STOP_WAIT: Duration = Duration::from_secs(120);

/// Whether process `pid` still runs (a zombie, exited and waiting for its parent, does not).
fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
    }
}

/// Runs `cutover rollback`.
pub fn run(args: &RollbackArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.reason.trim().is_empty() {
        bail!("rollback needs --reason: it goes into the audit trail and the report");
    }
    let rb = super::run::runbook(&args.runbook)?;
    let hook = rb.resume_service.clone();
    if let Some(h) = &hook {
        if !args.yes {
            bail!(
                "rollback runs the resume service hook ({}): confirm with --yes",
                hooks::describe(h)
            );
        }
    }
    if !rb.store.is_file() {
        bail!("no store at {}", rb.store.display());
    }
    let conn = open_for_writing(&rb.store)?;
    // The process named by a run whose writer beat recently.
    let owner = run::get(&conn)?
        .filter(run::RunRow::live)
        .and_then(|r| r.owner_pid);
    let mut stopped = String::from("no process was running the import");
    if let Some(pid) = owner {
        if alive(pid) && pid != i64::from(std::process::id()) {
            writeln!(
                out,
                "stopping the run (process {pid}): requests in flight finish and are recorded"
            )?;
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .context("cannot send SIGTERM to the running process")?;
            if !sent.success() {
                bail!("could not signal process {pid}: stop it by hand, then run rollback again");
            }
            let start = Instant::now();
            while alive(pid) {
                if start.elapsed() > STOP_WAIT {
                    bail!(
                        "process {pid} did not stop within {} s: nothing was resumed",
                        STOP_WAIT.as_secs()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            stopped = format!("stopped the run (process {pid})");
        }
    }
    let resumed = match &hook {
        None => "no resume_service hook configured: bring the old service back by hand".to_string(),
        Some(h) => {
            writeln!(out, "resuming the old service: {}", hooks::describe(h))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            match runtime.block_on(hooks::run_hook(h)) {
                Ok(said) => format!("resume service: {said}"),
                Err(why) => {
                    record(
                        &conn,
                        &format!("{stopped}; resume service FAILED: {why}"),
                        &args.reason,
                    )?;
                    bail!("the resume service hook failed: {why} (the decision is recorded; the old service is NOT confirmed back)");
                }
            }
        }
    };
    let detail = format!("{stopped}; {resumed}");
    record(&conn, &detail, &args.reason)?;
    let note = format!("rollback: {resumed}");
    let state = if hook.is_some() {
        StepState::done(note)
    } else {
        StepState::skipped(note)
    };
    Runner::new(rb, RunOptions::default())?
        .steps()
        .set(Step::ResumeService, state)?;
    writeln!(
        out,
        "rolled back: {detail}; reason recorded: {}",
        args.reason
    )?;
    Ok(Outcome::Ok)
}

/// The audit row and the run's state.
fn record(conn: &rusqlite::Connection, detail: &str, reason: &str) -> anyhow::Result<()> {
    audit::record(conn, "cli", "rollback", detail, reason)?;
    run::set_state(conn, "rolled back", reason)?;
    Ok(())
}
