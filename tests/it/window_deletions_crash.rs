//! A window killed (SIGKILL) during its deletions, then resumed: the target ends as one import
//! of the old system at the switch, each deletion API makes the calls an uninterrupted window
//! makes, and only what a kill left unrecorded is sent again, answered as a repeat.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::window_deletions::{
    assert_like_the_old_system_at_the_switch, calls, exports, precopied, precopy, run_at, said,
    window,
};

use common::engine::app_config;
use common::proxy::{Exchange, Proxy};
use cutover::store::{open_for_reading, queries, Kind};
use cutover::tim::api::Api;
use cutover::tim::wire::deletion::repeat_means_done;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// Deletions enough for several calls of every deletion API but `account_delete`.
const MORE: usize = 30;

/// A runbook that lets the window delete nearly all of a kind (its verification reads back the
/// delta and the pre-copy's sample, leaving out what the window deleted).
const BOOK: &str = "[window]\nmax_delete_share = 1.0\n";

/// The deletions a request of a deletion API carries, each by a key of its own.
fn keys(command: &str, req: &Value) -> Vec<String> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let list = |field: &str| req[field].as_array().cloned().unwrap_or_default();
    let (from, group) = (s(&req["From_Account"]), s(&req["GroupId"]));
    match command {
        "account_delete" => list("DeleteItem").iter().map(|i| s(&i["UserID"])).collect(),
        "friend_delete" => list("To_Account")
            .iter()
            .map(|to| format!("{from}>{}", s(to)))
            .collect(),
        "admin_msgwithdraw" => vec![format!(
            "{from}>{}:{}",
            s(&req["To_Account"]),
            s(&req["MsgKey"])
        )],
        "group_msg_recall" => list("MsgSeqList")
            .iter()
            .map(|i| format!("{group}#{}", i["MsgSeq"]))
            .collect(),
        "delete_group_member" => list("MemberToDel_Account")
            .iter()
            .map(|m| format!("{group}/{}", s(m)))
            .collect(),
        "destroy_group" => vec![group],
        _ => Vec::new(),
    }
}

/// How many of a request's `keys` its answer says were deleted already (the code a repeat
/// answers, §4.7b), where the answer tells: group_msg_recall and delete_group_member answer
/// a repeat as a success.
fn answered_as_repeats(api: Api, keys: &[String], answer: &Value) -> usize {
    let top = answer["ErrorCode"].as_i64().unwrap_or(0);
    if top != 0 {
        return if repeat_means_done(api, top) {
            keys.len()
        } else {
            0
        };
    }
    let items = answer["ResultItem"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|i| i["ResultCode"].as_i64())
        .filter(|code| repeat_means_done(api, *code))
        .count()
}

/// Per deletion API: every key the proxy saw sent, with how many times.
fn sends(log: &[Exchange]) -> BTreeMap<&'static str, BTreeMap<String, usize>> {
    let mut out: BTreeMap<&'static str, BTreeMap<String, usize>> = BTreeMap::new();
    for kind in Kind::DELETIONS {
        let command = kind.api().command();
        let mine = out.entry(command).or_default();
        for e in log.iter().filter(|e| e.command == command) {
            for key in keys(command, &e.request) {
                *mine.entry(key).or_default() += 1;
            }
        }
    }
    out
}

/// Per deletion API, what the proxy saw: calls that carried a deletion sent for the first
/// time, and deletions answered as repeats.
fn first_calls_and_repeats(log: &[Exchange]) -> BTreeMap<&'static str, (u64, usize)> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeMap::new();
    for kind in Kind::DELETIONS {
        let (api, command) = (kind.api(), kind.api().command());
        let (mut first, mut repeats) = (0, 0);
        for e in log.iter().filter(|e| e.command == command) {
            let keys = keys(command, &e.request);
            let fresh = keys
                .iter()
                .filter(|k| seen.insert((command, (*k).clone())))
                .count();
            first += u64::from(fresh > 0);
            repeats += e
                .answer
                .as_ref()
                .map_or(0, |a| answered_as_repeats(api, &keys, a));
        }
        out.insert(command, (first, repeats));
    }
    out
}

/// Per deletion API, the calls an uninterrupted window makes (a target and store of its own
/// under `dir`).
async fn uninterrupted_calls(dir: &Path) -> BTreeMap<&'static str, u64> {
    let (target, store, full, delta_dir, book) = precopied(dir, MORE, BOOK).await;
    let extra = ["--delete-accounts"];
    let out = window(&target, &store, &full, &delta_dir, &book, &extra);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let counts = target.sim().counts();
    let needed: BTreeMap<&str, u64> = Kind::DELETIONS
        .map(|k| (k.api().command(), calls(&counts, k.api())))
        .into_iter()
        .collect();
    let several = [
        Api::AdminMsgWithdraw,
        Api::GroupMsgRecall,
        Api::DestroyGroup,
        Api::FriendDelete,
    ];
    for api in several {
        let n = needed[api.command()];
        assert!(n > 3, "{api} takes several calls: {needed:?}");
    }
    needed
}

