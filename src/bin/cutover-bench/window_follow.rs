//! `cutover-bench window --follow`: the window of a follow run. The generated export (that of
//! `cutover-bench import`, `--scale`) fills the example schema of a SQLite file, a full export
//! of it is pre-copied into the in-process simulator, then `cutover run --phase follow` follows
//! the file while a writer changes it 50 times a second, until `--follow-secs` have passed:
//! the stop hook stops the writer, the last round reads what changed, sync is skipped (forced
//! upgrade), the resume hook notes the time. Prints the downtime, from the stop hook's start to
//! the resume hook's, and the last round's parts.

use crate::import::{bench_runbook, bench_setup, reference, start_sim, ImportBench, KEY, SDKAPPID};
use crate::window::WindowBench;
use crate::window_steps::step_times;
use anyhow::Context;
use cutover::export::example::{fill, live_change, MAPPING};
use cutover::export::{export, ExportOptions, Mapping, SourceUrl};
use cutover::model::phase::Phase;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::source::gen::generate;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Runs the benchmark and prints its figures.
pub(crate) fn run_follow_bench(b: &WindowBench, out: &mut dyn Write) -> anyhow::Result<()> {
    std::env::set_var("CUTOVER_SECRET_KEY", KEY);
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let old = old_database(&runtime, dir.path(), b.scale, out)?;
    let (handle, toml) = precopy(&runtime, dir.path(), b.no_limits, out)?;
    let book = dir.path().join("runbook.toml");
    std::fs::write(&book, follow_book(&toml, dir.path()))?;
    let to = first_account(&dir.path().join("generated"))?;
    let writer = {
        let (url, dir) = (old.url.clone(), dir.path().to_path_buf());
        std::thread::spawn(move || write_live(&url, &dir, &to.0, &to.1))
    };
    let args = FollowArgs {
        url: handle.url(),
        db: &old.path,
        store: &dir.path().join("bench.db"),
        full: &dir.path().join("full"),
        book: &book,
        stop_at: cutover::timefmt::now_secs() + b.follow_secs as i64,
    };
    let (lines, exit) = run_follow(&args)?;
    let writes = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;
    report(out, &lines, exit, writes, dir.path())?;
    let deletes: u64 = handle
        .sim()
        .counts()
        .iter()
        .filter(|((api, _), _)| *api == cutover::tim::api::Api::DeleteGroupMember)
        .map(|(_, n)| *n)
        .sum();
    writeln!(out, "delete_group_member calls: {deletes}")?;
    Ok(())
}

/// The old system's SQLite database.
struct OldDatabase {
    path: PathBuf,
    url: SourceUrl,
}

