//! The real binary in a pseudo-terminal: the console opens, `p` pauses (PAUSED on screen),
//! `r` resumes, the run finishes, `q` quits, and the terminal is given back.
#![allow(clippy::unwrap_used)]

mod common;

use common::engine::{app_config, sample_data};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    async fn wait_for(&self, what: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if text.contains(what) {
                return text;
            }
            assert!(
                start.elapsed() < within,
                "never saw {what:?}; the screen:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_finish_and_quit_in_a_real_terminal() {
    let handle = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let runbook = dir.path().join("runbook.toml");
    std::fs::write(&runbook, "[limits.importmsg]\nrate = 60\n").unwrap();

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args([
        "run",
        "--admin",
        common::ADMIN,
        "--target-url",
        &handle.url(),
    ]);
    cmd.args(["--sdkappid", &common::SDKAPPID.to_string()]);
    cmd.arg("--source");
    cmd.arg(sample_data());
    cmd.arg("--store");
    cmd.arg(&store);
    cmd.arg("--config");
    cmd.arg(&runbook);
    cmd.env("CUTOVER_SECRET_KEY", common::KEY);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut keys = pty.master.take_writer().unwrap();
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
    let screen = Screen { parser };
    let long = Duration::from_secs(60);

    screen.wait_for(" RUNNING ", long).await;
    keys.write_all(b"2").unwrap();
    screen.wait_for("lanes", long).await;
    keys.write_all(b"p").unwrap();
    let paused = screen.wait_for(" PAUSED ", long).await;
    assert!(paused.contains("by operator"), "{paused}");
    keys.write_all(b"r").unwrap();
    screen.wait_for(" RUNNING ", long).await;
    screen.wait_for(" FINISHED ", long).await;
    keys.write_all(b"q").unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < long, "the console did not quit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.exit_code(), 0);
    // The terminal is given back: the console left the alternate screen. The last bytes may
    // still be on their way through the pty after the process exited: give the reader a moment.
    let start = Instant::now();
    loop {
        let restored = {
            let parser = screen.parser.lock().unwrap();
            !parser.screen().alternate_screen() && !parser.screen().hide_cursor()
        };
        if restored {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the console left the alternate screen on, or the cursor hidden"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(keys);
}
