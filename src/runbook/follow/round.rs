//! One round of a follow run: what changed in the old database since the store's watermark,
//! exported into a round directory beside the store, staged as a new generation, imported.
//!
//! Each step commits on its own, so a round killed anywhere resumes: an export cut short is
//! written again (its files are moved into place only once whole), an export written but not
//! (wholly) staged is staged (staging resumes after its last chunk), and what a staged round
//! left pending is imported by the next round with what that one finds.

use super::super::drive::{change, import_pass, Asking, Observer, Pass, RunExit};
use super::super::runner::Runner;
use super::super::RunbookError;
use super::{FollowSource, Interrupt};
use crate::export::{export, ExportOptions};
use crate::model::step::{Step, StepState};
use crate::source::ExportDir;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which round: one while the old system is live, or the last one after the stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// While the old system is live: its queries read up to now, no key sets; what needs an
    /// answer (account deletions, media that could not be copied) is held for the last round.
    Live,
    /// After the stop: everything up to now (the second of the stop included), the key sets
    /// (rows deleted outright since the pre-copy), and the gates ask.
    Last,
}

/// What a round did.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// Its number (its directory's).
    pub(crate) number: u64,
    /// Records staged (changes and tombstones).
    pub(crate) changes: u64,
    /// Of them, invalid and skipped.
    pub(crate) invalid: u64,
    /// Rows deleted outright (gone from the key sets).
    pub(crate) vanished: u64,
    /// What it read changed before (its export's start; for a resumed export, the watermark it
    /// followed): how far behind the old system the target is.
    pub(crate) watermark: i64,
    /// How the round's import ended: the step's state and its exit.
    pub(crate) state: StepState,
    /// The exit the import means.
    pub(crate) exit: RunExit,
    /// Kinds held back, pending.
    pub(crate) held: Vec<crate::store::Kind>,
    /// Seconds spent reading the old database, staging, and importing (the media stage and
    /// the wait past the watermark included).
    pub(crate) secs: [f64; 3],
}

/// How a round ended.
pub(crate) enum RoundEnd {
    /// The round ran; the follow goes on (or ends, for the last round).
    Ran(Round),
    /// The run stops with this exit (the import step says why).
    Stopped(RunExit),
}

/// Runs one round.
pub(crate) async fn run(
    runner: &Runner,
    obs: &mut dyn Observer,
    every: Duration,
    source: &FollowSource,
    which: Which,
    interrupt: &Interrupt,
) -> Result<RoundEnd, RunbookError> {
    let watermark = watermark(runner)?;
    let (dir, number, needs_export) = round_dir(runner, &source.dir, watermark)?;
    let clock = std::time::Instant::now();
    // What the round reads changed before this (by this host's clock).
    let mut read_at = watermark.min(crate::timefmt::now_secs());
    if needs_export {
        read_at = crate::timefmt::now_secs();
        let read = export_round(runner, source, (&dir, number), watermark, which);
        tokio::select! {
            read = read => read?,
            name = interrupt.wait() => return interrupted(runner, obs, number, name, "reading"),
        }
    }
    let read = clock.elapsed().as_secs_f64();
    let staged = runner.stage_dir(&dir).await?;
    let staging = clock.elapsed().as_secs_f64() - read;
    if let Some(name) = interrupt.seen() {
        return interrupted(runner, obs, number, name, "staging");
    }
    in_the_past(runner, read_at).await?;
    let asking = match which {
        Which::Live => Asking::No,
        Which::Last => Asking::Yes,
    };
    let (state, exit, held) = match import_pass(runner, obs, every, asking).await? {
        Pass::Stopped(exit) => return Ok(RoundEnd::Stopped(exit)),
        Pass::Ended { state, exit, held } => (state, exit, held),
    };
    Ok(RoundEnd::Ran(Round {
        number,
        changes: staged.counts.iter().map(|(_, n, _)| n).sum(),
        invalid: staged.counts.iter().map(|(_, _, n)| n).sum(),
        vanished: staged.vanished.iter().map(|(_, n)| n).sum(),
        watermark: read_at,
        state,
        exit,
        held,
        secs: [
            read,
            staging,
            clock.elapsed().as_secs_f64() - read - staging,
        ],
    }))
}

/// A round stopped by a signal while `doing`: what it committed stays (the next run resumes
/// there).
fn interrupted(
    runner: &Runner,
    obs: &mut dyn Observer,
    number: u64,
    name: &str,
    doing: &str,
) -> Result<RoundEnd, RunbookError> {
    let why = format!(
        "interrupted ({name}) while {doing} round {number}; run again to resume from its last \
         committed part"
    );
    change(runner, obs, Step::Import, StepState::stopped(why))?;
    Ok(RoundEnd::Stopped(RunExit::Cancelled))
}

/// The longest the import of a round waits for its times to be in the past: a message stamped
/// further ahead (a client clock far off) goes, and fails with the target's reason.
const MAX_WAIT_SECS: i64 = 10;

