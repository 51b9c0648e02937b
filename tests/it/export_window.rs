//! `cutover export`, then `cutover run --phase precopy`, then a delta export and `--phase
//! window`, against the simulator: the target ends in the state of the database (the same as
//! one import of a full export taken after the changes). Between the two exports the database
//! also deletes an account, a group and a record of every other kind, each once softly (a
//! tombstone in the delta) and once outright (only the delta's key sets show it): the window
//! sends every deletion API, and a second run of the same window sends none again.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::db_rig;

use common::engine::{actual, app_config, group_names as names, run_to_end as run, with_app_keys};
use cutover::export::url::Engine;
use cutover::sim::SimHandle;
use cutover::store::Kind;
use cutover::tim::api::Api;
use db_rig::{change_after_t1, delete_after_t1, generated, records, said, Db, T1, T2};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// The deletion APIs, in the window's order.
const DELETIONS: [Api; 6] = [
    Api::AdminMsgWithdraw,
    Api::GroupMsgRecall,
    Api::DeleteGroupMember,
    Api::DestroyGroup,
    Api::FriendDelete,
    Api::AccountDelete,
];

/// The kinds a delta can delete (profiles go with their account).
const DELETING: [&str; 6] = [
    "accounts",
    "friends",
    "c2c_messages",
    "groups",
    "group_members",
    "group_messages",
];

/// The share of a kind the window may delete: the test deletes up to 43 % of a kind (21 of
/// the 49 memberships; a third of the groups and of the messages), far more than the default
/// 1 %.
const RUNBOOK: &str = "[window]\nmax_delete_share = 0.5\n";

/// Calls the target received per deletion API, whatever they answered.
fn deletion_calls(target: &SimHandle) -> BTreeMap<Api, u64> {
    let counts = target.sim().counts();
    DELETIONS
        .iter()
        .map(|api| {
            let n = counts
                .iter()
                .filter(|((a, _), _)| a == api)
                .map(|(_, n)| *n)
                .sum();
            (*api, n)
        })
        .collect()
}

/// How a run ended: its exit code, and its output followed by `cutover errors`.
struct Ended {
    code: Option<i32>,
    text: String,
}

/// `cutover run --phase window` of `delta` with the runbook `book`, accounts confirmed; no
/// item may fail.
fn window(target: &SimHandle, store: &Path, full: &Path, delta: &Path, book: &Path) -> Ended {
    let args = [
        "--phase",
        "window",
        "--delta",
        delta.to_str().unwrap(),
        "--config",
        book.to_str().unwrap(),
        "--delete-accounts",
    ];
    let out = run(target, store, full, &args);
    let errors = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["errors", "--store"])
        .arg(store)
        .output()
        .unwrap();
    let text = format!("{}\n{}", said(&out), said(&errors));
    assert!(said(&errors).contains("no failed items"), "{text}");
    Ended {
        code: out.status.code(),
        text,
    }
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
    let deleted = delete_after_t1(&db, &gen);
    let delta = dir.join("delta");
    let out = db.export(
        &delta,
        &["--since", &T1.to_string(), "--until", &T2.to_string()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let lines = records(&delta);
    for kind in DELETING {
        let tombstones = lines[kind].iter().filter(|r| r["deleted"] == true).count();
        assert!(tombstones > 0, "{kind}: a tombstone in the delta");
    }
    let book = dir.join("runbook.toml");
    std::fs::write(&book, with_app_keys(RUNBOOK)).unwrap();
    let first = window(&target, &store, &full, &delta, &book);
    let vanished = first
        .text
        .lines()
        .find_map(|l| l.split_once("gone from the key sets: "))
        .map(|(_, kinds)| kinds.to_string())
        .unwrap_or_else(|| panic!("the preflight names the hard deletes: {}", first.text));
    for kind in Kind::DELETIONS {
        assert!(
            vanished.contains(&format!("{} ", kind.name())),
            "rows deleted outright found in the key sets: {kind:?} in {vanished}"
        );
    }

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
    assert_eq!(
        target.sim().dump()["deleted_accounts"],
        json!(deleted.account_ids()),
        "{deleted:?}"
    );

    // Every deletion API was called; a second run of the same window calls none again.
    let calls = deletion_calls(&target);
    for (api, n) in &calls {
        assert!(*n > 0, "{api} was called: {calls:?}");
    }
    let again = window(&target, &store, &full, &delta, &book);
    assert_eq!(deletion_calls(&target), calls, "nothing deleted twice");

    // Both runs end well, their read-back of the window included (last: the checks above
    // say more about the target than the exit code does).
    for ended in [first, again] {
        assert_eq!(ended.code, Some(0), "{}", ended.text);
    }
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
