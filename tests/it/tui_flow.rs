//! The console's real loop on a `TestBackend`, with a real run against the simulator and keys
//! sent by the test: the run starts, `p` pauses it (PAUSED by operator on the status line),
//! `r` resumes it, it finishes, the Log screen shows the log's last line, and `q` ends the
//! loop with exit 0. Every wait is for a frame showing a word, with a generous deadline. And
//! a screen that cannot be drawn does not stop the run: it goes on to its end.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, runbook, sample_data};
use crossterm::event::{Event, KeyCode, KeyEvent};
use cutover::model::step::{Step, StepState};
use cutover::runbook::drive::RunExit;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::ui::tui::runtime::console;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;
use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A `TestBackend` the test can read while the console draws on it; every flush (one per
/// frame) is counted on a watch, so the test waits for frames, not for time.
#[derive(Clone)]
struct Shared {
    backend: Arc<Mutex<TestBackend>>,
    frames: Arc<watch::Sender<u64>>,
}

impl Shared {
    fn new(width: u16, height: u16) -> Shared {
        Shared {
            backend: Arc::new(Mutex::new(TestBackend::new(width, height))),
            frames: Arc::new(watch::channel(0).0),
        }
    }

    /// The screen as text, one line a row.
    fn text(&self) -> String {
        let backend = self.backend.lock().unwrap();
        let buffer = backend.buffer();
        let width = usize::from(buffer.area.width);
        buffer
            .content()
            .chunks(width)
            .map(|row| row.iter().map(Cell::symbol).collect::<String>() + "\n")
            .collect()
    }

    /// The status line (the last row).
    fn status(&self) -> String {
        self.text().lines().last().unwrap_or_default().to_string()
    }

    /// Waits for a frame whose screen contains `what`; returns that screen.
    async fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut frames = self.frames.subscribe();
        loop {
            let text = self.text();
            if text.contains(what) {
                return text;
            }
            let drawn = tokio::time::timeout_at(deadline, frames.changed()).await;
            assert!(drawn.is_ok(), "never saw {what:?}; the screen:\n{text}");
        }
    }
}

