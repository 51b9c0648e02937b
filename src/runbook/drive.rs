//! The runbook's flow, shared by every front end: steps in order, confirmations asked of the
//! operator (or given up front), the import with its ticks, and the exit code. Every step
//! change goes through [`change`]: stored, published, then told to the front end; how each
//! step's outcome maps to a state and an exit code is decided here and nowhere else.

use super::error::RunbookError;
use super::runner::Runner;
use crate::engine::control::Command;
use crate::engine::import::{Ending, ImportHandle};
use crate::model::step::{Step, StepState};
use crate::sync::relay::RelayHandle;
use crate::verify::Progress;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How a run ended, as the process exit code (documented in docs/commands.md).
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
    /// 7: a risky step was not confirmed (headless without `--yes`, or the console quit while
    /// it asked): stopped, waiting for confirmation; nothing of it ran, and running again
    /// (confirming it) carries on from there.
    AwaitingConfirmation = 7,
}

/// What a front end does while the runbook goes.
pub(crate) trait Observer {
    /// A step changed state (already stored and published).
    fn step(&mut self, step: Step, state: &StepState) -> std::io::Result<()>;
    /// A risky step needs the operator: answers true to run `what`.
    fn confirm(&mut self, step: Step, what: &str) -> oneshot::Receiver<bool>;
    /// The import started; steer and watch it through `handle`.
    fn import_started(&mut self, handle: &ImportHandle);
    /// Called every tick while the import runs.
    fn tick(&mut self, handle: &ImportHandle) -> std::io::Result<()>;
    /// Verification started: watch it through `progress`, stop it with `stop` (it resumes
    /// next time).
    fn verify_started(&mut self, progress: &Arc<Progress>, stop: &Arc<watch::Sender<bool>>) {
        let _ = (progress, stop);
    }
    /// The relay is running: the front end keeps it until the operator stops it, then stops it
    /// with [`RelayHandle::stop`].
    fn sync_started(&mut self, relay: RelayHandle);
    /// The media stage started: watch it through `progress`.
    fn media_started(&mut self, progress: &Arc<crate::media::progress::MediaProgress>) {
        let _ = progress;
    }
    /// Called every tick while the media stage runs.
    fn media_tick(
        &mut self,
        progress: &crate::media::progress::MediaProgress,
    ) -> std::io::Result<()> {
        let _ = progress;
        Ok(())
    }
    /// Called every tick while verification runs.
    fn verify_tick(&mut self, progress: &Progress) -> std::io::Result<()> {
        let _ = progress;
        Ok(())
    }
}

/// Changes a step: stores it, publishes it, tells the front end.
pub(crate) fn change(
    runner: &Runner,
    obs: &mut dyn Observer,
    step: Step,
    state: StepState,
) -> Result<(), RunbookError> {
    runner.steps().set(step, state.clone())?;
    Ok(obs.step(step, &state)?)
}

/// Asks the operator to confirm `what` on `step` (the step shows it as waiting): true to run it.
/// A front end gone without an answer is a no.
pub(crate) async fn ask(
    runner: &Runner,
    obs: &mut dyn Observer,
    step: Step,
    what: &str,
) -> Result<bool, RunbookError> {
    let waiting = StepState::NeedsConfirmation {
        what: what.to_string(),
    };
    change(runner, obs, step, waiting)?;
    Ok(obs.confirm(step, what).await.unwrap_or(false))
}

/// Runs the runbook, telling `obs` what happens, with a tick every `every` during the import.
pub(crate) async fn drive(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
) -> Result<RunExit, RunbookError> {
    let label = super::alerting::RunLabel {
        store: runner.runbook.store.display().to_string(),
        window_end: runner.runbook.window_end,
        margin_secs: runner.runbook.alerts.window_margin_minutes as i64 * 60,
    };
    let mut alerting = super::alerting::Alerting::new(obs, runner.alerter.clone(), label);
    let exit = drive_steps(runner, &mut alerting, every).await;
    // The last alerts (the import's end, a failure) go out before the process may end.
    runner.alerter.flush(Duration::from_secs(10)).await;
    exit
}

