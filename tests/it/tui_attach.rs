//! Consoles attached over the control channel, at the wire: with the terminal's console gone,
//! the first console to attach controls the run and the second watches (its controls refused,
//! the step it tried to confirm still waiting); when the first leaves, control passes to the
//! second, which confirms the step and sees the run to its end; the run process then ends.
#![allow(clippy::unwrap_used)]

use crate::common;
use common::engine::{app_config, runbook, sample_data};
use common::PATIENCE;
use crossterm::event::{Event, KeyCode, KeyEvent};
use cutover::runbook::drive::RunExit;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::ui::tui::control::server::{socket_path, ControlServer};
use cutover::ui::tui::control::wire::{receive, send, ToConsole, ToRun};
use cutover::ui::tui::runtime::{console_with, Outside};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use std::path::Path;
use tokio::io::BufReader;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// An attached console as the wire sees it.
struct Peer {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
    buf: Vec<u8>,
}

fn text(screen: &Buffer) -> String {
    let width = usize::from(screen.area.width);
    let cells: Vec<&str> = screen.content().iter().map(|c| c.symbol()).collect();
    cells
        .chunks(width)
        .map(|row| row.concat())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Peer {
    async fn attach(store: &Path) -> Peer {
        let stream = UnixStream::connect(socket_path(store)).await.unwrap();
        let (r, mut w) = stream.into_split();
        send(
            &mut w,
            &ToRun::Hello {
                cols: 110,
                rows: 30,
            },
        )
        .await
        .unwrap();
        Peer {
            r: BufReader::new(r),
            w,
            buf: Vec::new(),
        }
    }

    async fn next(&mut self) -> ToConsole {
        let next = receive(&mut self.r, &mut self.buf);
        tokio::time::timeout(PATIENCE, next)
            .await
            .expect("the run said nothing")
            .unwrap()
            .expect("the run closed the channel")
    }

    /// Waits for a screen showing `what`; returns it.
    async fn screen_with(&mut self, what: &str) -> String {
        loop {
            if let ToConsole::Frame(screen) = self.next().await {
                let shown = text(&screen);
                if shown.contains(what) {
                    return shown;
                }
            }
        }
    }

    /// Waits until this console is told whether it controls the run.
    async fn controls(&mut self) -> bool {
        loop {
            match self.next().await {
                ToConsole::Welcome { controls, .. } | ToConsole::Controls(controls) => {
                    return controls
                }
                _ => {}
            }
        }
    }

    /// Waits for the end of this console's session; why.
    async fn ended(&mut self) -> String {
        loop {
            if let ToConsole::Ended { why } = self.next().await {
                return why;
            }
        }
    }

    async fn key(&mut self, code: KeyCode) {
        let event = ToRun::Input(Event::Key(KeyEvent::from(code)));
        send(&mut self.w, &event).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_console_controls_the_others_watch_until_it_leaves() {
    let handle = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let stopped = dir.path().join("stopped");
    let extra = format!(
        "[hooks.stop_service]\ncommand = \"echo yes > {}\"\n",
        stopped.display()
    );
    let rb = runbook(&handle, &sample_data(), &store, &extra);
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let control = ControlServer::start(&store).unwrap();
    let outside = Outside {
        control: Some(control),
        signals: None,
    };
    let mut terminal = Terminal::new(TestBackend::new(110, 30)).unwrap();
    let (keys, events) = mpsc::unbounded_channel::<Event>();

    let script = async {
        // The terminal's console goes: its input ends.
        drop(keys);
        let mut first = Peer::attach(&store).await;
        while !first.controls().await {}
        let mut second = Peer::attach(&store).await;
        assert!(!second.controls().await, "the second console must watch");
        second.screen_with(" CONFIRM ").await;
        second.key(KeyCode::Enter).await;
        second.screen_with("Press y to run it").await;
        second.key(KeyCode::Char('y')).await;
        let refused = second.screen_with("read-only: another console").await;
        assert!(refused.contains(" CONFIRM "), "{refused}");
        assert!(refused.contains(" READ-ONLY "), "{refused}");
        assert!(!stopped.exists(), "a read-only console ran the stop hook");

        first.key(KeyCode::Char('q')).await;
        assert_eq!(first.ended().await, "left the console; the run goes on");
        assert!(second.controls().await, "control passes to the second");
        second.key(KeyCode::Enter).await;
        second.screen_with("Press y to run it").await;
        second.key(KeyCode::Char('y')).await;
        let end = second.screen_with(" FINISHED ").await;
        assert!(!end.contains("READ-ONLY"), "{end}");
        second.key(KeyCode::Char('q')).await;
        second.ended().await
    };
    let log = dir.path().join("run.log");
    let (exit, why) = tokio::join!(
        console_with(&runner, &mut terminal, events, log, outside),
        script
    );
    assert_eq!(why, "left the console; the run goes on");
    assert_eq!(exit.unwrap(), RunExit::Complete);
    assert_eq!(std::fs::read_to_string(&stopped).unwrap(), "yes\n");
    assert!(!socket_path(&store).exists(), "the socket outlived the run");
}
