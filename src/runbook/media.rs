//! The import step's media stage and the verify step's media check: the rehosted hosts'
//! objects are copied into the bucket before any message is sent (so every message goes in
//! with its final URLs, never one to rewrite later at one modify call per message), and the
//! copies are checked by HEAD when the target is read back.

use super::drive::{change, wait_for_signal, Asking, Observer, RunExit, WAITING_FOR_CONFIRMATION};
use super::runner::Runner;
use super::RunbookError;
use crate::config::media::OnUnreachable;
use crate::media::progress::MediaProgress;
use crate::media::stage::{self, StageSummary};
use crate::model::step::{Step, StepState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What the import does after the media stage.
pub(crate) enum MediaGo {
    /// Go on to the messages; this many objects could not be copied (they carry the policy).
    Go(u64),
    /// Go on with the messages held back, pending: this many objects could not be copied and
    /// nobody was asked what their messages carry (a follow run's round).
    HoldMessages(u64),
    /// The run stops here with this exit (the step's state says why).
    Stop(RunExit),
}

/// The kinds held back while failed objects wait for the operator's decision.
pub(crate) const MESSAGES: [crate::store::Kind; 2] = [
    crate::store::Kind::C2cMessage,
    crate::store::Kind::GroupMessage,
];

/// Runs the media stage, telling `obs` its progress every `every`.
pub(crate) async fn stage(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    asking: Asking,
) -> Result<MediaGo, RunbookError> {
    let policy = &runner.runbook.media;
    let progress = Arc::new(MediaProgress::default());
    let (stop_tx, stop) = watch::channel(false);
    obs.media_started(&progress);
    let signals = tokio::spawn(async move {
        let name = wait_for_signal().await;
        tracing::warn!(signal = name, "stopping the media stage");
        let _ = stop_tx.send(true);
    });
    let run = stage::run(&runner.runbook.store, policy, Arc::clone(&progress), stop);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            _ = tick.tick() => obs.media_tick(&progress)?,
        }
    };
    signals.abort();
    obs.media_tick(&progress)?;
    match result {
        Err(e) => {
            change(runner, obs, Step::Import, StepState::failed(e.to_string()))?;
            Ok(MediaGo::Stop(RunExit::Fatal))
        }
        Ok(StageSummary { stopped: true, .. }) => {
            let why =
                "interrupted during the media stage (copied objects are kept); run again to resume";
            change(runner, obs, Step::Import, StepState::stopped(why))?;
            Ok(MediaGo::Stop(RunExit::Cancelled))
        }
        Ok(summary) => {
            if !summary.hosts.is_empty() {
                let note = format!(
                    "media of {}: {} copied now, {} not copied; importing",
                    summary.hosts.join(", "),
                    summary.copied,
                    summary.failed
                );
                change(runner, obs, Step::Import, StepState::running(note))?;
            }
            if asking == Asking::No {
                let (undecided, _) = crate::store::media::undecided_failures(&runner.conn()?)?;
                if undecided > 0 {
                    return Ok(MediaGo::HoldMessages(summary.failed));
                }
            } else if let Some(exit) = gate(runner, obs).await? {
                return Ok(MediaGo::Stop(exit));
            }
            let placeholder = policy.on_unreachable == OnUnreachable::Placeholder;
            crate::store::media::decide(&runner.conn()?, placeholder)?;
            Ok(MediaGo::Go(summary.failed))
        }
    }
}

/// What a message whose object could not be copied carries, in words.
fn carried(policy: OnUnreachable) -> &'static str {
    match policy {
        OnUnreachable::KeepUrl => "their old URL (a placeholder if signed)",
        OnUnreachable::Placeholder => "a placeholder",
    }
}