/// The steps of [`drive`], in order.
async fn drive_steps(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
) -> Result<RunExit, RunbookError> {
    if runner.phase() == crate::model::phase::Phase::Follow {
        return super::follow::steps(runner, obs, every).await;
    }
    if !preflight_step(runner, obs).await? {
        return Ok(RunExit::Fatal);
    }
    if let Some(stop) = hook_step(runner, obs, Step::StopService).await? {
        return Ok(stop);
    }
    let exit = import_step(runner, obs, every).await?;
    after_import(runner, obs, every, exit).await
}

/// What follows the import: start sync, resume the service, verify (not when the import
/// ended otherwise than complete, with or without failures).
pub(crate) async fn after_import(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    exit: RunExit,
) -> Result<RunExit, RunbookError> {
    if !matches!(exit, RunExit::Complete | RunExit::Failures) {
        return Ok(exit);
    }
    change(
        runner,
        obs,
        Step::StartSync,
        StepState::running("starting the relay"),
    )?;
    let (state, relay) = runner.start_sync().await;
    let failed = matches!(state, StepState::Failed { .. });
    change(runner, obs, Step::StartSync, state)?;
    if failed {
        // Coexistence needs the sync running before the old service comes back.
        return Ok(RunExit::Fatal);
    }
    if let Some(relay) = relay {
        obs.sync_started(relay);
    }
    if let Some(stop) = hook_step(runner, obs, Step::ResumeService).await? {
        return Ok(stop);
    }
    verify_step(runner, obs, every, exit).await
}

/// Preflight: false when it failed (the run stops there).
pub(crate) async fn preflight_step(
    runner: &Runner,
    obs: &mut dyn Observer,
) -> Result<bool, RunbookError> {
    change(runner, obs, Step::Preflight, StepState::running(""))?;
    let pre = match runner.preflight().await {
        Ok(pre) => pre,
        Err(e) => {
            change(
                runner,
                obs,
                Step::Preflight,
                StepState::failed(format!("{e:#}")),
            )?;
            return Ok(false);
        }
    };
    let staged: Vec<String> = pre
        .staged
        .counts
        .iter()
        .map(|(k, records, invalid)| format!("{} {records} ({invalid} invalid, skipped)", k.name()))
        .collect();
    let mut note = format!("staged {}", staged.join(", "));
    let vanished: Vec<String> = pre
        .staged
        .vanished
        .iter()
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    if !vanished.is_empty() {
        note.push_str(&format!(
            "; gone from the key sets: {}",
            vanished.join(", ")
        ));
    }
    if let Some(canary) = &pre.canary {
        note.push_str(&format!("; {canary}"));
    }
    note.push_str(&format!("; {}", pre.target));
    change(runner, obs, Step::Preflight, StepState::done(note))?;
    Ok(true)
}

/// The import with its ticks; the exit code it leaves the run with.
async fn import_step(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
) -> Result<RunExit, RunbookError> {
    change(runner, obs, Step::Import, StepState::running(""))?;
    let pass = import_pass(runner, obs, every, Asking::Yes).await?;
    let (state, exit) = match pass {
        Pass::Stopped(exit) => return Ok(exit),
        Pass::Ended { state, exit, held } => {
            if matches!(exit, RunExit::Complete | RunExit::Failures) {
                if let Some(state) = super::deletions::held_state(&held) {
                    change(runner, obs, Step::Import, state)?;
                    return Ok(RunExit::AwaitingConfirmation);
                }
            }
            (state, exit)
        }
    };
    change(runner, obs, Step::Import, state)?;
    Ok(exit)
}

