//! The rules that span an owner's friend entries: no entry twice, at most 3000 friends, at
//! most 32 distinct friend-list groups; and [`FriendLists`], the lists kept in memory.
//!
//! In memory, lists hold account indexes and interned group-name ids — exact, no hashing — in
//! one small vector per owner. The rules themselves bound each vector (3000 + 32 items), so
//! checking an entry costs at most one short scan.

use super::memory::{CrossMemory, ListView};
use crate::model::limits::{FRIENDS_PER_OWNER_MAX, FRIEND_GROUPS_PER_OWNER_MAX};
use crate::model::parse::display_id;
use crate::model::{FieldProblem, Rule};
use std::collections::{BTreeSet, HashMap};

/// Marks a group-name id among friend indexes in one list.
const GROUP_TAG: u32 = 1 << 31;

/// Checks the entry `owner → friend` (account indexes) with its friend-list `groups`, and adds
/// it to the owner's list in `memory` when it breaks none of the rules and `p` is empty.
pub(crate) fn add_friend(
    memory: &mut dyn CrossMemory,
    owner: u32,
    friend: u32,
    groups: &[String],
    p: &mut Vec<FieldProblem>,
) {
    let names: Vec<&String> = groups.iter().collect::<BTreeSet<_>>().into_iter().collect();
    let view = memory.friend_view(owner, friend, &names);
    if view.duplicate {
        let why = "duplicate entry: an earlier line has the same owner and friend";
        p.push(FieldProblem::new(Rule::DuplicateId, "friend", why));
        return;
    }
    if view.friends >= FRIENDS_PER_OWNER_MAX {
        let why = format!(
            "the owner already has {FRIENDS_PER_OWNER_MAX} friend entries, Tencent's limit per list"
        );
        p.push(FieldProblem::new(Rule::TooManyFriends, "owner", why));
        return;
    }
    let groups_after = view.groups + view.new_names.len();
    if groups_after > FRIEND_GROUPS_PER_OWNER_MAX {
        let shown: Vec<String> = view
            .new_names
            .iter()
            .map(|n| format!("{:?}", display_id(n)))
            .collect();
        let why = format!(
            "adds friend group {}: the owner would have {groups_after} distinct groups, allowed {FRIEND_GROUPS_PER_OWNER_MAX}",
            shown.join(", "),
        );
        p.push(FieldProblem::new(Rule::TooManyFriendGroups, "groups", why));
        return;
    }
    if p.is_empty() {
        memory.friend_push(owner, friend, &view.new_names);
    }
}

/// The friend lists of every owner, by account index.
pub(crate) struct FriendLists {
    lists: Vec<Vec<u32>>,
    group_names: HashMap<String, u32>,
}

impl FriendLists {
    /// Empty lists for `accounts` accounts (indexes `0..accounts`).
    pub(crate) fn new(accounts: usize) -> Self {
        Self {
            lists: vec![Vec::new(); accounts],
            group_names: HashMap::new(),
        }
    }

    /// What `owner`'s list says about adding `friend` with the group `names`. An owner out of
    /// range (not an account of this validation) has no list, and no entry is added to it.
    pub(crate) fn view(&self, owner: u32, friend: u32, names: &[&String]) -> ListView {
        let mut view = ListView::default();
        let Some(list) = self.lists.get(owner as usize) else {
            return view;
        };
        for &item in list {
            if item & GROUP_TAG == 0 {
                view.friends += 1;
                view.duplicate |= item == friend;
            } else {
                view.groups += 1;
            }
        }
        view.new_names = names
            .iter()
            .filter(|name| {
                self.group_names
                    .get(name.as_str())
                    .is_none_or(|id| !list.contains(&(GROUP_TAG | id)))
            })
            .map(|name| (*name).clone())
            .collect();
        view
    }

    /// Adds `friend` and the group names new to the list to `owner`'s list.
    pub(crate) fn push(&mut self, owner: u32, friend: u32, new_names: &[String]) {
        let mut new_ids = Vec::with_capacity(new_names.len());
        for name in new_names {
            let next = u32::try_from(self.group_names.len()).unwrap_or(GROUP_TAG - 1);
            let id = *self
                .group_names
                .entry(name.clone())
                .or_insert(next.min(GROUP_TAG - 1));
            new_ids.push(GROUP_TAG | id);
        }
        if let Some(list) = self.lists.get_mut(owner as usize) {
            list.push(friend);
            list.extend(new_ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::memory::InMemory;

    fn add(l: &mut InMemory, owner: u32, friend: u32, groups: &[&str]) -> Vec<Rule> {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let mut p = Vec::new();
        add_friend(l, owner, friend, &groups, &mut p);
        p.into_iter().map(|x| x.rule).collect()
    }

    /// A memory with `n` accounts, whose lists are sized from it.
    fn with_accounts(n: u32) -> InMemory {
        let mut m = InMemory::default();
        for id in 0..u64::from(n) {
            m.know_account(id);
        }
        m
    }

    #[test]
    fn duplicates_are_per_owner() {
        let mut l = with_accounts(3);
        assert!(add(&mut l, 0, 1, &[]).is_empty());
        assert!(add(&mut l, 1, 0, &[]).is_empty());
        assert_eq!(add(&mut l, 0, 1, &[]), vec![Rule::DuplicateId]);
    }

    #[test]
    fn at_most_3000_friends() {
        let n = FRIENDS_PER_OWNER_MAX as u32 + 2;
        let mut l = with_accounts(n);
        for f in 1..=FRIENDS_PER_OWNER_MAX as u32 {
            assert!(add(&mut l, 0, f, &[]).is_empty());
        }
        assert_eq!(add(&mut l, 0, n - 1, &[]), vec![Rule::TooManyFriends]);
    }

    #[test]
    fn at_most_32_distinct_groups_and_reuse_is_free() {
        let mut l = with_accounts(100);
        for f in 1..=32 {
            let name = format!("G{f}");
            assert!(add(&mut l, 0, f, &[&name, "G1"]).is_empty());
        }
        assert!(add(&mut l, 0, 40, &["G7", "G8"]).is_empty());
        assert_eq!(
            add(&mut l, 0, 41, &["G33"]),
            vec![Rule::TooManyFriendGroups]
        );
        // The refused entry left no trace: its friend can still be added without the group.
        assert!(add(&mut l, 0, 41, &["G2"]).is_empty());
        // Another owner has a budget of its own.
        assert!(add(&mut l, 1, 2, &["G33"]).is_empty());
    }
}
