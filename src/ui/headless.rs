//! The runbook without a terminal UI: a progress line every few seconds (or JSON lines), the
//! same engine underneath, and an exit code that says how it ended.

use super::progress::{ProgressMeter, StageLine};
use super::UiError;
use crate::engine::control::{Command, RunState};
use crate::engine::import::ImportHandle;
use crate::model::step::{Step, StepState};
use crate::runbook::drive::{drive, Observer};
use crate::runbook::runner::Runner;
use crate::store::sync::DirectionCounts;
use crate::sync::relay::{self, RelayHandle};
use crate::verify::Progress;
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub(crate) use crate::runbook::drive::RunExit;

/// Writes events as text or JSON lines.
pub(crate) struct Printer<'a> {
    out: Lenient<'a>,
    json: bool,
    start: Instant,
    window_end: Option<i64>,
}

/// Stdout that may go away (a closed pipe, a terminal that hung up) without stopping the run:
/// the first failed write is logged, and what follows is dropped.
struct Lenient<'a> {
    out: &'a mut dyn Write,
    gone: bool,
}

impl Lenient<'_> {
    fn failed(&mut self, e: &std::io::Error) {
        if !self.gone {
            tracing::warn!(%e, "stdout is gone; the run goes on, writing only its log");
            self.gone = true;
        }
    }
}

impl Write for Lenient<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.gone {
            return Ok(buf.len());
        }
        match self.out.write_all(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.failed(&e);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.gone {
            if let Err(e) = self.out.flush() {
                self.failed(&e);
            }
        }
        Ok(())
    }
}

impl Printer<'_> {
    /// A printer to `out`.
    pub(crate) fn new(out: &mut dyn Write, json: bool) -> Printer<'_> {
        Printer {
            out: Lenient { out, gone: false },
            json,
            start: Instant::now(),
            window_end: None,
        }
    }

    /// Progress lines set the projected finish against the window closing at `end`.
    pub(crate) fn with_window(mut self, end: Option<i64>) -> Self {
        self.window_end = end;
        self
    }

    fn stamp(&self) -> String {
        format!(
            "[{}]",
            crate::timefmt::clock(self.start.elapsed().as_secs())
        )
    }

    /// A step changed.
    pub(crate) fn step(&mut self, step: Step, state: &StepState) -> std::io::Result<()> {
        let reason = state.reason();
        if self.json {
            let line = json!({"event": "step", "elapsed": self.start.elapsed().as_secs_f64(),
                "step": step.name(), "state": state.word(), "reason": reason});
            writeln!(self.out, "{line}")
        } else if reason.is_empty() {
            writeln!(self.out, "{} step {}: {state}", self.stamp(), step.name())
        } else {
            writeln!(
                self.out,
                "{} step {}: {state} — {reason}",
                self.stamp(),
                step.name()
            )
        }?;
        self.out.flush()
    }

    /// A free-form note (text mode) or an event with fields (JSON mode).
    pub(crate) fn note(&mut self, text: &str, fields: serde_json::Value) -> std::io::Result<()> {
        if self.json {
            let mut line = json!({"event": "note", "elapsed": self.start.elapsed().as_secs_f64(), "text": text});
            if let (Some(obj), serde_json::Value::Object(extra)) = (line.as_object_mut(), fields) {
                obj.extend(extra);
            }
            writeln!(self.out, "{line}")?;
        } else {
            writeln!(self.out, "{} {text}", self.stamp())?;
        }
        self.out.flush()
    }

    fn progress(
        &mut self,
        state: &RunState,
        stages: &[StageLine],
        handle: &ImportHandle,
    ) -> std::io::Result<()> {
        let total: u64 = stages.iter().map(|s| s.total).sum();
        let settled: u64 = stages.iter().map(|s| s.settled()).sum();
        let failed: u64 = stages.iter().map(|s| s.failed).sum();
        let per_sec: f64 = stages.iter().map(|s| s.per_sec).sum();
        let pole = stages
            .iter()
            .filter(|s| s.settled() < s.total)
            .max_by(|a, b| {
                a.eta_secs
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.eta_secs.unwrap_or(f64::MAX))
            });
        let eta = if settled >= total {
            Some(0.0)
        } else {
            pole.and_then(|p| p.eta_secs)
        };
        let window = super::progress::window_note(self.window_end, eta, crate::timefmt::now_secs());
        if self.json {
            let line = json!({"event": "progress", "elapsed": self.start.elapsed().as_secs_f64(),
                "state": state, "total": total, "settled": settled, "failed": failed,
                "per_sec": per_sec, "eta_secs": eta, "stages": stages,
                "window_end": self.window_end, "window_overrun": window.as_ref().map(|w| w.1),
                "lanes": handle.lanes().into_iter().map(|(k, f)| json!({"api": k.api().command(), "figures": f})).collect::<Vec<_>>()});
            writeln!(self.out, "{line}")?;
        } else {
            let pct = if total == 0 {
                100.0
            } else {
                settled as f64 * 100.0 / total as f64
            };
            let mut line = format!(
                "{} {} import {pct:.0}% ({settled}/{total} items, {per_sec:.0}/s, ETA {}) · failed {failed}",
                self.stamp(),
                state.word(),
                crate::timefmt::eta_text(eta)
            );
            if let Some(p) = pole {
                line.push_str(&format!(
                    " · long pole: {} {}/{}",
                    p.stage,
                    p.settled(),
                    p.total
                ));
            }
            if !state.reason().is_empty() {
                line.push_str(&format!(" · {}", state.reason()));
            }
            for (kind, why) in handle.holds() {
                line.push_str(&format!(" · {}: {why}", kind.api().command()));
            }
            if let Some((text, _)) = &window {
                line.push_str(&format!(" · {text}"));
            }
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }
}

