//! Deletions read back: what a delta deleted is no longer on the target. Per deletion kind,
//! each deletion done reads back as gone ("verified gone": a verified result) or as still
//! there (a mismatch, stored as differing, named "still there"); what cannot be told is
//! unreadable, with why.
//!
//! - accounts: `account_check` says `NotImported`;
//! - friend entries: `friend_check` (one way) shows no relation, or an account is gone;
//! - groups: `get_group_info` answers 10010 (or 10015) for the group;
//! - members: not in the group's member list (`get_group_member_info`), or the group is gone;
//! - group messages: at their MsgSeq `group_msg_get_simple` shows a recalled (or deleted)
//!   placeholder, or nothing;
//! - one-to-one messages: `admin_getroammsg` shows the message recalled (`MsgFlagBits` 8),
//!   or not at all.
//!
//! The records themselves (and what went with a deleted account or group) are left out of
//! the presence checks by the store's pages ([`crate::store::verify_gone`]).

mod batched;
mod members;
mod recalls;

pub(super) use batched::{accounts, friends, groups};
pub(super) use members::members;
pub(super) use recalls::{c2c_messages, group_messages};

use super::compare::result;
use crate::store::verify::{ItemResult, Outcome};
use crate::store::Kind;

/// Group errors that mean the group does not exist: dismissed (10010), or no such id (10015).
const NO_GROUP: [i64; 2] = [10010, 10015];

/// What the target shows of a deleted record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Absence {
    /// Not there, or recalled: how it read.
    Gone(String),
    /// Still there: what the target shows.
    There(String),
    /// The answer does not tell: why.
    Unknown(String),
}

impl Absence {
    /// The result of deletion item `id` of `kind`.
    fn result(self, kind: Kind, id: i64) -> ItemResult {
        match self {
            Absence::Gone(d) => result(kind, id, Outcome::Verified, d),
            Absence::There(d) => result(kind, id, Outcome::Differs, d),
            Absence::Unknown(d) => result(kind, id, Outcome::Unreadable, d),
        }
    }
}