/// Waits until the clock has passed, by a whole second, both `read_at` (the changes the round
/// read: a member who joined this second cannot be imported with that time until the next)
/// and the newest send time of a pending message (a group's burst in one second is spread
/// over the seconds after it), at most [`MAX_WAIT_SECS`]: the target refuses a join or send
/// time that is not in the past.
async fn in_the_past(runner: &Runner, read_at: i64) -> Result<(), RunbookError> {
    let newest = crate::store::phase::newest_pending_send_time(&runner.conn()?)?;
    let now_ms = crate::timefmt::now_ms();
    let past = read_at
        .max(newest.unwrap_or(0))
        .min(now_ms / 1000 + MAX_WAIT_SECS);
    let wait_ms = (past + 1) * 1000 + 1 - now_ms;
    if wait_ms > 0 {
        tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    }
    Ok(())
}

/// The store's watermark: where the next round starts.
pub(crate) fn watermark(runner: &Runner) -> Result<i64, RunbookError> {
    match crate::store::phase::newest_export(&runner.conn()?)? {
        Some((_, Some(w))) => Ok(w),
        _ => Err(RunbookError::Phase(
            "the store's newest export has no watermark: a round could not know what changed \
             since"
                .into(),
        )),
    }
}

/// Reads the round from the old database into `dir` (replacing what a cut-short export left).
async fn export_round(
    runner: &Runner,
    source: &FollowSource,
    (dir, number): (&Path, u64),
    watermark: i64,
    which: Which,
) -> Result<(), RunbookError> {
    let now = crate::timefmt::now_secs();
    let reread = runner.runbook.follow.reread_secs as i64;
    // After the stop nothing writes: the last round reads past now too, by the second of the
    // stop and the re-read margin, for an old database whose clock runs ahead of this host's
    // (a follow run again after a rollback re-reads from there, so nothing is skipped).
    let until = match which {
        Which::Live => now,
        Which::Last => now + 1 + reread,
    }
    .max(watermark);
    let opts = ExportOptions {
        force: true,
        reread_secs: reread,
        known_ids: false,
        key_sets: which == Which::Last || key_sets_due(runner, &source.dir, number, now),
        ..ExportOptions::new(
            source.url.clone(),
            source.mapping.clone(),
            dir.to_path_buf(),
            Some(watermark),
            until,
        )
    };
    let mut problems = 0u64;
    let mut quiet = std::io::sink();
    let summary = export(&opts, &mut quiet, &mut |p| {
        // Staging checks every record again against the store (which knows the earlier
        // accounts and groups) and keeps what is wrong with its file and line.
        problems += 1;
        tracing::debug!(problem = %p.problem, "follow round: the export's own check");
    })
    .await?;
    tracing::info!(
        dir = %dir.display(),
        since = watermark,
        until,
        records = summary.records(),
        "follow round read"
    );
    Ok(())
}

/// The directory of the round to work on, its number, and whether it still needs its export:
/// the last round's again when its export was cut short (no manifest) or is not wholly staged,
/// else the next one.
fn round_dir(
    runner: &Runner,
    root: &Path,
    watermark: i64,
) -> Result<(PathBuf, u64, bool), RunbookError> {
    let last = last_round(root)?;
    let Some(n) = last else {
        return Ok((dir_of(root, 1), 1, true));
    };
    let dir = dir_of(root, n);
    if !dir.join("manifest.json").is_file() {
        return Ok((dir, n, true));
    }
    let export = ExportDir::open(&dir)?;
    let staged = crate::store::phase::export_with(
        &runner.conn()?,
        &crate::store::stage::fingerprint(&export),
    )?
    .is_some();
    if !staged && export.manifest.delta_of == Some(watermark) {
        return Ok((dir, n, false));
    }
    Ok((dir_of(root, n + 1), n + 1, true))
}

/// Whether a live round (number `n`) reads the key sets: the newest earlier round that read
/// them did so `[follow] key_sets_every_secs` or more before `now`, or none did. Rounds are
/// walked back from `n` and the walk stops at the first with key sets, so its cost does not grow
/// with the rounds of a long follow.
fn key_sets_due(runner: &Runner, root: &Path, n: u64, now: i64) -> bool {
    let every = runner.runbook.follow.key_sets_every_secs as i64;
    let last = (1..n)
        .rev()
        .map(|k| dir_of(root, k))
        .find(|d| d.join(crate::export::KEYS_DIR).is_dir())
        .and_then(|d| ExportDir::open(&d).ok()?.manifest.watermark);
    last.is_none_or(|at| now - at >= every)
}

/// The directory of round `n`.
fn dir_of(root: &Path, n: u64) -> PathBuf {
    root.join(format!("round-{n:06}"))
}

/// The highest round number under `root` (`None`: no round yet).
fn last_round(root: &Path) -> Result<Option<u64>, RunbookError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut last = None;
    for entry in entries {
        let name = entry?.file_name();
        let n = name
            .to_str()
            .and_then(|n| n.strip_prefix("round-"))
            .and_then(|n| n.parse::<u64>().ok());
        last = last.max(n);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_round_is_the_highest_number() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_round(&dir.path().join("none")).unwrap(), None);
        for n in [1, 12, 3] {
            std::fs::create_dir_all(dir_of(dir.path(), n)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        assert_eq!(last_round(dir.path()).unwrap(), Some(12));
        assert!(dir_of(dir.path(), 12).ends_with("round-000012"));
    }
}
