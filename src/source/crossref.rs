//! The rules that need more than one record: duplicates, references between files, group
//! times and owners.
//!
//! Memory stays bounded by holding only ids, never records. Accounts and groups are kept as a
//! 64-bit hash (xxh3) of their id with a few bytes of facts; message ids as a bare hash. Two
//! different ids share a hash with odds of about n²/2⁶⁵ (under one in a million for 5M ids),
//! which would show as a false duplicate or hide a dangling reference; docs/export-format.md states
//! this. Friend lists are exact (see [`super::friend_lists`]).

use super::friend_lists::FriendLists;
use crate::model::{
    Account, C2cMessage, Friend, Group, GroupMember, GroupMessage, MemberRole, Profile,
};
use crate::model::{FieldProblem, Parsed, Rule};
use std::collections::{HashMap, HashSet};
use xxhash_rust::xxh3::xxh3_64;

fn hash(id: &str) -> u64 {
    xxh3_64(id.as_bytes())
}

fn line32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// What the validator remembers of one account.
#[derive(Clone, Copy)]
struct AccountEntry {
    /// Dense index in order of first appearance, for the friend lists.
    index: u32,
    line: u32,
    rejected: bool,
    /// Staged from an earlier export (a delta may restate it without being a duplicate).
    earlier: bool,
}

/// What the validator remembers of one group.
#[derive(Clone, Copy)]
struct GroupEntry {
    line: u32,
    rejected: bool,
    /// Staged from an earlier export (a delta may restate it without being a duplicate).
    earlier: bool,
    created_at: i64,
    owner: Option<u64>,
    /// The first member line that claims role `owner`.
    member_owner_line: Option<u32>,
}

/// Cross-file state, filled file by file in the order of [`super::ExportFile::ALL`].
pub struct CrossRef {
    exported_at: i64,
    accounts: HashMap<u64, AccountEntry>,
    groups: HashMap<u64, GroupEntry>,
    /// Per-file duplicate detection with the first line (profiles). Cleared between files.
    first_lines: HashMap<u64, u32>,
    /// Per-file duplicate detection of ids or pairs (messages, memberships). Cleared too.
    seen: HashSet<u64>,
    /// Built on the first friend entry, dropped after friends.jsonl.
    friend_lists: Option<FriendLists>,
}

fn push(p: &mut Vec<FieldProblem>, rule: Rule, field: &str, reason: String) {
    p.push(FieldProblem::new(rule, field, reason));
}

impl CrossRef {
    /// Empty state for an export taken at `exported_at`.
    pub fn new(exported_at: i64) -> Self {
        Self {
            exported_at,
            accounts: HashMap::new(),
            groups: HashMap::new(),
            first_lines: HashMap::new(),
            seen: HashSet::new(),
            friend_lists: None,
        }
    }

    /// An account an earlier export staged: a delta's records may refer to it.
    pub fn know_account(&mut self, id: &str) {
        let index = u32::try_from(self.accounts.len()).unwrap_or(u32::MAX);
        let entry = AccountEntry {
            index,
            line: 0,
            rejected: false,
            earlier: true,
        };
        self.accounts.entry(hash(id)).or_insert(entry);
    }

    /// A group an earlier export staged, created at `created_at`.
    pub fn know_group(&mut self, id: &str, created_at: i64) {
        let entry = GroupEntry {
            line: 0,
            rejected: false,
            earlier: true,
            created_at,
            owner: None,
            member_owner_line: None,
        };
        self.groups.entry(hash(id)).or_insert(entry);
    }

    /// Forgets the per-file state before the next file.
    pub fn next_file(&mut self) {
        self.first_lines = HashMap::new();
        self.seen = HashSet::new();
        self.friend_lists = None;
    }

