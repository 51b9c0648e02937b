//! `cutover export`, then `cutover run --phase precopy`, then a delta export and `--phase
//! window`, against the simulator: the target ends in the state of the database (the same as
//! one import of a full export taken after the changes).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "db_rig/mod.rs"]
mod db_rig;

use common::engine::{actual, app_config};
use cutover::export::url::Engine;
use cutover::sim::SimHandle;
use db_rig::{change_after_t1, generated, records, said, Db, T1, T2};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `cutover run --headless` from `source` into `handle` with `args`, to its end.
fn run(handle: &SimHandle, store: &Path, source: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "run",
            "--headless",
            "--admin",
            common::ADMIN,
            "--target-url",
            &handle.url(),
        ])
        .args(["--sdkappid", &common::SDKAPPID.to_string()])
        .arg("--source")
        .arg(source)
        .arg("--store")
        .arg(store)
        .args(args)
        .env("CUTOVER_SECRET_KEY", common::KEY)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Group names by GroupId.
fn names(handle: &SimHandle) -> BTreeMap<String, String> {
    let dump = handle.sim().dump();
    dump["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();
            (s(&g["GroupId"]), s(&g["Name"]))
        })
        .collect()
}

fn precopy_then_window(engine: Engine) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = Db::start(engine);
    let dir = db.dir.path();
    let gen_dir = generated(dir);
    let gen = records(&gen_dir);
    db.fill(&gen_dir);

    let full = dir.join("full");
    let out = db.export(&full, &["--until", &T1.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let target = rt.block_on(common::sim(app_config()));
    let store = dir.join("phased.db");
    let out = run(&target, &store, &full, &["--phase", "precopy"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));

    change_after_t1(&db, &gen);
    let delta = dir.join("delta");
    let out = db.export(
        &delta,
        &["--since", &T1.to_string(), "--until", &T2.to_string()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let window = ["--phase", "window", "--delta", delta.to_str().unwrap()];
    let out = run(&target, &store, &full, &window);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));

    // The database as it is now, exported whole and imported in one go into a fresh target.
    let now = dir.join("now");
    let out = db.export(&now, &["--until", &T2.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let reference = rt.block_on(common::sim(app_config()));
    let out = run(&reference, &dir.join("reference.db"), &now, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(
        actual(&target.sim().dump()),
        actual(&reference.sim().dump())
    );
    let names = names(&target);
    assert_eq!(names, self::names(&reference), "group names");
    assert!(names.values().any(|n| n == "Renamed"), "{names:?}");
}

#[test]
fn mariadb_export_precopy_delta_window_ends_in_the_database_state() {
    precopy_then_window(Engine::MySql);
}

#[test]
fn postgres_export_precopy_delta_window_ends_in_the_database_state() {
    precopy_then_window(Engine::Postgres);
}

#[test]
fn sqlite_export_precopy_delta_window_ends_in_the_database_state() {
    precopy_then_window(Engine::Sqlite);
}