/// Whether the import's gates (failed media, account deletions) may ask the operator: not
/// during a follow run's rounds, where the stop-service step is the question asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asking {
    /// They ask (or stop the run waiting for the answer).
    Yes,
    /// They hold what needs an answer back, pending, and go on.
    No,
}

/// How an import pass ended.
pub(crate) enum Pass {
    /// A gate or the media stage stopped the run (the step says why).
    Stopped(RunExit),
    /// The import ran: the step's state and the exit it means, and the kinds held back.
    Ended {
        state: StepState,
        exit: RunExit,
        held: Vec<crate::store::Kind>,
    },
}

/// One pass of the import step: the media stage, the deletion gate, then the import of every
/// pending item with its ticks. The step's final state is left to the caller.
pub(crate) async fn import_pass(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    asking: Asking,
) -> Result<Pass, RunbookError> {
    let (media_failed, mut held) = match super::media::stage(runner, obs, every, asking).await? {
        super::media::MediaGo::Go(failed) => (failed, Vec::new()),
        super::media::MediaGo::HoldMessages(failed) => (failed, super::media::MESSAGES.to_vec()),
        super::media::MediaGo::Stop(exit) => return Ok(Pass::Stopped(exit)),
    };
    match super::deletions::gate(runner, obs, asking).await? {
        super::deletions::Gate::Go { held: more } => held.extend(more),
        super::deletions::Gate::Refused(exit) => return Ok(Pass::Stopped(exit)),
    }
    let held_back = held.clone();
    let import = match runner.prepare_import_with(|s| s.held = held) {
        Ok(import) => import,
        Err(e) => {
            change(
                runner,
                obs,
                Step::Import,
                StepState::failed(format!("{e:#}")),
            )?;
            return Ok(Pass::Stopped(RunExit::Fatal));
        }
    };
    let handle = import.handle();
    obs.import_started(&handle);
    let signals = tokio::spawn(cancel_on_signal(handle.clone()));
    let run = import.run();
    tokio::pin!(run);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let ending = loop {
        tokio::select! {
            ending = &mut run => break ending,
            _ = tick.tick() => obs.tick(&handle)?,
        }
    };
    signals.abort();
    obs.tick(&handle)?;
    let ending = match ending {
        Ok(ending) => ending,
        Err(e) => Ending::Fatal(format!("{e:#}")),
    };
    let (state, exit) = import_outcome(&ending, &runner.runbook.store.display().to_string());
    let (state, exit) = super::media::with_failures(state, exit, media_failed, runner);
    Ok(Pass::Ended {
        state,
        exit,
        held: held_back,
    })
}

/// How an import ending reads as the import step's state, and the run's exit code.
fn import_outcome(ending: &Ending, store: &str) -> (StepState, RunExit) {
    match ending {
        Ending::Complete => (StepState::done(""), RunExit::Complete),
        Ending::CompleteWithFailures(n) => (
            StepState::done(format!(
                "{n} items failed: see `cutover errors --store {store}`"
            )),
            RunExit::Failures,
        ),
        Ending::Cancelled(r) => (
            StepState::stopped(format!("{r}; run again to resume")),
            RunExit::Cancelled,
        ),
        Ending::BudgetExhausted(r) => (
            StepState::stopped(format!(
                "{r}; see `cutover errors`, then run again to resume"
            )),
            RunExit::Budget,
        ),
        Ending::Fatal(r) => (StepState::failed(r.clone()), RunExit::Fatal),
    }
}

