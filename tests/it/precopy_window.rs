//! The pre-copy/window workflow from outside (`cutover run --phase …`): a pre-copy of an export
//! followed by a delta ends in the same target state as one full import of the union, the
//! window's import calls are the delta's, and a delta that does not follow the store's
//! watermark is refused before any call.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{
    actual, app_config, group_names as names, run_command as command, run_to_end as run,
    with_app_keys,
};
use cutover::sim::config::SimConfig;
use cutover::sim::SimHandle;
use cutover::source::gen::{generate, GenConfig};
use cutover::store::{open_for_reading, stage};
use cutover::tim::api::Api;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The pre-copy's watermark, and the delta's.
const PRECOPY_AT: i64 = 1_732_000_000;
const DELTA_AT: i64 = 1_732_003_600;

/// Records per export file, in file order.
type Files = BTreeMap<&'static str, Vec<Value>>;

fn account(id: &str) -> Value {
    json!({"id": id, "nick": format!("nick {id}"), "created_at": 1_700_000_000})
}

fn c2c(id: usize, from: &str, to: &str, at: i64) -> Value {
    json!({"id": format!("m{id}"), "from": from, "to": to, "sent_at": at,
           "body": [{"type": "text", "text": format!("hello {id}")}]})
}

fn group(id: &str, name: &str, owner: &str) -> Value {
    json!({"id": id, "type": "public", "name": name, "owner": owner,
           "max_members": 200, "created_at": 1_700_000_100})
}

fn member(group: &str, member: &str) -> Value {
    json!({"group": group, "member": member, "joined_at": 1_700_000_200})
}

/// An owner row: the owner joined when the group was created.
fn owner(group: &str, member: &str) -> Value {
    json!({"group": group, "member": member, "role": "owner", "joined_at": 1_700_000_101})
}

/// A former owner, still a member since the group was created.
fn former_owner(group: &str, member: &str) -> Value {
    json!({"group": group, "member": member, "joined_at": 1_700_000_101})
}

fn group_msg(id: usize, group: &str, from: &str, at: i64) -> Value {
    json!({"id": format!("gm{id}"), "group": group, "from": from, "sent_at": at,
           "body": [{"type": "text", "text": format!("group hello {id}")}]})
}

/// What the old system held at the pre-copy.
fn precopy() -> Files {
    let users: Vec<String> = (1..=8).map(|i| format!("u{i}")).collect();
    let mut f = Files::new();
    f.insert("accounts", users.iter().map(|u| account(u)).collect());
    f.insert(
        "profiles",
        vec![
            json!({"id": "u1", "location": "Berlin"}),
            json!({"id": "u2", "location": "Paris"}),
        ],
    );
    f.insert(
        "friends",
        vec![
            json!({"owner": "u1", "friend": "u2", "source": "Contact", "added_at": 1_700_000_300}),
            json!({"owner": "u2", "friend": "u1", "source": "Contact", "added_at": 1_700_000_300}),
        ],
    );
    f.insert(
        "c2c_messages",
        (0..20)
            .map(|i| {
                c2c(
                    i,
                    &users[i % 4],
                    &users[(i + 1) % 4],
                    1_710_000_000 + i as i64,
                )
            })
            .collect(),
    );
    f.insert(
        "groups",
        vec![
            group("ga", "Old name", "u1"),
            group("gb", "Owner moves", "u2"),
            group("gc", "Grows", "u3"),
        ],
    );
    f.insert(
        "group_members",
        vec![
            member("ga", "u2"),
            owner("gb", "u2"),
            member("gb", "u3"),
            member("gc", "u4"),
            member("gc", "u5"),
        ],
    );
    f.insert(
        "group_messages",
        (0..12)
            .map(|i| group_msg(i, ["ga", "gb", "gc"][i % 3], "u1", 1_720_000_000 + i as i64))
            .collect(),
    );
    f
}

