//! The runbook's alerts: an [`Observer`] around the front end's that tells the chat robots
//! what a person at the console would see — the run paused (and why, the error budget
//! apart), a step waiting for confirmation (re-sent while it waits), a step failed, the
//! window's projected finish past `[window] ends_at` minus the margin, the import finished,
//! verification mismatches — and resolves each when it no longer holds. It never blocks the
//! flow: [`Alerter`] queues and delivers on its own.

use super::drive::{Observer, WAITING_FOR_CONFIRMATION};
use crate::alerts::{Alert, Alerter, Severity};
use crate::engine::control::RunState;
use crate::engine::import::ImportHandle;
use crate::media::progress::MediaProgress;
use crate::model::step::{Step, StepState};
use crate::sync::relay::RelayHandle;
use crate::verify::Progress;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{oneshot, watch};

/// What every message names: the run and where to look closer.
#[derive(Debug, Clone)]
pub(crate) struct RunLabel {
    /// The store (the run's name).
    pub(crate) store: String,
    /// When the window closes (unix seconds), if the runbook says.
    pub(crate) window_end: Option<i64>,
    /// How long before `window_end` a projected finish alerts, seconds.
    pub(crate) margin_secs: i64,
}

/// The front end's observer, with alerts beside it.
pub(crate) struct Alerting<'a> {
    inner: &'a mut dyn Observer,
    alerter: Alerter,
    label: RunLabel,
    /// The first tick's (time, items settled): the rate the projection goes by.
    first: Option<(Instant, u64)>,
}

impl<'a> Alerting<'a> {
    /// `inner` with alerts through `alerter`.
    pub(crate) fn new(inner: &'a mut dyn Observer, alerter: Alerter, label: RunLabel) -> Self {
        Self {
            inner,
            alerter,
            label,
            first: None,
        }
    }

    fn fire(&self, key: &str, severity: Severity, title: String, body: String) {
        let body = format!(
            "{body}\nrun: {}\nlook closer: cutover status --store {}",
            self.label.store, self.label.store
        );
        self.alerter.fire(Alert {
            key: key.to_string(),
            severity,
            title,
            body,
        });
    }

    /// Alerts of a step's new state.
    fn on_step(&mut self, step: Step, state: &StepState) {
        let name = step.name().replace(' ', "_");
        let key = format!("confirm_{name}");
        if !matches!(state, StepState::Failed { .. }) {
            self.alerter.resolve(&format!("failed_{name}"));
        }
        let import_over = step == Step::Import
            && matches!(
                state,
                StepState::Done { .. } | StepState::Failed { .. } | StepState::Stopped { .. }
            );
        if import_over {
            // No tick will come again to resolve what the import's ticks fired.
            for k in ["window_overrun", "paused", "error_budget"] {
                self.alerter.resolve(k);
            }
        }
        match state {
            StepState::NeedsConfirmation { what } => self.fire(
                &key,
                Severity::Warning,
                format!("{step} waits for confirmation"),
                format!(
                    "{what}\nconfirm it: cutover attach --store {}",
                    self.label.store
                ),
            ),
            StepState::Failed { reason } => {
                self.alerter.resolve(&key);
                self.fire(
                    &format!("failed_{name}"),
                    Severity::Critical,
                    format!("{step} failed"),
                    reason.clone(),
                );
            }
            StepState::Done { note } if step == Step::Import => {
                self.alerter.resolve(&key);
                self.fire(
                    "import_done",
                    Severity::Info,
                    "import finished".into(),
                    note.clone(),
                );
            }
            // Still waiting, with the run stopped for it: nothing resolved.
            StepState::Stopped { reason } if reason.starts_with(WAITING_FOR_CONFIRMATION) => {}
            _ => self.alerter.resolve(&key),
        }
    }

    /// Alerts of the import's state and projected finish.
    fn on_tick(&mut self, handle: &ImportHandle) {
        match &*handle.state.borrow() {
            RunState::Paused { reason, budget } => {
                let (key, title) = match budget {
                    true => ("error_budget", "the error budget paused the import"),
                    false => ("paused", "the import is paused"),
                };
                self.fire(key, Severity::Warning, title.into(), reason.clone());
            }
            _ => {
                self.alerter.resolve("paused");
                self.alerter.resolve("error_budget");
            }
        }
        let (settled, total) = handle
            .committed
            .borrow()
            .items
            .values()
            .fold((0, 0), |(s, t), c| {
                (s + c[1] + c[2] + c[3], t + c.iter().sum::<u64>())
            });
        let (start, at_start) = *self.first.get_or_insert((Instant::now(), settled));
        let Some(end) = self.label.window_end else {
            return;
        };
        let secs = start.elapsed().as_secs_f64();
        let done = settled.saturating_sub(at_start);
        if secs < 30.0 || done == 0 {
            return; // no rate to go by yet
        }
        let left = total.saturating_sub(settled) as f64 / (done as f64 / secs);
        let finish = crate::timefmt::now_secs() + left as i64;
        if finish > end - self.label.margin_secs {
            self.fire(
                "window_overrun",
                Severity::Critical,
                "the import will not finish inside the window".into(),
                format!(
                    "projected finish {}, the window closes {} ({} items left at {:.0}/s)",
                    crate::timefmt::utc(finish),
                    crate::timefmt::utc(end),
                    total.saturating_sub(settled),
                    done as f64 / secs
                ),
            );
        } else {
            self.alerter.resolve("window_overrun");
        }
    }
}

/// Tells the robots of a rollback: what was done (or why it failed) and why it was asked for.
pub(crate) fn rollback(
    alerter: &Alerter,
    store: &str,
    done: &Result<String, String>,
    reason: &str,
) {
    let body = match done {
        Ok(detail) => format!("{detail}\nreason: {reason}"),
        Err(why) => format!("the rollback FAILED: {why}\nreason: {reason}"),
    };
    // News: told once (nothing would ever resolve it).
    alerter.fire(Alert {
        key: "rollback".into(),
        severity: Severity::Info,
        title: "the run was rolled back".into(),
        body: format!(
            "{body}\nrun: {store}\nlook closer: cutover report --store {store} --format md"
        ),
    });
}

impl Observer for Alerting<'_> {
    fn step(&mut self, step: Step, state: &StepState) -> std::io::Result<()> {
        self.on_step(step, state);
        self.inner.step(step, state)
    }

    fn confirm(&mut self, step: Step, what: &str) -> oneshot::Receiver<bool> {
        self.inner.confirm(step, what)
    }

    fn import_started(&mut self, handle: &ImportHandle) {
        self.inner.import_started(handle);
    }

    fn tick(&mut self, handle: &ImportHandle) -> std::io::Result<()> {
        self.on_tick(handle);
        self.inner.tick(handle)
    }

    fn verify_started(&mut self, progress: &Arc<Progress>, stop: &Arc<watch::Sender<bool>>) {
        self.inner.verify_started(progress, stop);
    }

    fn media_started(&mut self, progress: &Arc<MediaProgress>) {
        self.inner.media_started(progress);
    }

    fn media_tick(&mut self, progress: &MediaProgress) -> std::io::Result<()> {
        self.inner.media_tick(progress)
    }

    fn sync_started(&mut self, relay: RelayHandle) {
        self.inner.sync_started(relay);
    }

    fn verify_tick(&mut self, progress: &Progress) -> std::io::Result<()> {
        self.inner.verify_tick(progress)
    }
}