/// The verify step: reads the target back; mismatches and an unfinished pass change the exit.
pub(crate) async fn verify_step(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    exit: RunExit,
) -> Result<RunExit, RunbookError> {
    change(
        runner,
        obs,
        Step::Verify,
        StepState::running("reading the target back"),
    )?;
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
    let line = |s: &crate::verify::Summary| match runner.window_sample() {
        Some(sample) => format!(
            "{} (window: the delta whole, {:.0} % of the pre-copy; `cutover verify` reads \
             back everything after the window)",
            s.line(),
            sample * 100.0
        ),
        None => s.line(),
    };
    let (state, exit) = match summary {
        Err(e) => (StepState::failed(format!("{e:#}")), RunExit::Fatal),
        Ok(s) if s.mismatched() > 0 => (StepState::failed(line(&s)), RunExit::Mismatches),
        Ok(s) if !s.finished => (StepState::stopped(line(&s)), RunExit::Cancelled),
        Ok(s) => (StepState::done(line(&s)), exit),
    };
    let (state, exit) = super::media::verify(runner, state, exit).await;
    change(runner, obs, Step::Verify, state)?;
    Ok(exit)
}

/// A hook step: asks for confirmation when there is a hook to run. `None` when the run goes
/// on; otherwise the exit the run stops with: a failed hook is fatal, an unconfirmed one stops
/// the run waiting for confirmation (nothing ran; running again asks again).
async fn hook_step(
    runner: &Runner,
    obs: &mut dyn Observer,
    step: Step,
) -> Result<Option<RunExit>, RunbookError> {
    if let Some(hook) = runner.hook(step) {
        if !runner.steps().get(step).is_settled() {
            let what = super::hooks::describe(hook);
            if !ask(runner, obs, step, &what).await? {
                return Ok(Some(unconfirmed(runner, obs, step, &what)?));
            }
        }
    }
    confirmed_hook_step(runner, obs, step).await
}

/// A step left unconfirmed: stopped, waiting for confirmation (nothing of it ran).
fn unconfirmed(
    runner: &Runner,
    obs: &mut dyn Observer,
    step: Step,
    what: &str,
) -> Result<RunExit, RunbookError> {
    let reason = format!(
        "{WAITING_FOR_CONFIRMATION}: nothing ran ({what}); run again and confirm it in the \
         console, or headless with --yes"
    );
    change(runner, obs, step, StepState::stopped(reason))?;
    Ok(RunExit::AwaitingConfirmation)
}

/// A hook step the operator confirmed (or one with nothing to run): runs it.
pub(crate) async fn confirmed_hook_step(
    runner: &Runner,
    obs: &mut dyn Observer,
    step: Step,
) -> Result<Option<RunExit>, RunbookError> {
    if let Some(hook) = runner.hook(step) {
        if !runner.steps().get(step).is_settled() {
            let what = super::hooks::describe(hook);
            change(runner, obs, step, StepState::running(what))?;
        }
    }
    let state = runner.hook_step(step).await;
    let failed = matches!(state, StepState::Failed { .. });
    change(runner, obs, step, state)?;
    Ok(failed.then_some(RunExit::Fatal))
}

/// How a step stopped for want of a confirmation begins its reason.
pub(crate) const WAITING_FOR_CONFIRMATION: &str = "stopped, waiting for confirmation";

/// SIGINT or SIGTERM: finish what is in flight, record it, stop.
pub(crate) async fn cancel_on_signal(handle: ImportHandle) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_import_ending_has_one_step_state_and_exit() {
        let cases = [
            (Ending::Complete, "done", RunExit::Complete),
            (Ending::CompleteWithFailures(2), "done", RunExit::Failures),
            (
                Ending::Cancelled("SIGINT".into()),
                "stopped",
                RunExit::Cancelled,
            ),
            (
                Ending::BudgetExhausted("5 x 90001".into()),
                "stopped",
                RunExit::Budget,
            ),
            (Ending::Fatal("bad key".into()), "failed", RunExit::Fatal),
        ];
        for (ending, word, exit) in cases {
            let (state, got) = import_outcome(&ending, "s.db");
            assert_eq!((state.word(), got), (word, exit), "{ending:?}");
        }
        let (state, _) = import_outcome(&Ending::CompleteWithFailures(2), "s.db");
        assert_eq!(
            state.reason(),
            "2 items failed: see `cutover errors --store s.db`"
        );
    }
}
