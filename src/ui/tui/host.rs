//! The run process's side of the console: the runbook flow's link, a rollback asked for from a
//! console, how the run ended, and the consoles on it — the terminal's own ([`Who::Local`])
//! and any attached over the control channel ([`Who::Remote`]). One console controls at a
//! time; the others watch (read-only) until it leaves, and control passes to the one that came
//! first. When the terminal goes, its console detaches and the run goes on without it.

use super::app::{App, Effect};
use super::control::server::{PeerEvent, PeerOut};
use super::control::wire::ToConsole;
use super::link::{lock, Link};
use super::sampler::Sampling;
use super::seat::{Live, Remote, Seat};
use super::view::draw;
use crate::engine::control::Command;
use crate::engine::import::{ImportHandle, ImportSettings};
use crate::model::step::{Step, StepState};
use crate::runbook::book::StepStates;
use crate::runbook::drive::RunExit;
use crate::runbook::rollback;
use crate::runbook::runner::Runner;
use crate::timefmt::now_secs;
use crate::ui::UiError;
use crossterm::event::{Event, KeyEvent, KeyEventKind};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// A console on the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// The terminal the run was started on.
    Local,
    /// One attached over the control channel.
    Remote(u64),
}

/// A rollback under way: the sync stopped, the resume-service hook, the record.
pub(crate) type RollingBack<'r> = Pin<Box<dyn Future<Output = Result<String, String>> + 'r>>;

/// Where a rollback from a console is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rollback {
    /// None asked for (or the last one failed: it may be asked again).
    No,
    /// Asked for: the flow is being stopped; `import` says whether the import was running.
    Asked { reason: String, import: bool },
    /// The sync is being stopped and the old service resumed.
    Running,
    /// Done: what happened.
    Done(String),
}

/// The run, its consoles, and how it ended.
pub(crate) struct Host<'r> {
    runner: &'r Runner,
    pub(crate) link: Link,
    /// Every step's state, as the runner's step book publishes it.
    steps: watch::Receiver<StepStates>,
    log: PathBuf,
    /// The terminal's console, until the terminal goes.
    pub(crate) local: Option<Seat>,
    /// Attached consoles, in the order they came.
    remotes: Vec<Remote>,
    /// The console that may act.
    controller: Option<Who>,
    started: Instant,
    /// How the run ended, once it has.
    pub(crate) exit: Option<RunExit>,
    /// The operator quit (or a signal asked to stop): leave once the run has ended.
    pub(crate) quitting: bool,
    /// A rollback asked for from a console, and how far it got.
    rollback: Rollback,
    /// When the relay's alerts were last checked, and whether a check is still reading.
    sync_checked: Option<Instant>,
    sync_checking: Arc<std::sync::atomic::AtomicBool>,
}