    /// Duplicate check that names the first line (for small files of ids).
    fn check_duplicate_line(&mut self, line: u64, key: Option<&str>, p: &mut Vec<FieldProblem>) {
        let Some(key) = key else { return };
        if let Some(first) = self.first_lines.get(&hash(key)) {
            push(
                p,
                Rule::DuplicateId,
                "id",
                format!("duplicate id, first at line {first}"),
            );
        } else {
            self.first_lines.insert(hash(key), line32(line));
        }
    }

    /// Duplicate check of a message id: only a hash is kept, so no first line.
    fn check_duplicate_id(&mut self, key: Option<&str>, p: &mut Vec<FieldProblem>) {
        let Some(key) = key else { return };
        if !self.seen.insert(hash(key)) {
            let why = "duplicate id: an earlier line of this file has it".into();
            push(p, Rule::DuplicateId, "id", why);
        }
    }

    /// The account a record refers to, when it exists (valid or not); reports a problem when
    /// it is missing or was rejected.
    fn check_account_ref(
        &self,
        id: &str,
        field: &str,
        p: &mut Vec<FieldProblem>,
    ) -> Option<AccountEntry> {
        match self.accounts.get(&hash(id)) {
            None => {
                push(
                    p,
                    Rule::DanglingAccount,
                    field,
                    "account is not in accounts.jsonl".into(),
                );
                None
            }
            Some(a) if a.rejected => {
                let why = format!("account was rejected (accounts.jsonl:{})", a.line);
                push(p, Rule::RejectedReference, field, why);
                None
            }
            Some(a) => Some(*a),
        }
    }
    /// The group a record refers to, when it exists and is valid.
    fn check_group_ref(&self, id: &str, p: &mut Vec<FieldProblem>) -> Option<GroupEntry> {
        match self.groups.get(&hash(id)) {
            None => {
                push(
                    p,
                    Rule::DanglingGroup,
                    "group",
                    "group is not in groups.jsonl".into(),
                );
                None
            }
            Some(g) if g.rejected => {
                let why = format!("group was rejected (groups.jsonl:{})", g.line);
                push(p, Rule::RejectedReference, "group", why);
                None
            }
            Some(g) => Some(*g),
        }
    }

    fn check_after_export(&self, at: i64, field: &str, p: &mut Vec<FieldProblem>) {
        if at > self.exported_at {
            let why = format!(
                "{at} is later than the export itself ({})",
                self.exported_at
            );
            push(p, Rule::AfterExport, field, why);
        }
    }

    /// accounts.jsonl
    pub fn account(&mut self, line: u64, r: &mut Parsed<Account>) {
        let Some(key) = &r.key else { return };
        let earlier = match self.accounts.get(&hash(key)) {
            Some(first) if !first.earlier => {
                let why = format!("duplicate id, first at line {}", first.line);
                push(&mut r.problems, Rule::DuplicateId, "id", why);
                return;
            }
            other => other.copied(),
        };
        // A delta restating an earlier account keeps its index (its friend list).
        let index = earlier.map_or(self.accounts.len(), |e| e.index as usize);
        let entry = AccountEntry {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            line: line32(line),
            rejected: !r.problems.is_empty(),
            earlier: false,
        };
        self.accounts.insert(hash(key), entry);
    }

    /// profiles.jsonl
    pub fn profile(&mut self, line: u64, r: &mut Parsed<Profile>) {
        self.check_duplicate_line(line, r.key.as_deref(), &mut r.problems);
        if let Some(rec) = &r.record {
            self.check_account_ref(&rec.id, "id", &mut r.problems);
        }
    }

    /// friends.jsonl
    pub fn friend(&mut self, _line: u64, r: &mut Parsed<Friend>) {
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        let owner = self.check_account_ref(&rec.owner, "owner", p);
        let friend = self.check_account_ref(&rec.friend, "friend", p);
        let (Some(owner), Some(friend)) = (owner, friend) else {
            return;
        };
        let accounts = self.accounts.len();
        let lists = self
            .friend_lists
            .get_or_insert_with(|| FriendLists::new(accounts));
        lists.add(owner.index, friend.index, &rec.groups, p);
    }

