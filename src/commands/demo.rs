//! `cutover demo`: the whole runbook with no setup — the embedded Tencent IM simulator (mild
//! latency, a few injected faults), a demo old system whose hooks only record what they
//! receive, the bundled `sample-data/` export and a fresh store.

use super::Outcome;
use crate::cli::DemoArgs;
use crate::config::{parse_file, resolve, Flags};
use crate::model::console::GroupCustomFields;
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
/// The environment variable that names the demo's alert webhook (its old system's `/alerts`).
const DEMO_ALERTS_ENV: &str = "CUTOVER_DEMO_ALERTS_URL";
const ADMIN: &str = "administrator";

/// Where the bundled sample export is: `./sample-data` when run from the source tree (so the
/// store and reports name it as typed, not by a path of this machine), else beside the
/// binary's source tree.
fn sample_data() -> anyhow::Result<PathBuf> {
    let candidates = [
        PathBuf::from("sample-data"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("manifest.json").is_file())
        .context(
            "the demo needs the sample-data/ export of the cutover source tree; run it from there",
        )
}

/// The simulated app: the sample's custom keys exist except the friend key `Tag`, which the
/// runbook declares but nobody created in the console, so a few friend entries fail for good
/// (30001) and the error table has something real to show; 2 % of calls answer HTTP 503
/// (retried) and every call takes 20–60 ms.
fn demo_app(relay_port: u16) -> SimConfig {
    let mut c = SimConfig::default();
    // Tencent's callbacks go to the relay the runbook's [sync] starts (signed with the token).
    c.callback.url = Some(format!("http://127.0.0.1:{relay_port}/tim/callback"));
    c.app.profile_custom_tags = vec!["Hobby".into(), "Vip".into()];
    c.app.friend_custom_tags = vec!["Close".into()];
    c.app.group_custom_fields = GroupCustomFields::every_type(&["Category"]);
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

fn demo_runbook(
    old: &OldSystem,
    relay_port: u16,
    bucket: Option<&super::demo_media::DemoBucket>,
) -> String {
    let media = bucket.map_or(String::new(), |b| {
        format!(
            "\n{}",
            super::demo_media::runbook_section(&old.url("/media"), b)
        )
    });
    base_runbook(old, relay_port) + &media
}

fn base_runbook(old: &OldSystem, relay_port: u16) -> String {
    // A window closing 20 minutes from now, so the Runbook header has one to show.
    let ends_at = crate::timefmt::utc(crate::timefmt::now_secs() + 20 * 60)
        .trim_end_matches(" UTC")
        .replace(' ', "T")
        + "+00:00";
    format!(
        "# The demo old system is the app's own, routes messages and has richer callbacks:\n\
         # scenario 4 of the migration guide (`cutover plan --scenario`), so coexistence fits.\n\
         [scenario]\nold_system = \"self_built\"\naccounts_in_old_system = false\n\
         message_routing = true\nricher_callbacks = true\n\n\
         [window]\nends_at = \"{ends_at}\"\n\n\
         # The custom fields created in the app's console (`cutover validate --config` checks\n\
         # the export's against them); the demo console lacks `Tag`, so its entries fail.\n\
         [app]\nprofile_custom_tags = [\"Hobby\", \"Vip\"]\nfriend_custom_tags = [\"Close\", \"Tag\"]\n\
         [app.group_custom_fields]\nChatRoom = [\"Category\"]\nCommunity = [\"Category\"]\n\
         Private = [\"Category\"]\nPublic = [\"Category\"]\n\n\
         [hooks.stop_service]\nurl = \"{}\"\nmethod = \"POST\"\nexpect_status = 200\ntimeout_secs = 10\n\n\
         [hooks.resume_service]\nurl = \"{}\"\nmethod = \"POST\"\nexpect_status = 200\ntimeout_secs = 10\n\n\
         # Slow the one-to-one lane so the progress is there to watch.\n[limits.importmsg]\nrate = 100\n\n\
         # The demo app keeps all history readable (a real app: 7 days unless it pays for more).\n[verify]\nroaming_days = 0\n\n\
         # Alerts go to the demo old system's /alerts, a plain JSON webhook.\n[[alerts.channel]]\nname = \"demo-webhook\"\ntype = \"webhook\"\nurl_env = \"{DEMO_ALERTS_ENV}\"\n\n\
         # Coexistence: Tencent's callbacks and the old system's events both ways.\n[sync]\nlisten = \"127.0.0.1:{relay_port}\"\nold_webhook = \"{}\"\nreconcile_secs = 10\n",
        old.url("/maintenance/stop"),
        old.url("/maintenance/resume"),
        old.url("/sync/webhook")
    )
}

/// Where the demo keeps its store, runbook and log: `--dir` as given (a store already there
/// would belong to another demo's simulator, so it is refused), else a new temporary directory.
fn keep_dir(args: &DemoArgs) -> anyhow::Result<PathBuf> {
    let Some(dir) = &args.dir else {
        return Ok(tempfile::Builder::new()
            .prefix("cutover-demo-")
            .tempdir()?
            .keep());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    if dir.join("demo.db").exists() {
        anyhow::bail!(
            "{} already holds a demo store; remove it or give another --dir",
            dir.display()
        );
    }
    Ok(dir.clone())
}

/// The relay authenticates what it accepts: the demo makes its own tokens (before any thread
/// runs), and the simulator signs its callbacks with the same one.
fn set_relay_tokens() {
    for name in [CALLBACK_TOKEN_ENV, INGEST_TOKEN_ENV] {
        if std::env::var(name).map_or(true, |v| v.is_empty()) {
            std::env::set_var(name, format!("{:032x}", rand::thread_rng().gen::<u128>()));
        }
    }
}

/// Runs `cutover demo`.
pub(crate) fn run(args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let source = sample_data()?;
    let dir = keep_dir(args)?;
    let store = dir.join("demo.db");
    let log = dir.join("demo.log");
    set_relay_tokens();
    // Three loopback ports held at once, so they differ: a port probed and let go could be
    // handed to the simulator next (the relay then could not listen).
    let [old_port, relay_port, sim_port] = {
        let held = [(); 3].map(|()| std::net::TcpListener::bind("127.0.0.1:0"));
        let mut ports = [0u16; 3];
        for (port, listener) in ports.iter_mut().zip(held) {
            *port = listener?.local_addr()?.port();
        }
        ports
    };
    // Before any thread runs: the alerts' webhook is named by the environment.
    std::env::set_var(
        DEMO_ALERTS_ENV,
        format!("http://127.0.0.1:{old_port}/alerts"),
    );
    let bucket = match args.rehost {
        true => Some(super::demo_media::start(&dir)?),
        false => None,
    };
    let _guard = crate::logging::to_file(&log)?;
    let key = format!("{:032x}", rand::thread_rng().gen::<u128>());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let demo = Demo {
        source,
        dir: dir.clone(),
        store: store.clone(),
        log,
        relay_port,
        key,
        bucket,
        old_port,
        sim_port,
    };
    let exit = runtime.block_on(demo.run(out))?;
    print_next_steps(out, &dir, &store)?;
    Ok(match exit {
        RunExit::Complete | RunExit::Failures => Outcome::Ok,
        other => Outcome::Exit(other as u8),
    })
}

/// What one demo run works with.
struct Demo {
    source: PathBuf,
    dir: PathBuf,
    store: PathBuf,
    log: PathBuf,
    relay_port: u16,
    key: String,
    bucket: Option<super::demo_media::DemoBucket>,
    /// The demo old system's port, known before the runtime starts (its `/alerts` is the
    /// alerts' webhook, whose URL goes into the environment then).
    old_port: u16,
    /// The simulator's port, distinct from the two above.
    sim_port: u16,
}

impl Demo {
    /// Starts the simulator and the demo old system, runs the runbook against them (the
    /// console on a terminal, else headless) with the trickle of live traffic beside it, and
    /// says what the old system received.
    async fn run(self, out: &mut dyn Write) -> anyhow::Result<RunExit> {
        let sim = start(SimOptions {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], self.sim_port)),
            sdkappid: SDKAPPID,
            admins: vec![ADMIN.into(), "cutover_sync".into()],
            key: SecretKey::new(self.key.clone()),
            config: demo_app(self.relay_port),
        })
        .await?;
        let old = OldSystem::start(self.old_port).await?;
        let text = demo_runbook(&old, self.relay_port, self.bucket.as_ref());
        std::fs::write(self.dir.join("runbook.toml"), &text)?;
        let file = parse_file(&text, "demo runbook").map_err(anyhow::Error::msg)?;
        let flags = Flags {
            source: Some(self.source.clone()),
            store: Some(self.store.clone()),
            target_url: Some(sim.url()),
            sdkappid: Some(SDKAPPID),
            admin: Some(ADMIN.into()),
        };
        let rb = resolve(&file, &flags, Some(SecretKey::new(self.key.clone())))
            .map_err(|p| anyhow::anyhow!(p.join("; ")))?;
        writeln!(
            out,
            "cutover demo: Tencent IM simulator at {}, demo old system at http://{}, export {}",
            sim.url(),
            old.addr,
            self.source.display()
        )?;
        let alerter = crate::alerts::Alerter::start(&rb.alerts, &self.store.display().to_string());
        let runner = Runner::new(
            rb,
            RunOptions {
                yes: true,
                reuse_store: false,
                phase: Some(crate::model::phase::Phase::Full),
            },
        )?
        .with_alerter(alerter);
        let trickle = tokio::spawn(super::demo_trickle::run(
            sim.url(),
            SDKAPPID,
            ADMIN,
            self.key,
            self.relay_port,
        ));
        let exit = if std::io::stdout().is_terminal() {
            crate::ui::tui::runtime::run(runner, self.log, Default::default()).await?
        } else {
            writeln!(out, "  headless (stdout is not a terminal): the stop/resume hooks only reach the demo old system, so the demo confirms them itself")?;
            writeln!(
                out,
                "  the sync runs for 8 s after the runbook (on a terminal, until you quit)"
            )?;
            headless::run(
                runner,
                out,
                false,
                Duration::from_secs(1),
                true,
                Some(Duration::from_secs(8)),
            )
            .await?
        };
        trickle.abort();
        print_received(out, &old)?;
        print_media(out, &self.store, self.bucket.as_ref())?;
        Ok(exit)
    }
}

