//! The rules that need more than one record: duplicates, references between files, group
//! times and owners.
//!
//! What they remember between records is held by a [`CrossMemory`]: in memory, or on disk
//! for staging. Only ids are remembered, never records, as a 64-bit hash (xxh3) of the id with
//! a few bytes of facts. Two different ids share a hash with odds of about n²/2⁶⁵ (under one in
//! a million for 5M ids), which would show as a false duplicate or hide a dangling reference;
//! docs/export-format.md states this. Friend lists are exact (see [`super::friend_lists`]).

use super::export_dir::ExportFile;
use super::friend_lists::add_friend;
use super::memory::{AccountEntry, CrossMemory, GroupEntry, InMemory};
use crate::model::{
    Account, C2cMessage, Friend, Group, GroupMember, GroupMessage, MemberRole, Profile,
};
use crate::model::{FieldProblem, Parsed, Rule};
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

/// The hash an id is remembered by.
pub(crate) fn hash(id: &str) -> u64 {
    xxh3_64(id.as_bytes())
}

fn line32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// Cross-file state, filled file by file in the order of [`super::ExportFile::ALL`].
pub(crate) struct CrossRef {
    exported_at: i64,
    memory: Box<dyn CrossMemory + Send>,
    /// The export is a delta: it may carry tombstones.
    delta: bool,
    /// Accounts a tombstone of this export deleted, with its line: restating one after is
    /// refused. Only deltas have them, and they are small.
    deleted_accounts: HashMap<u64, u32>,
}

fn push(p: &mut Vec<FieldProblem>, rule: Rule, field: &str, reason: String) {
    p.push(FieldProblem::new(rule, field, reason));
}

impl CrossRef {
    /// Empty state in memory for an export taken at `exported_at`.
    pub(crate) fn new(exported_at: i64) -> Self {
        Self::with_memory(exported_at, Box::new(InMemory::default()))
    }

    /// Empty state kept by `memory` for an export taken at `exported_at`.
    pub(crate) fn with_memory(exported_at: i64, memory: Box<dyn CrossMemory + Send>) -> Self {
        Self {
            exported_at,
            memory,
            delta: false,
            deleted_accounts: HashMap::new(),
        }
    }

    /// The export is a delta (its manifest has `delta_of`): tombstones are allowed.
    pub(crate) fn set_delta(&mut self, delta: bool) {
        self.delta = delta;
    }

    /// A tombstone of `file` at `line`: allowed only in a delta; an account's is remembered so
    /// that restating the account after it is refused. No other rule applies: a tombstone of a
    /// key never imported deletes nothing, and one of a key restated later is undone by it.
    pub(crate) fn tombstone<T>(&mut self, file: ExportFile, line: u64, r: &mut Parsed<T>) {
        if !self.delta {
            let why = "a tombstone in a full export: only a delta (its manifest has delta_of) \
                       carries deletions";
            push(&mut r.problems, Rule::Tombstone, "deleted", why.into());
            return;
        }
        if let (ExportFile::Accounts, Some(key)) = (file, &r.key) {
            self.deleted_accounts
                .entry(hash(key))
                .or_insert(line32(line));
        }
    }

    /// An account an earlier export staged: a delta's records may refer to it.
    pub(crate) fn know_account(&mut self, id: &str) {
        self.memory.know_account(hash(id));
    }

    /// A group an earlier export staged, created at `created_at`.
    pub(crate) fn know_group(&mut self, id: &str, created_at: i64) {
        self.memory.know_group(hash(id), created_at);
    }

    /// Forgets the per-file state before the next file.
    pub(crate) fn next_file(&mut self) {
        self.memory.next_file();
    }

    /// Duplicate check of a message id: only a hash is kept, so no first line.
    fn check_duplicate_id(&mut self, key: Option<&str>, p: &mut Vec<FieldProblem>) {
        let Some(key) = key else { return };
        if self.memory.seen_before(hash(key)) {
            let why = "duplicate id: an earlier line of this file has it".into();
            push(p, Rule::DuplicateId, "id", why);
        }
    }

    /// Duplicate check that names the first line (for small files of ids: profiles).
    fn check_duplicate_line(&mut self, line: u64, key: Option<&str>, p: &mut Vec<FieldProblem>) {
        let Some(key) = key else { return };
        if let Some(first) = self.memory.first_line(hash(key), line32(line)) {
            let why = format!("duplicate id, first at line {first}");
            push(p, Rule::DuplicateId, "id", why);
        }
    }

