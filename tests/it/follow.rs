//! `cutover run --phase follow` against each real database while a writer changes and deletes
//! rows: a pre-copy, then rounds while the writer writes, the stop hook stopping the writer, a
//! last round, sync, resume and verify; the target then equals one import of the database as
//! it was at the stop. And the refusals: no pre-copy, a mapping without `:since`.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::db_rig;

use common::engine::{
    actual, app_config, group_names as names, run_command, run_to_end as run, with_app_keys,
};
use cutover::export::example::{live_change, MAPPING};
use cutover::export::url::Engine;
use cutover::export::SourceUrl;
use db_rig::{change_after_t1, delete_after_t1, generated, records, said, Db, PASSWORD, T1};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Rounds back to back (1 s apart), re-reading 5 s, the key sets read every 3 s while live;
/// the deletions the writer makes are far more than the default 1 % share of a small export.
fn book(dir: &Path) -> PathBuf {
    let stop = dir.join("stop");
    let stopped = dir.join("stopped");
    let text = format!(
        "[window]\nmax_delete_share = 0.5\n[follow]\nevery_secs = 1\nreread_secs = 5\n\
         key_sets_every_secs = 3\n\
         [hooks.stop_service]\ncommand = \"touch {} && while [ ! -e {} ]; do sleep 0.05; done\"\n\
         timeout_secs = 60\n",
        stop.display(),
        stopped.display()
    );
    let path = dir.join("runbook.toml");
    std::fs::write(&path, with_app_keys(&text)).unwrap();
    path
}

/// What the writer did.
#[derive(Debug, Default)]
struct Written {
    writes: u64,
}