/// What changed before the window: two new accounts, a changed profile, a new friend pair,
/// new messages (one in the pre-copy's last second), a renamed group, a group with a new
/// owner, a group gaining members, and a new group.
fn delta() -> Files {
    let mut f = Files::new();
    f.insert("accounts", vec![account("u9"), account("u10")]);
    f.insert("profiles", vec![json!({"id": "u1", "location": "Lisbon"})]);
    f.insert(
        "friends",
        vec![
            json!({"owner": "u9", "friend": "u1", "source": "Contact", "added_at": 1_731_000_000}),
        ],
    );
    f.insert(
        "c2c_messages",
        (20..26)
            .map(|i| c2c(i, "u9", "u1", 1_731_000_000 + i as i64))
            .collect(),
    );
    f.insert(
        "groups",
        vec![
            group("ga", "New name", "u1"),
            group("gb", "Owner moves", "u6"),
            group("gd", "Fresh", "u10"),
        ],
    );
    f.insert(
        "group_members",
        vec![
            former_owner("gb", "u2"),
            owner("gb", "u6"),
            member("gc", "u9"),
            member("gc", "u10"),
            member("gd", "u1"),
        ],
    );
    let mut msgs = vec![group_msg(100, "ga", "u2", 1_720_000_009)];
    msgs.extend(
        (101..105).map(|i| group_msg(i, ["ga", "gc", "gd"][i % 3], "u1", 1_731_100_000 + i as i64)),
    );
    f.insert("group_messages", msgs);
    f
}

/// A second delta, after the first (a rehearsal's, then the window's): a group renamed again,
/// a new message in it, one more member.
fn second_delta() -> Files {
    let mut f = Files::new();
    f.insert("groups", vec![group("ga", "Newer name", "u1")]);
    f.insert("group_members", vec![member("ga", "u9")]);
    f.insert(
        "group_messages",
        vec![group_msg(200, "ga", "u9", 1_731_200_000)],
    );
    f
}

/// The pre-copy with the first delta applied: what one full import would see.
fn union() -> Files {
    union_of(&[delta()])
}

/// The pre-copy with `deltas` applied in order.
fn union_of(deltas: &[Files]) -> Files {
    let key = |file: &str, v: &Value| -> String {
        match file {
            "friends" => format!("{}>{}", v["owner"], v["friend"]),
            "group_members" => format!("{}>{}", v["group"], v["member"]),
            _ => v["id"].to_string(),
        }
    };
    let mut all = precopy();
    for (file, records) in deltas.iter().flatten().map(|(f, r)| (*f, r.clone())) {
        let list = all.entry(file).or_default();
        for r in records {
            match list.iter().position(|old| key(file, old) == key(file, &r)) {
                Some(i) => list[i] = r,
                None => list.push(r),
            }
        }
    }
    all
}

fn write_export(dir: &Path, files: &Files, manifest: Value) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    for (name, records) in files {
        let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(dir.join(format!("{name}.jsonl")), lines).unwrap();
    }
}