    /// The account a record refers to, when it exists (valid or not); reports a problem when
    /// it is missing or was rejected.
    fn check_account_ref(
        &mut self,
        id: &str,
        field: &str,
        p: &mut Vec<FieldProblem>,
    ) -> Option<AccountEntry> {
        match self.memory.account(hash(id)) {
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
            Some(a) => Some(a),
        }
    }
    /// The group a record refers to, when it exists and is valid.
    fn check_group_ref(&mut self, id: &str, p: &mut Vec<FieldProblem>) -> Option<GroupEntry> {
        match self.memory.group(hash(id)) {
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
            Some(g) => Some(g),
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
    pub(crate) fn account(&mut self, line: u64, r: &mut Parsed<Account>) {
        let Some(key) = &r.key else { return };
        if let Some(deleted) = self.deleted_accounts.get(&hash(key)) {
            let why = format!(
                "account deleted by the tombstone at line {deleted} of this delta and restated \
                 here: Tencent refuses to create a deleted UserID again for months; keep one of \
                 the two lines"
            );
            push(&mut r.problems, Rule::AccountRecreated, "id", why);
        }
        let earlier = match self.memory.account(hash(key)) {
            Some(first) if !first.earlier => {
                let why = format!("duplicate id, first at line {}", first.line);
                push(&mut r.problems, Rule::DuplicateId, "id", why);
                return;
            }
            other => other,
        };
        // A delta restating an earlier account keeps its index (its friend list).
        let index = earlier.map_or_else(|| self.memory.account_count(), |e| e.index);
        let entry = AccountEntry {
            index,
            line: line32(line),
            rejected: !r.problems.is_empty(),
            earlier: false,
        };
        self.memory.put_account(hash(key), entry);
    }

    /// profiles.jsonl
    pub(crate) fn profile(&mut self, line: u64, r: &mut Parsed<Profile>) {
        self.check_duplicate_line(line, r.key.as_deref(), &mut r.problems);
        if let Some(rec) = &r.record {
            self.check_account_ref(&rec.id, "id", &mut r.problems);
        }
    }

    /// friends.jsonl
    pub(crate) fn friend(&mut self, _line: u64, r: &mut Parsed<Friend>) {
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        let owner = self.check_account_ref(&rec.owner, "owner", p);
        let friend = self.check_account_ref(&rec.friend, "friend", p);
        let (Some(owner), Some(friend)) = (owner, friend) else {
            return;
        };
        add_friend(&mut *self.memory, owner.index, friend.index, &rec.groups, p);
    }

    /// c2c_messages.jsonl
    pub(crate) fn c2c_message(&mut self, _line: u64, r: &mut Parsed<C2cMessage>) {
        self.check_duplicate_id(r.key.as_deref(), &mut r.problems);
        let Some(rec) = &r.record else { return };
        self.check_account_ref(&rec.from, "from", &mut r.problems);
        self.check_account_ref(&rec.to, "to", &mut r.problems);
        self.check_after_export(rec.sent_at, "sent_at", &mut r.problems);
    }

    /// groups.jsonl
    pub(crate) fn group(&mut self, line: u64, r: &mut Parsed<Group>) {
        if let Some(owner) = r.record.as_ref().and_then(|g| g.owner.as_deref()) {
            self.check_account_ref(owner, "owner", &mut r.problems);
        }
        let Some(key) = &r.key else { return };
        if let Some(first) = self.memory.group(hash(key)).filter(|g| !g.earlier) {
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
        self.memory.put_group(hash(key), entry);
    }

    /// group_members.jsonl
    pub(crate) fn group_member(&mut self, line: u64, r: &mut Parsed<GroupMember>) {
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        let group = self.check_group_ref(&rec.group, p);
        self.check_account_ref(&rec.member, "member", p);
        let pair = format!("{}\0{}", rec.group, rec.member);
        if self.memory.seen_before(hash(&pair)) {
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
            } else {
                let entry = GroupEntry {
                    member_owner_line: Some(line32(line)),
                    ..g
                };
                self.memory.put_group(hash(&rec.group), entry);
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
    pub(crate) fn group_message(&mut self, _line: u64, r: &mut Parsed<GroupMessage>) {
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