impl Printer<'_> {
    /// A verification progress line: items read back (committed) per kind.
    pub(crate) fn verify_progress(&mut self, progress: &Progress) -> std::io::Result<()> {
        let kinds = progress.kinds();
        let checked: u64 = kinds.iter().map(|(_, c, _)| c).sum();
        let total: u64 = kinds.iter().map(|(_, _, t)| t).sum();
        if self.json {
            let per_kind: Vec<_> = kinds
                .iter()
                .map(|(k, c, t)| json!({"kind": k.name(), "checked": c, "total": t}))
                .collect();
            let line = json!({"event": "verify_progress", "elapsed": self.start.elapsed().as_secs_f64(),
                "checked": checked, "total": total, "kinds": per_kind});
            writeln!(self.out, "{line}")?;
        } else {
            let pct = if total == 0 {
                100.0
            } else {
                checked as f64 * 100.0 / total as f64
            };
            let open: Vec<String> = kinds
                .iter()
                .filter(|(_, c, t)| c < t)
                .map(|(k, c, t)| format!("{} {c}/{t}", k.stage()))
                .collect();
            let mut line = format!(
                "{} verify {pct:.0}% ({checked}/{total} imported items read back)",
                self.stamp()
            );
            if !open.is_empty() {
                line.push_str(&format!(" · {}", open.join(" · ")));
            }
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }
}

impl Printer<'_> {
    /// A sync line: per direction received, applied, failed, echoes, recovered, waiting, lag.
    pub(crate) fn sync_progress(&mut self, c: &[DirectionCounts; 2]) -> std::io::Result<()> {
        if self.json {
            let line = json!({"event": "sync", "elapsed": self.start.elapsed().as_secs_f64(),
                "old_to_new": c[0], "new_to_old": c[1]});
            writeln!(self.out, "{line}")?;
        } else {
            let part = |label: &str, d: &DirectionCounts| {
                let held = match d.held {
                    0 => String::new(),
                    n => format!(", {n} held ({})", d.held_scopes.join(", ")),
                };
                format!(
                    "{label}: {} received, {} applied, {} failed{held}, {} echoes dropped, {} recovered, {} waiting, lag p50 {} p99 {}",
                    d.received,
                    d.applied,
                    d.failed,
                    d.dropped_as_echo,
                    d.recovered,
                    d.pending,
                    ms(d.lag_p50_ms),
                    ms(d.lag_p99_ms)
                )
            };
            writeln!(
                self.out,
                "{} sync · {} · {}",
                self.stamp(),
                part("old → new", &c[0]),
                part("new → old", &c[1])
            )?;
        }
        self.out.flush()
    }
}

pub(crate) use crate::store::sync::ms_text as ms;

/// Keeps the relay running, a sync line every `every`, until SIGINT or SIGTERM; then stops it
/// (everything acknowledged is in the store and goes on at the next start).
pub(crate) async fn follow_sync(
    relay: RelayHandle,
    p: &mut Printer<'_>,
    every: Duration,
    until: Option<Duration>,
    alerts: (
        &crate::alerts::Alerter,
        &crate::config::alerts::AlertsConfig,
    ),
) -> Result<(), UiError> {
    let store = relay.store.display().to_string();
    p.note(
        "sync is running; Ctrl-C (SIGINT) or SIGTERM stops it",
        json!({"listen": relay.addr.to_string()}),
    )?;
    let signal = crate::runbook::drive::wait_for_signal();
    tokio::pin!(signal);
    let deadline = tokio::time::sleep(until.unwrap_or(Duration::MAX / 4));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            name = &mut signal => {
                p.note(&format!("stopping sync ({name})"), json!({}))?;
                break;
            }
            () = &mut deadline => {
                p.note("stopping sync (its time is up)", json!({}))?;
                break;
            }
            _ = tokio::time::sleep(every) => {
                let counts = relay.counts()?;
                p.sync_progress(&counts)?;
                let broken = relay.broken();
                crate::runbook::sync_alerts::check(alerts.0, alerts.1, &store, &counts, broken.as_deref());
                if let Some(why) = broken {
                    p.note(&why, json!({}))?;
                    break;
                }
            }
        }
    }
    let store = relay.store.clone();
    relay.stop().await?;
    p.sync_progress(&relay::counts(&store)?)?;
    Ok(())
}

