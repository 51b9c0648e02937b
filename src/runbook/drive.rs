//! The runbook's flow, shared by every front end: steps in order, confirmations asked of the
//! operator (or given up front), the import with its ticks, and the exit code.

use crate::engine::control::Command;
use crate::engine::import::{Ending, ImportHandle};
use crate::runbook::runner::{Runner, Step};
use crate::sync::relay::RelayHandle;
use crate::verify::Progress;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How a run ended, as the process exit code (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// 0: every item imported, every step done or skipped.
    Complete = 0,
    /// 2: the run could not go on (bad credentials, store or export error, a failed hook).
    Fatal = 2,
    /// 3: every item settled, some failed (see `cutover errors`).
    Failures = 3,
    /// 4: stopped by an operator or a signal; `cutover run` again resumes.
    Cancelled = 4,
    /// 5: the error budget paused the run; fix the cause, then run again to resume.
    Budget = 5,
    /// 6: verification read items back missing or different (see `cutover status`/`report`).
    Mismatches = 6,
}

/// What a front end does while the runbook goes.
pub trait Observer {
    /// A step changed state.
    fn step(&mut self, step: Step, state: &str, reason: &str) -> anyhow::Result<()>;
    /// A risky step needs the operator: answers true to run `what`.
    fn confirm(&mut self, step: Step, what: &str) -> oneshot::Receiver<bool>;
    /// The import started; steer and watch it through `handle`.
    fn import_started(&mut self, handle: &ImportHandle);
    /// Called every tick while the import runs.
    fn tick(&mut self, handle: &ImportHandle) -> anyhow::Result<()>;
    /// Verification started: watch it through `progress`, stop it with `stop` (it resumes
    /// next time).
    fn verify_started(&mut self, progress: &Arc<Progress>, stop: &Arc<watch::Sender<bool>>) {
        let _ = (progress, stop);
    }
    /// The relay is running: the front end keeps it until the operator stops it, then stops it
    /// with [`RelayHandle::stop`].
    fn sync_started(&mut self, relay: RelayHandle);
    /// Called every tick while verification runs.
    fn verify_tick(&mut self, progress: &Progress) -> anyhow::Result<()> {
        let _ = progress;
        Ok(())
    }
}

/// Runs the runbook, telling `obs` what happens, with a tick every `every` during the import.
pub async fn drive(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
) -> anyhow::Result<RunExit> {
    obs.step(Step::Preflight, "running", "")?;
    let pre = match runner.preflight().await {
        Ok(pre) => pre,
        Err(e) => {
            obs.step(Step::Preflight, "failed", &format!("{e:#}"))?;
            return Ok(RunExit::Fatal);
        }
    };
    let staged: Vec<String> = pre
        .staged
        .counts
        .iter()
        .map(|(k, records, invalid)| format!("{} {records} ({invalid} invalid, skipped)", k.name()))
        .collect();
    let mut reason = format!("staged {}", staged.join(", "));
    if let Some(canary) = &pre.canary {
        reason.push_str(&format!("; {canary}"));
    }
    obs.step(Step::Preflight, "done", &reason)?;
    if !hook_step(runner, obs, Step::StopService).await? {
        return Ok(RunExit::Fatal);
    }
    obs.step(Step::Import, "running", "")?;
    let import = runner.prepare_import()?;
    let handle = import.handle();
    obs.import_started(&handle);
    let signals = tokio::spawn(cancel_on_signal(handle.clone()));
    let run = import.run();
    tokio::pin!(run);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let ending = loop {
        tokio::select! {
            ending = &mut run => break ending?,
            _ = tick.tick() => obs.tick(&handle)?,
        }
    };
    signals.abort();
    obs.tick(&handle)?;
    let store = runner.runbook.store.display();
    let (word, reason, exit) = match &ending {
        Ending::Complete => ("done", String::new(), RunExit::Complete),
        Ending::CompleteWithFailures(n) => (
            "done",
            format!("{n} items failed: see `cutover errors --store {store}`"),
            RunExit::Failures,
        ),
        Ending::Cancelled(r) => (
            "stopped",
            format!("{r}; run again to resume"),
            RunExit::Cancelled,
        ),
        Ending::BudgetExhausted(r) => (
            "stopped",
            format!("{r}; see `cutover errors`, then run again to resume"),
            RunExit::Budget,
        ),
        Ending::Fatal(r) => ("failed", r.clone(), RunExit::Fatal),
    };
    runner.record(Step::Import, word, &reason)?;
    obs.step(Step::Import, word, &reason)?;
    if !matches!(exit, RunExit::Complete | RunExit::Failures) {
        return Ok(exit);
    }
    obs.step(Step::StartSync, "running", "")?;
    let (state, reason, relay) = runner.start_sync().await?;
    obs.step(Step::StartSync, &state, &reason)?;
    if state == "failed" {
        // Coexistence needs the sync running before the old service comes back.
        return Ok(RunExit::Fatal);
    }
    if let Some(relay) = relay {
        obs.sync_started(relay);
    }
    if !hook_step(runner, obs, Step::ResumeService).await? {
        return Ok(RunExit::Fatal);
    }
    verify_step(runner, obs, every, exit).await
}