/// Runs `cmd` until the proxy holds its `round`-th answer back (a request of `struck` applied
/// on the target, unanswered), then kills it (SIGKILL). Per deletion API: the deletions sent
/// whose outcome the store does not hold — the only ones the next run may send again.
async fn kill_at_hold(
    mut cmd: Command,
    proxy: &Proxy,
    round: usize,
    struck: &str,
    store: &Path,
) -> BTreeMap<&'static str, u64> {
    let mut child = cmd.spawn().unwrap();
    let (ended, _) = common::wait_for(
        &format!("a {struck} applied and its answer held back"),
        common::PATIENCE,
        || (child.try_wait().unwrap(), proxy.held()),
        |(ended, held)| ended.is_some() || *held > round,
    )
    .await;
    assert_eq!(ended, None, "the run is killed during its deletions");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let conn = open_for_reading(store).unwrap();
    let items = queries::item_counts(&conn).unwrap();
    let sent = sends(&proxy.log());
    let mut unrecorded = BTreeMap::new();
    for kind in Kind::DELETIONS {
        let command = kind.api().command();
        let [pending, done, ..] = items.get(&kind).copied().unwrap_or_default();
        let sent = sent[command].len() as u64;
        assert!(done <= sent, "{command}: {done} done, {sent} sent");
        unrecorded.insert(command, sent - done);
        if command == struck {
            assert!(pending > 0, "killed with {command}s still to send");
        }
    }
    unrecorded
}

/// What the proxy saw after the last run: per deletion API, as many calls as `needed`
/// (counting those that carried a deletion for the first time); a deletion sent again only
/// within what `unrecorded` allows, at most once, and answered as a repeat where the API
/// tells; the held requests sent again.
fn assert_nothing_deleted_twice(
    log: &[Exchange],
    needed: &BTreeMap<&str, u64>,
    unrecorded: &BTreeMap<&str, u64>,
) {
    let sent = sends(log);
    let seen = first_calls_and_repeats(log);
    for (command, keys) in &sent {
        let again: usize = keys.values().map(|n| n - 1).sum();
        let (first, repeats) = seen[command];
        let allowed = unrecorded.get(command).copied().unwrap_or(0);
        let figures = format!(
            "{command}: {first} calls (uninterrupted: {}), {again} deletions sent again \
             ({repeats} answered as repeats), {allowed} unrecorded at a kill",
            needed[command]
        );
        assert_eq!(first, needed[command], "{figures}");
        let only_unrecorded = again as u64 <= allowed;
        assert!(
            only_unrecorded,
            "only what a kill left unrecorded goes again: {figures}"
        );
        assert!(keys.values().all(|n| *n <= 2), "{figures}: {keys:?}");
        if !matches!(*command, "group_msg_recall" | "delete_group_member") {
            assert_eq!(
                repeats, again,
                "sent again, answered as a repeat: {figures}"
            );
        }
    }
    // The held requests were applied and never answered: the resumed run sent them again.
    for e in log.iter().filter(|e| e.held) {
        for key in keys(&e.command, &e.request) {
            let n = sent[e.command.as_str()][&key];
            assert_eq!(n, 2, "{} {key} replayed", e.command);
        }
    }
}

/// SIGKILL twice during the deletions — with a withdrawal, then a friend deletion applied on
/// the target and its answer never come back — then a run to the end: the target ends as one
/// import of the old system at the switch, nothing is left or failed, each deletion API made
/// the calls an uninterrupted window makes, and only what was sent and not recorded at a kill
/// was sent again (answered with the code a repeat answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_killed_during_its_deletions_resumes_to_the_same_end_deleting_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let needed = uninterrupted_calls(&dir.path().join("uninterrupted")).await;

    let target = common::sim(app_config()).await;
    let holds = [("admin_msgwithdraw", 5), ("friend_delete", 5)];
    let proxy = Proxy::start(&target.url(), &holds).await;
    let (full, delta_dir, book) = exports(dir.path(), MORE, BOOK);
    let store = dir.path().join("phased.db");
    precopy(&proxy.url(), &store, &full);
    let (delta_arg, book_arg) = (delta_dir.to_str().unwrap(), book.to_str().unwrap());
    let args = [
        "--phase", "window", "--delta", delta_arg, "--config", book_arg,
    ];
    let args = [&args[..], &["--delete-accounts"]].concat();
    let mut unrecorded: BTreeMap<&str, u64> = BTreeMap::new();
    for (round, (struck, _)) in holds.iter().enumerate() {
        let cmd = run_at(&proxy.url(), &store, &full, &args);
        for (command, n) in kill_at_hold(cmd, &proxy, round, struck, &store).await {
            *unrecorded.entry(command).or_default() += n;
        }
    }
    let out = run_at(&proxy.url(), &store, &full, &args)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));

    assert_like_the_old_system_at_the_switch(dir.path(), &target, MORE).await;
    let conn = open_for_reading(&store).unwrap();
    let items = queries::item_counts(&conn).unwrap();
    for kind in Kind::DELETIONS {
        let [pending, _, failed, _] = items.get(&kind).copied().unwrap_or_default();
        let left = (pending, failed);
        assert_eq!(left, (0, 0), "{kind:?}: nothing left, nothing failed");
    }
    assert_nothing_deleted_twice(&proxy.log(), &needed, &unrecorded);
}
