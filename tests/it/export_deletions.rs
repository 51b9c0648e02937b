//! Deletions through `cutover export` (export_db.rs runs them on its servers): rows soft-deleted
//! in the example schema become tombstones of their key in a delta, rows deleted outright are
//! missing from the delta's key sets (`keys/<kind>.jsonl`), a full export leaves the
//! soft-deleted rows out and counts them; and mapping mistakes about deletions are refused,
//! naming the mapping entry.
#![allow(clippy::unwrap_used)]

use crate::db_rig;

use cutover::export::example::MAPPING;
use cutover::export::url::Engine;
use db_rig::{key_fields, key_of, key_sets, manifest, records, said, Db, PASSWORD, T2};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The start and end of the window of the deletions.
const T3: i64 = T2 + 3600;
const T4: i64 = T3 + 3600;
/// When the rows are deleted.
const AT: i64 = T3 + 60;

/// The table, its key columns and how it marks a row deleted, per kind with a tombstone.
const TABLES: [(&str, &str, &[&str], &str); 6] = [
    ("accounts", "users", &["user_id"], "deleted_at = {ms}"),
    (
        "friends",
        "friendships",
        &["owner_id", "friend_id"],
        "deleted_at = {ms}",
    ),
    ("c2c_messages", "messages", &["msg_id"], "is_deleted = TRUE"),
    ("groups", "chat_groups", &["group_id"], "deleted_at = {ms}"),
    (
        "group_members",
        "group_members",
        &["group_id", "user_id"],
        "deleted_at = {ms}",
    ),
    (
        "group_messages",
        "group_messages",
        &["msg_id"],
        "is_deleted = TRUE",
    ),
];

fn lit(v: &Value) -> String {
    format!("'{}'", v.as_str().unwrap().replace('\'', "''"))
}

/// `WHERE` of the row of `record` (a record of `kind`) in its table.
fn row_of(kind: &str, columns: &[&str], record: &Value) -> String {
    let parts: Vec<String> = columns
        .iter()
        .zip(key_fields(kind))
        .map(|(c, f)| format!("{c} = {}", lit(&record[*f])))
        .collect();
    parts.join(" AND ")
}

