//! The console around a run: the terminal, the keys, a fixed frame rate, and the runbook flow
//! underneath. Every figure comes from the store's committed state or the engine; the engine
//! keeps going (and stays consistent) whatever happens to the screen.

use super::app::{App, Effect, Snapshot, StepView};
use super::view::draw;
use crate::engine::control::Command;
use crate::engine::import::{ImportHandle, ImportSettings};
use crate::model::step::{Step, StepState};
use crate::runbook::drive::{drive, Observer, RunExit};
use crate::runbook::runner::Runner;
use crate::store::queries::FailureFilter;
use crate::store::verify as stored;
use crate::store::{now_secs, open_for_reading, queries, Kind};
use crate::sync::relay::RelayHandle;
use crate::ui::progress::ProgressMeter;
use crate::verify::Progress;
use crossterm::event::{self, Event, KeyEventKind};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Frames per second.
const FRAME: Duration = Duration::from_millis(100);
/// How often figures that cost a query are read again.
const SAMPLE: Duration = Duration::from_secs(1);
/// Log lines kept for the Log screen.
const LOG_LINES: usize = 200;

/// A step waiting for the operator, and where the answer goes.
type PendingConfirmation = Option<(usize, oneshot::Sender<bool>)>;

/// What the flow shares with the screen.
#[derive(Clone, Default)]
struct Shared {
    steps: Arc<Mutex<Vec<StepView>>>,
    pending: Arc<Mutex<PendingConfirmation>>,
    import: Arc<Mutex<Option<ImportHandle>>>,
    verify: Arc<Mutex<Option<VerifyHandle>>>,
    relay: Arc<Mutex<Option<RelayHandle>>>,
}

/// A running verification: its progress, and how to stop it.
type VerifyHandle = (Arc<Progress>, Arc<watch::Sender<bool>>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Observer for Shared {
    fn step(&mut self, step: Step, state: &StepState) -> anyhow::Result<()> {
        if let Some(view) = lock(&self.steps).get_mut(step.index()) {
            view.state = state.clone();
            if !matches!(state, StepState::NeedsConfirmation { .. }) {
                view.confirm = None;
            }
        }
        Ok(())
    }

    fn confirm(&mut self, step: Step, what: &str) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        if let Some(view) = lock(&self.steps).get_mut(step.index()) {
            view.confirm = Some(what.to_string());
        }
        *lock(&self.pending) = Some((step.index(), tx));
        rx
    }

    fn import_started(&mut self, handle: &ImportHandle) {
        *lock(&self.import) = Some(handle.clone());
    }

    fn tick(&mut self, _handle: &ImportHandle) -> anyhow::Result<()> {
        Ok(())
    }

    fn verify_started(&mut self, progress: &Arc<Progress>, stop: &Arc<watch::Sender<bool>>) {
        *lock(&self.verify) = Some((Arc::clone(progress), Arc::clone(stop)));
    }

    fn sync_started(&mut self, relay: RelayHandle) {
        *lock(&self.relay) = Some(relay);
    }
}

/// Figures read from the store and the log once a second.
struct Sampler {
    store: PathBuf,
    log: PathBuf,
    conn: Option<Connection>,
    meter: Option<ProgressMeter>,
    last: Option<Instant>,
    snap: Snapshot,
    /// Per lane: calls at the last sample.
    calls: Vec<u64>,
}