/// The headless observer: prints steps and progress lines; budget pauses stop the run (nobody
/// is at a console to resume it).
struct Headless<'a> {
    p: Printer<'a>,
    meter: Option<ProgressMeter>,
    yes: bool,
    relay: Option<RelayHandle>,
    /// Questions kept unanswered (see `hold_stop`).
    unanswered: Vec<oneshot::Sender<bool>>,
    /// A follow run whose stop is not confirmed here: it comes at `--stop-at` (even with
    /// `--yes`, which confirms the rest), or, without `--yes`, never: the rounds go on until
    /// SIGINT/SIGTERM.
    hold_stop: bool,
}

impl Observer for Headless<'_> {
    fn step(&mut self, step: Step, state: &StepState) -> std::io::Result<()> {
        self.p.step(step, state)
    }

    fn confirm(&mut self, step: Step, _what: &str) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        if step == Step::StopService && self.hold_stop {
            self.unanswered.push(tx);
        } else {
            let _ = tx.send(self.yes);
        }
        rx
    }

    fn import_started(&mut self, handle: &ImportHandle) {
        self.meter = Some(ProgressMeter::new(&handle.committed.borrow()));
    }

    fn tick(&mut self, handle: &ImportHandle) -> std::io::Result<()> {
        let state = handle.state.borrow().clone();
        if let RunState::Paused {
            reason,
            budget: true,
        } = &state
        {
            handle.send(Command::Cancel {
                reason: reason.clone(),
            });
        }
        if let Some(meter) = &mut self.meter {
            let stages = meter.sample(&handle.committed.borrow());
            self.p.progress(&state, &stages, handle)?;
        }
        Ok(())
    }

    fn verify_tick(&mut self, progress: &Progress) -> std::io::Result<()> {
        self.p.verify_progress(progress)
    }

    fn media_tick(
        &mut self,
        progress: &crate::media::progress::MediaProgress,
    ) -> std::io::Result<()> {
        let figures = progress.figures();
        // Nothing to copy: no line (the stage's note says which hosts it rehosted).
        if figures.objects == 0 {
            return Ok(());
        }
        if self.p.json {
            let line = serde_json::json!({"event": "media_progress", "elapsed": self.p.start.elapsed().as_secs_f64(),
                "objects": figures.objects, "copied": figures.copied, "failed": figures.failed,
                "skipped": figures.skipped, "bytes": figures.bytes,
                "bytes_per_sec": figures.bytes_per_sec, "eta_secs": figures.eta.map(|d| d.as_secs())});
            writeln!(self.p.out, "{line}")
        } else {
            let stamp = self.p.stamp();
            writeln!(
                self.p.out,
                "{stamp} {}",
                crate::ui::progress::media_line(&figures)
            )
        }
    }

    fn sync_started(&mut self, relay: RelayHandle) {
        self.relay = Some(relay);
    }
}

/// Runs the verify step alone (`cutover verify`), printing progress to `out` every `every`.
pub(crate) async fn verify(
    runner: &Runner,
    out: &mut dyn Write,
    json: bool,
    every: Duration,
) -> Result<RunExit, UiError> {
    let mut obs = Headless {
        p: Printer::new(out, json),
        meter: None,
        yes: false,
        relay: None,
        unanswered: Vec::new(),
        hold_stop: false,
    };
    Ok(crate::runbook::drive::verify_step(runner, &mut obs, every, RunExit::Complete).await?)
}

/// Runs the whole runbook headless, printing to `out` every `every`; `yes` confirms the hooks.
/// A sync started by the runbook runs on afterwards until SIGINT/SIGTERM, or for `sync_for`.
pub async fn run(
    runner: Runner,
    out: &mut dyn Write,
    json: bool,
    every: Duration,
    yes: bool,
    sync_for: Option<Duration>,
) -> Result<RunExit, UiError> {
    let mut obs = Headless {
        p: Printer::new(out, json).with_window(runner.runbook.window_end),
        meter: None,
        yes,
        relay: None,
        unanswered: Vec::new(),
        hold_stop: runner.phase() == crate::model::phase::Phase::Follow
            && (!yes || runner.follow.as_ref().is_some_and(|f| f.stop_at.is_some())),
    };
    let exit = drive(&runner, &mut obs, every).await;
    if let Some(relay) = obs.relay.take() {
        if matches!(
            exit,
            Ok(RunExit::Complete | RunExit::Failures | RunExit::Mismatches)
        ) {
            // The runbook is done; the sync goes on until the operator stops it.
            let alerts = (&runner.alerter, &runner.runbook.alerts);
            follow_sync(relay, &mut obs.p, every, sync_for, alerts).await?;
            runner.alerter.flush(Duration::from_secs(10)).await;
        } else {
            relay.stop().await?;
        }
    }
    Ok(exit?)
}