fn manifest(at: i64, delta_of: Option<i64>) -> Value {
    let mut m =
        json!({"format": "cutover-export", "version": 1, "exported_at": at, "watermark": at});
    if let Some(d) = delta_of {
        m["delta_of"] = json!(d);
    }
    m
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Requests per API that the target took (answered 0).
fn calls(handle: &SimHandle) -> BTreeMap<Api, u64> {
    let mut out = BTreeMap::new();
    for ((api, outcome), n) in handle.sim().counts() {
        if outcome == 0 {
            *out.entry(api).or_default() += n;
        }
    }
    out
}

/// Imports `union` whole into a fresh simulator and asserts `target` ended the same: accounts,
/// friends, messages, groups with their owners and names, members.
async fn assert_same_as_one_import(target: &SimHandle, dir: &Path, union: &Path) {
    assert_same_as_one_import_into(target, dir, union, app_config()).await;
}

/// [`assert_same_as_one_import`] into a simulator configured as `config`.
async fn assert_same_as_one_import_into(
    target: &SimHandle,
    dir: &Path,
    union: &Path,
    config: SimConfig,
) {
    let reference = common::sim(config).await;
    let out = run(&reference, &dir.join("union.db"), union, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(
        actual(&target.sim().dump()),
        actual(&reference.sim().dump())
    );
    assert_eq!(names(target), names(&reference), "group names");
}

/// The pre-copy, the delta and their union written under `dir`, and the pre-copy run into a
/// fresh simulator: (target, store, full export, delta, union).
async fn precopied(dir: &Path) -> (SimHandle, PathBuf, PathBuf, PathBuf, PathBuf) {
    let (full, delta_dir, whole) = (dir.join("full"), dir.join("delta"), dir.join("union"));
    write_export(&full, &precopy(), manifest(PRECOPY_AT, None));
    write_export(&delta_dir, &delta(), manifest(DELTA_AT, Some(PRECOPY_AT)));
    write_export(&whole, &union(), manifest(DELTA_AT, None));
    let target = common::sim(app_config()).await;
    let store = dir.join("phased.db");
    let out = run(&target, &store, &full, &["--phase", "precopy"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("pre-copy: the old system stays live"),
        "{}",
        said(&out)
    );
    (target, store, full, delta_dir, whole)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_precopy_then_a_delta_ends_like_one_import_of_the_union() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, delta_dir, whole) = precopied(dir.path()).await;
    let before = calls(&target);
    let out = run(
        &target,
        &store,
        &full,
        &["--phase", "window", "--delta", delta_dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("of the pre-copy"),
        "the window verifies the delta whole and samples the pre-copy: {}",
        said(&out)
    );
    let after = calls(&target);
    let window =
        |api| after.get(&api).copied().unwrap_or(0) - before.get(&api).copied().unwrap_or(0);
    assert_same_as_one_import(&target, dir.path(), &whole).await;
    // The window imported the delta only: its records, one call each where the API takes one.
    assert_eq!(
        window(Api::ImportMsg),
        6,
        "one importmsg per new one-to-one message"
    );
    assert_eq!(
        window(Api::AccountImport) + window(Api::MultiaccountImport),
        1,
        "the two new accounts"
    );
    assert_eq!(window(Api::ImportGroup), 1, "only the new group is created");
    assert_eq!(window(Api::ModifyGroupBaseInfo), 1, "the renamed group");
    assert_eq!(
        window(Api::ChangeGroupOwner),
        1,
        "the group with a new owner"
    );
    assert_eq!(
        target.sim().count(Api::ImportGroup, 10021),
        0,
        "no group created twice"
    );
    let sent_again = window(Api::ImportGroupMsg);
    assert!(
        (1..=3).contains(&sent_again),
        "one batch per group with new messages: {sent_again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_that_does_not_follow_the_store_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let (full, delta_dir) = (dir.path().join("full"), dir.path().join("delta"));
    write_export(&full, &precopy(), manifest(PRECOPY_AT, None));
    write_export(
        &delta_dir,
        &delta(),
        manifest(DELTA_AT, Some(PRECOPY_AT - 60)),
    );
    let target = common::sim(app_config()).await;
    let store = dir.path().join("phased.db");
    let out = run(&target, &store, &full, &["--phase", "precopy"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let before = target.sim().counts();
    let out = run(
        &target,
        &store,
        &full,
        &["--phase", "window", "--delta", delta_dir.to_str().unwrap()],
    );
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&(PRECOPY_AT - 60).to_string()) && text.contains(&PRECOPY_AT.to_string()),
        "names both watermarks: {text}"
    );
    assert_eq!(target.sim().counts(), before, "no call was made");

    // A pre-copy needs a watermark for a delta to follow.
    let bare = dir.path().join("bare");
    write_export(
        &bare,
        &precopy(),
        json!({"format": "cutover-export", "version": 1, "exported_at": 1}),
    );
    let out = run(
        &target,
        &dir.path().join("other.db"),
        &bare,
        &["--phase", "precopy"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("needs a watermark"), "{}", said(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_killed_during_the_delta_import_resumes_to_the_same_end_state() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, delta_dir, whole) = precopied(dir.path()).await;

    // One-to-one messages at 2/s: the window is still importing when it is killed.
    let slow = dir.path().join("slow.toml");
    std::fs::write(&slow, with_app_keys("[limits.importmsg]\nrate = 2\n")).unwrap();
    let delta_arg = delta_dir.to_str().unwrap();
    let args = [
        "--phase",
        "window",
        "--delta",
        delta_arg,
        "--config",
        slow.to_str().unwrap(),
    ];
    let mut child = command(&target, &store, &full, &args).spawn().unwrap();
    let sent = || target.sim().count(Api::ImportMsg, 0);
    common::wait_for("the delta import under way", common::PATIENCE, sent, |n| {
        *n >= 1
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let out = run(&target, &store, &full, &args);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));

    assert_same_as_one_import(&target, dir.path(), &whole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_in_a_row_each_follow_the_one_before() {
    const SECOND_AT: i64 = DELTA_AT + 3_600;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    write_export(&path("full"), &precopy(), manifest(PRECOPY_AT, None));
    write_export(&path("d1"), &delta(), manifest(DELTA_AT, Some(PRECOPY_AT)));
    write_export(
        &path("d2"),
        &second_delta(),
        manifest(SECOND_AT, Some(DELTA_AT)),
    );
    let both = union_of(&[delta(), second_delta()]);
    write_export(&path("union"), &both, manifest(SECOND_AT, None));
    let target = common::sim(app_config()).await;
    let store = path("phased.db");
    let out = run(&target, &store, &path("full"), &["--phase", "precopy"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    for d in ["d1", "d2"] {
        let delta_dir = path(d);
        let args = ["--phase", "window", "--delta", delta_dir.to_str().unwrap()];
        let out = run(&target, &store, &path("full"), &args);
        assert_eq!(out.status.code(), Some(0), "{d}: {}", said(&out));
    }
    assert_same_as_one_import(&target, dir.path(), &path("union")).await;
}

/// Staging commits in chunks: a run killed (SIGKILL) after its first chunk committed, with
/// more of the export to stage, resumes after that chunk and ends as one uninterrupted run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_during_staging_resumes_to_the_same_end_state() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("generated");
    // ~75 k records: two staging chunks, the second one seconds of work after the first.
    let config = GenConfig {
        seed: 7,
        accounts: 1_200,
        friends_per_account: 60.0,
        c2c_messages: 300,
        groups: 10,
        members_per_group: 5.0,
        group_messages: 200,
        exported_at: PRECOPY_AT,
        ..GenConfig::default()
    };
    generate(&config, &export).unwrap();
    // Limits lifted: the point is staging, not the import's pace.
    let target = common::sim(app_config().unlimited()).await;
    let store = dir.path().join("killed.db");
    let mut child = command(&target, &store, &export, &[]).spawn().unwrap();
    let staged_lines = || {
        let conn = open_for_reading(&store).ok()?;
        stage::unfinished_lines(&conn).ok().flatten()
    };
    common::wait_for(
        "a first staging chunk",
        common::PATIENCE,
        staged_lines,
        |n| n.is_some_and(|n| n > 0),
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = staged_lines().unwrap();
    assert!(
        left < u64::from(config.accounts) * 61,
        "killed while staging: {left} lines committed"
    );

    let out = run(&target, &store, &export, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(staged_lines(), None, "the staging finished");
    assert_same_as_one_import_into(&target, dir.path(), &export, app_config().unlimited()).await;
}
