//! `cutover rollback`: back out of the cutover — stop the process that holds the store's lock
//! (SIGTERM, which stops it cleanly; then rollback takes the lock), then the rollback the
//! console does too ([`rollback::resume_and_record`]): the resume-service hook so the old app
//! serves again with the old system as the source of truth, and the decision and its reason in
//! the audit trail (and so in the report).

use super::Outcome;
use crate::cli::RollbackArgs;
use crate::runbook::book::StepBook;
use crate::runbook::{hooks, rollback};
use crate::store::lock::{self, LockError, StoreLock};
use anyhow::{bail, Context};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// How long the running process gets to stop cleanly.
const STOP_WAIT: Duration = Duration::from_secs(120);

/// Runs `cutover rollback`.
pub(crate) fn run(args: &RollbackArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
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
    let (_lock, stopped) = stop_the_holder(&rb.store, out)?;
    if let Some(h) = &hook {
        writeln!(out, "resuming the old service: {}", hooks::describe(h))?;
    }
    let steps = StepBook::open(&rb.store)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let detail = runtime.block_on(async {
        let done = rollback::resume_and_record(
            &rb.store,
            &steps,
            hook.as_ref(),
            &stopped,
            "cli",
            &args.reason,
        )
        .await;
        let alerter = crate::alerts::Alerter::start(&rb.alerts, &rb.store.display().to_string());
        let told = done.as_ref().map(String::clone).map_err(|e| e.to_string());
        crate::runbook::alerting::rollback(
            &alerter,
            &rb.store.display().to_string(),
            &told,
            &args.reason,
        );
        alerter.flush(std::time::Duration::from_secs(10)).await;
        done
    })?;
    writeln!(
        out,
        "rolled back: {detail}; reason recorded: {}",
        args.reason
    )?;
    Ok(Outcome::Ok)
}

/// Takes the store's lock; when a live process on this host holds it, stops that process first
/// (SIGTERM: it finishes what is in flight, records it and lets go). Returns the lock and what
/// was stopped, for the audit trail.
fn stop_the_holder(store: &Path, out: &mut dyn Write) -> anyhow::Result<(StoreLock, String)> {
    let holder = match lock::acquire(store, "rollback") {
        Ok(taken) => {
            super::store_lock::say_stale(&taken);
            return Ok((taken, "no process was running the import".into()));
        }
        Err(LockError::Held {
            holder: Some(h), ..
        }) if h.alive_here() && h.pid != std::process::id() => h,
        // Its details are written just after the lock is taken: look once more.
        Err(LockError::Held { holder: None, .. }) => {
            let taken = lock::acquire_within(store, "rollback", Duration::from_secs(2))?;
            super::store_lock::say_stale(&taken);
            return Ok((taken, "no process was running the import".into()));
        }
        Err(e @ LockError::Held { .. }) => {
            bail!("{e}: it is not a process on this host that rollback can stop; stop it there, then run rollback again")
        }
        Err(e) => return Err(e.into()),
    };
    let pid = holder.pid;
    let what = if holder.command == "run" {
        "the run".to_string()
    } else {
        format!("cutover {}", holder.command)
    };
    writeln!(
        out,
        "stopping {what} (process {pid}): requests in flight finish and are recorded"
    )?;
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("cannot send SIGTERM to the running process")?;
    if !sent.success() {
        bail!("could not signal process {pid}: stop it by hand, then run rollback again");
    }
    let taken = match lock::acquire_within(store, "rollback", STOP_WAIT) {
        Ok(taken) => taken,
        Err(LockError::Held { .. }) => bail!(
            "process {pid} did not stop within {} s: nothing was resumed",
            STOP_WAIT.as_secs()
        ),
        Err(e) => return Err(e.into()),
    };
    Ok((taken, format!("stopped {what} (process {pid})")))
}
