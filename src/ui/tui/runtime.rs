//! The console's loop around a run: the runbook flow underneath, keys from an input channel, a
//! frame drawn at a fixed rate on any ratatui [`Backend`] from the latest sampled figures
//! ([`super::sampler`]), and the operator's effects carried out. [`run`] puts it on the real
//! terminal; a test drives [`console`] on a `TestBackend` with keys it sends. The engine keeps
//! going (and stays consistent) whatever happens to the screen.

use super::app::{App, Effect, Snapshot};
use super::link::{lock, Link};
use super::sampler::{Request, Sampling};
use super::view::draw;
use crate::engine::control::Command;
use crate::engine::import::{ImportHandle, ImportSettings};
use crate::model::step::{Step, StepState};
use crate::runbook::book::StepStates;
use crate::runbook::drive::{drive, RunExit};
use crate::runbook::rollback;
use crate::runbook::runner::Runner;
use crate::store::open_for_reading;
use crate::store::queries::FailureFilter;
use crate::timefmt::now_secs;
use crate::ui::UiError;
use crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Frames per second.
const FRAME: Duration = Duration::from_millis(100);
/// How often the flow ticks during the import.
const FLOW_TICK: Duration = Duration::from_millis(500);

/// Runs the runbook in the console on the real terminal; returns how the run ended once the
/// operator quits.
pub(crate) async fn run(runner: Runner, log: PathBuf) -> Result<RunExit, UiError> {
    let mut terminal = ratatui::try_init().map_err(UiError::Terminal)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        tracing::error!(panic = %info, "the console panicked");
        previous(info);
    }));
    let keys = KeyReader::start();
    let result = console(&runner, &mut terminal, keys.events, log).await;
    keys.stop.store(true, Ordering::Relaxed);
    let _ = keys.thread.join();
    ratatui::restore();
    let _ = std::panic::take_hook();
    result
}

/// Terminal events read on a thread of their own (crossterm's reads block).
struct KeyReader {
    events: mpsc::UnboundedReceiver<Event>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl KeyReader {
    fn start() -> KeyReader {
        let (tx, events) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || read_events(tx, stop))
        };
        KeyReader {
            events,
            stop,
            thread,
        }
    }
}

/// Reads terminal events until `stop`, the console lets go, or the terminal fails.
fn read_events(tx: mpsc::UnboundedSender<Event>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => match event::read() {
                Ok(ev) => {
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Ok(false) => {}
            Err(_) => return,
        }
    }
}

/// Runs the runbook under the console drawn on `terminal`, with the operator's keys from
/// `events`, until the run has ended and the operator quit; returns how the run ended.
pub async fn console<B: Backend>(
    runner: &Runner,
    terminal: &mut Terminal<B>,
    mut events: mpsc::UnboundedReceiver<Event>,
    log: PathBuf,
) -> Result<RunExit, UiError> {
    let mut link = Link::default();
    let mut ui = Console::new(runner, link.clone(), log);
    let flow = drive(runner, &mut link, FLOW_TICK);
    tokio::pin!(flow);
    let mut frame = tokio::time::interval(FRAME);
    let mut rolling: Option<RollingBack<'_>> = None;
    while !(ui.quitting && ui.exit.is_some() && !ui.rolling_back()) {
        if rolling.is_none() {
            rolling = ui.start_rollback();
        }
        tokio::select! {
            result = &mut flow, if ui.exit.is_none() => ui.flow_ended(result),
            done = finish_of(&mut rolling), if rolling.is_some() => ui.rolled(done),
            _ = frame.tick() => ui.frame(terminal),
            Some(ev) = events.recv() => ui.on_event(ev),
        }
        if !matches!(ui.rollback, Rollback::Running) {
            rolling = None;
        }
    }
    ui.finish().await
}

/// A rollback under way: the sync stopped, the resume-service hook, the record.
type RollingBack<'r> = Pin<Box<dyn Future<Output = Result<String, String>> + 'r>>;