/// Writes to the old database about 50 times a second ([`live_change`], each stamped with the
/// time it is made) until the stop hook asks it to stop (`dir/stop`); then says so
/// (`dir/stopped`).
fn writer(
    url: SourceUrl,
    engine: Engine,
    dir: PathBuf,
    first_user: String,
    group: String,
) -> Written {
    let rt = db_rig::runtime();
    let exec = |sql: String| {
        rt.block_on(cutover::export::db::execute(&url, &[sql]))
            .unwrap();
    };
    let mut w = Written::default();
    let mut i = 0u64;
    // At least 60 changes, however slow the machine: the stop hook waits for this writer.
    while i < 60 || !dir.join("stop").exists() {
        let ms = cutover::timefmt::now_ms();
        if let Some(sql) = live_change(i, ms, engine, &first_user, &group) {
            exec(sql);
        }
        w.writes += 1;
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(dir.join("stopped"), "").unwrap();
    w
}

/// The follow run's command: the example mapping over `db`, `args` added.
fn follow_command(
    target: &cutover::sim::SimHandle,
    db: &Db,
    store: &Path,
    full: &Path,
    args: &[&str],
) -> std::process::Command {
    let map = db.dir.path().join("mapping.toml");
    std::fs::write(&map, MAPPING).unwrap();
    let mut all = vec![
        "--phase",
        "follow",
        "--from",
        &db.url,
        "--map",
        map.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let mut cmd = run_command(target, store, full, &all);
    cmd.env("CUTOVER_SOURCE_PASSWORD", PASSWORD);
    cmd
}

/// Waits for `child` to end (at most 5 minutes: a hang fails the test) and returns its output.
fn wait(child: Child) -> std::process::Output {
    let started = Instant::now();
    let id = child.id();
    let watchdog = std::thread::spawn(move || {
        while started.elapsed() < Duration::from_secs(300) {
            std::thread::sleep(Duration::from_millis(200));
            if std::fs::metadata(format!("/proc/{id}")).is_err() {
                return;
            }
        }
        let _ = std::process::Command::new("kill")
            .arg(id.to_string())
            .status();
    });
    let out = child.wait_with_output().unwrap();
    let _ = watchdog.join();
    out
}

/// A running follow and the writer beside it.
struct Following {
    child: Child,
    writing: std::thread::JoinHandle<Written>,
    /// Where the writer looks for `stop`.
    dir: PathBuf,
}

/// Starts `cutover run --phase follow` with `args` and the writer on `db` (filled from the
/// generated export `gen`).
fn start_following(
    target: &cutover::sim::SimHandle,
    db: &Db,
    (store, full): (&Path, &Path),
    gen: &std::collections::BTreeMap<&'static str, Vec<Value>>,
    args: &[&str],
) -> Following {
    let child = follow_command(target, db, store, full, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let (url, engine, dir) = (db.source(), db.engine, db.dir.path().to_path_buf());
    let (to, group) = (s(&gen["accounts"][0]["id"]), s(&gen["groups"][0]["id"]));
    let writing = {
        let dir = dir.clone();
        std::thread::spawn(move || writer(url, engine, dir, to, group))
    };
    Following {
        child,
        writing,
        dir,
    }
}

/// The output of the ended run, then `cutover errors`; the writer's count.
fn ended(following: Following, store: &Path) -> (Option<i32>, String, Written) {
    let out = wait(following.child);
    // A run that ended without its stop hook (it failed) still stops the writer.
    let dir = following.dir;
    std::fs::write(dir.join("stop"), "").unwrap();
    let written = following.writing.join().unwrap();
    let errors = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["errors", "--store"])
        .arg(store)
        .output()
        .unwrap();
    let text = format!("{}\n{}", said(&out), said(&errors));
    (out.status.code(), text, written)
}

/// Asserts that `target` holds what one import of the database as it is now gives (each
/// message counted: a duplicate is a difference).
fn assert_equals_database(
    rt: &tokio::runtime::Runtime,
    db: &Db,
    target: &cutover::sim::SimHandle,
    text: &str,
) {
    let dir = db.dir.path();
    let now = dir.join("now");
    let until = (cutover::timefmt::now_secs() + 1).to_string();
    let out = db.export(&now, &["--until", &until]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let reference = rt.block_on(common::sim(app_config()));
    let out = run(&reference, &dir.join("reference.db"), &now, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(
        actual(&target.sim().dump()),
        actual(&reference.sim().dump()),
        "{text}"
    );
    assert_eq!(names(target), names(&reference), "group names");
}

/// The round directories a follow run wrote beside `store`.
fn rounds(store: &Path) -> usize {
    let mut dir = store.as_os_str().to_owned();
    dir.push(".follow");
    std::fs::read_dir(PathBuf::from(dir)).map_or(0, |d| d.count())
}

fn follow_while_writing(engine: Engine) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = Db::start(engine);
    let dir = db.dir.path().to_path_buf();
    let target = rt.block_on(common::sim(app_config()));
    let book = book(&dir);
    let (store, full) = precopied(&db, &target, &book);
    let gen = records(&dir.join("generated"));
    let cfg = ["--config", book.to_str().unwrap()];

    // Changed and deleted after the pre-copy (the first round reads them), then live writes.
    change_after_t1(&db, &gen);
    let deleted = delete_after_t1(&db, &gen);
    let stop_at = (cutover::timefmt::now_secs() + 12).to_string();
    let args = [
        &cfg[..],
        &["--yes", "--delete-accounts", "--stop-at", &stop_at],
    ]
    .concat();
    let following = start_following(&target, &db, (&store, &full), &gen, &args);
    let (code, text, written) = ended(following, &store);
    assert_eq!(code, Some(0), "{text}");
    assert!(written.writes >= 60, "{written:?}");
    assert!(
        text.contains("following: round 2 ·"),
        "more than one round while live: {text}"
    );
    assert!(text.contains("last round"), "{text}");
    assert_equals_database(&rt, &db, &target, &text);
    let dump = target.sim().dump();
    assert_eq!(
        dump["deleted_accounts"],
        json!(deleted.account_ids()),
        "{deleted:?}"
    );
    let accounts = dump["accounts"].as_array().unwrap();
    let live = accounts
        .iter()
        .filter(|a| a["UserID"].as_str().unwrap().starts_with("u8"));
    assert!(live.count() > 5, "accounts written while following");

    // Run again after the last round: the old database is not read again.
    let before = (rounds(&store), target.sim().counts());
    let out = follow_command(&target, &db, &store, &full, &args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(rounds(&store), before.0, "no new round: {}", said(&out));
    let imports = |c: &std::collections::BTreeMap<(cutover::tim::api::Api, i64), u64>| {
        c.iter()
            .filter(|((api, _), _)| api.command().starts_with("import"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    assert_eq!(
        imports(&target.sim().counts()),
        imports(&before.1),
        "nothing imported again"
    );
}

#[test]
fn sqlite_follow_while_writing_ends_in_the_database_at_the_stop() {
    follow_while_writing(Engine::Sqlite);
}

#[test]
fn mariadb_follow_while_writing_ends_in_the_database_at_the_stop() {
    follow_while_writing(Engine::MySql);
}

#[test]
fn postgres_follow_while_writing_ends_in_the_database_at_the_stop() {
    follow_while_writing(Engine::Postgres);
}

/// The store of a pre-copy of the SQLite database `db` (filled from the generated export),
/// into `target`: the store's path and the full export's.
fn precopied(db: &Db, target: &cutover::sim::SimHandle, book: &Path) -> (PathBuf, PathBuf) {
    let dir = db.dir.path();
    let gen_dir = generated(dir);
    db.fill(&gen_dir);
    let full = dir.join("full");
    let out = db.export(&full, &["--until", &T1.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let store = dir.join("follow.db");
    let cfg = ["--phase", "precopy", "--config", book.to_str().unwrap()];
    let out = run(target, &store, &full, &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    (store, full)
}

#[test]
fn sigkill_during_a_round_resumes_at_the_last_committed_round_with_nothing_duplicated() {
    use std::io::BufRead;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = Db::start(Engine::Sqlite);
    let dir = db.dir.path().to_path_buf();
    let target = rt.block_on(common::sim(app_config()));
    let book = book(&dir);
    let (store, full) = precopied(&db, &target, &book);
    let gen = records(&dir.join("generated"));

    // Following with nobody to confirm the stop: rounds until the kill.
    let cfg = ["--config", book.to_str().unwrap()];
    let mut following = start_following(&target, &db, (&store, &full), &gen, &cfg);
    let lines = std::io::BufReader::new(following.child.stdout.take().unwrap());
    let mut seen = String::new();
    for line in lines.lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("following: round 2 ·") {
            break;
        }
    }
    assert!(
        seen.contains("following: round 2 ·"),
        "two rounds before the kill: {seen}"
    );
    // Somewhere in round 3: its export, staging, wait or import.
    std::thread::sleep(Duration::from_millis(700));
    following.child.kill().unwrap();
    following.child.wait().unwrap();

    // The writer goes on; a second run follows on and stops.
    let stop_at = (cutover::timefmt::now_secs() + 5).to_string();
    let args = [&cfg[..], &["--yes", "--stop-at", &stop_at]].concat();
    let child = follow_command(&target, &db, &store, &full, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, text, _) = ended(
        Following {
            child,
            writing: following.writing,
            dir: dir.clone(),
        },
        &store,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("last round"), "{text}");
    assert_equals_database(&rt, &db, &target, &text);
}

#[test]
fn a_follow_run_refuses_a_store_without_a_pre_copy_and_a_mapping_without_since() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = Db::start(Engine::Sqlite);
    let dir = db.dir.path().to_path_buf();
    let gen_dir = generated(&dir);
    db.fill(&gen_dir);
    let target = rt.block_on(common::sim(app_config()));
    let book = book(&dir);
    let cfg = ["--config", book.to_str().unwrap(), "--yes"];

    let store = dir.join("fresh.db");
    let out = follow_command(&target, &db, &store, &gen_dir, &cfg)
        .output()
        .unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("holds none") && text.contains("--phase precopy"),
        "{text}"
    );
    assert_eq!(target.sim().counts().len(), 0, "nothing was called: {text}");

    let map = dir.join("whole.toml");
    let whole = MAPPING.replacen(
        "FROM users WHERE updated_at >= :since AND updated_at < :until",
        "FROM users WHERE updated_at < :until",
        1,
    );
    assert_ne!(whole, MAPPING);
    std::fs::write(&map, whole).unwrap();
    let map = map.to_str().unwrap();
    let args = [
        &["--phase", "follow", "--from", &db.url, "--map", map][..],
        &cfg,
    ]
    .concat();
    let out = run_command(&target, &store, &gen_dir, &args)
        .output()
        .unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("accounts") && text.contains(":since"),
        "{text}"
    );
    assert!(
        !store.with_extension("db.follow").exists(),
        "no round was written"
    );

    // Headless, an unattended stop needs --yes (the resume) and a stop hook.
    let (map, full) = (dir.join("mapping.toml"), gen_dir.to_str().unwrap());
    std::fs::write(&map, MAPPING).unwrap();
    let bare = dir.join("bare.toml");
    std::fs::write(&bare, with_app_keys("")).unwrap();
    for (book, extra, says) in [
        (&book, "--stop-at", "give --yes too"),
        (&bare, "--yes", "needs [hooks.stop_service]"),
    ] {
        let mut args = vec!["--phase", "follow", "--from", &db.url, "--map"];
        args.extend([
            map.to_str().unwrap(),
            "--config",
            book.to_str().unwrap(),
            extra,
        ]);
        if extra == "--stop-at" {
            args.push("2030-01-01");
        }
        let out = run_command(&target, &store, Path::new(full), &args)
            .output()
            .unwrap();
        let text = said(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(says), "{text}");
    }
}
