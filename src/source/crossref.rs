//! The rules that need more than one record: duplicates, references between files, group
//! times and owners.
//!
//! Memory stays bounded by holding only ids, never records: each id is kept as a 64-bit hash
//! (xxh3) with a few bytes of facts. Two different ids share a hash with odds of about
//! n²/2⁶⁵ (under one in a million for 5M ids), which would show as a false duplicate or hide a
//! dangling reference; the README states this.

use crate::model::{
    Account, C2cMessage, Friend, Group, GroupMember, GroupMessage, MemberRole, Profile,
};
use crate::model::{FieldProblem, Parsed, Rule};
use std::collections::{HashMap, HashSet};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Hash domains, so that keys of different kinds can share one set.
const FRIEND_PAIR: u64 = 1;
const OWNER_GROUP: u64 = 2;

fn hash(id: &str) -> u64 {
    xxh3_64(id.as_bytes())
}

fn line32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// What the validator remembers of one account.
#[derive(Clone, Copy)]
struct AccountEntry {
    line: u32,
    rejected: bool,
    /// Distinct friend-list groups used by this owner's valid friend entries (saturating).
    friend_groups: u8,
}

/// What the validator remembers of one group.
#[derive(Clone, Copy)]
struct GroupEntry {
    line: u32,
    rejected: bool,
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
    /// Per-file duplicate detection: id hash → first line. Cleared between files.
    seen: HashMap<u64, u32>,
    /// Per-file pair keys (friend pairs, owner+group, group+member). Cleared between files.
    pairs: HashSet<u64>,
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
            seen: HashMap::new(),
            pairs: HashSet::new(),
        }
    }

    /// Forgets the per-file sets before the next file.
    pub fn next_file(&mut self) {
        self.seen = HashMap::new();
        self.pairs = HashSet::new();
    }

    /// Duplicate check on a record's key within the current file.
    fn check_duplicate(
        &mut self,
        line: u64,
        key: Option<&str>,
        field: &str,
        p: &mut Vec<FieldProblem>,
    ) {
        let Some(key) = key else { return };
        if let Some(first) = self.seen.get(&hash(key)) {
            push(
                p,
                Rule::DuplicateId,
                field,
                format!("duplicate id, first at line {first}"),
            );
        } else {
            self.seen.insert(hash(key), line32(line));
        }
    }

    fn check_account_ref(&self, id: &str, field: &str, p: &mut Vec<FieldProblem>) {
        match self.accounts.get(&hash(id)) {
            None => push(
                p,
                Rule::DanglingAccount,
                field,
                "account is not in accounts.jsonl".into(),
            ),
            Some(a) if a.rejected => push(
                p,
                Rule::RejectedReference,
                field,
                format!("account was rejected (accounts.jsonl:{})", a.line),
            ),
            Some(_) => {}
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
        self.check_duplicate(line, r.key.as_deref(), "id", &mut r.problems);
        if let Some(key) = &r.key {
            let entry = AccountEntry {
                line: line32(line),
                rejected: !r.problems.is_empty(),
                friend_groups: 0,
            };
            self.accounts.entry(hash(key)).or_insert(entry);
        }
    }

    /// profiles.jsonl
    pub fn profile(&mut self, line: u64, r: &mut Parsed<Profile>) {
        self.check_duplicate(line, r.key.as_deref(), "id", &mut r.problems);
        if let Some(rec) = &r.record {
            self.check_account_ref(&rec.id, "id", &mut r.problems);
        }
    }

    /// friends.jsonl
    pub fn friend(&mut self, _line: u64, r: &mut Parsed<Friend>) {
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        self.check_account_ref(&rec.owner, "owner", p);
        self.check_account_ref(&rec.friend, "friend", p);
        let pair = format!("{}\0{}", rec.owner, rec.friend);
        if !self
            .pairs
            .insert(xxh3_64_with_seed(pair.as_bytes(), FRIEND_PAIR))
        {
            let why = "duplicate entry: an earlier line has the same owner and friend".into();
            push(p, Rule::DuplicateId, "friend", why);
        }
        if !p.is_empty() {
            return;
        }
        // Count the owner's distinct friend-list groups over the entries that will be imported.
        let owner = hash(&rec.owner);
        for group in &rec.groups {
            let key = format!("{}\0{group}", rec.owner);
            if !self
                .pairs
                .insert(xxh3_64_with_seed(key.as_bytes(), OWNER_GROUP))
            {
                continue;
            }
            if let Some(acc) = self.accounts.get_mut(&owner) {
                acc.friend_groups = acc.friend_groups.saturating_add(1);
                if usize::from(acc.friend_groups)
                    > crate::model::limits::FRIEND_GROUPS_PER_OWNER_MAX
                {
                    let why = format!(
                        "adds friend group {:?}: the owner would have more than {} distinct groups",
                        crate::model::parse::display_id(group),
                        crate::model::limits::FRIEND_GROUPS_PER_OWNER_MAX
                    );
                    push(p, Rule::TooManyFriendGroups, "groups", why);
                    acc.friend_groups -= 1;
                    self.pairs
                        .remove(&xxh3_64_with_seed(key.as_bytes(), OWNER_GROUP));
                }
            }
        }
    }

    /// c2c_messages.jsonl
    pub fn c2c_message(&mut self, line: u64, r: &mut Parsed<C2cMessage>) {
        self.check_duplicate(line, r.key.as_deref(), "id", &mut r.problems);
        let Some(rec) = &r.record else { return };
        self.check_account_ref(&rec.from, "from", &mut r.problems);
        self.check_account_ref(&rec.to, "to", &mut r.problems);
        self.check_after_export(rec.sent_at, "sent_at", &mut r.problems);
    }

    /// groups.jsonl
    pub fn group(&mut self, line: u64, r: &mut Parsed<Group>) {
        self.check_duplicate(line, r.key.as_deref(), "id", &mut r.problems);
        if let Some(owner) = r.record.as_ref().and_then(|g| g.owner.as_deref()) {
            self.check_account_ref(owner, "owner", &mut r.problems);
        }
        let Some(key) = &r.key else { return };
        let entry = GroupEntry {
            line: line32(line),
            rejected: !r.problems.is_empty(),
            created_at: r.record.as_ref().map_or(0, |g| g.created_at),
            owner: r.record.as_ref().and_then(|g| g.owner.as_deref()).map(hash),
            member_owner_line: None,
        };
        self.groups.entry(hash(key)).or_insert(entry);
    }

    /// group_members.jsonl
    pub fn group_member(&mut self, line: u64, r: &mut Parsed<GroupMember>) {
        let Some(rec) = &r.record else { return };
        let p = &mut r.problems;
        let group = self.check_group_ref(&rec.group, p);
        self.check_account_ref(&rec.member, "member", p);
        let pair = format!("{}\0{}", rec.group, rec.member);
        if !self.pairs.insert(xxh3_64(pair.as_bytes())) {
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
    pub fn group_message(&mut self, line: u64, r: &mut Parsed<GroupMessage>) {
        self.check_duplicate(line, r.key.as_deref(), "id", &mut r.problems);
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