impl Sampler {
    fn sample(
        &mut self,
        handle: Option<&ImportHandle>,
        settings: &ImportSettings,
        drill: Option<&FailureFilter>,
        verify_drill: Option<Kind>,
    ) {
        let dt = match self.last {
            Some(t) if t.elapsed() < SAMPLE => return,
            Some(t) => t.elapsed().as_secs_f64(),
            None => 0.0,
        };
        self.last = Some(Instant::now());
        if self.conn.is_none() {
            self.conn = open_for_reading(&self.store).ok();
        }
        if let Some(conn) = &self.conn {
            if let Ok(groups) = queries::failure_groups(conn) {
                self.snap.errors = groups;
            }
            self.snap.items = match drill {
                Some(filter) => queries::failures(conn, filter)
                    .unwrap_or_default()
                    .into_iter()
                    .take(500)
                    .collect(),
                None => Vec::new(),
            };
            if let Ok(entities) = stored::entity_counts(conn) {
                self.snap.entities = entities;
            }
            self.snap.verify_pass = stored::pass(conn).ok().flatten();
            self.snap.sync = crate::store::sync::any(conn).ok().flatten();
            self.snap.mismatches = match verify_drill {
                Some(kind) => stored::mismatches(conn, Some(kind), 500).unwrap_or_default(),
                None => Vec::new(),
            };
            if self.snap.t_limit_secs.is_none() && handle.is_some() {
                let plan = crate::engine::plan::plan(conn, settings).ok();
                self.snap.t_limit_secs = plan.as_ref().map(|p| p.t_limit_secs);
                self.snap.same_second = plan.map(|p| p.same_second).unwrap_or_default();
            }
        }
        if let Some(h) = handle {
            let committed = h.committed.borrow().clone();
            let meter = self
                .meter
                .get_or_insert_with(|| ProgressMeter::new(&committed));
            self.snap.stages = meter.sample(&committed);
            let rate: f64 = self.snap.stages.iter().map(|s| s.per_sec).sum();
            self.snap.throughput.push(rate.round() as u64);
            let keep = self.snap.throughput.len().saturating_sub(120);
            self.snap.throughput.drain(..keep);
            let calls: Vec<u64> = h.lanes().iter().map(|(_, f)| f.calls).collect();
            if dt > 0.0 && calls.len() == self.calls.len() {
                self.snap.lane_rates = calls
                    .iter()
                    .zip(&self.calls)
                    .map(|(a, b)| a.saturating_sub(*b) as f64 / dt)
                    .collect();
            }
            self.calls = calls;
        }
        self.snap.log_tail = tail(&self.log, LOG_LINES);
    }
}

/// The last `n` lines of the file at `path` (empty when it cannot be read).
fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Exports failed items next to the store; says where, or why not.
fn export(store: &Path, filter: &FailureFilter) -> String {
    let mut name = store.as_os_str().to_owned();
    name.push(format!(".errors-{}.jsonl", now_secs()));
    let path = PathBuf::from(name);
    let result = open_for_reading(store)
        .map_err(anyhow::Error::from)
        .and_then(|conn| crate::store::export::export_failures(&conn, filter, &path));
    match result {
        Ok(n) => format!("wrote {n} failed items to {}", path.display()),
        Err(e) => format!("export failed: {e:#}"),
    }
}

/// Reads terminal events on a thread of its own until `stop`.
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

/// Runs the runbook in the console; returns how the run ended once the operator quits.
pub async fn run(runner: Runner, log: PathBuf) -> anyhow::Result<RunExit> {
    let mut terminal = ratatui::try_init()?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        tracing::error!(panic = %info, "the console panicked");
        previous(info);
    }));
    let result = console(&runner, &mut terminal, log).await;
    ratatui::restore();
    let _ = std::panic::take_hook();
    result
}

