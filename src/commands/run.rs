//! `cutover run`: the runbook in the console, or headless when stdout is not a terminal.

use super::Outcome;
use crate::cli::{RunArgs, RunbookArgs};
use crate::config::file::RunbookFile;
use crate::config::{parse_file, resolve, Flags, Runbook};
use crate::model::phase::Phase;
use crate::runbook::runner::{RunOptions, Runner};
use crate::tim::SecretKey;
use crate::ui::headless;
use crate::ui::tui::control::server::{ControlServer, PeerEvent};
use crate::ui::tui::runtime::{Outside, Signal};
use anyhow::Context;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Reads the runbook file at `path`, or an empty one (defaults) without a path.
pub(crate) fn load_file(path: Option<&Path>) -> anyhow::Result<RunbookFile> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the runbook {}", path.display()))?;
            parse_file(&text, &path.display().to_string()).map_err(anyhow::Error::msg)
        }
        None => parse_file("", "defaults").map_err(anyhow::Error::msg),
    }
}

/// Resolves the runbook from the file (if any), the flags and the environment.
pub(crate) fn runbook(args: &RunbookArgs) -> anyhow::Result<Runbook> {
    let file = load_file(args.config.as_deref())?;
    let flags = Flags {
        source: args.source.clone(),
        store: args.store.clone(),
        target_url: args.target_url.clone(),
        sdkappid: args.sdkappid,
        admin: args.admin.clone(),
    };
    let rb = resolve(&file, &flags, SecretKey::from_env()).map_err(|problems| {
        anyhow::anyhow!(
            "the runbook is not usable:\n  - {}",
            problems.join("\n  - ")
        )
    })?;
    Ok(rb)
}

/// The runbook of `cutover run`, with a canary list when `--only accounts:FILE` is given.
fn run_runbook(args: &RunArgs) -> anyhow::Result<Runbook> {
    let mut rb = runbook(&args.runbook)?;
    if let Some(only) = &args.only {
        let Some(file) = only.strip_prefix("accounts:") else {
            anyhow::bail!(
                "--only {only:?}: give accounts:FILE (a file of account ids, one per line)"
            );
        };
        rb.canary = Some(PathBuf::from(file));
    }
    match (args.phase, &args.delta) {
        (Phase::Window, Some(delta)) => rb.source = delta.clone(),
        (Phase::Window, None) => anyhow::bail!(
            "--phase window imports a delta export: give it with --delta DIR (the full export \
             was staged by the pre-copy)"
        ),
        (Phase::Follow, Some(_)) => anyhow::bail!(
            "--delta is for --phase window: a follow run reads its rounds from the old \
             database (--from URL --map FILE)"
        ),
        (phase, Some(_)) => anyhow::bail!(
            "--delta is for --phase window (this run is --phase {phase}); a pre-copy or a full \
             run takes the runbook's source"
        ),
        (_, None) => {}
    }
    let follow_flags = args.from.is_some() || args.map.is_some() || args.stop_at.is_some();
    if args.phase != Phase::Follow && follow_flags {
        anyhow::bail!(
            "--from, --map and --stop-at are for --phase follow (this run is --phase {})",
            args.phase
        );
    }
    Ok(rb)
}

/// The old database of a follow run (`None` for the other phases).
fn follow_source(
    args: &RunArgs,
    rb: &Runbook,
) -> anyhow::Result<Option<crate::runbook::follow::FollowSource>> {
    use crate::export::{url::PASSWORD_ENV, Mapping, SourceUrl};
    if args.phase != Phase::Follow {
        return Ok(None);
    }
    let (Some(from), Some(map)) = (&args.from, &args.map) else {
        anyhow::bail!(
            "--phase follow reads what changes in the old database: give --from URL and --map \
             FILE (those of `cutover export`)"
        );
    };
    let url = SourceUrl::parse(from, std::env::var(PASSWORD_ENV).ok())?;
    let mapping = Mapping::load(map)?;
    let stop_at = args
        .stop_at
        .as_deref()
        .map(|t| super::export::parse_time("--stop-at", t))
        .transpose()?;
    let source = crate::runbook::follow::FollowSource::new(url, mapping, &rb.store, stop_at)
        .map_err(|why| anyhow::anyhow!("{}: {why}", map.display()))?;
    Ok(Some(source))
}

/// A headless follow run stops the old system by itself (`--yes`, `--stop-at`): refused when
/// the steps after the stop would wait for an answer nobody gives (the old system left down),
/// or when no hook would stop it (the last round would read a live database).
fn unattended_stop(args: &RunArgs, rb: &Runbook) -> anyhow::Result<()> {
    if args.stop_at.is_some() && !args.yes {
        anyhow::bail!(
            "--stop-at stops the old system unattended: give --yes too, which confirms the \
             steps after the stop (the resume among them)"
        );
    }
    if args.yes && rb.stop_service.is_none() {
        anyhow::bail!(
            "a follow run stopped unattended (--yes) needs [hooks.stop_service]: without it \
             nothing stops the old system before the last round reads it; run it in the \
             console, stop the old system yourself, then confirm"
        );
    }
    Ok(())
}

