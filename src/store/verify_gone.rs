//! Which imported records are meant to be gone from the target, so read-back verification does
//! not look for them: a record whose own deletion is done or waiting (its deletion item has
//! the same key), and what went with a deleted account or a destroyed group: the account's
//! profile, friend entries (either way) and memberships, the group's members and messages,
//! and the one-to-one messages of a deleted account (their conversation can no longer be
//! read). Their absence is read back by the deletion kinds instead.
//!
//! Each is an SQL condition on an item aliased `i`, built from constants only. Its parts look
//! up sets that SQLite builds once per statement (an uncorrelated `IN`), and a part whose set
//! the store does not hold is left out: a store without deletions pays nothing per item.

use super::{ItemState, Kind};
use rusqlite::Connection;

/// The deletions a store holds, so that conditions on empty sets are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    /// Deletion kinds with an item done or still to do.
    kinds: Vec<Kind>,
    /// Whether an account deletion is done.
    accounts: bool,
    /// Whether a group deletion is done.
    groups: bool,
}

impl Held {
    /// As if the store held every deletion (the whole condition).
    #[cfg(test)]
    fn all() -> Held {
        Held {
            kinds: Kind::DELETIONS.to_vec(),
            accounts: true,
            groups: true,
        }
    }

    /// What the store at `conn` holds.
    fn of(conn: &Connection) -> rusqlite::Result<Held> {
        let mut stmt = conn.prepare_cached(
            "SELECT kind, MAX(state = ?3) FROM item WHERE kind >= ?1 AND state IN (?2, ?3)
             GROUP BY kind",
        )?;
        let rows = stmt.query_map(
            [
                Kind::DELETIONS[0].code(),
                ItemState::Pending.code(),
                ItemState::Done.code(),
            ],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)),
        )?;
        let mut held = Held {
            kinds: Vec::new(),
            accounts: false,
            groups: false,
        };
        for row in rows {
            let (code, done) = row?;
            let Some(kind) = Kind::from_code(code) else {
                continue;
            };
            held.kinds.push(kind);
            held.accounts |= done && kind == Kind::AccountDeletion;
            held.groups |= done && kind == Kind::GroupDeletion;
        }
        Ok(held)
    }
}

/// The condition "the deletion of `i` itself is done or waiting".
fn own_deletion(deletion: Kind) -> String {
    format!(
        "i.key IN (SELECT key FROM item WHERE kind = {} AND state IN ({}, {}))",
        deletion.code(),
        ItemState::Pending.code(),
        ItemState::Done.code()
    )
}

/// The keys of the deleted accounts, as SQL.
fn deleted_account_keys() -> String {
    format!(
        "SELECT key FROM item WHERE kind = {} AND state = {}",
        Kind::AccountDeletion.code(),
        ItemState::Done.code()
    )
}

/// The item ids of the deleted accounts, as SQL.
fn deleted_account_items() -> String {
    format!(
        "SELECT a.id FROM item d JOIN item a ON a.kind = {} AND a.key = d.key
         WHERE d.kind = {} AND d.state = {}",
        Kind::Account.code(),
        Kind::AccountDeletion.code(),
        ItemState::Done.code()
    )
}

/// The item ids of the destroyed groups, as SQL.
fn destroyed_group_items() -> String {
    format!(
        "SELECT g.id FROM item d JOIN item g ON g.kind = {} AND g.key = d.key
         WHERE d.kind = {} AND d.state = {}",
        Kind::Group.code(),
        Kind::GroupDeletion.code(),
        ItemState::Done.code()
    )
}

/// The second id of a pair key (`owner␟friend`, `group␟member`).
const SECOND: &str = "substr(i.key, instr(i.key, char(31)) + 1)";

/// The parts of the condition for `kind` on what the store holds.
fn parts(kind: Kind, held: &Held) -> Vec<String> {
    let mut any: Vec<String> = kind
        .deletion()
        .filter(|d| held.kinds.contains(d))
        .map(own_deletion)
        .into_iter()
        .collect();
    let accounts = deleted_account_keys();
    if held.accounts {
        match kind {
            Kind::Profile => any.push(format!("i.key IN ({accounts})")),
            // A friend entry's parent is its owner's account item.
            Kind::Friend => {
                any.push(format!("i.parent IN ({})", deleted_account_items()));
                any.push(format!("{SECOND} IN ({accounts})"));
            }
            Kind::GroupMember => any.push(format!("{SECOND} IN ({accounts})")),
            // A conversation is the pair of its account items (`super::order::conversation`).
            Kind::C2cMessage => {
                let items = deleted_account_items();
                any.push(format!(
                    "i.parent >> 32 IN ({items}) OR i.parent & 4294967295 IN ({items})"
                ));
            }
            _ => {}
        }
    }
    if held.groups && matches!(kind, Kind::GroupMember | Kind::GroupMessage) {
        any.push(format!("i.parent IN ({})", destroyed_group_items()));
    }
    any
}

/// The condition on `held` as one SQL expression (`0`: nothing of `kind` is gone).
fn condition(kind: Kind, held: &Held) -> String {
    let any = parts(kind, held);
    if any.is_empty() {
        "0".into()
    } else {
        format!("({})", any.join(" OR "))
    }
}

/// The whole SQL condition that item `i` of `kind` is meant to be gone from the target (`0`
/// for the kinds nothing deletes: deletion items are always read back).
#[cfg(test)]
pub(crate) fn gone(kind: Kind) -> String {
    condition(kind, &Held::all())
}

/// The condition that item `i` of `kind` is meant to be gone, for the store at `conn`.
pub(crate) fn gone_in(conn: &Connection, kind: Kind) -> rusqlite::Result<String> {
    Ok(condition(kind, &Held::of(conn)?))
}

/// [`gone_in`] for an item `i` of any kind (its `i.kind`).
pub(crate) fn gone_any_kind_in(conn: &Connection) -> rusqlite::Result<String> {
    let held = Held::of(conn)?;
    let arms: String = Kind::RECORDS
        .iter()
        .map(|k| (k, condition(*k, &held)))
        .filter(|(_, c)| c != "0")
        .map(|(k, c)| format!(" WHEN {} THEN {c}", k.code()))
        .collect();
    Ok(if arms.is_empty() {
        "0".into()
    } else {
        format!("(CASE i.kind{arms} ELSE 0 END)")
    })
}

#[cfg(test)]
#[path = "verify_gone_tests.rs"]
mod tests;