/// The hook calls the demo old system received, and how many sync events reached it.
fn print_received(out: &mut dyn Write, old: &OldSystem) -> std::io::Result<()> {
    writeln!(out, "the demo old system received:")?;
    let received = old.received();
    for r in received
        .iter()
        .filter(|r| r.path.starts_with("/maintenance/"))
    {
        writeln!(out, "  POST {} {}", r.path, r.body)?;
    }
    let events: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/sync/webhook")
        .collect();
    let first = events
        .first()
        .map_or(String::new(), |e| format!(", the first: {}", e.body));
    writeln!(
        out,
        "  {} sync events on /sync/webhook{first}",
        events.len()
    )?;
    let alerts: Vec<String> = received
        .iter()
        .filter(|r| r.path == "/alerts")
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .map(|a| {
            format!(
                "{} {}",
                a["state"].as_str().unwrap_or("?"),
                a["title"].as_str().unwrap_or("?")
            )
        })
        .collect();
    writeln!(
        out,
        "  {} alerts on /alerts: {}",
        alerts.len(),
        alerts.join("; ")
    )
}

/// What became of the sample's media: copied into the demo bucket, or kept as exported.
fn print_media(
    out: &mut dyn Write,
    store: &Path,
    bucket: Option<&super::demo_media::DemoBucket>,
) -> anyhow::Result<()> {
    let conn = crate::store::open_for_reading(store)?;
    let hosts = crate::store::media::hosts(&conn)?;
    let objects: u64 = hosts.iter().map(|h| h.objects).sum();
    let copied: u64 = hosts.iter().map(|h| h.copied).sum();
    let failed: u64 = hosts.iter().map(|h| h.failed).sum();
    match bucket {
        Some(b) => writeln!(
            out,
            "media: {copied} of {objects} objects copied into the S3 server at {} ({failed} failed); the messages carry the copies' URLs",
            b.endpoint
        )?,
        None => writeln!(
            out,
            "media: {objects} objects kept at their exported URLs (`cutover demo --rehost` copies them into a local S3 server)"
        )?,
    }
    Ok(())
}

/// Where the demo's files are, and the commands that read its store.
fn print_next_steps(out: &mut dyn Write, dir: &Path, store: &Path) -> std::io::Result<()> {
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
    )
}
