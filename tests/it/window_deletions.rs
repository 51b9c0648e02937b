//! A window that carries deletions (`cutover run --phase window` with tombstones): after a
//! pre-copy, a delta deleting records of every kind ends in the state of one import of the old
//! system as it is at the switch; too large a share is refused before any call; accounts wait
//! for their own confirmation. (Killed during its deletions: `window_deletions_crash`.)
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{actual, app_config, run_to_end as run, with_app_keys};
use cutover::sim::SimHandle;
use cutover::tim::api::Api;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PRECOPY_AT: i64 = 1_732_000_000;
const DELTA_AT: i64 = 1_732_003_600;

pub(crate) fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub(crate) fn write(dir: &Path, files: &[(&str, Vec<Value>)], delta: bool) {
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
pub(crate) fn calls(counts: &BTreeMap<(Api, i64), u64>, api: Api) -> u64 {
    counts
        .iter()
        .filter(|((a, _), _)| *a == api)
        .map(|(_, n)| *n)
        .sum()
}

pub(crate) fn account(id: &str) -> Value {
    json!({"id": id, "nick": format!("nick {id}")})
}
pub(crate) fn friend(owner: &str, to: &str) -> Value {
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

/// The old system at the pre-copy (`!at_switch`), or at the switch (with the delta's
/// deletions and additions applied, and a destroyed group's members and messages gone).
/// `more` adds that many accounts `x1`…, each with a friend entry to `u1` and a membership of
/// `ga`, that many one-to-one and `ga` messages, and one group in five as many: all of them
/// deleted by the switch but the accounts.
pub(crate) fn old_system(more: usize, at_switch: bool) -> Vec<(&'static str, Vec<Value>)> {
    let keep = |v: Vec<Value>, gone: &[Value]| -> Vec<Value> {
        v.into_iter()
            .filter(|r| !at_switch || !gone.contains(r))
            .collect()
    };
    let xs: Vec<String> = (1..=more).map(|i| format!("x{i}")).collect();
    let extra = more as i64;
    let mut accounts: Vec<Value> = (1..=8).map(|i| account(&format!("u{i}"))).collect();
    accounts.extend(xs.iter().map(|x| account(x)));
    let mut friends = vec![friend("u1", "u2"), friend("u2", "u1"), friend("u3", "u4")];
    friends.extend(xs.iter().map(|x| friend(x, "u1")));
    if at_switch {
        accounts.retain(|a| a["id"] != "u8");
        accounts.push(account("u9"));
        friends.truncate(2);
        friends.push(friend("u9", "u1"));
    }
    let c2c_gone: Vec<Value> = std::iter::once(3).chain(10..10 + extra).map(c2c).collect();
    let mut gms: Vec<Value> = (0..6)
        .map(|i| group_msg(i, if i % 2 == 0 { "ga" } else { "gb" }))
        .collect();
    let mut group_msgs_gone: Vec<Value> =
        gms.iter().filter(|m| m["group"] == "gb").cloned().collect();
    group_msgs_gone.push(group_msg(2, "ga"));
    let more_msgs: Vec<Value> = (6..6 + extra).map(|i| group_msg(i, "ga")).collect();
    gms.extend(more_msgs.iter().cloned());
    group_msgs_gone.extend(more_msgs);
    let mut groups = vec![group("ga", "u1"), group("gb", "u2")];
    groups.extend((1..=more / 5).map(|j| group(&format!("gc{j}"), "u1")));
    let mut members = vec![member("ga", "u2"), member("ga", "u3"), member("gb", "u3")];
    members.extend(xs.iter().map(|x| member("ga", x)));
    let groups_gone: Vec<Value> = groups.iter().skip(1).cloned().collect();
    let members_gone: Vec<Value> = members.iter().skip(1).cloned().collect();
    vec![
        ("accounts", accounts),
        ("friends", friends),
        (
            "c2c_messages",
            keep((0..10 + extra).map(c2c).collect(), &c2c_gone),
        ),
        ("groups", keep(groups, &groups_gone)),
        ("group_members", keep(members, &members_gone)),
        ("group_messages", keep(gms, &group_msgs_gone)),
    ]
}

/// The delta: a tombstone of every kind, a new account and a new friend entry; with `more`,
/// the tombstones of what [`old_system`] adds.
pub(crate) fn delta(more: usize) -> Vec<(&'static str, Vec<Value>)> {
    let gone = |v: Value| {
        let mut v = v;
        v["deleted"] = json!(true);
        v
    };
    let xs: Vec<String> = (1..=more).map(|i| format!("x{i}")).collect();
    let extra = more as i64;
    let mut friends = vec![
        friend("u9", "u1"),
        gone(json!({"owner": "u3", "friend": "u4"})),
    ];
    friends.extend(xs.iter().map(|x| gone(json!({"owner": x, "friend": "u1"}))));
    let c2c = std::iter::once(3).chain(10..10 + extra);
    let groups = std::iter::once("gb".to_string()).chain((1..=more / 5).map(|j| format!("gc{j}")));
    let members = std::iter::once("u3").chain(xs.iter().map(String::as_str));
    let group_msgs = std::iter::once(2).chain(6..6 + extra);
    vec![
        ("accounts", vec![account("u9"), gone(json!({"id": "u8"}))]),
        ("friends", friends),
        (
            "c2c_messages",
            c2c.map(|i| gone(json!({"id": format!("m{i}")}))).collect(),
        ),
        ("groups", groups.map(|g| gone(json!({"id": g}))).collect()),
        (
            "group_members",
            members
                .map(|m| gone(json!({"group": "ga", "member": m})))
                .collect(),
        ),
        (
            "group_messages",
            group_msgs
                .map(|i| gone(json!({"id": format!("gm{i}")})))
                .collect(),
        ),
    ]
}

/// A runbook allowing the window to delete `share` of a kind.
pub(crate) fn share(share: f64) -> String {
    format!("[window]\nmax_delete_share = {share}\n")
}

/// The exports and the runbook (its text `book`) written under `dir`: (full export, delta,
/// runbook). `more` as [`old_system`] takes it.
pub(crate) fn exports(dir: &Path, more: usize, book: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (full, delta_dir) = (dir.join("full"), dir.join("delta"));
    write(&full, &old_system(more, false), false);
    write(&delta_dir, &delta(more), true);
    let book_path = dir.join("runbook.toml");
    std::fs::write(&book_path, with_app_keys(book)).unwrap();
    (full, delta_dir, book_path)
}

/// The pre-copy of `full` into the target at `url`, through `store`.
pub(crate) fn precopy(url: &str, store: &Path, full: &Path) {
    let out = run_at(url, store, full, &["--phase", "precopy"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}

/// The pre-copy run into a fresh simulator: (target, store, full export, delta, runbook).
pub(crate) async fn precopied(
    dir: &Path,
    more: usize,
    book: &str,
) -> (SimHandle, PathBuf, PathBuf, PathBuf, PathBuf) {
    let (full, delta_dir, book_path) = exports(dir, more, book);
    let target = common::sim(app_config()).await;
    let store = dir.join("phased.db");
    precopy(&target.url(), &store, &full);
    (target, store, full, delta_dir, book_path)
}

pub(crate) fn window(
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

/// The target holds what one import of the old system at the switch holds, and `u8` is the
/// one account deleted.
pub(crate) async fn assert_like_the_old_system_at_the_switch(
    dir: &Path,
    target: &SimHandle,
    more: usize,
) {
    let reference_dir = dir.join("at-switch");
    write(&reference_dir, &old_system(more, true), false);
    let reference = common::sim(app_config()).await;
    let out = run(&reference, &dir.join("ref.db"), &reference_dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_with_deletions_ends_like_one_import_of_the_old_system_at_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, delta_dir, book) = precopied(dir.path(), 0, &share(0.5)).await;

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
    let report = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["report", "--format", "md", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("| account deletions | 1 | 0 | 1 |"),
        "the report counts what was deleted: {report}"
    );
    assert_like_the_old_system_at_the_switch(dir.path(), &target, 0).await;
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
    let (target, store, full, delta_dir, book) = precopied(dir.path(), 0, &share(0.01)).await;
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

/// `cutover run --headless` from `source` into `url` (the proxy) through `store`, with `args`;
/// not started yet.
pub(crate) fn run_at(url: &str, store: &Path, source: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(["run", "--headless", "--admin", common::ADMIN])
        .args(["--target-url", url])
        .args(["--sdkappid", &common::SDKAPPID.to_string()])
        .arg("--source")
        .arg(source)
        .arg("--store")
        .arg(store)
        .args(args)
        .env("CUTOVER_SECRET_KEY", common::KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}
