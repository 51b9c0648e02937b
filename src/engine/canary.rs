//! A canary run: only a list of accounts and what involves nobody else — their profiles, the
//! friend entries among them, their conversations with each other, and the groups whose
//! members are all on the list (with those groups' members and messages). Every other staged
//! item is skipped, with the reason in the audit trail, so the team can rehearse against the
//! real target with a handful of test users and verify just them.

use super::error::EngineError;
use crate::model::{C2cMessage, Group};
use crate::store::queries::{self, PendingItem};
use crate::store::records::Sources;
use crate::store::{audit, ItemState, Kind};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Reads the account list: one id per line; blank lines and `#` comments are ignored.
pub(crate) fn read_list(path: &Path) -> Result<HashSet<String>, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        EngineError::Canary(format!(
            "cannot read the canary account list {}: {e}",
            path.display()
        ))
    })?;
    let ids: HashSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(EngineError::Canary(format!(
            "the canary account list {} names no account",
            path.display()
        )));
    }
    Ok(ids)
}

fn split_pair(key: &str) -> (&str, &str) {
    key.split_once('\u{1f}').unwrap_or((key, ""))
}

/// Which pending items of every kind the canary keeps.
fn kept(
    conn: &Connection,
    sources: &Sources,
    accounts: &HashSet<String>,
) -> Result<HashMap<Kind, HashSet<i64>>, EngineError> {
    let mut keep: HashMap<Kind, HashSet<i64>> = HashMap::new();
    let items = |kind| queries::pending(conn, kind);
    let mut by_key = |kind: Kind, ok: &dyn Fn(&str) -> bool| -> Result<(), EngineError> {
        let ids = queries::keys_in_state(conn, kind, ItemState::Pending)?;
        keep.entry(kind)
            .or_default()
            .extend(ids.into_iter().filter(|(_, k)| ok(k)).map(|(id, _)| id));
        Ok(())
    };
    by_key(Kind::Account, &|k| accounts.contains(k))?;
    by_key(Kind::Profile, &|k| accounts.contains(k))?;
    by_key(Kind::Friend, &|k| {
        let (a, b) = split_pair(k);
        accounts.contains(a) && accounts.contains(b)
    })?;
    let c2c: Vec<PendingItem> = items(Kind::C2cMessage)?;
    let mut c2c_keep = HashSet::new();
    for item in &c2c {
        let m: C2cMessage = sources
            .read(Kind::C2cMessage, item)
            .map_err(EngineError::Records)?;
        if accounts.contains(&m.from) && accounts.contains(&m.to) {
            c2c_keep.insert(item.id);
        }
    }
    keep.insert(Kind::C2cMessage, c2c_keep);
    // A group stays when its owner and every member are on the list.
    let mut members_of: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for item in queries::all_items(conn, Kind::GroupMember)? {
        let key = queries::key_of(conn, Kind::GroupMember, item.id)?;
        members_of
            .entry(item.parent.unwrap_or(-1))
            .or_default()
            .push((item.id, split_pair(&key).1.to_string()));
    }
    let mut groups_keep = HashSet::new();
    for item in items(Kind::Group)? {
        let g: Group = sources
            .read(Kind::Group, &item)
            .map_err(EngineError::Records)?;
        let owner_ok = g.owner.as_ref().is_none_or(|o| accounts.contains(o));
        let members_ok = members_of
            .get(&item.id)
            .is_none_or(|ms| ms.iter().all(|(_, m)| accounts.contains(m)));
        if owner_ok && members_ok {
            groups_keep.insert(item.id);
        }
    }
    let in_kept_group = |i: &PendingItem| i.parent.is_some_and(|p| groups_keep.contains(&p));
    keep.insert(
        Kind::GroupMember,
        items(Kind::GroupMember)?
            .iter()
            .filter(|i| in_kept_group(i))
            .map(|i| i.id)
            .collect(),
    );
    keep.insert(
        Kind::GroupMessage,
        items(Kind::GroupMessage)?
            .iter()
            .filter(|i| in_kept_group(i))
            .map(|i| i.id)
            .collect(),
    );
    keep.insert(Kind::Group, groups_keep);
    Ok(keep)
}

/// Skips every pending item the canary does not keep; returns (kept, skipped) per kind.
pub(crate) fn restrict(
    conn: &mut Connection,
    sources: &Sources,
    accounts: &HashSet<String>,
) -> Result<Vec<(Kind, u64, u64)>, EngineError> {
    let keep = kept(conn, sources, accounts)?;
    let tx = conn.transaction()?;
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let pending = queries::ids_in_state(&tx, kind, ItemState::Pending)?;
        let wanted = keep.get(&kind);
        let mut skipped = 0;
        for id in &pending {
            if !wanted.is_some_and(|w| w.contains(id)) {
                queries::set_item_state(&tx, kind, *id, ItemState::Skipped)?;
                skipped += 1;
            }
        }
        out.push((kind, pending.len() as u64 - skipped, skipped));
    }
    let total: u64 = out.iter().map(|(_, _, s)| s).sum();
    audit::record(
        &tx,
        "engine",
        "canary",
        &format!("{total} items skipped: they involve accounts outside the canary list"),
        &format!("canary run limited to {} accounts", accounts.len()),
    )?;
    tx.commit()?;
    Ok(out)
}
