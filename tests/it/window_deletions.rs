//! A window that carries deletions (`cutover run --phase window` with tombstones): after a
//! pre-copy, a delta deleting records of every kind ends in the state of one import of the old
//! system as it is at the switch; too large a share is refused before any call; accounts wait
//! for their own confirmation.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{actual, app_config, run_to_end as run};
use cutover::sim::SimHandle;
use cutover::tim::api::Api;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

const PRECOPY_AT: i64 = 1_732_000_000;
const DELTA_AT: i64 = 1_732_003_600;

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, files: &[(&str, Vec<Value>)], delta: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let at = if delta { DELTA_AT } else { PRECOPY_AT };
    let mut m =
        json!({"format": "cutover-export", "version": 1, "exported_at": at, "watermark": at});
    if delta {
        m["delta_of"] = json!(PRECOPY_AT);
    }
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    for (name, records) in files {
        let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(dir.join(format!("{name}.jsonl")), lines).unwrap();
    }
}

/// Calls `counts` holds of `api`, whatever they answered.
fn calls(counts: &BTreeMap<(Api, i64), u64>, api: Api) -> u64 {
    counts
        .iter()
        .filter(|((a, _), _)| *a == api)
        .map(|(_, n)| *n)
        .sum()
}

fn account(id: &str) -> Value {
    json!({"id": id, "nick": format!("nick {id}")})
}
fn friend(owner: &str, to: &str) -> Value {
    json!({"owner": owner, "friend": to, "source": "Contact", "added_at": 1_700_000_300})
}
fn c2c(i: i64) -> Value {
    let (from, to) = (format!("u{}", 1 + i % 3), format!("u{}", 2 + i % 3));
    json!({"id": format!("m{i}"), "from": from, "to": to, "sent_at": 1_710_000_000 + i,
           "body": [{"type": "text", "text": format!("hello {i}")}]})
}
fn group(id: &str, owner: &str) -> Value {
    json!({"id": id, "type": "public", "name": id, "owner": owner, "created_at": 1_700_000_100})
}
fn member(group: &str, member: &str) -> Value {
    json!({"group": group, "member": member, "joined_at": 1_700_000_200})
}
fn group_msg(i: i64, group: &str) -> Value {
    json!({"id": format!("gm{i}"), "group": group, "from": "u1", "sent_at": 1_720_000_000 + i,
           "body": [{"type": "text", "text": format!("group hello {i}")}]})
}

/// The old system at the pre-copy (`all`), or at the switch (`!all`: with the delta's
/// deletions and additions applied, and a destroyed group's members and messages gone).
fn old_system(at_switch: bool) -> Vec<(&'static str, Vec<Value>)> {
    let keep = |v: Vec<Value>, gone: &[Value]| -> Vec<Value> {
        v.into_iter()
            .filter(|r| !at_switch || !gone.contains(r))
            .collect()
    };
    let mut accounts: Vec<Value> = (1..=8).map(|i| account(&format!("u{i}"))).collect();
    let mut friends = vec![friend("u1", "u2"), friend("u2", "u1"), friend("u3", "u4")];
    if at_switch {
        accounts.retain(|a| a["id"] != "u8");
        accounts.push(account("u9"));
        friends.retain(|f| *f != friend("u3", "u4"));
        friends.push(friend("u9", "u1"));
    }
    let c2c_all: Vec<Value> = (0..10).map(c2c).collect();
    let gms: Vec<Value> = (0..6)
        .map(|i| group_msg(i, if i % 2 == 0 { "ga" } else { "gb" }))
        .collect();
    let gb_gone: Vec<Value> = gms.iter().filter(|m| m["group"] == "gb").cloned().collect();
    let mut group_msgs_gone = vec![group_msg(2, "ga")];
    group_msgs_gone.extend(gb_gone);
    vec![
        ("accounts", accounts),
        ("friends", friends),
        ("c2c_messages", keep(c2c_all, &[c2c(3)])),
        (
            "groups",
            keep(
                vec![group("ga", "u1"), group("gb", "u2")],
                &[group("gb", "u2")],
            ),
        ),
        (
            "group_members",
            keep(
                vec![member("ga", "u2"), member("ga", "u3"), member("gb", "u3")],
                &[member("ga", "u3"), member("gb", "u3")],
            ),
        ),
        ("group_messages", keep(gms, &group_msgs_gone)),
    ]
}

