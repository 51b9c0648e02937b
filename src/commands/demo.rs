//! `cutover demo`: the whole runbook with no setup — the embedded Tencent IM simulator (mild
//! latency, a few injected faults), a demo old system whose hooks only record what they
//! receive, the bundled `sample-data/` export and a fresh store.

use super::Outcome;
use crate::config::{parse_file, resolve, Flags};
use crate::runbook::runner::{RunOptions, Runner};
use crate::sim::config::{Faults, SimConfig};
use crate::sim::old_system::OldSystem;
use crate::sim::{start, SimOptions};
use crate::sync::relay::{CALLBACK_TOKEN_ENV, INGEST_TOKEN_ENV};
use crate::tim::SecretKey;
use crate::ui::headless::{self, RunExit};
use anyhow::Context;
use rand::Rng;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SDKAPPID: u64 = 1_400_000_000;
const ADMIN: &str = "administrator";

/// Where the bundled sample export is: beside the binary's source tree, or `./sample-data`.
fn sample_data() -> anyhow::Result<PathBuf> {
    let candidates = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data"),
        PathBuf::from("sample-data"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("manifest.json").is_file())
        .context(
            "the demo needs the sample-data/ export of the cutover source tree; run it from there",
        )
}

/// The simulated app: the sample's custom keys exist except the friend key `Tag`, so a few
/// friend entries fail for good (30001) and the error table has something real to show; 2 %
/// of calls answer HTTP 503 (retried) and every call takes 20–60 ms.
fn demo_app(relay_port: u16) -> SimConfig {
    let mut c = SimConfig::default();
    // Tencent's callbacks go to the relay the runbook's [sync] starts (signed with the token).
    c.callback.url = Some(format!("http://127.0.0.1:{relay_port}/tim/callback"));
    c.app.profile_custom_tags = vec!["Hobby".into(), "Vip".into()];
    c.app.friend_custom_tags = vec!["Close".into()];
    c.app.group_custom_keys = vec!["Category".into()];
    c.app.roaming_days = 0;
    let faults = Faults {
        latency_ms: 20,
        latency_spread_ms: 40,
        error_rate: 0.02,
        error_codes: vec![503],
        ..Faults::default()
    };
    c.faults.insert("all".into(), faults);
    c
}

fn demo_runbook(old: &OldSystem, relay_port: u16) -> String {
    format!(
        "[hooks.stop_service]\nurl = \"{}\"\nmethod = \"POST\"\nexpect_status = 200\ntimeout_secs = 10\n\n\
         [hooks.resume_service]\nurl = \"{}\"\nmethod = \"POST\"\nexpect_status = 200\ntimeout_secs = 10\n\n\
         # Slow the one-to-one lane so the progress is there to watch.\n[limits.importmsg]\nrate = 100\n\n\
         # The demo app keeps all history readable (a real app: 7 days unless it pays for more).\n[verify]\nroaming_days = 0\n\n\
         # Coexistence: Tencent's callbacks and the old system's events both ways.\n[sync]\nlisten = \"127.0.0.1:{relay_port}\"\nold_webhook = \"{}\"\nreconcile_secs = 10\n",
        old.url("/maintenance/stop"),
        old.url("/maintenance/resume"),
        old.url("/sync/webhook")
    )
}

/// Runs `cutover demo`.
pub fn run(out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let source = sample_data()?;
    let dir = tempfile::Builder::new()
        .prefix("cutover-demo-")
        .tempdir()?
        .keep();
    let store = dir.join("demo.db");
    let log = dir.join("demo.log");
    // The relay authenticates what it accepts: the demo makes its own tokens (before any
    // thread runs), and the simulator signs its callbacks with the same one.
    for name in [CALLBACK_TOKEN_ENV, INGEST_TOKEN_ENV] {
        if std::env::var(name).map_or(true, |v| v.is_empty()) {
            std::env::set_var(name, format!("{:032x}", rand::thread_rng().gen::<u128>()));
        }
    }
    let relay_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _guard = crate::logging::to_file(&log)?;
    let key = format!("{:032x}", rand::thread_rng().gen::<u128>());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let exit = runtime.block_on(async {
        let sim = start(SimOptions {
            listen: "127.0.0.1:0".parse()?,
            sdkappid: SDKAPPID,
            admins: vec![ADMIN.into(), "cutover_sync".into()],
            key: SecretKey::new(key.clone()),
            config: demo_app(relay_port),
        })
        .await?;
        let old = OldSystem::start().await?;
        let text = demo_runbook(&old, relay_port);
        std::fs::write(dir.join("runbook.toml"), &text)?;
        let file = parse_file(&text, "demo runbook").map_err(anyhow::Error::msg)?;
        let flags = Flags {
            source: Some(source.clone()),
            store: Some(store.clone()),
            target_url: Some(sim.url()),
            sdkappid: Some(SDKAPPID),
            admin: Some(ADMIN.into()),
        };
        let key_for_trickle = key.clone();
        let rb = resolve(&file, &flags, Some(SecretKey::new(key)))
            .map_err(|p| anyhow::anyhow!(p.join("; ")))?;
        writeln!(out, "cutover demo: Tencent IM simulator at {}, demo old system at http://{}, export {}", sim.url(), old.addr, source.display())?;
        let runner = Runner::new(rb, RunOptions { yes: true, reuse_store: false })?;
        let trickle = tokio::spawn(super::demo_trickle::run(sim.url(), SDKAPPID, ADMIN, key_for_trickle, relay_port));
        let exit = if std::io::stdout().is_terminal() {
            crate::ui::tui::runtime::run(runner, log.clone()).await?
        } else {
            writeln!(out, "  headless (stdout is not a terminal): the stop/resume hooks only reach the demo old system, so the demo confirms them itself")?;
            writeln!(out, "  the sync runs for 8 s after the runbook (on a terminal, until you quit)")?;
            headless::run(runner, out, false, Duration::from_secs(1), true, Some(Duration::from_secs(8))).await?
        };
        trickle.abort();
        writeln!(out, "the demo old system received:")?;
        let received = old.received();
        for r in received.iter().filter(|r| r.path != "/sync/webhook") {
            writeln!(out, "  POST {} {}", r.path, r.body)?;
        }
        let events: Vec<_> = received.iter().filter(|r| r.path == "/sync/webhook").collect();
        writeln!(out, "  {} sync events on /sync/webhook{}", events.len(), events.first().map_or(String::new(), |e| format!(", the first: {}", e.body)))?;
        anyhow::Ok(exit)
    })?;
    writeln!(
        out,
        "store, runbook and log kept in {}; try:",
        dir.display()
    )?;
    writeln!(out, "  cutover status --store {}", store.display())?;
    writeln!(out, "  cutover errors --store {}", store.display())?;
    writeln!(out, "  cutover verify --store {}", store.display())?;
    writeln!(
        out,
        "  cutover report --store {} --format html --out {}",
        store.display(),
        dir.join("report.html").display()
    )?;
    Ok(match exit {
        RunExit::Complete | RunExit::Failures => Outcome::Ok,
        other => Outcome::Exit(other as u8),
    })
}
