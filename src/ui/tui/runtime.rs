//! The console's loop around a run: the runbook flow underneath, keys from an input channel, a
//! frame drawn at a fixed rate on any ratatui [`Backend`] from the latest sampled figures
//! ([`super::sampler`]), and the operator's effects carried out ([`super::host`]). [`run`]
//! puts it on the real terminal; a test drives [`console`] on a `TestBackend` with keys it
//! sends. The engine keeps going (and stays consistent) whatever happens to the screen: when
//! the terminal goes (SIGHUP, its input gone, a draw that fails) the console detaches and the
//! run goes on; consoles attached over the control channel ([`super::control`]) see and steer
//! it as the terminal's would.

use super::control::server::{ControlServer, PeerEvent};
use super::host::{Host, RollingBack, Who};
use super::link::Link;
use crate::runbook::drive::{drive, RunExit};
use crate::runbook::runner::Runner;
use crate::store::open_for_reading;
use crate::store::queries::FailureFilter;
use crate::timefmt::now_secs;
use crate::ui::UiError;
use crossterm::event::{self, Event};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames per second.
const FRAME: Duration = Duration::from_millis(100);
/// How often the flow ticks during the import.
const FLOW_TICK: Duration = Duration::from_millis(500);
/// How long attached consoles get to read the end of the run before the process leaves.
const GOODBYE: Duration = Duration::from_secs(1);

/// A signal to the run process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: the terminal is gone. The console detaches; the run goes on.
    Hangup,
    /// SIGINT or SIGTERM: stop the run cleanly (it resumes next time).
    Stop(&'static str),
}

/// What reaches the console besides its own terminal.
#[derive(Default)]
pub struct Outside {
    /// The control channel consoles attach through, with its events.
    pub control: Option<(ControlServer, mpsc::UnboundedReceiver<PeerEvent>)>,
    /// Signals to the process.
    pub signals: Option<mpsc::UnboundedReceiver<Signal>>,
}

/// Runs the runbook in the console on the real terminal; returns how the run ended once the
/// operator quits (or, with the terminal gone, once the run has ended).
pub(crate) async fn run(
    runner: Runner,
    log: PathBuf,
    outside: Outside,
) -> Result<RunExit, UiError> {
    let mut terminal = ratatui::try_init().map_err(UiError::Terminal)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        tracing::error!(panic = %info, "the console panicked");
        previous(info);
    }));
    let mut keys = KeyReader::start();
    let events = std::mem::replace(&mut keys.events, mpsc::unbounded_channel().1);
    let result = console_with(&runner, &mut terminal, events, log, outside).await;
    keys.finish();
    ratatui::restore();
    let _ = std::panic::take_hook();
    result
}

/// Terminal events read on a thread of their own (crossterm's reads block).
pub(crate) struct KeyReader {
    pub(crate) events: mpsc::UnboundedReceiver<Event>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl KeyReader {
    /// Starts reading the terminal's events.
    pub(crate) fn start() -> KeyReader {
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

impl KeyReader {
    /// Stops reading and waits for the thread.
    pub(crate) fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Reads terminal events until `stop`, the console lets go, or the terminal fails (its end
/// closes the channel: the console detaches).
fn read_events(tx: mpsc::UnboundedSender<Event>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match terminal_ready(Duration::from_millis(100)) {
            Ready::Gone => return,
            Ready::Nothing => continue,
            Ready::Input => {}
        }
        // Every event crossterm has (it may have parsed several from one read).
        loop {
            match event::poll(Duration::ZERO) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => break,
                Err(_) => return,
            }
        }
    }
}

/// What the terminal has.
#[derive(Debug, PartialEq, Eq)]
enum Ready {
    /// Input (or crossterm may have some).
    Input,
    /// Nothing within the wait.
    Nothing,
    /// It hung up or failed: no input will ever come.
    Gone,
}

/// Waits up to `wait` for the terminal's input. On a terminal that hung up, crossterm's own
/// poll spins without end (a core busy, and the process never ends), so the terminal is
/// waited on here, where a hang-up is seen.
#[cfg(unix)]
fn terminal_ready(wait: Duration) -> Ready {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        // crossterm reads /dev/tty then: leave the waiting to it.
        return match event::poll(wait) {
            Ok(true) => Ready::Input,
            Ok(false) => Ready::Nothing,
            Err(_) => Ready::Gone,
        };
    }
    wait_on(&stdin, wait)
}

/// Waits up to `wait` for input on `fd`; [`Ready::Gone`] once it hung up or failed.
#[cfg(unix)]
fn wait_on(fd: &impl std::os::fd::AsFd, wait: Duration) -> Ready {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: wait.as_secs() as i64,
        tv_nsec: i64::from(wait.subsec_nanos()),
    };
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) => Ready::Nothing,
        Ok(_) => {
            let got = fds[0].revents();
            if got.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
                Ready::Gone
            } else {
                Ready::Input
            }
        }
        Err(rustix::io::Errno::INTR) => Ready::Nothing,
        Err(_) => Ready::Gone,
    }
}

