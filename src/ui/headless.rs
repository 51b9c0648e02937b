//! The runbook without a terminal UI: a progress line every few seconds (or JSON lines), the
//! same engine underneath, and an exit code that says how it ended.

use super::progress::{ProgressMeter, StageLine};
use crate::engine::control::{Command, RunState};
use crate::engine::import::{Ending, ImportHandle};
use crate::engine::runbook::{Runner, Step};
use serde_json::json;
use std::io::Write;
use std::time::{Duration, Instant};

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
}

/// Writes events as text or JSON lines.
pub struct Printer<'a> {
    out: &'a mut dyn Write,
    json: bool,
    start: Instant,
}

impl Printer<'_> {
    /// A printer to `out`.
    pub fn new(out: &mut dyn Write, json: bool) -> Printer<'_> {
        Printer {
            out,
            json,
            start: Instant::now(),
        }
    }

    fn stamp(&self) -> String {
        let s = self.start.elapsed().as_secs();
        format!("[{:02}:{:02}:{:02}]", s / 3600, s / 60 % 60, s % 60)
    }

    /// A step changed.
    pub fn step(&mut self, step: Step, state: &str, reason: &str) -> std::io::Result<()> {
        if self.json {
            let line = json!({"event": "step", "elapsed": self.start.elapsed().as_secs_f64(),
                "step": step.name(), "state": state, "reason": reason});
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
    pub fn note(&mut self, text: &str, fields: serde_json::Value) -> std::io::Result<()> {
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
        if self.json {
            let line = json!({"event": "progress", "elapsed": self.start.elapsed().as_secs_f64(),
                "state": state, "total": total, "settled": settled, "failed": failed,
                "per_sec": per_sec, "eta_secs": eta, "stages": stages,
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
                eta_text(eta)
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
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }
}

/// `1m05s`, `unknown`.
pub fn eta_text(secs: Option<f64>) -> String {
    match secs {
        Some(s) if s.is_finite() => {
            let s = s.round() as u64;
            if s >= 3600 {
                format!("{}h{:02}m", s / 3600, s / 60 % 60)
            } else {
                format!("{}m{:02}s", s / 60, s % 60)
            }
        }
        _ => "unknown".into(),
    }
}

/// Runs the whole runbook headless, printing to `out` every `every`.
pub async fn run(
    runner: Runner,
    out: &mut dyn Write,
    json: bool,
    every: Duration,
) -> anyhow::Result<RunExit> {
    let mut p = Printer::new(out, json);
    if let Err(why) = runner.check_confirmations() {
        p.step(Step::Preflight, "failed", &why)?;
        return Ok(RunExit::Fatal);
    }
    p.step(Step::Preflight, "running", "")?;
    let pre = match runner.preflight().await {
        Ok(pre) => pre,
        Err(e) => {
            p.step(Step::Preflight, "failed", &format!("{e:#}"))?;
            return Ok(RunExit::Fatal);
        }
    };
    let staged: Vec<String> = pre
        .staged
        .counts
        .iter()
        .map(|(k, records, invalid)| format!("{} {records} ({invalid} invalid, skipped)", k.name()))
        .collect();
    p.step(
        Step::Preflight,
        "done",
        &format!("staged {}", staged.join(", ")),
    )?;
    let (state, reason) = runner.hook_step(Step::StopService).await?;
    p.step(Step::StopService, &state, &reason)?;
    if state == "failed" {
        return Ok(RunExit::Fatal);
    }
    p.step(Step::Import, "running", "")?;
    let import = runner.prepare_import()?;
    let handle = import.handle();
    let signals = tokio::spawn(cancel_on_signal(handle.clone()));
    let mut meter = ProgressMeter::new(&handle.committed.borrow());
    let run = import.run();
    tokio::pin!(run);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    let ending = loop {
        tokio::select! {
            ending = &mut run => break ending?,
            _ = tick.tick() => {
                let state = handle.state.borrow().clone();
                if let RunState::Paused { reason, budget: true } = &state {
                    // Nobody is at a console to resume: stop cleanly, keeping everything.
                    handle.send(Command::Cancel { reason: reason.clone() });
                }
                let stages = meter.sample(&handle.committed.borrow());
                p.progress(&state, &stages, &handle)?;
            }
        }
    };
    signals.abort();
    let stages = meter.sample(&handle.committed.borrow());
    p.progress(&handle.state.borrow().clone(), &stages, &handle)?;
    let (word, reason, exit) = match &ending {
        Ending::Complete => ("done", String::new(), RunExit::Complete),
        Ending::CompleteWithFailures(n) => (
            "done",
            format!(
                "{n} items failed: see `cutover errors --store {}`",
                runner.runbook.store.display()
            ),
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
    p.step(Step::Import, word, &reason)?;
    if !matches!(exit, RunExit::Complete | RunExit::Failures) {
        return Ok(exit);
    }
    let reason = runner.not_built(Step::StartSync)?;
    p.step(Step::StartSync, "skipped", &reason)?;
    let (state, reason) = runner.hook_step(Step::ResumeService).await?;
    p.step(Step::ResumeService, &state, &reason)?;
    if state == "failed" {
        return Ok(RunExit::Fatal);
    }
    let reason = runner.not_built(Step::Verify)?;
    p.step(Step::Verify, "skipped", &reason)?;
    Ok(exit)
}

/// SIGINT or SIGTERM: finish what is in flight, record it, stop.
async fn cancel_on_signal(handle: ImportHandle) {
    let name = wait_for_signal().await;
    tracing::warn!(signal = name, "stopping");
    handle.send(Command::Cancel {
        reason: format!("interrupted ({name})"),
    });
}

async fn wait_for_signal() -> &'static str {
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
    fn eta_reads_as_a_duration() {
        assert_eq!(eta_text(Some(65.4)), "1m05s");
        assert_eq!(eta_text(Some(7260.0)), "2h01m");
        assert_eq!(eta_text(None), "unknown");
    }
}
