//! Read-back verification against the simulator: a clean import verifies whole; after the
//! target is tampered with, exactly the tampered items are reported.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, import, runbook, sample_data};
use cutover::config::Runbook;
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::store::verify::mismatches;
use cutover::store::{open_for_reading, pair_key, Kind};
use cutover::verify::{Progress, Summary};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// Read-back of everything, with no retention limit (the simulator keeps all history).
const VERIFY_ALL: &str = "[verify]\nroaming_days = 0\n";

async fn verify(rb: Runbook) -> Summary {
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    runner
        .verify(Arc::new(Progress::default()), stop)
        .await
        .unwrap()
}

/// The sample export plus one account nothing else refers to.
fn export_with_a_lone_account(dir: &Path) -> std::path::PathBuf {
    let export = dir.join("export");
    std::fs::create_dir(&export).unwrap();
    for entry in std::fs::read_dir(sample_data()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), export.join(entry.file_name())).unwrap();
    }
    let accounts = export.join("accounts.jsonl");
    let mut text = std::fs::read_to_string(&accounts).unwrap();
    text.push_str("{\"id\":\"u-lone\",\"nick\":\"Lone\"}\n");
    std::fs::write(&accounts, text).unwrap();
    export
}

/// The first imported record of `file` that `pick` accepts.
fn first_record(export: &Path, file: &str, pick: impl Fn(&Value) -> bool) -> Value {
    std::fs::read_to_string(export.join(file))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| pick(v))
        .unwrap()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_import_verifies_whole_and_tampering_is_found_exactly() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = export_with_a_lone_account(dir.path());
    let rb = || runbook(&handle, &export, &store, VERIFY_ALL);
    assert_eq!(import(rb()).await, Ending::Complete);

    let clean = verify(rb()).await;
    assert!(clean.finished, "{:?}", clean.unread_units);
    let listed = mismatches(&open_for_reading(&store).unwrap(), None, 20).unwrap();
    for c in &clean.counts {
        assert_eq!(
            (c.verified, c.mismatched(), c.unchecked, c.unreadable),
            (c.imported, 0, 0, 0),
            "{:?}: every imported item reads back as it should: {listed:#?}",
            c.kind
        );
    }
    // Records only: this export deletes nothing.
    let records =
        |c: &&cutover::store::verify::EntityCounts| c.kind.is_some_and(|k| k.deletes().is_none());
    assert!(clean.counts.iter().filter(records).all(|c| c.imported > 0));

    // Tamper with the target: one imported item of every kind but profiles.
    let conn = open_for_reading(&store).unwrap();
    let imported = |kind: Kind, key: String| -> bool {
        conn.query_row(
            "SELECT state = 1 FROM item WHERE kind = ?1 AND key = ?2",
            rusqlite::params![kind.code(), key],
            |r| r.get(0),
        )
        .unwrap_or(false)
    };
    let friend = first_record(&export, "friends.jsonl", |v| {
        v["owner"].is_string() && imported(Kind::Friend, pair_key(&s(v, "owner"), &s(v, "friend")))
    });
    let member = first_record(&export, "group_members.jsonl", |v| {
        v["role"].as_str() != Some("owner")
            && v["group"] == "g000002"
            && imported(Kind::GroupMember, pair_key("g000002", &s(v, "member")))
    });
    let gmsg = first_record(&export, "group_messages.jsonl", |v| {
        v["group"] == "g000003" && imported(Kind::GroupMessage, s(v, "id"))
    });
    let cmsg = first_record(&export, "c2c_messages.jsonl", |v| {
        v["id"].is_string() && imported(Kind::C2cMessage, s(v, "id"))
    });
    handle.sim().with_state(|st| {
        assert!(st.forget_account("u-lone"));
        let owner = st.account_idx(&s(&friend, "owner")).unwrap();
        let other = st.account_idx(&s(&friend, "friend")).unwrap();
        assert!(st.account_mut(owner).friends.remove(&other).is_some());
        st.groups.get_mut("g000001").unwrap().name = "Renamed".into();
        let m = st.account_idx(&s(&member, "member")).unwrap();
        let g = st.groups.get_mut("g000002").unwrap();
        let before = g.members.len();
        g.members.retain(|x| x.account != m);
        assert_eq!(g.members.len(), before - 1);
        let from = st.account_idx(&s(&gmsg, "from")).unwrap();
        let g = st.groups.get_mut("g000003").unwrap();
        let at = g
            .msgs
            .iter()
            .position(|x| x.from == from && x.time == gmsg["sent_at"].as_i64().unwrap())
            .unwrap();
        g.msgs.remove(at);
        let (a, b) = (
            st.account_idx(&s(&cmsg, "from")).unwrap(),
            st.account_idx(&s(&cmsg, "to")).unwrap(),
        );
        let conv = st.conversations.get_mut(&(a.min(b), a.max(b))).unwrap();
        let at = conv
            .msgs
            .iter()
            .position(|x| x.time == cmsg["sent_at"].as_i64().unwrap() && x.from == a)
            .unwrap();
        conv.msgs.remove(at);
    });

    let after = verify(rb()).await;
    assert!(after.finished, "{:?}", after.unread_units);
    let found: BTreeSet<(Kind, String, &str)> = mismatches(&conn, None, 100)
        .unwrap()
        .into_iter()
        .map(|m| (m.kind, m.record, m.what))
        .collect();
    let want: BTreeSet<(Kind, String, &str)> = [
        (Kind::Account, "u-lone".to_string(), "missing"),
        (
            Kind::Friend,
            format!("{}→{}", s(&friend, "owner"), s(&friend, "friend")),
            "missing",
        ),
        (Kind::Group, "g000001".to_string(), "differs"),
        (
            Kind::GroupMember,
            format!("g000002/{}", s(&member, "member")),
            "missing",
        ),
        (Kind::GroupMessage, s(&gmsg, "id"), "missing"),
        (Kind::C2cMessage, s(&cmsg, "id"), "missing"),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, want);
    let renamed = mismatches(&conn, Some(Kind::Group), 10).unwrap();
    assert_eq!(
        renamed[0].detail,
        r#"Name: expected "Run club 0", found "Renamed""#
    );
    assert_eq!(after.mismatched(), 6);
}