    /// c2c_messages.jsonl
    pub fn c2c_message(&mut self, _line: u64, r: &mut Parsed<C2cMessage>) {
        self.check_duplicate_id(r.key.as_deref(), &mut r.problems);
        let Some(rec) = &r.record else { return };
        self.check_account_ref(&rec.from, "from", &mut r.problems);
        self.check_account_ref(&rec.to, "to", &mut r.problems);
        self.check_after_export(rec.sent_at, "sent_at", &mut r.problems);
    }

    /// groups.jsonl
    pub fn group(&mut self, line: u64, r: &mut Parsed<Group>) {
        if let Some(owner) = r.record.as_ref().and_then(|g| g.owner.as_deref()) {
            self.check_account_ref(owner, "owner", &mut r.problems);
        }
        let Some(key) = &r.key else { return };
        if let Some(first) = self.groups.get(&hash(key)).filter(|g| !g.earlier) {
            let why = format!("duplicate id, first at line {}", first.line);
            push(&mut r.problems, Rule::DuplicateId, "id", why);
            return;
        }
        let entry = GroupEntry {
            line: line32(line),
            rejected: !r.problems.is_empty(),
            earlier: false,
            created_at: r.record.as_ref().map_or(0, |g| g.created_at),
            owner: r.record.as_ref().and_then(|g| g.owner.as_deref()).map(hash),
            member_owner_line: None,
        };
        self.groups.insert(hash(key), entry);
    }

    /// group_members.jsonl
    pub fn group_member(&mut self, line: u64, r: &mut Parsed<GroupMember>) {
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        let group = self.check_group_ref(&rec.group, p);
        self.check_account_ref(&rec.member, "member", p);
        let pair = format!("{}\0{}", rec.group, rec.member);
        if !self.seen.insert(hash(&pair)) {
            let why = "duplicate membership: an earlier line has the same group and member".into();
            push(p, Rule::DuplicateId, "member", why);
        }
        let Some(g) = group else { return };
        if let Some(joined) = rec.joined_at {
            if joined <= g.created_at {
                let why = format!(
                    "joined at {joined}, not after the group was created at {} (groups.jsonl:{})",
                    g.created_at, g.line
                );
                push(p, Rule::JoinedBeforeGroup, "joined_at", why);
            }
            self.check_after_export(joined, "joined_at", p);
        }
        if rec.role == Some(MemberRole::Owner) {
            if let Some(first) = g.member_owner_line {
                let why = format!("a second owner for this group (the first is at line {first})");
                push(p, Rule::SecondOwner, "role", why);
            } else if let Some(entry) = self.groups.get_mut(&hash(&rec.group)) {
                entry.member_owner_line = Some(line32(line));
            }
            match g.owner {
                Some(owner) if owner == hash(&rec.member) => {}
                Some(_) => {
                    let why = format!(
                        "role owner, but groups.jsonl:{} names another owner",
                        g.line
                    );
                    push(p, Rule::OwnerConflict, "role", why);
                }
                None => {
                    let why = format!("role owner, but groups.jsonl:{} names no owner", g.line);
                    push(p, Rule::OwnerConflict, "role", why);
                }
            }
        }
    }

    /// group_messages.jsonl
    pub fn group_message(&mut self, _line: u64, r: &mut Parsed<GroupMessage>) {
        self.check_duplicate_id(r.key.as_deref(), &mut r.problems);
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        let group = self.check_group_ref(&rec.group, p);
        self.check_account_ref(&rec.from, "from", p);
        self.check_after_export(rec.sent_at, "sent_at", p);
        if let Some(g) = group {
            if rec.sent_at <= g.created_at {
                let why = format!(
                    "sent at {}, not after the group was created at {} (groups.jsonl:{})",
                    rec.sent_at, g.created_at, g.line
                );
                push(p, Rule::SentBeforeGroup, "sent_at", why);
            }
        }
    }
}

#[cfg(test)]
#[path = "crossref_tests.rs"]
mod tests;