/// Generates the export of `scale` into `dir/generated`, fills the example schema of
/// `dir/oldim.db` with it (changed ten minutes ago) and exports it whole into `dir/full`
/// (the pre-copy's export, watermark a minute ago).
fn old_database(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    scale: f64,
    out: &mut dyn Write,
) -> anyhow::Result<OldDatabase> {
    let generated = dir.join("generated");
    let t1 = cutover::timefmt::now_secs() - 60;
    generate(&reference(scale), &generated)?;
    let path = dir.join("oldim.db");
    let url = SourceUrl::parse(&format!("sqlite://{}", path.display()), None)?;
    let started = Instant::now();
    // Changed well before the pre-copy's watermark: a round re-reads only seconds before it.
    let rows = runtime.block_on(fill(&url, &generated, (t1 - 600) * 1000))?;
    writeln!(
        out,
        "old database (SQLite, the example schema): {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    )?;
    let mapping = Mapping::parse(MAPPING).map_err(anyhow::Error::msg)?;
    let opts = ExportOptions::new(url.clone(), mapping, dir.join("full"), None, t1);
    runtime.block_on(export(&opts, &mut std::io::sink(), &mut |_| {}))?;
    Ok(OldDatabase { path, url })
}

/// Pre-copies `dir/full` through `dir/bench.db` into a simulator (limits lifted or the
/// defaults with 40–120 ms latency): the simulator and the bench's runbook text.
fn precopy(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    no_limits: bool,
    out: &mut dyn Write,
) -> anyhow::Result<(cutover::sim::SimHandle, String)> {
    let bench = ImportBench {
        source: None,
        scale: 1.0,
        no_limits,
        latency_ms: if no_limits { 0 } else { 40 },
        latency_spread_ms: if no_limits { 0 } else { 80 },
        keep: None,
        stop_after_ms: 0,
    };
    let (mut config, toml) = bench_setup(&bench);
    // Message bodies kept, so that the window's read-back compares them.
    config.lean = false;
    let handle = runtime.block_on(start_sim(config))?;
    let rb = bench_runbook(
        &toml,
        &dir.join("full"),
        &dir.join("bench.db"),
        &handle.url(),
    )?;
    let opts = RunOptions {
        phase: Some(Phase::Precopy),
        ..RunOptions::default()
    };
    let started = Instant::now();
    let lines = runtime.block_on(headless_run(Runner::new(rb, opts)?))?;
    let reason = step_times(&lines)
        .get("import")
        .map_or(String::new(), |s| s.reason.clone());
    writeln!(
        out,
        "pre-copy (app live, not window time): {:.1} s; {reason}",
        started.elapsed().as_secs_f64()
    )?;
    Ok((handle, toml))
}

/// The bench's runbook with `[follow]` (rounds 5 s apart) and the hooks: the stop hook notes
/// its start, asks the writer to stop and waits for it; the resume hook notes its time.
fn follow_book(toml: &str, dir: &Path) -> String {
    let d = dir.display();
    format!(
        "{toml}\n{}\n[window]\nmax_delete_share = 0.5\n[follow]\nevery_secs = 5\n\
         reread_secs = 5\n[hooks.stop_service]\ncommand = \"date +%s.%N > {d}/stop_started && \
         touch {d}/stop && while [ ! -e {d}/stopped ]; do sleep 0.02; done\"\n\
         [hooks.resume_service]\ncommand = \"date +%s.%N > {d}/resumed\"\n",
        cutover::source::gen::CUSTOM_KEYS_APP
    )
}

/// The first account, and the group with the most room of the generated export (a chat room,
/// else a public group, else any that keeps members): the live changes' peer and group. (The
/// members the writer adds stay on the target until the next read of the key sets.)
fn first_account(generated: &Path) -> anyhow::Result<(String, String)> {
    let read = |file: &str| -> anyhow::Result<Vec<serde_json::Value>> {
        let text = std::fs::read_to_string(generated.join(file))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    };
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap_or_default().to_string();
    let account = read("accounts.jsonl")?
        .first()
        .map(id)
        .context("no account in the generated export")?;
    let groups = read("groups.jsonl")?;
    let group = ["chatroom", "public", "private", "community"]
        .iter()
        .find_map(|t| {
            let of_type = |g: &&serde_json::Value| {
                g["type"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case(t))
            };
            groups.iter().find(of_type)
        })
        .map(id)
        .context("no group that keeps members in the generated export")?;
    Ok((account, group))
}

/// Changes the old database 50 times a second until the stop hook asks it to stop.
fn write_live(url: &SourceUrl, dir: &Path, to: &str, group: &str) -> anyhow::Result<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut i = 0u64;
    let tick = std::time::Duration::from_millis(20);
    let mut next = Instant::now();
    while !dir.join("stop").exists() {
        let ms = cutover::timefmt::now_ms();
        if let Some(sql) = live_change(i, ms, cutover::export::url::Engine::Sqlite, to, group) {
            rt.block_on(cutover::export::db::execute(url, &[sql]))?;
        }
        i += 1;
        next += tick;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    std::fs::write(dir.join("stopped"), "")?;
    Ok(i)
}

/// A headless run of `runner` to its end: its JSON lines.
async fn headless_run(runner: Runner) -> anyhow::Result<String> {
    let mut lines = Vec::new();
    let every = std::time::Duration::from_secs(1);
    cutover::ui::headless::run(runner, &mut lines, true, every, true, None).await?;
    Ok(String::from_utf8_lossy(&lines).into_owned())
}

struct FollowArgs<'a> {
    url: String,
    db: &'a Path,
    store: &'a Path,
    full: &'a Path,
    book: &'a Path,
    stop_at: i64,
}

/// `cutover run --phase follow` as an operator runs it (in this process): its JSON lines and
/// exit code.
fn run_follow(a: &FollowArgs<'_>) -> anyhow::Result<(String, u8)> {
    let path = |p: &Path| p.display().to_string();
    let map: PathBuf = a.book.with_file_name("mapping.toml");
    std::fs::write(&map, MAPPING)?;
    let args = [
        "cutover",
        "run",
        "--headless",
        "--json",
        "--progress-secs",
        "1",
        "--phase",
        "follow",
        "--yes",
        "--delete-accounts",
    ]
    .map(String::from)
    .into_iter()
    .chain([
        "--from".into(),
        format!("sqlite://{}", path(a.db)),
        "--map".into(),
        path(&map),
        "--stop-at".into(),
        a.stop_at.to_string(),
        "--config".into(),
        path(a.book),
        "--source".into(),
        path(a.full),
        "--store".into(),
        path(a.store),
        "--target-url".into(),
        a.url.clone(),
        "--sdkappid".into(),
        SDKAPPID.to_string(),
        "--admin".into(),
        "administrator".into(),
    ]);
    crate::window::run_cutover(args)
}

/// The downtime and its parts.
fn report(
    out: &mut dyn Write,
    lines: &str,
    exit: u8,
    writes: u64,
    dir: &Path,
) -> anyhow::Result<()> {
    let at = |name: &str| -> anyhow::Result<f64> {
        let text = std::fs::read_to_string(dir.join(name))
            .with_context(|| format!("the hook did not note {name}"))?;
        Ok(text.trim().parse::<f64>()?)
    };
    let rounds = lines.matches("following: round ").count();
    let steps = step_times(lines);
    let reason = |name: &str| steps.get(name).map_or("", |s| s.reason.as_str());
    writeln!(
        out,
        "follow (cutover run --phase follow, exit {exit}): {writes} changes written at 50/s \
         while following, {rounds} round notes"
    )?;
    for note in lines.lines().filter(|l| l.contains("following: round ")) {
        let v: serde_json::Value = serde_json::from_str(note).unwrap_or_default();
        writeln!(out, "  {}", v["reason"].as_str().unwrap_or_default())?;
    }
    writeln!(out, "last round: {}", reason("import"))?;
    writeln!(
        out,
        "downtime, stop hook start → resume hook: {:.1} s",
        at("resumed")? - at("stop_started")?
    )?;
    writeln!(out, "verify (after the resume): {}", reason("verify"))?;
    Ok(())
}
