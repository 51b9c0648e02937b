//! Splits a generated export into a pre-copy and a delta of about `share` of it, the way an old
//! system changes between the two: the newest accounts and messages are new in the delta,
//! with everything that involves a new account; groups of new owners are new; one group in a
//! hundred of the pre-copy gets a new introduction.

use anyhow::Context;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// What the split put where.
#[derive(Debug, Default)]
pub(crate) struct Split {
    /// Records in the pre-copy.
    pub(crate) precopy: u64,
    /// Records in the delta (new and changed).
    pub(crate) delta: u64,
    /// The pre-copy's watermark, which the delta's `delta_of` names.
    pub(crate) watermark: i64,
}

/// Reads the JSON Lines file `name` of `dir` (absent: nothing).
pub(crate) fn records(dir: &Path, name: &str) -> anyhow::Result<Vec<Value>> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            out.push(serde_json::from_str(&line)?);
        }
    }
    Ok(out)
}

/// Writes `records` as the JSON Lines file `name` of `dir`.
pub(crate) fn write(dir: &Path, name: &str, records: &[Value]) -> anyhow::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(dir.join(name))?);
    for r in records {
        serde_json::to_writer(&mut w, r)?;
        w.write_all(b"\n")?;
    }
    Ok(w.flush()?)
}

/// `v`'s string field `field` (empty when absent).
pub(crate) fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_string()
}

/// The time below which `share` of the messages of `all` fall: the newest `share` go in the
/// delta.
fn cutoff(all: &[&Value], share: f64) -> i64 {
    let mut times: Vec<i64> = all.iter().filter_map(|m| m["sent_at"].as_i64()).collect();
    times.sort_unstable();
    let keep = ((times.len() as f64) * (1.0 - share)) as usize;
    times.get(keep).copied().unwrap_or(i64::MAX)
}

/// Splits the export at `src` into `precopy` and `delta` (directories created).
pub(crate) fn split(src: &Path, precopy: &Path, delta: &Path, share: f64) -> anyhow::Result<Split> {
    std::fs::create_dir_all(precopy)?;
    std::fs::create_dir_all(delta)?;
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("manifest.json"))?)?;
    let exported_at = manifest["exported_at"].as_i64().unwrap_or(0);
    let (c2c, group_msgs) = (
        records(src, "c2c_messages.jsonl")?,
        records(src, "group_messages.jsonl")?,
    );
    let watermark = cutoff(&c2c.iter().chain(&group_msgs).collect::<Vec<_>>(), share) - 1;
    let accounts = records(src, "accounts.jsonl")?;
    let first_new = ((accounts.len() as f64) * (1.0 - share)) as usize;
    let new_accounts: HashSet<String> = accounts[first_new.min(accounts.len())..]
        .iter()
        .map(|a| text(a, "id"))
        .collect();
    let new = |id: String| new_accounts.contains(&id);
    let groups = records(src, "groups.jsonl")?;
    let new_groups: HashSet<String> = groups
        .iter()
        .filter(|g| new(text(g, "owner")))
        .map(|g| text(g, "id"))
        .collect();
    let mut split = Split {
        watermark,
        ..Split::default()
    };
    let mut put = |name: &str, all: Vec<Value>, in_delta: &dyn Fn(&Value) -> bool| {
        let (d, p): (Vec<Value>, Vec<Value>) = all.into_iter().partition(|r| in_delta(r));
        split.precopy += p.len() as u64;
        split.delta += d.len() as u64;
        write(precopy, name, &p).and_then(|()| write(delta, name, &d))
    };
    put("accounts.jsonl", accounts, &|a| new(text(a, "id")))?;
    put("profiles.jsonl", records(src, "profiles.jsonl")?, &|p| {
        new(text(p, "id"))
    })?;
    let friend_new = |f: &Value| new(text(f, "owner")) || new(text(f, "friend"));
    put("friends.jsonl", records(src, "friends.jsonl")?, &friend_new)?;
    let late = |m: &Value| m["sent_at"].as_i64().unwrap_or(0) > watermark;
    put("c2c_messages.jsonl", c2c, &|m| {
        late(m) || new(text(m, "from")) || new(text(m, "to"))
    })?;
    put("groups.jsonl", groups.clone(), &|g| {
        new_groups.contains(&text(g, "id"))
    })?;
    let member_new = |m: &Value| new_groups.contains(&text(m, "group")) || new(text(m, "member"));
    put(
        "group_members.jsonl",
        records(src, "group_members.jsonl")?,
        &member_new,
    )?;
    let msg_new =
        |m: &Value| late(m) || new_groups.contains(&text(m, "group")) || new(text(m, "from"));
    put("group_messages.jsonl", group_msgs, &msg_new)?;
    // Changed records: one pre-copied group in a hundred has a new introduction.
    let changed: Vec<Value> = groups
        .into_iter()
        .filter(|g| !new_groups.contains(&text(g, "id")))
        .step_by(100)
        .map(|mut g| {
            g["introduction"] = json!("changed after the pre-copy");
            g
        })
        .collect();
    split.delta += changed.len() as u64;
    let mut delta_groups = records(delta, "groups.jsonl")?;
    delta_groups.extend(changed);
    write(delta, "groups.jsonl", &delta_groups)?;
    let pre = json!({"format": "cutover-export", "version": 1, "exported_at": exported_at,
                     "watermark": watermark});
    let del = json!({"format": "cutover-export", "version": 1, "exported_at": exported_at,
                     "watermark": exported_at, "delta_of": watermark});
    std::fs::write(precopy.join("manifest.json"), pre.to_string())?;
    std::fs::write(delta.join("manifest.json"), del.to_string())?;
    Ok(split)
}
