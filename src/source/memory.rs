//! What the cross-file rules remember between records, behind one trait so that it can live
//! in memory (`cutover validate`, `cutover export`) or on disk (staging, where an export of
//! tens of millions of records must not grow the process: see the store's scratch memory).
//!
//! Ids are remembered as a 64-bit hash (xxh3) with a few bytes of facts, whichever the
//! memory; docs/export-format.md states the odds of two ids sharing one.

use super::friend_lists::FriendLists;
use std::collections::{HashMap, HashSet};

/// What the validator remembers of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountEntry {
    /// Dense index in order of first appearance, for the friend lists.
    pub(crate) index: u32,
    /// The line of accounts.jsonl (0: staged from an earlier export).
    pub(crate) line: u32,
    /// The line broke a rule: references to it are refused.
    pub(crate) rejected: bool,
    /// Staged from an earlier export (a delta may restate it without being a duplicate).
    pub(crate) earlier: bool,
}

/// What the validator remembers of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupEntry {
    /// The line of groups.jsonl (0: staged from an earlier export).
    pub(crate) line: u32,
    /// The line broke a rule: references to it are refused.
    pub(crate) rejected: bool,
    /// Staged from an earlier export (a delta may restate it without being a duplicate).
    pub(crate) earlier: bool,
    /// When the group was created (unix seconds).
    pub(crate) created_at: i64,
    /// The hash of the owner the group record names.
    pub(crate) owner: Option<u64>,
    /// The first member line that claims role `owner`.
    pub(crate) member_owner_line: Option<u32>,
}

/// What one owner's friend list says about a new entry (see [`CrossMemory::friend_view`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    /// The list has this friend already.
    pub(crate) duplicate: bool,
    /// Friends in the list.
    pub(crate) friends: usize,
    /// Distinct friend-list groups in the list.
    pub(crate) groups: usize,
    /// The entry's group names the list does not have yet (sorted, distinct).
    pub(crate) new_names: Vec<String>,
}

/// The cross-file state of one validation. Files come in the order of
/// [`super::ExportFile::ALL`]; [`CrossMemory::next_file`] separates them.
pub trait CrossMemory {
    /// The account with id hash `id`.
    fn account(&mut self, id: u64) -> Option<AccountEntry>;
    /// Remembers (or replaces) the account with id hash `id`.
    fn put_account(&mut self, id: u64, entry: AccountEntry);
    /// Accounts remembered: the index the next new one takes.
    fn account_count(&self) -> u32;
    /// The group with id hash `id`.
    fn group(&mut self, id: u64) -> Option<GroupEntry>;
    /// Remembers (or replaces) the group with id hash `id`.
    fn put_group(&mut self, id: u64, entry: GroupEntry);
    /// The first line of the current file with key hash `key`, remembering `line` for it
    /// when there was none (for files of one record per account: profiles).
    fn first_line(&mut self, key: u64, line: u32) -> Option<u32>;
    /// Whether an earlier line of the current file had key hash `key`, remembering it (for
    /// the largest files, messages and memberships: in memory, a bare hash, no line).
    fn seen_before(&mut self, key: u64) -> bool;
    /// What the friend list of account index `owner` says about adding `friend` with the
    /// (sorted, distinct) group `names`.
    fn friend_view(&mut self, owner: u32, friend: u32, names: &[&String]) -> ListView;
    /// Adds `friend` and the group names new to the list to `owner`'s list.
    fn friend_push(&mut self, owner: u32, friend: u32, new_names: &[String]);
    /// Forgets the per-file state (first lines, friend lists) before the next file.
    fn next_file(&mut self);

    /// An account an earlier export staged: a delta's records may refer to it.
    fn know_account(&mut self, id: u64) {
        if self.account(id).is_none() {
            let entry = AccountEntry {
                index: self.account_count(),
                line: 0,
                rejected: false,
                earlier: true,
            };
            self.put_account(id, entry);
        }
    }

    /// A group an earlier export staged, created at `created_at`.
    fn know_group(&mut self, id: u64, created_at: i64) {
        if self.group(id).is_none() {
            let entry = GroupEntry {
                line: 0,
                rejected: false,
                earlier: true,
                created_at,
                owner: None,
                member_owner_line: None,
            };
            self.put_group(id, entry);
        }
    }
}

/// The cross-file state in this process's memory: grows with the export (about 30 bytes per
/// account and group, 10 per message or membership of the current file, plus the friend
/// lists).
#[derive(Default)]
pub(crate) struct InMemory {
    accounts: HashMap<u64, AccountEntry>,
    groups: HashMap<u64, GroupEntry>,
    first_lines: HashMap<u64, u32>,
    seen: HashSet<u64>,
    /// Built on the first friend entry, dropped after friends.jsonl.
    friend_lists: Option<FriendLists>,
}

impl InMemory {
    fn lists(&mut self) -> &mut FriendLists {
        let accounts = self.accounts.len();
        self.friend_lists
            .get_or_insert_with(|| FriendLists::new(accounts))
    }
}

impl CrossMemory for InMemory {
    fn account(&mut self, id: u64) -> Option<AccountEntry> {
        self.accounts.get(&id).copied()
    }
    fn put_account(&mut self, id: u64, entry: AccountEntry) {
        self.accounts.insert(id, entry);
    }
    fn account_count(&self) -> u32 {
        u32::try_from(self.accounts.len()).unwrap_or(u32::MAX)
    }
    fn group(&mut self, id: u64) -> Option<GroupEntry> {
        self.groups.get(&id).copied()
    }
    fn put_group(&mut self, id: u64, entry: GroupEntry) {
        self.groups.insert(id, entry);
    }
    fn first_line(&mut self, key: u64, line: u32) -> Option<u32> {
        match self.first_lines.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(line);
                None
            }
        }
    }
    fn seen_before(&mut self, key: u64) -> bool {
        !self.seen.insert(key)
    }
    fn friend_view(&mut self, owner: u32, friend: u32, names: &[&String]) -> ListView {
        self.lists().view(owner, friend, names)
    }
    fn friend_push(&mut self, owner: u32, friend: u32, new_names: &[String]) {
        self.lists().push(owner, friend, new_names);
    }
    fn next_file(&mut self) {
        self.first_lines = HashMap::new();
        self.seen = HashSet::new();
        self.friend_lists = None;
    }
}