impl<'r> Host<'r> {
    /// The run with the terminal's console on it.
    pub(crate) fn new(runner: &'r Runner, link: Link, log: PathBuf) -> Host<'r> {
        let mut host = Host {
            runner,
            link,
            steps: runner.steps().watch(),
            log,
            local: None,
            remotes: Vec::new(),
            controller: Some(Who::Local),
            started: Instant::now(),
            exit: None,
            quitting: false,
            rollback: Rollback::No,
            sync_checked: None,
            sync_checking: Arc::default(),
        };
        host.local = Some(host.seat());
        host
    }

    /// A fresh console's screen state and sampler.
    fn seat(&self) -> Seat {
        let runner = self.runner;
        Seat {
            app: App {
                phase: runner.phase(),
                strategy: runner.runbook.strategy_line(),
                rollback_plan: rollback::describe(&runner.runbook),
                ..App::default()
            },
            sampling: Sampling::start(
                runner.runbook.store.clone(),
                self.log.clone(),
                ImportSettings::from_runbook(&runner.runbook),
                Arc::clone(&self.link.import),
            ),
        }
    }

    /// True once the process may end: the run has ended (and no rollback is under way), and
    /// either the operator quit, or no console is left and no relay holds the process.
    pub(crate) fn may_leave(&self) -> bool {
        if self.exit.is_none() || self.rolling_back() {
            return false;
        }
        if self.quitting {
            return true;
        }
        self.local.is_none() && self.remotes.is_empty() && lock(&self.link.relay).is_none()
    }

    /// The operator asked for a rollback: the import and verification stop, a pending question
    /// is declined; the rest waits for the flow to end ([`Host::start_rollback`]).
    fn ask_rollback(&mut self, reason: String) {
        let import = self
            .steps
            .borrow()
            .get(Step::Import.index())
            .is_some_and(|s| matches!(s, StepState::Running { .. }));
        self.to_engine(Command::Cancel {
            reason: format!("rollback: {reason}"),
        });
        if let Some((_, stop)) = lock(&self.link.verify).as_ref() {
            let _ = stop.send(true);
        }
        self.link.decline();
        self.rollback = Rollback::Asked { reason, import };
    }

    /// Once the flow has ended after a rollback was asked for: stops the sync, then resumes
    /// the old service and records it — the same code path as `cutover rollback`.
    pub(crate) fn start_rollback(&mut self) -> Option<RollingBack<'r>> {
        let Rollback::Asked { reason, import } = &self.rollback else {
            return None;
        };
        self.exit?;
        let (reason, import) = (reason.clone(), *import);
        self.rollback = Rollback::Running;
        let relay = lock(&self.link.relay).take();
        let runner = self.runner;
        Some(Box::pin(async move {
            let mut stopped = Vec::new();
            if import {
                stopped.push("the import");
            }
            if let Some(relay) = relay {
                relay
                    .stop()
                    .await
                    .map_err(|e| format!("stopping the sync failed, nothing was resumed: {e}"))?;
                stopped.push("the two-way sync");
            }
            let stopped = match stopped.is_empty() {
                true => "nothing was running".to_string(),
                false => format!("stopped {} from the console", stopped.join(" and ")),
            };
            let rb = &runner.runbook;
            let hook = rb.resume_service.as_ref();
            let done = rollback::resume_and_record(
                &rb.store,
                runner.steps(),
                hook,
                &stopped,
                "console",
                &reason,
            )
            .await
            .map(|detail| format!("{detail}; reason: {reason}"))
            .map_err(|e| e.to_string());
            let store = rb.store.display().to_string();
            crate::runbook::alerting::rollback(&runner.alerter, &store, &done, &reason);
            done
        }))
    }

    /// A rollback is asked for or under way: the process stays until it ends.
    pub(crate) fn rolling_back(&self) -> bool {
        matches!(self.rollback, Rollback::Asked { .. } | Rollback::Running)
    }

    /// True while the rollback asked for runs.
    pub(crate) fn rollback_running(&self) -> bool {
        matches!(self.rollback, Rollback::Running)
    }

    /// The rollback ended: ROLLED BACK, or why not (it may be asked again).
    pub(crate) fn rolled(&mut self, done: Result<String, String>) {
        let notice = match done {
            Ok(detail) => {
                self.rollback = Rollback::Done(detail);
                "rolled back".to_string()
            }
            Err(why) => {
                self.rollback = Rollback::No;
                format!("rollback: {why}")
            }
        };
        self.tell_all(&notice);
    }

