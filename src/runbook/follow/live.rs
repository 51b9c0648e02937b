//! The rounds while the old system is live, and what the import step says of them: the
//! stop-service step waits for the operator all along, a round runs, then the run waits for
//! the next one unless the stop is confirmed (in the console, up front, or at `--stop-at`) or
//! a signal comes.

use super::super::drive::{change, Observer, RunExit, WAITING_FOR_CONFIRMATION};
use super::super::runner::Runner;
use super::super::RunbookError;
use super::round::{self, Round, RoundEnd, Which};
use super::{FollowSource, Interrupt};
use crate::model::step::{Step, StepState};
use crate::timefmt::{duration, now_secs};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Reads of the old database that may fail in a row before the follow gives up (a restart
/// or failover of the old database is ridden out).
const READ_ATTEMPTS: u32 = 6;

/// Rounds until the stop is confirmed (`None`), or the exit the run stops with.
pub(super) async fn follow(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    source: &FollowSource,
    interrupt: &Interrupt,
) -> Result<Option<RunExit>, RunbookError> {
    if runner.steps().get(Step::StopService).is_settled() {
        // Stopped in an earlier session of this run: only the last round is left.
        return Ok(None);
    }
    let what = stop_what(runner);
    let mut answer = ask_stop(runner, obs, &what)?;
    let pace = Duration::from_secs(runner.runbook.follow.every_secs.max(1));
    let first = StepState::running("following: round 1");
    change(runner, obs, Step::Import, first)?;
    let mut failed_reads = 0;
    loop {
        let started = Instant::now();
        let ended = round::run(runner, obs, every, source, Which::Live, interrupt).await;
        let note = match ended {
            Err(RunbookError::Follow(e)) if failed_reads + 1 < READ_ATTEMPTS => {
                failed_reads += 1;
                format!(
                    "following: reading the old database failed ({failed_reads} of \
                     {READ_ATTEMPTS} tries): {e}; trying again in {}",
                    duration(pace.as_secs() as i64)
                )
            }
            Err(e) => return Err(e),
            Ok(RoundEnd::Stopped(exit)) => return stopped(runner, obs, exit).map(Some),
            Ok(RoundEnd::Ran(r)) if !matches!(r.exit, RunExit::Complete | RunExit::Failures) => {
                change(runner, obs, Step::Import, r.state.clone())?;
                return stopped(runner, obs, r.exit).map(Some);
            }
            Ok(RoundEnd::Ran(r)) => {
                failed_reads = 0;
                round_note(
                    &r,
                    (started + pace).saturating_duration_since(Instant::now()),
                )
            }
        };
        change(runner, obs, Step::Import, StepState::running(note))?;
        match wait_for_next(source.stop_at, started + pace, &mut answer, interrupt).await {
            Wait::NextRound => {}
            Wait::Stop(by) => {
                let conn = runner.conn()?;
                crate::store::audit::record(&conn, "operator", "stop following", &what, by)?;
                return Ok(None);
            }
            Wait::Declined => {
                let why = format!(
                    "{WAITING_FOR_CONFIRMATION}: the console went without confirming the stop; \
                     everything read is imported; run again to follow on"
                );
                change(runner, obs, Step::Import, StepState::stopped(why))?;
                return stopped(runner, obs, RunExit::AwaitingConfirmation).map(Some);
            }
            Wait::Signal(name) => {
                let why = format!(
                    "following stopped by {name} (everything read is imported); run again to \
                     follow on"
                );
                change(runner, obs, Step::Import, StepState::stopped(why))?;
                return stopped(runner, obs, RunExit::Cancelled).map(Some);
            }
        }
    }
}

/// The follow ends before the stop: the stop-service step no longer waits for an answer.
fn stopped(
    runner: &Runner,
    obs: &mut dyn Observer,
    exit: RunExit,
) -> Result<RunExit, RunbookError> {
    change(runner, obs, Step::StopService, StepState::Waiting)?;
    Ok(exit)
}

/// What confirming the stop does.
fn stop_what(runner: &Runner) -> String {
    match runner.hook(Step::StopService) {
        Some(hook) => format!(
            "stop following and {}: a last round then reads what changed until the stop",
            super::super::hooks::describe(hook)
        ),
        None => "stop following (no stop_service hook: stop the old system yourself first): a \
                 last round then reads what changed until now"
            .into(),
    }
}

/// Sets the stop-service step waiting for the operator and asks.
fn ask_stop(
    runner: &Runner,
    obs: &mut dyn Observer,
    what: &str,
) -> Result<oneshot::Receiver<bool>, RunbookError> {
    let waiting = StepState::NeedsConfirmation {
        what: what.to_string(),
    };
    change(runner, obs, Step::StopService, waiting)?;
    Ok(obs.confirm(Step::StopService, what))
}

/// What ended the wait between two rounds.
enum Wait {
    /// Time for the next round.
    NextRound,
    /// The stop was confirmed (by whom).
    Stop(&'static str),
    /// The operator's console went without confirming.
    Declined,
    /// SIGINT or SIGTERM.
    Signal(&'static str),
}

/// Waits for the next round, unless the stop is confirmed (in the console, up front, or at
/// `--stop-at`) or a signal comes first. An answer given during a round counts at its end.
async fn wait_for_next(
    stop_at: Option<i64>,
    next: Instant,
    answer: &mut oneshot::Receiver<bool>,
    interrupt: &Interrupt,
) -> Wait {
    if let Some(name) = interrupt.seen() {
        return Wait::Signal(name);
    }
    let stop_in = stop_at.map(|t| Duration::from_secs((t - now_secs()).max(0) as u64));
    if stop_in == Some(Duration::ZERO) {
        return Wait::Stop("--stop-at");
    }
    let at_stop = async {
        match stop_in {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        name = interrupt.wait() => Wait::Signal(name),
        said = &mut *answer => match said {
            Ok(true) => Wait::Stop("confirmed"),
            _ => Wait::Declined,
        },
        () = at_stop => Wait::Stop("--stop-at"),
        () = tokio::time::sleep_until(next) => Wait::NextRound,
    }
}

/// The import step's reason after a live round: how far behind first (the console cuts long
/// reasons at its edge).
fn round_note(r: &Round, next_in: Duration) -> String {
    let behind = (now_secs() - r.watermark).max(0);
    let mut note = format!(
        "following: round {} · {} behind the old system · {} records read{}{} · next round in {}",
        r.number,
        duration(behind),
        r.changes,
        invalid(r.invalid),
        failed(&r.state),
        duration(next_in.as_secs() as i64)
    );
    if !r.held.is_empty() {
        note.push_str(" · held for the last round: ");
        let kinds: Vec<&str> = r.held.iter().map(|k| k.name()).collect();
        note.push_str(&kinds.join(", "));
    }
    note
}

/// The import step's note after the last round: its time first (it is window time).
pub(super) fn last_note(r: &Round) -> String {
    let [read, staged, imported] = r.secs;
    format!(
        "last round {} (after the stop): {} records in {:.1} s (read {read:.1}, staged \
         {staged:.1}, imported {imported:.1}){}, {} deleted outright",
        r.number,
        r.changes,
        read + staged + imported,
        invalid(r.invalid),
        r.vanished
    )
}

fn invalid(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} invalid, skipped)")
    }
}

/// The failures the import's state names, if any.
fn failed(state: &StepState) -> String {
    let reason = state.reason();
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

/// `state` with `note` before its reason.
pub(super) fn with_round_note(state: &StepState, note: &str) -> StepState {
    let reason = state.reason();
    let text = if reason.is_empty() {
        note.to_string()
    } else {
        format!("{note}; {reason}")
    };
    match state {
        StepState::Done { .. } => StepState::done(text),
        StepState::Failed { .. } => StepState::failed(text),
        StepState::Stopped { .. } => StepState::stopped(text),
        _ => state.clone(),
    }
}