/// Waits for the rollback under way (never ends without one).
async fn finish_of(rolling: &mut Option<RollingBack<'_>>) -> Result<String, String> {
    match rolling {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Where a rollback from the console is.
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

/// The console's state around the [`App`]: the flow's link, the sampler, how the run ended.
struct Console<'r> {
    runner: &'r Runner,
    link: Link,
    /// Every step's state, as the runner's step book publishes it.
    steps: watch::Receiver<StepStates>,
    sampling: Sampling,
    app: App,
    started: Instant,
    /// How the run ended, once it has.
    exit: Option<RunExit>,
    /// The operator quit (or the screen is gone): leave once the run has ended.
    quitting: bool,
    /// Drawing failed once: the run goes on without a screen.
    screen_broken: bool,
    /// A rollback asked for from the console, and how far it got.
    rollback: Rollback,
}

impl<'r> Console<'r> {
    fn new(runner: &'r Runner, link: Link, log: PathBuf) -> Console<'r> {
        let sampling = Sampling::start(
            runner.runbook.store.clone(),
            log,
            ImportSettings::from_runbook(&runner.runbook),
            Arc::clone(&link.import),
        );
        Console {
            runner,
            link,
            steps: runner.steps().watch(),
            sampling,
            app: App {
                phase: runner.phase(),
                strategy: runner.runbook.strategy_line(),
                rollback_plan: rollback::describe(&runner.runbook),
                ..App::default()
            },
            started: Instant::now(),
            exit: None,
            quitting: false,
            screen_broken: false,
            rollback: Rollback::No,
        }
    }

    /// The operator asked for a rollback: the import and verification stop, a pending question
    /// is declined; the rest waits for the flow to end ([`Console::start_rollback`]).
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
    fn start_rollback(&mut self) -> Option<RollingBack<'r>> {
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
            rollback::resume_and_record(
                &rb.store,
                runner.steps(),
                hook,
                &stopped,
                "console",
                &reason,
            )
            .await
            .map(|detail| format!("{detail}; reason: {reason}"))
            .map_err(|e| e.to_string())
        }))
    }

    /// A rollback is asked for or under way: the console stays until it ends.
    fn rolling_back(&self) -> bool {
        matches!(self.rollback, Rollback::Asked { .. } | Rollback::Running)
    }

    /// The rollback ended: ROLLED BACK, or why not (it may be asked again).
    fn rolled(&mut self, done: Result<String, String>) {
        match done {
            Ok(detail) => {
                self.app.notice = "rolled back".into();
                self.rollback = Rollback::Done(detail);
            }
            Err(why) => {
                self.app.notice = format!("rollback: {why}");
                self.rollback = Rollback::No;
            }
        }
    }

    /// The flow returned: keep how the run ended, and read the final figures at once.
    fn flow_ended(&mut self, result: Result<RunExit, crate::runbook::RunbookError>) {
        self.exit = Some(match result {
            Ok(e) => e,
            Err(e) => {
                self.app.notice = format!("the run stopped: {e:#}");
                RunExit::Fatal
            }
        });
        self.sampling.want(self.request());
    }

    /// What the screen wants the sampler to read.
    fn request(&self) -> Request {
        Request {
            drill: self
                .app
                .drill
                .clone()
                .map(|f| (f, self.app.items_page_start())),
            verify_drill: self.app.verify_drill,
            finished: self.exit.is_some(),
            staged: self
                .steps
                .borrow()
                .get(Step::Preflight.index())
                .is_some_and(StepState::is_settled),
        }
    }

    /// One frame: the latest figures into the app, then drawn (unless the screen is gone).
    fn frame<B: Backend>(&mut self, terminal: &mut Terminal<B>) {
        // A change of what to read (preflight done) reaches the sampler at once.
        self.sampling.want(self.request());
        self.app.on_snapshot(self.snapshot());
        if !self.screen_broken {
            if let Err(e) = terminal.draw(|f| draw(f, &self.app)) {
                // The screen is gone (closed terminal, dropped SSH): the run goes on to its end
                // without it, and the log says so.
                tracing::error!(%e, "the console cannot draw; the run continues without it");
                self.screen_broken = true;
                self.quitting = true;
            }
        }
        if self.screen_broken || matches!(self.rollback, Rollback::Asked { .. }) {
            // Nobody can confirm a risky step any more (or the operator is rolling back): it
            // does not run.
            self.link.decline();
        }
    }

    /// The sampled figures with what is read live: steps, the import's state and lanes,
    /// verification progress, the relay, the clock.
    fn snapshot(&self) -> Snapshot {
        let mut snap = self.sampling.latest();
        let handle = lock(&self.link.import).clone();
        snap.elapsed_secs = self.started.elapsed().as_secs();
        snap.steps = self.link.step_views(&self.steps.borrow());
        // The import's state speaks only while the import step runs.
        let importing = snap
            .steps
            .get(Step::Import.index())
            .is_some_and(|s| matches!(s.state, StepState::Running { .. }));
        snap.run = handle
            .as_ref()
            .filter(|_| importing)
            .map(|h| h.state.borrow().clone());
        snap.lanes = handle.as_ref().map(ImportHandle::lanes).unwrap_or_default();
        snap.finished = self.exit.is_some();
        snap.window_end = self.runner.runbook.window_end;
        snap.now_secs = now_secs();
        if let Rollback::Done(detail) = &self.rollback {
            snap.rolled_back = Some(detail.clone());
        }
        snap.sync_running = lock(&self.link.relay).as_ref().map(|r| {
            r.broken().map_or_else(
                || format!("relay on {}", r.addr),
                |why| format!("BROKEN: {why}"),
            )
        });
        snap.verify_progress = lock(&self.link.verify)
            .as_ref()
            .map(|(p, _)| p.kinds())
            .unwrap_or_default();
        snap
    }

    /// A terminal event: a key press goes to the app, and its effects are carried out.
    fn on_event(&mut self, ev: Event) {
        let Event::Key(key) = ev else { return };
        if key.kind != KeyEventKind::Press {
            return;
        }
        self.on_key(key);
    }

    fn on_key(&mut self, key: KeyEvent) {
        for effect in self.app.on_key(key) {
            match effect {
                Effect::Engine(command) => self.to_engine(command),
                Effect::Confirm(step) => self.link.answer(step, true),
                Effect::Export(filter) => {
                    self.app.notice = export(&self.runner.runbook.store, &filter);
                }
                Effect::Rollback(reason) => self.ask_rollback(reason),
                Effect::Quit => self.quit(),
            }
        }
        // A drill-down (or a move to another page of items) is read at once.
        self.sampling.want(self.request());
    }

    fn to_engine(&self, command: Command) {
        if let Some(h) = lock(&self.link.import).as_ref() {
            h.send(command);
        }
    }

    /// The operator quits: the import stops cleanly, verification stops (it resumes next
    /// time), and a pending question is declined.
    fn quit(&mut self) {
        self.quitting = true;
        self.to_engine(Command::Cancel {
            reason: "the operator quit the console".into(),
        });
        if let Some((_, stop)) = lock(&self.link.verify).as_ref() {
            let _ = stop.send(true);
        }
        self.link.decline();
    }

    /// After the loop: sampling stops, and the relay (if it ran) is stopped.
    async fn finish(self) -> Result<RunExit, UiError> {
        drop(self.sampling);
        let relay = lock(&self.link.relay).take();
        if let Some(relay) = relay {
            relay.stop().await?;
        }
        Ok(self.exit.unwrap_or(RunExit::Cancelled))
    }
}

/// Exports failed items next to the store; says where, or why not.
fn export(store: &Path, filter: &FailureFilter) -> String {
    let mut name = store.as_os_str().to_owned();
    name.push(format!(".errors-{}.jsonl", now_secs()));
    let path = PathBuf::from(name);
    let result = open_for_reading(store)
        .map_err(|e| e.to_string())
        .and_then(|conn| {
            crate::store::export::export_failures(&conn, filter, &path).map_err(|e| e.to_string())
        });
    match result {
        Ok(n) => format!("wrote {n} failed items to {}", path.display()),
        Err(e) => format!("export failed: {e}"),
    }
}
