//! Hard deletes in a window: a delta's key sets (`keys/<kind>.jsonl`, every key the old
//! system holds now) delete what was imported before and is missing from them, as tombstones
//! would; a key set with a hole stops staging, naming the line.
#![allow(clippy::unwrap_used)]

use super::window_deletions::{
    account, assert_like_the_old_system_at_the_switch, calls, friend, old_system, precopied, said,
    share, window, write,
};
use cutover::tim::api::Api;
use serde_json::{json, Value};

/// The key fields of a record of `file`, as a key set line.
fn key_of(file: &str, record: &Value) -> Value {
    match file {
        "friends" => json!({"owner": record["owner"], "friend": record["friend"]}),
        "group_members" => json!({"group": record["group"], "member": record["member"]}),
        _ => json!({"id": record["id"]}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_gone_from_the_key_sets_are_deleted_like_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let (target, store, full, _, book) = precopied(dir.path(), 0, &share(0.7)).await;
    // A delta with the new records only, and every kind's whole key set at the switch: what
    // was deleted outright left no row, only a gap in its key set.
    let hard = dir.path().join("hard");
    let now = old_system(0, true);
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
    assert_like_the_old_system_at_the_switch(dir.path(), &target, 0).await;
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
    let (target, store, full, _, book) = precopied(dir.path(), 0, &share(0.7)).await;
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