/// The delta: a tombstone of every kind, a new account and a new friend entry.
fn delta() -> Vec<(&'static str, Vec<Value>)> {
    let gone = |v: Value| {
        let mut v = v;
        v["deleted"] = json!(true);
        v
    };
    vec![
        ("accounts", vec![account("u9"), gone(json!({"id": "u8"}))]),
        (
            "friends",
            vec![
                friend("u9", "u1"),
                gone(json!({"owner": "u3", "friend": "u4"})),
            ],
        ),
        ("c2c_messages", vec![gone(json!({"id": "m3"}))]),
        ("groups", vec![gone(json!({"id": "gb"}))]),
        (
            "group_members",
            vec![gone(json!({"group": "ga", "member": "u3"}))],
        ),
        ("group_messages", vec![gone(json!({"id": "gm2"}))]),
    ]
}

/// The pre-copy run into a fresh simulator: (target, store, full export, delta, runbook).
async fn precopied(dir: &Path, share: f64) -> (SimHandle, PathBuf, PathBuf, PathBuf, PathBuf) {
    let (full, delta_dir) = (dir.join("full"), dir.join("delta"));
    write(&full, &old_system(false), false);
    write(&delta_dir, &delta(), true);
    let book = dir.join("runbook.toml");
    std::fs::write(&book, format!("[window]\nmax_delete_share = {share}\n")).unwrap();
    let target = common::sim(app_config()).await;
    let store = dir.join("phased.db");
    let out = run(&target, &store, &full, &["--phase", "precopy"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    (target, store, full, delta_dir, book)
}

/// The key fields of a record of `file`, as a key set line.
fn key_of(file: &str, record: &Value) -> Value {
    match file {
        "friends" => json!({"owner": record["owner"], "friend": record["friend"]}),
        "group_members" => json!({"group": record["group"], "member": record["member"]}),
        _ => json!({"id": record["id"]}),
    }
}

/// The reference: one import of the old system at the switch, into a fresh simulator.
async fn at_the_switch(dir: &Path) -> SimHandle {
    let reference_dir = dir.join("at-switch");
    write(&reference_dir, &old_system(true), false);
    let reference = common::sim(app_config()).await;
    let out = run(&reference, &dir.join("ref.db"), &reference_dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    reference
}

fn window(
    target: &SimHandle,
    store: &Path,
    full: &Path,
    delta: &Path,
    book: &Path,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "--phase",
        "window",
        "--delta",
        delta.to_str().unwrap(),
        "--config",
        book.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(target, store, full, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_with_deletions_ends_like_one_import_of_the_old_system_at_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, delta_dir, book) = precopied(dir.path(), 0.5).await;

    // Headless without --delete-accounts: everything but the account goes, then it waits.
    let out = window(&target, &store, &full, &delta_dir, &book, &[]);
    assert_eq!(out.status.code(), Some(7), "{}", said(&out));
    assert!(said(&out).contains("--delete-accounts"), "{}", said(&out));
    assert_eq!(
        target.sim().count(Api::AccountDelete, 0),
        0,
        "no account deleted yet"
    );

    let out = window(
        &target,
        &store,
        &full,
        &delta_dir,
        &book,
        &["--delete-accounts"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));

    let status = common::status_text(&store);
    assert!(
        status.contains("deletion") && status.contains("deleted"),
        "status shows the deletion stages: {status}"
    );
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["report", "--format", "md", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("| account deletions | 1 | 0 | 1 |"),
        "the report counts what was deleted: {report}"
    );
    let reference = at_the_switch(dir.path()).await;
    assert_eq!(
        actual(&target.sim().dump()),
        actual(&reference.sim().dump()),
        "the target equals one import of the old system at the switch"
    );
    let dump = target.sim().dump();
    assert_eq!(
        dump["deleted_accounts"],
        json!(["u8"]),
        "{}",
        dump["deleted_accounts"]
    );
    let counts = target.sim().counts();
    for api in [
        Api::AdminMsgWithdraw,
        Api::GroupMsgRecall,
        Api::DeleteGroupMember,
        Api::DestroyGroup,
        Api::FriendDelete,
        Api::AccountDelete,
    ] {
        assert_eq!(calls(&counts, api), 1, "{api}: one call: {counts:?}");
    }

    // Run again: nothing is deleted twice.
    let before = target.sim().counts();
    let out = window(
        &target,
        &store,
        &full,
        &delta_dir,
        &book,
        &["--delete-accounts"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    for api in [
        Api::AccountDelete,
        Api::FriendDelete,
        Api::DestroyGroup,
        Api::GroupMsgRecall,
    ] {
        let now = target.sim().counts();
        assert_eq!(
            calls(&now, api),
            calls(&before, api),
            "{api} not sent again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_deleting_more_than_the_allowed_share_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, delta_dir, book) = precopied(dir.path(), 0.01).await;
    let before = target.sim().counts();
    let out = window(
        &target,
        &store,
        &full,
        &delta_dir,
        &book,
        &["--delete-accounts"],
    );
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("max_delete_share"), "{text}");
    assert!(text.contains("imported"), "names the numbers: {text}");
    let deletions = |c: &BTreeMap<(Api, i64), u64>| -> u64 {
        [
            Api::AccountDelete,
            Api::FriendDelete,
            Api::DestroyGroup,
            Api::DeleteGroupMember,
            Api::GroupMsgRecall,
            Api::AdminMsgWithdraw,
        ]
        .map(|api| calls(c, api))
        .iter()
        .sum()
    };
    assert_eq!(
        deletions(&target.sim().counts()),
        deletions(&before),
        "no deletion was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_gone_from_the_key_sets_are_deleted_like_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, _, book) = precopied(dir.path(), 0.7).await;
    // A delta with the new records only, and every kind's whole key set at the switch: what
    // was deleted outright left no row, only a gap in its key set.
    let hard = dir.path().join("hard");
    let now = old_system(true);
    let upserts = vec![
        ("accounts", vec![account("u9")]),
        ("friends", vec![friend("u9", "u1")]),
    ];
    write(&hard, &upserts, true);
    std::fs::create_dir_all(hard.join("keys")).unwrap();
    for (file, records) in &now {
        let lines: String = records
            .iter()
            .map(|r| format!("{}\n", key_of(file, r)))
            .collect();
        std::fs::write(hard.join("keys").join(format!("{file}.jsonl")), lines).unwrap();
    }
    let out = window(&target, &store, &full, &hard, &book, &["--delete-accounts"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("gone from the key sets"),
        "the preflight says what the key sets delete: {}",
        said(&out)
    );
    let reference = at_the_switch(dir.path()).await;
    assert_eq!(
        actual(&target.sim().dump()),
        actual(&reference.sim().dump()),
        "the target equals one import of the old system at the switch"
    );
    assert_eq!(target.sim().dump()["deleted_accounts"], json!(["u8"]));
    // The destroyed group's members and messages left the key sets too: they go with the
    // group, not one call each.
    let counts = target.sim().counts();
    assert_eq!(
        calls(&counts, Api::GroupMsgRecall),
        1,
        "only gm2, of ga: {counts:?}"
    );
    assert_eq!(
        calls(&counts, Api::DeleteGroupMember),
        1,
        "only ga's u3: {counts:?}"
    );
    assert_eq!(calls(&counts, Api::DestroyGroup), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_with_a_hole_stops_staging_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, _, book) = precopied(dir.path(), 0.7).await;
    let hard = dir.path().join("hard");
    write(&hard, &[], true);
    std::fs::create_dir_all(hard.join("keys")).unwrap();
    std::fs::write(
        hard.join("keys").join("friends.jsonl"),
        "{\"owner\": \"u1\", \"friend\": \"u2\"}\n{\"owner\": \"u2\"}\n",
    )
    .unwrap();
    let before = target.sim().counts();
    let out = window(&target, &store, &full, &hard, &book, &["--delete-accounts"]);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("friends.jsonl:2"),
        "names the file and line: {text}"
    );
    assert!(text.contains("\"friend\""), "names the field: {text}");
    assert_eq!(
        calls(&target.sim().counts(), Api::FriendDelete),
        calls(&before, Api::FriendDelete),
        "nothing deleted"
    );
}