/// Runs `cutover run`.
pub(crate) fn run(args: &RunArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut rb = run_runbook(args)?;
    let follow = follow_source(args, &rb)?;
    let console = !args.headless && !args.json && std::io::stdout().is_terminal();
    if follow.is_some() && !console {
        unattended_stop(args, &rb)?;
    }
    rb.deletions.confirmed = args.delete_accounts;
    if let Some(why) = rb.scenario_refusal() {
        // Refused before the log, the lock or the store: nothing has run.
        anyhow::bail!("the runbook's strategy does not fit its [scenario]: {why}");
    }
    let log_path = args.log.clone().unwrap_or_else(|| {
        let mut p = rb.store.clone().into_os_string();
        p.push(".log");
        PathBuf::from(p)
    });
    let _guard = crate::logging::to_file(&log_path)?;
    let _lock = super::store_lock::take(&rb.store, "run")?;
    // So that `cutover status` can say how to carry the run on once nothing runs it.
    // (Only the cutover program's own command line: a test calling in has another.)
    let mut argv = std::env::args();
    let program = argv.next().unwrap_or_default();
    if Path::new(&program)
        .file_name()
        .is_some_and(|n| n == "cutover")
    {
        let argv: Vec<String> = argv.collect();
        if let Err(e) = crate::store::liveness::record_last_run(&rb.store, argv) {
            tracing::warn!(%e, "cannot record how this run was started");
        }
    }
    tracing::info!(store = %rb.store.display(), source = %rb.source.display(), "run starts");

    let opts = RunOptions {
        yes: args.yes,
        reuse_store: args.reuse_store,
        phase: Some(args.phase),
    };
    let every = Duration::from_secs_f64(args.progress_secs.max(0.1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = rb.store.clone();
    let alerter = {
        // The delivery tasks run on this runtime.
        let _inside = runtime.enter();
        crate::alerts::Alerter::start(&rb.alerts, &store.display().to_string())
    };
    let metrics = super::metrics::start(rb.metrics, &store, rb.window_end, alerter.clone(), out);
    let _metrics = runtime.block_on(metrics)?;
    let exit = runtime.block_on(async {
        let mut runner = Runner::new(rb, opts)?.with_alerter(alerter);
        if let Some(source) = follow {
            runner = runner.with_follow(source);
        }
        if console {
            // From here on a hangup never ends the run.
            let signals = crate::ui::tui::runtime::signals()?;
            let control = control_channel(&store, &log_path, out);
            let outside = Outside {
                control,
                signals: Some(signals),
            };
            crate::ui::tui::runtime::run(runner, log_path.clone(), outside).await
        } else {
            say(
                out,
                &format!(
                    "running headless (pid {}); `cutover status --store {}` shows where it is, \
                     its log is {}",
                    std::process::id(),
                    store.display(),
                    log_path.display()
                ),
            );
            let hangups = crate::ui::tui::runtime::hangups()?;
            let hangups = tokio::spawn(ride_out_hangups(hangups));
            let exit = headless::run(runner, out, args.json, every, args.yes, None).await;
            hangups.abort();
            exit
        }
    })?;
    tracing::info!(exit = exit as u8, "run ends");
    Ok(Outcome::Exit(exit as u8))
}

/// Opens the run's control channel and says how to attach to it; without it (a socket that
/// cannot be made), the run goes on and the log says why.
fn control_channel(
    store: &Path,
    log: &Path,
    out: &mut dyn Write,
) -> Option<(
    ControlServer,
    tokio::sync::mpsc::UnboundedReceiver<PeerEvent>,
)> {
    match ControlServer::start(store) {
        Ok(control) => {
            let line = format!(
                "the console of this run (pid {}) opens on any terminal of this host with \
                 `cutover attach --store {}`; if this terminal goes, the run goes on (log: {})",
                std::process::id(),
                store.display(),
                log.display()
            );
            tracing::info!(socket = %control.0.path().display(), "{line}");
            say(out, &line);
            Some(control)
        }
        Err(e) => {
            let line = format!(
                "no control channel ({}: {e}): `cutover attach` cannot reach this run; if this \
                 terminal goes, the run goes on without a console (log: {})",
                crate::ui::tui::control::server::socket_path(store).display(),
                log.display()
            );
            tracing::warn!("{line}");
            say(out, &line);
            None
        }
    }
}

/// A line to stdout; a stdout that is gone does not stop the run.
fn say(out: &mut dyn Write, line: &str) {
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        tracing::warn!("stdout is gone; the run goes on: {line}");
    }
}

/// A headless run outlives its terminal: SIGHUP is logged, not obeyed. (SIGINT and SIGTERM
/// keep their meaning: the headless flow stops the run cleanly on them.)
async fn ride_out_hangups(mut signals: tokio::sync::mpsc::UnboundedReceiver<Signal>) {
    while let Some(signal) = signals.recv().await {
        if signal == Signal::Hangup {
            tracing::warn!("the terminal hung up (SIGHUP): the headless run goes on");
        }
    }
}