/// The verify step: reads the target back; mismatches and an unfinished pass change the exit.
pub async fn verify_step(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    exit: RunExit,
) -> anyhow::Result<RunExit> {
    obs.step(Step::Verify, "running", "reading the target back")?;
    let progress = Arc::new(Progress::default());
    let (stop_tx, stop) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    obs.verify_started(&progress, &stop_tx);
    let signals = {
        let stop_tx = Arc::clone(&stop_tx);
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            tracing::warn!(signal = name, "stopping verification");
            let _ = stop_tx.send(true);
        })
    };
    let pass = runner.verify(Arc::clone(&progress), stop);
    tokio::pin!(pass);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let summary = loop {
        tokio::select! {
            summary = &mut pass => break summary,
            _ = tick.tick() => obs.verify_tick(&progress)?,
        }
    };
    signals.abort();
    obs.verify_tick(&progress)?;
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            obs.step(Step::Verify, "failed", &format!("{e:#}"))?;
            return Ok(RunExit::Fatal);
        }
    };
    let (state, exit) = if summary.mismatched() > 0 {
        ("failed", RunExit::Mismatches)
    } else if !summary.finished {
        ("stopped", RunExit::Cancelled)
    } else {
        ("done", exit)
    };
    obs.step(Step::Verify, state, &summary.line())?;
    Ok(exit)
}

/// A hook step: asks for confirmation when there is a hook to run; false when it failed or was
/// declined (the run stops there).
async fn hook_step(runner: &Runner, obs: &mut dyn Observer, step: Step) -> anyhow::Result<bool> {
    if let Some(hook) = runner.hook(step) {
        if runner.state_of(step)?.as_deref() != Some("done") {
            let what = crate::runbook::hooks::describe(hook);
            runner.record(step, "needs confirmation", &what)?;
            obs.step(step, "needs confirmation", &what)?;
            let answer = obs.confirm(step, &what).await.unwrap_or(false);
            if !answer {
                let reason = "not confirmed by the operator; nothing ran";
                runner.record(step, "failed", reason)?;
                obs.step(step, "failed", reason)?;
                return Ok(false);
            }
        }
    }
    let (state, reason) = runner.hook_step(step).await?;
    obs.step(step, &state, &reason)?;
    Ok(state != "failed")
}
/// SIGINT or SIGTERM: finish what is in flight, record it, stop.
async fn cancel_on_signal(handle: ImportHandle) {
    let name = wait_for_signal().await;
    tracing::warn!(signal = name, "stopping");
    handle.send(Command::Cancel {
        reason: format!("interrupted ({name})"),
    });
}

/// Waits for SIGINT or SIGTERM and names it.
pub(crate) async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