/// Waits up to `wait` for the terminal's input (crossterm's poll).
#[cfg(not(unix))]
fn terminal_ready(wait: Duration) -> Ready {
    match event::poll(wait) {
        Ok(true) => Ready::Input,
        Ok(false) => Ready::Nothing,
        Err(_) => Ready::Gone,
    }
}

/// Runs the runbook under the console drawn on `terminal`, with the operator's keys from
/// `events`, until the run has ended and the operator quit; returns how the run ended.
pub async fn console<B: Backend>(
    runner: &Runner,
    terminal: &mut Terminal<B>,
    events: mpsc::UnboundedReceiver<Event>,
    log: PathBuf,
) -> Result<RunExit, UiError> {
    console_with(runner, terminal, events, log, Outside::default()).await
}

/// [`console`] with the control channel and the process's signals.
pub async fn console_with<B: Backend>(
    runner: &Runner,
    terminal: &mut Terminal<B>,
    mut events: mpsc::UnboundedReceiver<Event>,
    log: PathBuf,
    outside: Outside,
) -> Result<RunExit, UiError> {
    let Outside { control, signals } = outside;
    let (server, peers) = match control {
        Some((server, peers)) => (Some(server), Some(peers)),
        None => (None, None),
    };
    let (mut peers, mut signals) = (peers, signals);
    let mut link = Link::default();
    let mut host = Host::new(runner, link.clone(), log);
    let flow = drive(runner, &mut link, FLOW_TICK);
    tokio::pin!(flow);
    let mut frame = tokio::time::interval(FRAME);
    let mut rolling: Option<RollingBack<'_>> = None;
    while !host.may_leave() {
        if rolling.is_none() {
            rolling = host.start_rollback();
        }
        tokio::select! {
            result = &mut flow, if host.exit.is_none() => host.flow_ended(result),
            done = finish_of(&mut rolling), if rolling.is_some() => host.rolled(done),
            _ = frame.tick() => host.frame(terminal),
            ev = events.recv(), if host.local.is_some() => match ev {
                Some(ev) => host.on_event(Who::Local, ev),
                None => host.detach("the terminal's input is gone"),
            },
            Some(event) = next(&mut peers) => host.on_peer(event),
            Some(signal) = next(&mut signals) => match signal {
                Signal::Hangup => host.detach("the terminal hung up (SIGHUP)"),
                Signal::Stop(name) => host.quit(&format!("stopped by {name}")),
            },
        }
        if !host.rollback_running() {
            rolling = None;
        }
    }
    let exit = host.finish().await;
    if let Some(server) = server {
        server.close(GOODBYE).await;
    }
    exit
}

/// The next message of an optional channel; never, once it is closed or if there is none.
async fn next<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    let Some(r) = rx.as_mut() else {
        return std::future::pending().await;
    };
    match r.recv().await {
        Some(v) => Some(v),
        None => {
            *rx = None;
            std::future::pending().await
        }
    }
}

/// Waits for the rollback under way (never ends without one).
async fn finish_of(rolling: &mut Option<RollingBack<'_>>) -> Result<String, String> {
    match rolling {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Listens for SIGHUP, SIGINT and SIGTERM for as long as the process runs (the console's
/// run): SIGHUP no longer ends the process (the terminal is gone, the run is not), and the
/// other two stop the run cleanly.
pub fn signals() -> std::io::Result<mpsc::UnboundedReceiver<Signal>> {
    use tokio::signal::unix::SignalKind;
    listen(&[
        (SignalKind::hangup(), Signal::Hangup),
        (SignalKind::interrupt(), Signal::Stop("SIGINT")),
        (SignalKind::terminate(), Signal::Stop("SIGTERM")),
    ])
}

/// Listens for SIGHUP only (a headless run, whose flow handles SIGINT and SIGTERM itself).
pub fn hangups() -> std::io::Result<mpsc::UnboundedReceiver<Signal>> {
    listen(&[(tokio::signal::unix::SignalKind::hangup(), Signal::Hangup)])
}

fn listen(
    kinds: &[(tokio::signal::unix::SignalKind, Signal)],
) -> std::io::Result<mpsc::UnboundedReceiver<Signal>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for &(kind, what) in kinds {
        let mut stream = tokio::signal::unix::signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                tracing::warn!(?what, "signal received");
                if tx.send(what).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

/// Exports failed items next to the store; says where, or why not.
pub(crate) fn export(store: &Path, filter: &FailureFilter) -> String {
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn input_is_seen_and_a_hang_up_ends_the_wait() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let wait = Duration::from_millis(20);
        assert_eq!(wait_on(&reader, wait), Ready::Nothing);
        writer.write_all(b"q").unwrap();
        assert_eq!(wait_on(&reader, wait), Ready::Input);
        drop(writer);
        // Still a byte to read, and the other end gone: either way the reader stops waiting
        // for ever once the byte is read.
        let mut reader = reader;
        let mut byte = [0u8; 1];
        std::io::Read::read_exact(&mut reader, &mut byte).unwrap();
        assert_eq!(wait_on(&reader, wait), Ready::Gone);
    }
}
