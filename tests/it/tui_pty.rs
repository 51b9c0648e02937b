//! The real binary in a pseudo-terminal: the console opens, `p` pauses (PAUSED on screen),
//! `r` resumes, the run finishes, `q` quits, and the terminal is given back.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, sample_data, with_app_keys};
use common::{wait_for, wait_until, PATIENCE};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};

pub(crate) struct Screen {
    pub(crate) parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    pub(crate) fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `what`; the screen then.
    pub(crate) async fn wait_for(&self, what: &str) -> String {
        self.wait_for_any(&[what]).await
    }

    /// Waits until the screen shows one of `whats`; the screen then.
    pub(crate) async fn wait_for_any(&self, whats: &[&str]) -> String {
        // Line by line, so that a timeout prints a readable screen.
        let screen = || self.text().lines().map(str::to_string).collect::<Vec<_>>();
        let shows = |lines: &Vec<String>| {
            let text = lines.join("\n");
            whats.iter().any(|w| text.contains(w))
        };
        let label = format!("one of {whats:?} on the screen");
        wait_for(&label, PATIENCE, screen, shows).await.join("\n")
    }
}

/// The real binary with `args` in a pseudo-terminal of 30×100: the screen it draws, the keys
/// to send, the child.
pub(crate) fn in_a_pty(
    args: &[&str],
    setup: impl FnOnce(&mut CommandBuilder),
) -> (
    Screen,
    Box<dyn Write + Send>,
    Box<dyn portable_pty::Child + Send + Sync>,
) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    setup(&mut cmd);
    let child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let keys = pty.master.take_writer().unwrap();
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        NonZeroU16::new(30).unwrap(),
        NonZeroU16::new(100).unwrap(),
        0,
    )));
    let feed = Arc::clone(&parser);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    (Screen { parser }, keys, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_forgives_a_declined_confirmation_and_imports_once_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let (screen, mut keys, mut child) =
        in_a_pty(&["demo", "--dir", demo.to_str().unwrap()], |_| {});
    screen.wait_for(" CONFIRM ").await;
    keys.write_all(b"\r").unwrap();
    screen.wait_for("Press y to run it").await;
    keys.write_all(b"n").unwrap();
    let waiting = screen.wait_for("not confirmed: the step waits").await;
    assert!(waiting.contains(" CONFIRM "), "{waiting}");
    assert!(!waiting.contains("FINISHED"), "{waiting}");
    keys.write_all(b"\r").unwrap();
    screen.wait_for("Press y to run it").await;
    keys.write_all(b"y").unwrap();
    // The import runs (or, on a fast machine, has already run on to the next question).
    let after = screen
        .wait_for_any(&[" RUNNING ", "resume service waits", " SYNCING "])
        .await;
    assert!(!after.contains(" STOPPED "), "{after}");
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_finish_and_quit_in_a_real_terminal() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let runbook = dir.path().join("runbook.toml");
    std::fs::write(&runbook, with_app_keys("[limits.importmsg]\nrate = 60\n")).unwrap();

    let (url, sdkappid) = (handle.url(), common::SDKAPPID.to_string());
    let source = sample_data().display().to_string();
    let (store, runbook) = (store.display().to_string(), runbook.display().to_string());
    let args = [
        "run",
        "--admin",
        common::ADMIN,
        "--target-url",
        &url,
        "--sdkappid",
        &sdkappid,
        "--source",
        &source,
        "--store",
        &store,
        "--config",
        &runbook,
    ];
    let (screen, mut keys, mut child) =
        in_a_pty(&args, |cmd| cmd.env("CUTOVER_SECRET_KEY", common::KEY));

    screen.wait_for(" RUNNING ").await;
    // The lanes, and the pause at once: the run (some seconds at 60 messages/s) must not
    // finish before the pause lands.
    keys.write_all(b"2p").unwrap();
    screen.wait_for("lanes").await;
    let paused = screen.wait_for(" PAUSED ").await;
    assert!(paused.contains("by operator"), "{paused}");
    keys.write_all(b"r").unwrap();
    // Resumed: running again, or (what was left went in one frame) finished already.
    screen.wait_for_any(&[" RUNNING ", " FINISHED "]).await;
    screen.wait_for(" FINISHED ").await;
    keys.write_all(b"q").unwrap();
    let status = wait_for(
        "the console to quit",
        PATIENCE,
        || child.try_wait().unwrap(),
        |s| s.is_some(),
    )
    .await
    .unwrap();
    assert_eq!(status.exit_code(), 0);
    // The terminal is given back: the console left the alternate screen. The last bytes may
    // still be on their way through the pty after the process exited: give the reader a moment.
    let restored = || {
        let parser = screen.parser.lock().unwrap();
        !parser.screen().alternate_screen() && !parser.screen().hide_cursor()
    };
    wait_until(
        "the console to leave the alternate screen and show the cursor",
        PATIENCE,
        restored,
    )
    .await;
    drop(keys);
}