fn cli_verify(store: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["verify", "--roaming-days", "0", "--store"])
        .arg(store)
        .args(extra)
        .env("CUTOVER_SECRET_KEY", common::KEY)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_verify_uses_the_stores_target_and_exits_6_on_a_mismatch() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    let rb = runbook(&handle, &sample_data(), &store, VERIFY_ALL);
    assert_eq!(import(rb).await, Ending::Complete);

    let store_for_cli = store.clone();
    let (code, text) =
        tokio::task::spawn_blocking(move || cli_verify(&store_for_cli, &["--sample", "0.5"]))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("step verify: done"), "{text}");
    let conn = open_for_reading(&store).unwrap();
    let pass = cutover::store::verify::pass(&conn).unwrap().unwrap();
    let (read, all) = pass.sampled_units["group_messages"];
    assert!(
        read < all,
        "half the groups' messages are read back: {read} of {all}"
    );

    handle
        .sim()
        .with_state(|st| st.groups.get_mut("g000005").unwrap().name = "Other".into());
    let store_for_cli = store.clone();
    let (code, text) = tokio::task::spawn_blocking(move || cli_verify(&store_for_cli, &[]))
        .await
        .unwrap();
    assert_eq!(code, Some(6), "{text}");
    assert!(text.contains("g000005 differs: Name"), "{text}");

    let status = common::status_text(&store);
    assert!(status.contains("mismatched"), "{status}");
    assert!(status.contains("verification: finished"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_pass_carries_on_without_reading_again_what_it_has() {
    use cutover::store::verify::{record, ItemResult, Outcome};
    use cutover::tim::api::Api;
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    let rb = || runbook(&handle, &sample_data(), &store, VERIFY_ALL);
    assert_eq!(import(rb()).await, Ending::Complete);

    // Stopped before it read anything: unfinished, nothing checked, the step says so.
    let (stop_tx, stop) = tokio::sync::watch::channel(true);
    let runner = Runner::new(rb(), RunOptions::default()).unwrap();
    let stopped = runner
        .verify(Arc::new(Progress::default()), stop)
        .await
        .unwrap();
    drop(stop_tx);
    assert!(!stopped.finished);
    assert_eq!(stopped.counts.iter().map(|c| c.verified).sum::<u64>(), 0);

    // As if the stopped pass had read every account: the next one must not read them again.
    let mut conn = cutover::store::open_for_writing(&store).unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM item WHERE kind = 0 AND state = 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let results: Vec<ItemResult> = ids
        .iter()
        .map(|id| ItemResult {
            kind: Kind::Account,
            id: *id,
            outcome: Outcome::Verified,
            detail: String::new(),
        })
        .collect();
    record(&mut conn, &results, &[]).unwrap();
    drop(conn);
    let before = handle.sim().count(Api::AccountCheck, 0);
    let resumed = verify(rb()).await;
    assert!(resumed.finished);
    assert_eq!(
        handle.sim().count(Api::AccountCheck, 0),
        before,
        "accounts were not read again"
    );
    assert!(handle.sim().count(Api::FriendCheck, 0) > 0);
    for c in &resumed.counts {
        assert_eq!(
            (c.verified, c.mismatched()),
            (c.imported, 0),
            "{:?}",
            c.kind
        );
    }
}

/// Pages of two items: every scope (an owner's friends, a group's members and messages, a
/// conversation) still comes whole and every imported item is checked exactly once, as with
/// the default page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_two_items_verify_every_item_once() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = export_with_a_lone_account(dir.path());
    let rb = |extra: &str| runbook(&handle, &export, &store, &format!("{VERIFY_ALL}{extra}"));
    assert_eq!(import(rb("")).await, Ending::Complete);

    let progress = Arc::new(Progress::default());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let runner = Runner::new(rb("page_items = 2\n"), RunOptions::default()).unwrap();
    let summary = runner.verify(Arc::clone(&progress), stop).await.unwrap();
    assert!(summary.finished, "{:?}", summary.unread_units);
    for c in summary
        .counts
        .iter()
        .filter(|c| c.kind.is_some_and(|k| k.deletes().is_none()))
    {
        assert!(c.imported > 0, "{:?}", c.kind);
        assert_eq!(
            (c.verified, c.mismatched()),
            (c.imported, 0),
            "{:?}",
            c.kind
        );
    }
    for (kind, checked, total) in progress.kinds() {
        // A deletion kind with no item is not in the counts.
        let imported = summary
            .counts
            .iter()
            .find(|c| c.kind == Some(kind))
            .map_or(0, |c| c.imported);
        assert_eq!((checked, total), (imported, imported), "{kind:?}: progress");
    }
}