/// Objects that could not be copied and whose messages' fate is still open: the operator
/// confirms that their messages go with `[media] on_unreachable` (decided for good then), or
/// the run stops here for `cutover retry --stage media` / `skip`. `None` when it goes on.
async fn gate(runner: &Runner, obs: &mut dyn Observer) -> Result<Option<RunExit>, RunbookError> {
    let conn = runner.conn()?;
    let (n, first) = crate::store::media::undecided_failures(&conn)?;
    if n == 0 {
        return Ok(None);
    }
    let first = first.map_or(String::new(), |(url, reason)| {
        format!(" (the first: {url}: {reason})")
    });
    let what = format!(
        "import the messages of {n} media objects that could not be copied{first}: they carry {}",
        carried(runner.runbook.media.on_unreachable)
    );
    if !super::drive::ask(runner, obs, Step::Import, &what).await? {
        let reason = format!(
            "{WAITING_FOR_CONFIRMATION}: no message was sent ({what}); `cutover errors` lists \
             them, `cutover retry --stage media` copies them again at the next run, `cutover \
             skip --stage media` gives them up; run again and confirm (headless: --yes)"
        );
        change(runner, obs, Step::Import, StepState::stopped(reason))?;
        return Ok(Some(RunExit::AwaitingConfirmation));
    }
    crate::store::audit::record(
        &conn,
        "operator",
        "import media failures",
        &what,
        "confirmed",
    )?;
    change(runner, obs, Step::Import, StepState::running(""))?;
    Ok(None)
}

/// The import's state and exit once media objects could not be copied: the run ends with
/// failures, and the step says where to look and what the messages carry.
pub(crate) fn with_failures(
    state: StepState,
    exit: RunExit,
    failed: u64,
    runner: &Runner,
) -> (StepState, RunExit) {
    if failed == 0 || !matches!(exit, RunExit::Complete | RunExit::Failures) {
        return (state, exit);
    }
    let carry = carried(runner.runbook.media.on_unreachable);
    let note = format!(
        "{failed} media objects not copied, their messages carry {carry}: see `cutover errors --store {}`",
        runner.runbook.store.display()
    );
    let note = match &state {
        StepState::Done { note: before } if !before.is_empty() => format!("{before}; {note}"),
        _ => note,
    };
    match state {
        StepState::Done { .. } => (StepState::done(note), RunExit::Failures),
        other => (other, exit),
    }
}

/// Folds the media check into the verify step's state and exit: a copy missing or different
/// in the bucket is a mismatch. Copies an earlier pass found equal are not asked again; the
/// note counts them all.
pub(crate) async fn verify(
    runner: &Runner,
    state: StepState,
    exit: RunExit,
) -> (StepState, RunExit) {
    let store = &runner.runbook.store;
    let pass = match crate::media::verify::verify(store, &runner.runbook.media).await {
        Ok(pass) => pass,
        Err(e) => return (StepState::failed(e.to_string()), RunExit::Fatal),
    };
    let totals = match runner.conn().map(|c| crate::store::media::verified(&c)) {
        Ok(Ok(totals)) => totals,
        Ok(Err(e)) => return (StepState::failed(format!("the store: {e}")), RunExit::Fatal),
        Err(e) => return (StepState::failed(e.to_string()), RunExit::Fatal),
    };
    if totals.checked == 0 {
        return (state, exit);
    }
    let mut line = format!(
        "media: {} of {} copies equal in the bucket ({} checked now, {} downloaded and hashed)",
        totals.equal, totals.checked, pass.checked, pass.downloaded
    );
    if let Some((url, detail)) = totals.differences.first() {
        let url = crate::model::media::shown_url(url);
        line.push_str(&format!("; first difference: {url}: {detail}"));
    }
    let joined = |note: &str| {
        if note.is_empty() {
            line.clone()
        } else {
            format!("{note}; {line}")
        }
    };
    match state {
        StepState::Done { note } if totals.equal < totals.checked => {
            (StepState::failed(joined(&note)), RunExit::Mismatches)
        }
        StepState::Done { note } => (StepState::done(joined(&note)), exit),
        StepState::Failed { reason } => (StepState::failed(joined(&reason)), exit),
        other => (other, exit),
    }
}
