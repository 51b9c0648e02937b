//! `cutover run --phase follow`: on the store of a pre-copy, rounds of "export what changed in
//! the old database since the store's watermark, stage it, import it" while the old system is
//! live, until the operator confirms the stop-service step. Then the stop hook, a last round
//! (seconds of changes, the key sets, the questions the rounds held back), start sync, resume
//! service and the window-sized verification, exactly as in a window.

mod round;

use super::drive::{
    after_import, change, confirmed_hook_step, preflight_step, unconfirmed, wait_for_signal,
    Observer, RunExit,
};
use super::runner::Runner;
use super::RunbookError;
use crate::export::{Mapping, SourceUrl};
use crate::model::step::{Step, StepState};
use crate::timefmt::{duration, now_secs};
use round::{Round, RoundEnd, Which};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;

/// Where a follow run reads the old system, and where it writes its rounds.
#[derive(Debug, Clone)]
pub struct FollowSource {
    /// The old system's database.
    pub url: SourceUrl,
    /// The mapping: one query per kind, each bound to `:since`.
    pub mapping: Mapping,
    /// The directory of the rounds' exports (beside the store: the store reads records back
    /// from them, so they are kept).
    pub dir: PathBuf,
    /// The stop is confirmed at this time (unix seconds), without asking.
    pub stop_at: Option<i64>,
}

impl FollowSource {
    /// The source of `url` through `mapping` for the store `store`; refuses a mapping whose
    /// queries do not all bind `:since` (each round would read their whole table again).
    pub fn new(
        url: SourceUrl,
        mapping: Mapping,
        store: &std::path::Path,
        stop_at: Option<i64>,
    ) -> Result<FollowSource, String> {
        let whole: Vec<&str> = mapping.without_since().iter().map(|k| k.stem()).collect();
        if !whole.is_empty() {
            return Err(format!(
                "the mapping's queries of {} do not use :since: a follow round reads only what \
                 changed since the store's watermark (`WHERE updated_at >= :since AND \
                 updated_at < :until`)",
                whole.join(", ")
            ));
        }
        let mut dir = store.as_os_str().to_owned();
        dir.push(".follow");
        Ok(FollowSource {
            url,
            mapping,
            dir: PathBuf::from(dir),
            stop_at,
        })
    }
}

/// The steps of a follow run.
pub(crate) async fn steps(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
) -> Result<RunExit, RunbookError> {
    let Some(source) = runner.follow.clone() else {
        return Err(RunbookError::Phase(
            "--phase follow reads the old database: give --from URL and --map FILE".into(),
        ));
    };
    if !preflight_step(runner, obs).await? {
        return Ok(RunExit::Fatal);
    }
    if let Some(exit) = follow(runner, obs, every, &source).await? {
        return Ok(exit);
    }
    if let Some(exit) = confirmed_hook_step(runner, obs, Step::StopService).await? {
        return Ok(exit);
    }
    change(
        runner,
        obs,
        Step::Import,
        StepState::running("the last round: what changed until the stop"),
    )?;
    let exit = match round::run(runner, obs, every, &source, Which::Last).await? {
        RoundEnd::Stopped(exit) => return Ok(exit),
        RoundEnd::Ran(r) => {
            let ok = matches!(r.exit, RunExit::Complete | RunExit::Failures);
            if let Some(state) = super::deletions::held_state(&r.held).filter(|_| ok) {
                change(runner, obs, Step::Import, state)?;
                return Ok(RunExit::AwaitingConfirmation);
            }
            let state = with_round_note(&r.state, &last_note(&r));
            change(runner, obs, Step::Import, state)?;
            r.exit
        }
    };
    after_import(runner, obs, every, exit).await
}

/// Rounds until the stop is confirmed (`None`), or the exit the run stops with.
async fn follow(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    source: &FollowSource,
) -> Result<Option<RunExit>, RunbookError> {
    if runner.steps().get(Step::StopService).is_settled() {
        // Stopped in an earlier session of this run: only the last round is left.
        return Ok(None);
    }
    let what = stop_what(runner);
    let mut answer = ask_stop(runner, obs, &what)?;
    let pace = Duration::from_secs(runner.runbook.follow.every_secs.max(1));
    change(
        runner,
        obs,
        Step::Import,
        StepState::running("following: round 1"),
    )?;
    loop {
        let started = tokio::time::Instant::now();
        let r = match round::run(runner, obs, every, source, Which::Live).await? {
            RoundEnd::Stopped(exit) => return Ok(Some(exit)),
            RoundEnd::Ran(r) => r,
        };
        if !matches!(r.exit, RunExit::Complete | RunExit::Failures) {
            change(runner, obs, Step::Import, r.state.clone())?;
            return Ok(Some(r.exit));
        }
        let next = started + pace;
        let note = round_note(&r, next.saturating_duration_since(started));
        change(runner, obs, Step::Import, StepState::running(note))?;
        match wait_for_next(source.stop_at, next, &mut answer).await {
            Wait::NextRound => {}
            Wait::Stop(by) => {
                let conn = runner.conn()?;
                crate::store::audit::record(&conn, "operator", "stop following", &what, by)?;
                return Ok(None);
            }
            Wait::Declined => return Ok(Some(unconfirmed(runner, obs, Step::StopService, &what)?)),
            Wait::Signal(name) => {
                let why = format!(
                    "following stopped by {name} after round {} (everything it read is \
                     imported); run again to follow on",
                    r.number
                );
                change(runner, obs, Step::Import, StepState::stopped(why))?;
                return Ok(Some(RunExit::Cancelled));
            }
        }
    }
}

/// What confirming the stop does.
fn stop_what(runner: &Runner) -> String {
    match runner.hook(Step::StopService) {
        Some(hook) => format!(
            "stop following and {}: a last round then reads what changed until the stop",
            super::hooks::describe(hook)
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
    next: tokio::time::Instant,
    answer: &mut oneshot::Receiver<bool>,
) -> Wait {
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
        said = &mut *answer => match said {
            Ok(true) => Wait::Stop("confirmed"),
            _ => Wait::Declined,
        },
        () = at_stop => Wait::Stop("--stop-at"),
        name = wait_for_signal() => Wait::Signal(name),
        () = tokio::time::sleep_until(next) => Wait::NextRound,
    }
}

/// The import step's reason after a live round.
fn round_note(r: &Round, next_in: Duration) -> String {
    let behind = (now_secs() - r.watermark).max(0);
    let mut note = format!(
        "following: round {} read {} records{}{} · {} behind the old system · next round in {}",
        r.number,
        r.changes,
        invalid(r.invalid),
        failed(&r.state),
        duration(behind),
        duration(next_in.as_secs() as i64)
    );
    if !r.held.is_empty() {
        note.push_str(" · held for the last round: ");
        let kinds: Vec<&str> = r.held.iter().map(|k| k.name()).collect();
        note.push_str(&kinds.join(", "));
    }
    note
}

/// The import step's note after the last round.
fn last_note(r: &Round) -> String {
    let [read, staged, imported] = r.secs;
    format!(
        "last round {} after the stop: {} records read{}, {} deleted outright (read {read:.1} \
         s, staged {staged:.1} s, imported {imported:.1} s)",
        r.number,
        r.changes,
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
fn with_round_note(state: &StepState, note: &str) -> StepState {
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
