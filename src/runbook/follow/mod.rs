//! `cutover run --phase follow`: on the store of a pre-copy, rounds of "export what changed in
//! the old database since the store's watermark, stage it, import it" while the old system is
//! live, until the operator confirms the stop-service step. Then the stop hook, a last round
//! (seconds of changes, the key sets, the questions the rounds held back), start sync, resume
//! service and the window-sized verification, exactly as in a window.

mod live;
mod round;

use super::drive::{
    after_import, change, confirmed_hook_step, preflight_step, wait_for_signal, Observer, RunExit,
};
use super::runner::Runner;
use super::RunbookError;
use crate::export::{Mapping, SourceUrl};
use crate::model::step::{Step, StepState};
use round::{RoundEnd, Which};
use std::path::PathBuf;
use std::time::Duration;

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
    again_after_rollback(runner, obs)?;
    let interrupt = Interrupt::start();
    if let Some(exit) = live::follow(runner, obs, every, &source, &interrupt).await? {
        return Ok(exit);
    }
    if let Some(exit) = confirmed_hook_step(runner, obs, Step::StopService).await? {
        return Ok(exit);
    }
    let exit = if runner.steps().get(Step::Import).is_settled() {
        // The last round ran in an earlier session; the old service may be back since, so it
        // is not read again.
        last_exit(runner)?
    } else {
        match last_round(runner, obs, every, &source, &interrupt).await? {
            Ok(exit) => exit,
            Err(stop) => return Ok(stop),
        }
    };
    after_import(runner, obs, every, exit).await
}

/// The last round, after the stop: the exit it leaves the run with, or (`Err`) the one the run
/// stops with.
async fn last_round(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    source: &FollowSource,
    interrupt: &Interrupt,
) -> Result<Result<RunExit, RunExit>, RunbookError> {
    change(
        runner,
        obs,
        Step::Import,
        StepState::running("the last round: what changed until the stop"),
    )?;
    let r = match round::run(runner, obs, every, source, Which::Last, interrupt).await? {
        RoundEnd::Stopped(exit) => return Ok(Err(exit)),
        RoundEnd::Ran(r) => r,
    };
    let ok = matches!(r.exit, RunExit::Complete | RunExit::Failures);
    if let Some(state) = super::deletions::held_state(&r.held).filter(|_| ok) {
        change(runner, obs, Step::Import, state)?;
        return Ok(Err(RunExit::AwaitingConfirmation));
    }
    let state = live::with_round_note(&r.state, &live::last_note(&r));
    change(runner, obs, Step::Import, state)?;
    Ok(if ok { Ok(r.exit) } else { Err(r.exit) })
}

/// The exit of a last round run in an earlier session: with failures when items failed.
fn last_exit(runner: &Runner) -> Result<RunExit, RunbookError> {
    let counts = crate::store::queries::item_counts(&runner.conn()?)?;
    let failed: u64 = counts.values().map(|c| c[2]).sum();
    Ok(if failed > 0 {
        RunExit::Failures
    } else {
        RunExit::Complete
    })
}

/// After a rollback (which brought the old service back), following again starts the stop,
/// the import and what follows afresh: the next stop is a real one, and so is the next resume.
fn again_after_rollback(runner: &Runner, obs: &mut dyn Observer) -> Result<(), RunbookError> {
    let conn = runner.conn()?;
    let rolled_back = crate::store::run::get(&conn)?.is_some_and(|r| r.state == "rolled back");
    if !rolled_back {
        return Ok(());
    }
    let why = "following again after a rollback: the old service is back, so the stop, the \
               import and what follows start afresh";
    crate::store::audit::record(&conn, "runbook", "follow again", "", why)?;
    crate::store::run::set_state(&conn, "running", why)?;
    for step in [
        Step::StopService,
        Step::Import,
        Step::StartSync,
        Step::ResumeService,
        Step::Verify,
    ] {
        change(runner, obs, step, StepState::Waiting)?;
    }
    Ok(())
}

/// SIGINT or SIGTERM, seen once by a task that lives as long as the follow run: one that
/// comes while a round stages or waits is not lost.
pub(crate) struct Interrupt {
    seen: tokio::sync::watch::Receiver<Option<&'static str>>,
    task: tokio::task::JoinHandle<()>,
}

impl Interrupt {
    fn start() -> Interrupt {
        let (tx, seen) = tokio::sync::watch::channel(None);
        let task = tokio::spawn(async move {
            let name = wait_for_signal().await;
            tracing::warn!(signal = name, "stopping the follow run");
            let _ = tx.send(Some(name));
        });
        Interrupt { seen, task }
    }

    /// The signal, if one came.
    pub(crate) fn seen(&self) -> Option<&'static str> {
        *self.seen.borrow()
    }

    /// Waits for the signal.
    pub(crate) async fn wait(&self) -> &'static str {
        let mut seen = self.seen.clone();
        loop {
            if let Some(name) = *seen.borrow_and_update() {
                return name;
            }
            if seen.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.task.abort();
    }
}