/// Two records of each kind: the first to soft-delete, the second to delete outright. Members
/// and messages of other groups than the deleted ones, accounts that are not the first.
fn victims(gen: &BTreeMap<&'static str, Vec<Value>>) -> BTreeMap<&'static str, [Value; 2]> {
    let groups = &gen["groups"];
    let (g1, g2) = (&groups[1]["id"], &groups[2]["id"]);
    let other_group = |r: &&Value| &r["group"] != g1 && &r["group"] != g2;
    let soft_account = gen["profiles"][3]["id"].clone();
    let hard_account = gen["accounts"][10..]
        .iter()
        .find(|a| a["id"] != soft_account)
        .unwrap();
    let members: Vec<&Value> = gen["group_members"]
        .iter()
        .filter(other_group)
        .filter(|m| m["role"] != "owner")
        .collect();
    let mut out = BTreeMap::new();
    out.insert(
        "accounts",
        [json!({"id": soft_account}), hard_account.clone()],
    );
    out.insert("groups", [groups[1].clone(), groups[2].clone()]);
    out.insert("group_members", [members[0].clone(), members[1].clone()]);
    for kind in ["friends", "c2c_messages", "group_messages"] {
        out.insert(kind, [gen[kind][5].clone(), gen[kind][6].clone()]);
    }
    out
}

/// Soft-deletes and deletes outright the victims at AT (the soft-deleted account's profile
/// changes too, and must not show), then checks the delta since T3, its key sets, and a full
/// export taken after.
pub(crate) fn deletions_in_a_delta(db: &Db, gen: &BTreeMap<&'static str, Vec<Value>>) {
    let ms = (AT * 1000).to_string();
    let victims = victims(gen);
    for (kind, table, columns, mark) in TABLES {
        let [soft, hard] = &victims[kind];
        let mark = mark.replace("{ms}", &ms);
        let soft = row_of(kind, columns, soft);
        db.execute(&format!(
            "UPDATE {table} SET {mark}, updated_at = {ms} WHERE {soft}"
        ));
        db.execute(&format!(
            "DELETE FROM {table} WHERE {}",
            row_of(kind, columns, hard)
        ));
    }
    let soft_account = lit(&victims["accounts"][0]["id"]);
    db.execute(&format!(
        "UPDATE user_profiles SET signature = 'gone', updated_at = {ms} WHERE user_id = \
         {soft_account}"
    ));

    // The delta: one tombstone per kind, only the key, and no profile.
    let delta = db.dir.path().join("deletions");
    let out = db.export(
        &delta,
        &["--since", &T3.to_string(), "--until", &T4.to_string()],
    );
    let text = said(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(manifest(&delta)["delta_of"].as_i64(), Some(T3));
    let mut expected = BTreeMap::new();
    for (kind, [soft, _]) in &victims {
        let mut tombstone = key_of(kind, soft);
        tombstone["deleted"] = json!(true);
        tombstone["deleted_at"] = json!(AT);
        expected.insert(*kind, vec![tombstone]);
    }
    assert_eq!(records(&delta), expected, "{text}");
    let line = std::fs::read_to_string(delta.join("friends.jsonl")).unwrap();
    assert!(line.starts_with("{\"owner\":"), "the key first: {line}");
    assert!(text.contains("tombstones"), "{text}");

    // A full export after: the soft-deleted rows are left out and counted per kind.
    let now = db.dir.path().join("after-deletions");
    let out = db.export(&now, &["--until", &T4.to_string()]);
    let full_text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{full_text}");
    let full = records(&now);
    for (kind, _, _, _) in TABLES {
        let row = full_text
            .lines()
            .find(|l| l.starts_with(&format!("{kind}.jsonl ")))
            .unwrap_or_else(|| panic!("{full_text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[3], "1", "one row left out as deleted: {row}");
        assert!(!full[kind].iter().any(|r| r.get("deleted").is_some()));
    }
    assert!(
        !now.join("keys").exists(),
        "a full export writes no key set"
    );

    // The key sets: exactly the live keys, which the full export's records are.
    let keys = key_sets(&delta);
    assert!(!delta.join("keys/profiles.jsonl").exists());
    for (kind, [soft, hard]) in &victims {
        let mut live: Vec<Value> = full[kind].iter().map(|r| key_of(kind, r)).collect();
        live.sort_by_key(|v| v.to_string());
        live.dedup();
        assert_eq!(keys[kind], live, "keys/{kind}.jsonl");
        for gone in [soft, hard] {
            let gone = key_of(kind, gone);
            assert!(!keys[kind].contains(&gone), "{kind}: {gone} is deleted");
        }
        assert!(
            text.contains(&format!("keys/{kind}.jsonl")),
            "the summary names the key set: {text}"
        );
    }
}

/// Replaces `from` by `to` in the example mapping, which must hold it.
fn mapping_with(from: &str, to: &str) -> String {
    assert!(MAPPING.contains(from), "{from}");
    MAPPING.replace(from, to)
}

#[test]
fn sqlite_mapping_mistakes_about_deletions_are_refused_naming_the_entry() {
    let db = Db::start(Engine::Sqlite);
    let gen_dir = db_rig::generated(db.dir.path());
    db.fill(&gen_dir);
    let out_dir = db.dir.path().join("never");
    let delta = ["--since", "0", "--until", &T4.to_string()];
    let cases = [
        (
            mapping_with(
                "extra AS custom\nFROM user_profiles",
                "extra AS custom, 0 AS deleted\nFROM user_profiles",
            ),
            "mapping [queries] profiles: a deleted/deleted_at column: profiles have no tombstone",
        ),
        (
            mapping_with(
                "SELECT user_id AS id FROM users",
                "SELECT user_id FROM users",
            ),
            "mapping [keys] accounts: the query returns user_id; it must return exactly id",
        ),
        (
            mapping_with(
                "(deleted_at IS NOT NULL) AS deleted, deleted_at\nFROM users",
                "created_at AS deleted\nFROM users",
            ),
            "mapping [queries] accounts: row 1 (source row 1): column deleted is \"",
        ),
    ];
    for (mapping, want) in cases {
        let out = db.export_map(&out_dir, &mapping, &delta, PASSWORD);
        let text = said(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(want), "{want}: {text}");
        assert!(!out_dir.join("manifest.json").exists());
    }
}
