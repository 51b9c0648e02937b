//! `cutover rollback`: back out of the cutover — stop the run that holds the store (SIGTERM to
//! the process the store names, which stops cleanly), run the resume-service hook so the old
//! app serves again with the old system as the source of truth, and record the decision and
//! its reason in the audit trail (and so in the report).

use super::Outcome;
use crate::cli::RollbackArgs;
use crate::config::HookConfig;
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
    let stopped = stop_owner(&conn, out)?;
    let resumed = match &hook {
        None => "no resume_service hook configured: bring the old service back by hand".to_string(),
        Some(h) => resume(h, &conn, &stopped, &args.reason, out)?,
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

/// Stops the process the store names as running the import (its writer beat recently), if
/// it is alive and not this one: SIGTERM, then up to [`STOP_WAIT`] for it to end. Says what
/// was done, for the audit trail.
fn stop_owner(conn: &rusqlite::Connection, out: &mut dyn Write) -> anyhow::Result<String> {
    let owner = run::get(conn)?
        .filter(run::RunRow::live)
        .and_then(|r| r.owner_pid);
    let Some(pid) = owner.filter(|pid| alive(*pid) && *pid != i64::from(std::process::id())) else {
        return Ok(String::from("no process was running the import"));
    };
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
    Ok(format!("stopped the run (process {pid})"))
}

/// Runs the resume-service hook and says what it answered; a failure is recorded in the
/// audit trail (with what `stopped` says) before it is returned.
fn resume(
    h: &HookConfig,
    conn: &rusqlite::Connection,
    stopped: &str,
    reason: &str,
    out: &mut dyn Write,
) -> anyhow::Result<String> {
    writeln!(out, "resuming the old service: {}", hooks::describe(h))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(hooks::run_hook(h)) {
        Ok(said) => Ok(format!("resume service: {said}")),
        Err(why) => {
            record(
                conn,
                &format!("{stopped}; resume service FAILED: {why}"),
                reason,
            )?;
            bail!("the resume service hook failed: {why} (the decision is recorded; the old service is NOT confirmed back)");
        }
    }
}

/// The audit row and the run's state.
fn record(conn: &rusqlite::Connection, detail: &str, reason: &str) -> anyhow::Result<()> {
    audit::record(conn, "cli", "rollback", detail, reason)?;
    run::set_state(conn, "rolled back", reason)?;
    Ok(())
}