impl Backend for Shared {
    type Error = Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Infallible>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.backend.lock().unwrap().draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Infallible> {
        self.backend.lock().unwrap().hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Infallible> {
        self.backend.lock().unwrap().show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Infallible> {
        self.backend.lock().unwrap().get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Infallible> {
        self.backend.lock().unwrap().set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Infallible> {
        self.backend.lock().unwrap().clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Infallible> {
        self.backend.lock().unwrap().clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Infallible> {
        self.backend.lock().unwrap().size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Infallible> {
        self.backend.lock().unwrap().window_size()
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        self.backend.lock().unwrap().flush()?;
        self.frames.send_modify(|n| *n += 1);
        Ok(())
    }
}

fn press(keys: &mpsc::UnboundedSender<Event>, c: char) {
    keys.send(Event::Key(KeyEvent::from(KeyCode::Char(c))))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_finish_and_quit_on_a_test_backend() {
    let handle = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let log = dir.path().join("run.log");
    std::fs::write(&log, "").unwrap();
    // A slow message lane leaves time to pause and resume while the import runs.
    let rb = runbook(
        &handle,
        &sample_data(),
        &store,
        "[limits.importmsg]\nrate = 60\n",
    );
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let screen = Shared::new(100, 30);
    let mut terminal = Terminal::new(screen.clone()).unwrap();
    let (keys, events) = mpsc::unbounded_channel();

    let script = async {
        screen.wait_for(" RUNNING ").await;
        press(&keys, 'p');
        screen.wait_for(" PAUSED ").await;
        let status = screen.status();
        assert!(status.contains("by operator"), "{status}");
        press(&keys, 'r');
        screen.wait_for(" RUNNING ").await;
        screen.wait_for(" FINISHED ").await;
        // The Log screen shows the file's end as it grows.
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(file, "the last line of the log").unwrap();
        press(&keys, '6');
        screen.wait_for("the last line of the log").await;
        press(&keys, 'q');
    };
    let (exit, ()) = tokio::join!(console(&runner, &mut terminal, events, log.clone()), script);
    assert_eq!(exit.unwrap(), RunExit::Complete, "{}", screen.text());
    assert_eq!(RunExit::Complete as u8, 0);
}

/// A terminal that is gone: every draw fails.
struct Gone;

impl Backend for Gone {
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, _content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        Err(std::io::Error::other("the terminal is gone"))
    }
    fn hide_cursor(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn show_cursor(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn get_cursor_position(&mut self) -> std::io::Result<Position> {
        Ok(Position::ORIGIN)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, _position: P) -> std::io::Result<()> {
        Ok(())
    }
    fn clear(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn clear_region(&mut self, _clear_type: ClearType) -> std::io::Result<()> {
        Ok(())
    }
    fn size(&self) -> std::io::Result<Size> {
        Ok(Size::new(100, 30))
    }
    fn window_size(&mut self) -> std::io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: Size::new(100, 30),
            pixels: Size::new(0, 0),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_goes_to_its_end_when_the_screen_cannot_be_drawn() {
    let handle = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let rb = runbook(&handle, &sample_data(), &store, "");
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let mut terminal = Terminal::new(Gone).unwrap();
    // No key ever comes; the console leaves once the run has ended.
    let (_keys, events) = mpsc::unbounded_channel();
    let exit = console(&runner, &mut terminal, events, dir.path().join("run.log")).await;
    assert_eq!(exit.unwrap(), RunExit::Complete);
    let import = runner.steps().get(Step::Import);
    assert!(matches!(import, StepState::Done { .. }), "{import:?}");
}

fn enter(keys: &mpsc::UnboundedSender<Event>) {
    keys.send(Event::Key(KeyEvent::from(KeyCode::Enter)))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_confirmation_waits_and_a_rollback_from_the_console_is_recorded() {
    let handle = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let resumed = dir.path().join("resumed");
    let extra = format!(
        "[hooks.stop_service]\ncommand = \"true\"\n\
         [hooks.resume_service]\ncommand = \"echo back > {}\"\n\
         [limits.importmsg]\nrate = 20\n",
        resumed.display()
    );
    let rb = runbook(&handle, &sample_data(), &store, &extra);
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let screen = Shared::new(120, 30);
    let mut terminal = Terminal::new(screen.clone()).unwrap();
    let (keys, events) = mpsc::unbounded_channel();

    let script = async {
        screen.wait_for(" CONFIRM ").await;
        enter(&keys);
        screen.wait_for("Press y to run it").await;
        press(&keys, 'n');
        let waiting = screen.wait_for("not confirmed: the step waits").await;
        assert!(waiting.contains(" CONFIRM "), "{waiting}");
        assert!(!waiting.contains("FINISHED"), "{waiting}");
        enter(&keys);
        screen.wait_for("Press y to run it").await;
        press(&keys, 'y');
        screen.wait_for(" RUNNING ").await;
        press(&keys, 'B');
        screen.wait_for("echo back").await;
        for c in "canary users cannot log in".chars() {
            press(&keys, c);
        }
        enter(&keys);
        screen.wait_for(" ROLLED BACK ").await;
        press(&keys, 'q');
    };
    let (exit, ()) = tokio::join!(
        console(&runner, &mut terminal, events, dir.path().join("log")),
        script
    );
    assert!(exit.is_ok(), "{}", screen.text());
    assert_eq!(std::fs::read_to_string(&resumed).unwrap().trim(), "back");
    let conn = cutover::store::open_for_reading(&store).unwrap();
    let audit = cutover::store::audit::entries(&conn).unwrap();
    let rollback = audit.iter().find(|a| a.action == "rollback").unwrap();
    assert_eq!(rollback.actor, "console");
    assert_eq!(rollback.reason, "canary users cannot log in");
    assert!(
        rollback.detail.contains("stopped the import"),
        "{rollback:?}"
    );
    let resume = runner.steps().get(Step::ResumeService);
    assert!(matches!(resume, StepState::Done { .. }), "{resume:?}");
}