    /// The flow returned: keep how the run ended.
    pub(crate) fn flow_ended(&mut self, result: Result<RunExit, crate::runbook::RunbookError>) {
        self.exit = Some(match result {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("the run stopped: {e:#}");
                self.tell_all(&format!("the run stopped: {e:#}"));
                RunExit::Fatal
            }
        });
        tracing::info!(exit = ?self.exit, "the runbook ended");
    }

    /// A one-line notice on every console.
    fn tell_all(&mut self, notice: &str) {
        for seat in self.seats_mut() {
            seat.app.notice = notice.to_string();
        }
    }

    fn seats_mut(&mut self) -> impl Iterator<Item = &mut Seat> {
        self.local
            .iter_mut()
            .chain(self.remotes.iter_mut().map(|r| &mut r.seat))
    }

    /// Preflight has staged the export (the plan can be read).
    fn staged(&self) -> bool {
        self.steps
            .borrow()
            .get(Step::Preflight.index())
            .is_some_and(StepState::is_settled)
    }

    /// One frame: the latest figures into every console, each drawn. A terminal that cannot
    /// be drawn on any more detaches its console.
    pub(crate) fn frame<B: Backend>(&mut self, terminal: &mut Terminal<B>) {
        self.check_sync();
        let live = self.live();
        let (finished, staged) = (self.exit.is_some(), self.staged());
        let mut broken = None;
        if let Some(seat) = &mut self.local {
            seat.sampling.want(seat.request(finished, staged));
            seat.refresh(&live);
            let app = &seat.app;
            if let Err(e) = terminal.draw(|f| draw(f, app)) {
                broken = Some(format!("the console cannot draw ({e})"));
            }
        }
        if let Some(why) = broken {
            self.detach(&why);
        }
        let controller = self.controller;
        for remote in &mut self.remotes {
            remote.seat.app.read_only = controller != Some(Who::Remote(remote.id));
            remote
                .seat
                .sampling
                .want(remote.seat.request(finished, staged));
            remote.seat.refresh(&live);
            remote.draw();
        }
        if matches!(self.rollback, Rollback::Asked { .. }) {
            // The operator is rolling back: a risky step asked meanwhile does not run.
            self.link.decline();
        }
    }

    /// The relay's alerts (lag, backlog, held events, stopped), every few seconds while it
    /// runs after the runbook.
    fn check_sync(&mut self) {
        use std::sync::atomic::Ordering;
        const EVERY: std::time::Duration = std::time::Duration::from_secs(15);
        let reading = self.sync_checking.load(Ordering::Relaxed);
        if reading || self.sync_checked.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.sync_checked = Some(Instant::now());
        let Some((store, broken)) = lock(&self.link.relay)
            .as_ref()
            .map(|r| (r.store.clone(), r.broken()))
        else {
            return;
        };
        let (alerter, cfg) = (
            self.runner.alerter.clone(),
            self.runner.runbook.alerts.clone(),
        );
        let checking = Arc::clone(&self.sync_checking);
        checking.store(true, Ordering::Relaxed);
        // The counts read the store: off the drawing loop, without the relay's lock, one at a
        // time.
        tokio::task::spawn_blocking(move || {
            if let Ok(counts) = crate::sync::relay::counts(&store) {
                let name = store.display().to_string();
                crate::runbook::sync_alerts::check(
                    &alerter,
                    &cfg,
                    &name,
                    &counts,
                    broken.as_deref(),
                );
            }
            checking.store(false, Ordering::Relaxed);
        });
    }

    /// What is live in this process, for every console.
    fn live(&self) -> Live {
        let steps = self.link.step_views(&self.steps.borrow());
        // The import's state speaks only while the import step runs.
        let importing = steps
            .get(Step::Import.index())
            .is_some_and(|s| matches!(s.state, StepState::Running { .. }));
        let handle = lock(&self.link.import).clone();
        Live {
            elapsed_secs: self.started.elapsed().as_secs(),
            steps,
            run: handle
                .as_ref()
                .filter(|_| importing)
                .map(|h| h.state.borrow().clone()),
            lanes: handle.as_ref().map(ImportHandle::lanes).unwrap_or_default(),
            finished: self.exit.is_some(),
            window_end: self.runner.runbook.window_end,
            now_secs: now_secs(),
            rolled_back: match &self.rollback {
                Rollback::Done(detail) => Some(detail.clone()),
                _ => None,
            },
            sync_running: lock(&self.link.relay).as_ref().map(|r| {
                r.broken().map_or_else(
                    || format!("relay on {}", r.addr),
                    |why| format!("BROKEN: {why}"),
                )
            }),
            verify_progress: lock(&self.link.verify)
                .as_ref()
                .map(|(p, _)| p.kinds())
                .unwrap_or_default(),
            media: lock(&self.link.media).as_ref().map(|p| p.figures()),
            alerts_failing: alerts_failing(&self.runner.alerter),
        }
    }

    /// The terminal is gone: its console detaches and the run goes on without it. A step
    /// waiting for confirmation keeps waiting for an attached console to answer it.
    pub(crate) fn detach(&mut self, why: &str) {
        if self.local.take().is_none() {
            return;
        }
        tracing::warn!(
            store = %self.runner.runbook.store.display(),
            "{why}: the console detached and the run goes on without it; \
             `cutover attach --store {}` opens it again",
            self.runner.runbook.store.display()
        );
        if self.controller == Some(Who::Local) {
            self.pass_control();
        }
    }

    /// The controlling console left: the one attached first controls now (if any).
    fn pass_control(&mut self) {
        self.controller = self.remotes.first().map(|r| Who::Remote(r.id));
        if let Some(first) = self.remotes.first_mut() {
            first.seat.app.read_only = false;
            first.seat.app.notice = "you control this run now".into();
            let _ = first.out.notes.send(ToConsole::Controls(true));
            tracing::info!(id = first.id, "an attached console controls the run");
        }
    }

    /// Something happened on the control channel.
    pub(crate) fn on_peer(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Joined {
                id,
                cols,
                rows,
                out,
            } => self.join(id, cols, rows, out),
            PeerEvent::Input { id, event } => match event {
                Event::Resize(cols, rows) => {
                    if let Some(r) = self.remotes.iter_mut().find(|r| r.id == id) {
                        r.resize(cols, rows);
                    }
                }
                other => self.on_event(Who::Remote(id), other),
            },
            PeerEvent::Left { id } => self.leave(id),
        }
    }

    fn join(&mut self, id: u64, cols: u16, rows: u16, out: PeerOut) {
        let controls = self.controller.is_none();
        if controls {
            self.controller = Some(Who::Remote(id));
        }
        let _ = out.notes.send(ToConsole::Welcome {
            pid: std::process::id(),
            controls,
        });
        let mut seat = self.seat();
        seat.app.attached = true;
        seat.app.read_only = !controls;
        seat.app.notice = match controls {
            true => "attached: you control this run".into(),
            false => "attached read-only: another console controls this run".into(),
        };
        self.remotes.push(Remote::new(id, seat, cols, rows, out));
    }

    fn leave(&mut self, id: u64) {
        self.remotes.retain(|r| r.id != id);
        if self.controller == Some(Who::Remote(id)) {
            self.pass_control();
        }
    }

    /// A terminal event of console `who`: a key press goes to its app, and its effects are
    /// carried out if that console controls the run.
    pub(crate) fn on_event(&mut self, who: Who, ev: Event) {
        let Event::Key(key) = ev else { return };
        if key.kind != KeyEventKind::Press {
            return;
        }
        self.on_key(who, key);
    }

    fn on_key(&mut self, who: Who, key: KeyEvent) {
        let controls = self.controller == Some(who);
        let Some(seat) = self.seat_of(who) else {
            return;
        };
        let effects = seat.app.on_key(key);
        for effect in effects {
            match effect {
                Effect::Quit if who == Who::Local => self.quit("the operator quit the console"),
                Effect::Quit => {
                    if let Who::Remote(id) = who {
                        self.leave_by_key(id);
                    }
                }
                _ if !controls => {
                    if let Some(seat) = self.seat_of(who) {
                        seat.app.notice =
                            "read-only: another console controls this run; it passes to this \
                             one when that one leaves"
                                .into();
                    }
                }
                Effect::Engine(command) => self.to_engine(command),
                Effect::Confirm(step) => self.link.answer(step, true),
                Effect::Export(filter) => {
                    let notice = super::runtime::export(&self.runner.runbook.store, &filter);
                    if let Some(seat) = self.seat_of(who) {
                        seat.app.notice = notice;
                    }
                }
                Effect::Rollback(reason) => self.ask_rollback(reason),
            }
        }
    }

    /// An attached console quit: it is told the run goes on, and leaves.
    fn leave_by_key(&mut self, id: u64) {
        if let Some(r) = self.remotes.iter().find(|r| r.id == id) {
            let _ = r.out.notes.send(ToConsole::Ended {
                why: "left the console; the run goes on".into(),
            });
        }
        self.leave(id);
    }

    fn seat_of(&mut self, who: Who) -> Option<&mut Seat> {
        match who {
            Who::Local => self.local.as_mut(),
            Who::Remote(id) => self
                .remotes
                .iter_mut()
                .find(|r| r.id == id)
                .map(|r| &mut r.seat),
        }
    }

    fn to_engine(&self, command: Command) {
        if let Some(h) = lock(&self.link.import).as_ref() {
            h.send(command);
        }
    }

    /// The operator quits (or a signal asks to stop): the import stops cleanly, verification
    /// stops (it resumes next time), and a pending question is declined.
    pub(crate) fn quit(&mut self, reason: &str) {
        self.quitting = true;
        self.to_engine(Command::Cancel {
            reason: reason.into(),
        });
        if let Some((_, stop)) = lock(&self.link.verify).as_ref() {
            let _ = stop.send(true);
        }
        self.link.decline();
    }

    /// After the loop: sampling stops, the attached consoles are told how the run ended, and
    /// the relay (if it ran) is stopped.
    pub(crate) async fn finish(mut self) -> Result<RunExit, UiError> {
        let exit = self.exit.unwrap_or(RunExit::Cancelled);
        self.local = None;
        for remote in self.remotes.drain(..) {
            let _ = remote.out.notes.send(ToConsole::Ended {
                why: format!("the run process ended (exit {})", exit as u8),
            });
        }
        let relay = lock(&self.link.relay).take();
        if let Some(relay) = relay {
            relay.stop().await?;
        }
        Ok(exit)
    }
}

/// The alert channels whose posts failed and not one succeeded since: `name: why`, joined.
fn alerts_failing(alerter: &crate::alerts::Alerter) -> Option<String> {
    let failing: Vec<String> = alerter
        .deliveries()
        .into_iter()
        .filter(|c| c.failed > 0)
        .filter_map(|c| c.last_failure.map(|why| format!("{}: {why}", c.name)))
        .collect();
    (!failing.is_empty()).then(|| failing.join("; "))
}
