//! What is deleted after T1, in the example schema, the way an app would: for each kind one
//! record soft-deleted (its row marked, which a delta carries as a tombstone) and one deleted
//! outright (its row gone, which only the delta's key sets reveal). An account goes with its
//! friend entries both ways, its memberships and its messages; a group with its members and
//! messages, so that a full export afterwards holds nothing that points at them.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

use super::{key_fields, Db, T1};
use serde_json::Value;
use std::collections::BTreeMap;

/// When the deletions happen: after the changes of `change_after_t1`, before T2.
pub(crate) const DELETED_AT: i64 = T1 + 120;

/// What `delete_after_t1` deleted: `[soft-deleted, deleted outright]` per role.
#[derive(Debug, Clone)]
pub(crate) struct Deleted {
    /// Accounts, with everything of theirs.
    pub accounts: [String; 2],
    /// Groups, with their members and messages.
    pub groups: [String; 2],
    /// Records deleted on their own, per kind (friends, c2c_messages, group_members,
    /// group_messages), of accounts and groups that stay.
    pub records: BTreeMap<&'static str, [Value; 2]>,
}

impl Deleted {
    /// Both deleted accounts, sorted.
    pub(crate) fn account_ids(&self) -> Vec<String> {
        let mut ids = self.accounts.to_vec();
        ids.sort();
        ids
    }
}

/// A string field of a record.
fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// The two accounts to delete: no group's owner, not `spare` (the first account, which the
/// changes after T1 write to), and each with friend entries, messages both ways, memberships
/// and group messages of its own, so that every cascade has something to carry.
fn accounts(gen: &BTreeMap<&'static str, Vec<Value>>, spare: &str) -> [String; 2] {
    let has = |kind: &str, fields: &[&str], id: &str| {
        gen[kind]
            .iter()
            .any(|r| fields.iter().any(|f| s(r, f) == id))
    };
    let chosen: Vec<&str> = gen["accounts"]
        .iter()
        .map(|a| s(a, "id"))
        .filter(|id| *id != spare)
        .filter(|id| !has("groups", &["owner"], id))
        .filter(|id| has("friends", &["owner"], id) && has("friends", &["friend"], id))
        .filter(|id| has("c2c_messages", &["from"], id) && has("c2c_messages", &["to"], id))
        .filter(|id| has("group_members", &["member"], id))
        .filter(|id| has("group_messages", &["from"], id))
        .collect();
    // The second shares no message or friend entry with the first: each cascade has rows of
    // its own (the generated conversations are between neighbours).
    let apart = |b: &str| {
        !["friends", "c2c_messages"].iter().any(|kind| {
            gen[*kind].iter().any(|r| {
                let ends = [
                    r["owner"].as_str(),
                    r["friend"].as_str(),
                    r["from"].as_str(),
                    r["to"].as_str(),
                ];
                ends.contains(&Some(chosen[0])) && ends.contains(&Some(b))
            })
        })
    };
    let second = chosen[1..].iter().find(|b| apart(b)).unwrap();
    [chosen[0].to_string(), second.to_string()]
}

/// Chooses what to delete: two accounts, the second and third group (the first is renamed
/// after T1), and two records of each other kind that neither cascade reaches (not an owner's
/// membership: an owner leaves only with the group).
fn choose(gen: &BTreeMap<&'static str, Vec<Value>>) -> Deleted {
    let spare = s(&gen["accounts"][0], "id");
    let accounts = accounts(gen, spare);
    let groups = [1, 2].map(|i| s(&gen["groups"][i], "id").to_string());
    let clear = |r: &Value| {
        ["owner", "friend", "from", "to", "member"]
            .iter()
            .all(|f| !accounts.iter().any(|a| a == s(r, f)))
            && !groups.iter().any(|g| g == s(r, "group"))
            && s(r, "role") != "owner"
    };
    let mut records = BTreeMap::new();
    for kind in ["friends", "c2c_messages", "group_members", "group_messages"] {
        let two: Vec<&Value> = gen[kind].iter().filter(|r| clear(r)).take(2).collect();
        records.insert(kind, [two[0].clone(), two[1].clone()]);
    }
    Deleted {
        accounts,
        groups,
        records,
    }
}

