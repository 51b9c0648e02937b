//! The deletions of `cutover-bench window --delete-share S`: after the split, the delta also
//! deletes about S of each kind the pre-copy holds, as tombstones (export-format.md,
//! "Deletions in a delta"), spread evenly over each file:
//! - accounts: dormant ones, that own no group and have no friend entry, message, membership
//!   or profile (the generated export's records involving them are left out of both the
//!   pre-copy and the delta), so that deleting them leaves nothing dangling;
//! - friend entries and one-to-one messages: any;
//! - groups: ones the delta does not touch (their members and messages go with them);
//! - members (never an owner) and group messages: of groups that stay.

use crate::delta_split::{records, text, write};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

/// What [`add`] did.
#[derive(Debug, Default)]
pub(crate) struct Deleted {
    /// Tombstones written to the delta, per export file.
    pub(crate) tombstones: Vec<(&'static str, usize)>,
    /// Records involving a dormant account, left out of the pre-copy and the delta.
    pub(crate) left_out: usize,
    /// Every pre-copied record the delta deletes (tombstoned, or a destroyed group's member
    /// or message), as `cutover`'s mismatch list names it.
    pub(crate) keys: HashSet<String>,
}

/// `round(total × share)` of `candidates` (all of them when fewer), evenly spread: the
/// candidates split into that many stretches, the middle one of each.
fn spread<T: Clone>(candidates: &[T], total: usize, share: f64) -> Vec<T> {
    let want = ((total as f64) * share).round() as usize;
    let want = want.min(candidates.len());
    if want == 0 {
        return Vec::new();
    }
    let step = candidates.len() as f64 / want as f64;
    (0..want)
        .map(|k| candidates[((k as f64 + 0.5) * step) as usize].clone())
        .collect()
}

/// A tombstone: the record's `keys` fields and `"deleted": true`.
fn tombstone(record: &Value, keys: &[&str]) -> Value {
    let mut t = json!({"deleted": true});
    for k in keys {
        t[*k] = record[*k].clone();
    }
    t
}

/// Leaves out of `dir`'s `name` the records `gone` says involve a dormant account; how many.
fn leave_out(dir: &Path, name: &str, gone: &dyn Fn(&Value) -> bool) -> anyhow::Result<usize> {
    let all = records(dir, name)?;
    let before = all.len();
    let kept: Vec<Value> = all.into_iter().filter(|r| !gone(r)).collect();
    write(dir, name, &kept)?;
    Ok(before - kept.len())
}

/// Appends `lines` to `dir`'s `name`.
fn append(dir: &Path, name: &str, lines: Vec<Value>) -> anyhow::Result<()> {
    let mut all = records(dir, name)?;
    all.extend(lines);
    write(dir, name, &all)
}

/// The dormant accounts: about `share` of the pre-copy's accounts, none of them a group owner.
fn dormant(precopy: &Path, share: f64) -> anyhow::Result<BTreeSet<String>> {
    let owners: HashSet<String> = records(precopy, "groups.jsonl")?
        .iter()
        .map(|g| text(g, "owner"))
        .collect();
    let accounts: Vec<String> = records(precopy, "accounts.jsonl")?
        .iter()
        .map(|a| text(a, "id"))
        .collect();
    let candidates: Vec<String> = accounts
        .iter()
        .filter(|id| !owners.contains(*id))
        .cloned()
        .collect();
    Ok(spread(&candidates, accounts.len(), share)
        .into_iter()
        .collect())
}

/// Adds to the delta at `delta` tombstones for about `share` of each kind of the pre-copy at
/// `precopy` (see the module).
pub(crate) fn add(precopy: &Path, delta: &Path, share: f64) -> anyhow::Result<Deleted> {
    let dormant = dormant(precopy, share)?;
    let is = |r: &Value, field: &str| dormant.contains(&text(r, field));
    let mut deleted = Deleted::default();
    for dir in [precopy, delta] {
        deleted.left_out += leave_out(dir, "profiles.jsonl", &|r| is(r, "id"))?
            + leave_out(dir, "friends.jsonl", &|r| is(r, "owner") || is(r, "friend"))?
            + leave_out(dir, "c2c_messages.jsonl", &|r| is(r, "from") || is(r, "to"))?
            + leave_out(dir, "group_members.jsonl", &|r| is(r, "member"))?
            + leave_out(dir, "group_messages.jsonl", &|r| is(r, "from"))?;
    }
    let accounts: Vec<Value> = dormant.iter().map(|id| json!({"id": id})).collect();
    deleted.delete(delta, "accounts.jsonl", &accounts, &["id"])?;
    for (name, keys) in [
        ("friends.jsonl", &["owner", "friend"][..]),
        ("c2c_messages.jsonl", &["id"][..]),
    ] {
        let all = records(precopy, name)?;
        deleted.delete(delta, name, &spread(&all, all.len(), share), keys)?;
    }
    let destroyed = groups(precopy, delta, share)?;
    deleted.delete(delta, "groups.jsonl", &destroyed, &["id"])?;
    let destroyed: HashSet<String> = destroyed.iter().map(|g| text(g, "id")).collect();
    for (name, keys) in [
        ("group_members.jsonl", &["group", "member"][..]),
        ("group_messages.jsonl", &["id"][..]),
    ] {
        let all = records(precopy, name)?;
        let (with_group, kept): (Vec<Value>, Vec<Value>) = all
            .iter()
            .cloned()
            .partition(|r| destroyed.contains(&text(r, "group")));
        // A destroyed group's members and messages go with it.
        deleted
            .keys
            .extend(with_group.iter().map(|r| shown(r, keys)));
        let candidates: Vec<Value> = kept.into_iter().filter(|r| r["role"] != "owner").collect();
        deleted.delete(delta, name, &spread(&candidates, all.len(), share), keys)?;
    }
    Ok(deleted)
}

impl Deleted {
    /// Appends to `delta`'s `name` the tombstones (by `keys`) of `gone`, and counts them.
    fn delete(
        &mut self,
        delta: &Path,
        name: &'static str,
        gone: &[Value],
        keys: &[&str],
    ) -> anyhow::Result<()> {
        self.tombstones.push((name, gone.len()));
        self.keys.extend(gone.iter().map(|r| shown(r, keys)));
        append(delta, name, tombstones(gone, keys))
    }
}

/// A record as `cutover`'s mismatch list names it: its key fields, `owner→friend` for a
/// friend entry, `group/member` for a member.
fn shown(record: &Value, keys: &[&str]) -> String {
    let parts: Vec<String> = keys.iter().map(|k| text(record, k)).collect();
    let sep = if keys == ["owner", "friend"] {
        "→"
    } else {
        "/"
    };
    parts.join(sep)
}

fn tombstones(records: &[Value], keys: &[&str]) -> Vec<Value> {
    records.iter().map(|r| tombstone(r, keys)).collect()
}

/// About `share` of the pre-copy's groups, among those the delta has no record of (changed,
/// or with new members or messages).
fn groups(precopy: &Path, delta: &Path, share: f64) -> anyhow::Result<Vec<Value>> {
    let mut touched: HashSet<String> = records(delta, "groups.jsonl")?
        .iter()
        .map(|g| text(g, "id"))
        .collect();
    for name in ["group_members.jsonl", "group_messages.jsonl"] {
        touched.extend(records(delta, name)?.iter().map(|r| text(r, "group")));
    }
    let all = records(precopy, "groups.jsonl")?;
    let candidates: Vec<Value> = all
        .iter()
        .filter(|g| !touched.contains(&text(g, "id")))
        .cloned()
        .collect();
    Ok(spread(&candidates, all.len(), share))
}
