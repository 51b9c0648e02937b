//! `cutover export`, then `cutover run --phase precopy`, then a delta export and `--phase
//! window`, against the simulator: the target ends in the state of the database (the same as
//! one import of a full export taken after the changes).
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::db_rig;

use common::engine::{actual, app_config, group_names as names, run_to_end as run};
use cutover::export::url::Engine;
use db_rig::{change_after_t1, generated, records, said, Db, T1, T2};

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