/// The table of a kind, its key columns, and how a row of it is marked deleted at `{ms}`.
fn table(kind: &str) -> (&'static str, &'static [&'static str], &'static str) {
    match kind {
        "accounts" => ("users", &["user_id"], "deleted_at = {ms}"),
        "friends" => (
            "friendships",
            &["owner_id", "friend_id"],
            "deleted_at = {ms}",
        ),
        "c2c_messages" => ("messages", &["msg_id"], "is_deleted = TRUE"),
        "groups" => ("chat_groups", &["group_id"], "deleted_at = {ms}"),
        "group_members" => (
            "group_members",
            &["group_id", "user_id"],
            "deleted_at = {ms}",
        ),
        "group_messages" => ("group_messages", &["msg_id"], "is_deleted = TRUE"),
        other => panic!("no table for {other}"),
    }
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rows of `kind` that a deletion of account or group `id` reaches: `WHERE` clauses on
/// the kind's table.
fn reach(kind: &str, id: &str) -> Vec<String> {
    let id = lit(id);
    let columns: &[&str] = match kind {
        "accounts" => &["user_id"],
        "friends" => &["owner_id", "friend_id"],
        "c2c_messages" => &["sender_id", "receiver_id"],
        "group_members" => &["user_id"],
        "group_messages" => &["sender_id"],
        _ => &[],
    };
    columns.iter().map(|c| format!("{c} = {id}")).collect()
}

/// Deletes the rows `wheres` select in `kind`'s table: marked when `soft`, else outright.
fn delete(db: &Db, kind: &str, wheres: &[String], soft: bool) {
    let (table, _, mark) = table(kind);
    let ms = DELETED_AT * 1000;
    for w in wheres {
        let sql = if soft {
            let mark = mark.replace("{ms}", &ms.to_string());
            format!("UPDATE {table} SET {mark}, updated_at = {ms} WHERE {w}")
        } else {
            format!("DELETE FROM {table} WHERE {w}")
        };
        db.execute(&sql);
    }
}

/// `WHERE` of the row of `record` (a record of `kind`).
fn row_of(kind: &str, record: &Value) -> String {
    let (_, columns, _) = table(kind);
    let parts: Vec<String> = columns
        .iter()
        .zip(key_fields(kind))
        .map(|(c, f)| format!("{c} = {}", lit(s(record, f))))
        .collect();
    parts.join(" AND ")
}

/// Deletes, at DELETED_AT, an account, a group and a record of every other kind softly, and
/// as many outright (a deleted account's profile goes too; a soft-deleted one's stays, which
/// the mapping leaves out). `gen` is the generated export the database was filled with.
pub(crate) fn delete_after_t1(db: &Db, gen: &BTreeMap<&'static str, Vec<Value>>) -> Deleted {
    let deleted = choose(gen);
    for (i, soft) in [true, false].into_iter().enumerate() {
        let account = &deleted.accounts[i];
        for kind in [
            "friends",
            "c2c_messages",
            "group_members",
            "group_messages",
            "accounts",
        ] {
            delete(db, kind, &reach(kind, account), soft);
        }
        if !soft {
            db.execute(&format!(
                "DELETE FROM user_profiles WHERE user_id = {}",
                lit(account)
            ));
        }
        let group = format!("group_id = {}", lit(&deleted.groups[i]));
        for kind in ["group_messages", "group_members", "groups"] {
            delete(db, kind, std::slice::from_ref(&group), soft);
        }
        for (kind, records) in &deleted.records {
            delete(db, kind, &[row_of(kind, &records[i])], soft);
        }
    }
    deleted
}