async fn console(
    runner: &Runner,
    terminal: &mut ratatui::DefaultTerminal,
    log: PathBuf,
) -> anyhow::Result<RunExit> {
    let mut shared = Shared::default();
    // Start from what the store holds (an earlier session's steps show as they ended).
    *lock(&shared.steps) = Step::ALL
        .into_iter()
        .map(|s| StepView::new(s, runner.steps().get(s)))
        .collect();
    let screen = shared.clone();
    let settings = ImportSettings::from_runbook(&runner.runbook);
    let (tx, mut events) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || read_events(tx, stop))
    };
    let mut app = App::default();
    let mut sampler = Sampler {
        store: runner.runbook.store.clone(),
        log,
        conn: None,
        meter: None,
        last: None,
        snap: Snapshot::default(),
        calls: Vec::new(),
    };
    let started = Instant::now();
    let flow = drive(runner, &mut shared, Duration::from_millis(500));
    tokio::pin!(flow);
    let mut exit: Option<RunExit> = None;
    let mut quitting = false;
    let mut screen_broken = false;
    let mut frame = tokio::time::interval(FRAME);
    loop {
        tokio::select! {
            result = &mut flow, if exit.is_none() => {
                exit = Some(match result {
                    Ok(e) => e,
                    Err(e) => {
                        app.notice = format!("the run stopped: {e:#}");
                        RunExit::Fatal
                    }
                });
                sampler.last = None;
            }
            _ = frame.tick() => {
                let handle = lock(&screen.import).clone();
                sampler.sample(handle.as_ref(), &settings, app.drill.as_ref(), app.verify_drill);
                let mut snap = sampler.snap.clone();
                snap.elapsed_secs = started.elapsed().as_secs();
                snap.steps = lock(&screen.steps).clone();
                // The import's state speaks only while the import step runs.
                let importing = snap.steps.get(Step::Import.index()).is_some_and(|s| matches!(s.state, StepState::Running { .. }));
                snap.run = handle.as_ref().filter(|_| importing).map(|h| h.state.borrow().clone());
                snap.lanes = handle.as_ref().map(ImportHandle::lanes).unwrap_or_default();
                snap.finished = exit.is_some();
                snap.window_end = runner.runbook.window_end;
                snap.now_secs = now_secs();
                snap.sync_running = lock(&screen.relay).as_ref().map(|r| {
                    r.broken().map_or_else(|| format!("relay on {}", r.addr), |why| format!("BROKEN: {why}"))
                });
                snap.verify_progress = lock(&screen.verify)
                    .as_ref()
                    .map(|(p, _)| p.kinds())
                    .unwrap_or_default();
                app.on_snapshot(snap);
                if !screen_broken {
                    if let Err(e) = terminal.draw(|f| draw(f, &app)) {
                        // The screen is gone (closed terminal, dropped SSH): the run goes on
                        // to its end without it, and the log says so.
                        tracing::error!(%e, "the console cannot draw; the run continues without it");
                        screen_broken = true;
                        quitting = true;
                    }
                }
                if screen_broken {
                    // Nobody can confirm a risky step any more: it does not run.
                    if let Some((_, answer)) = lock(&screen.pending).take() {
                        let _ = answer.send(false);
                    }
                }
            }
            Some(ev) = events.recv() => {
                let Event::Key(key) = ev else { continue };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                for effect in app.on_key(key) {
                    match effect {
                        Effect::Engine(command) => {
                            if let Some(h) = lock(&screen.import).as_ref() {
                                h.send(command);
                            }
                        }
                        Effect::Confirm(step, yes) => {
                            let pending = lock(&screen.pending).take();
                            match pending {
                                Some((s, answer)) if s == step => { let _ = answer.send(yes); }
                                other => *lock(&screen.pending) = other,
                            }
                        }
                        Effect::Export(filter) => {
                            app.notice = export(&runner.runbook.store, &filter);
                        }
                        Effect::Quit => {
                            quitting = true;
                            if let Some(h) = lock(&screen.import).as_ref() {
                                h.send(Command::Cancel { reason: "the operator quit the console".into() });
                            }
                            if let Some((_, stop)) = lock(&screen.verify).as_ref() {
                                let _ = stop.send(true);
                            }
                            if let Some((_, answer)) = lock(&screen.pending).take() {
                                let _ = answer.send(false);
                            }
                        }
                    }
                }
            }
        }
        if quitting && exit.is_some() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    let relay = lock(&screen.relay).take();
    if let Some(relay) = relay {
        relay.stop().await?;
    }
    Ok(exit.unwrap_or(RunExit::Cancelled))
}
