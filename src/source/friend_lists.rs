//! Each owner's friend list as it will be imported, to check the rules that span an owner's
//! entries: no entry twice, at most 3000 friends, at most 32 distinct friend-list groups.
//!
//! Lists hold account indexes and interned group-name ids — exact, no hashing — in one small
//! vector per owner. The rules themselves bound each vector (3000 + 32 items), so checking an
//! entry costs at most one short scan.

use crate::model::limits::{FRIENDS_PER_OWNER_MAX, FRIEND_GROUPS_PER_OWNER_MAX};
use crate::model::parse::display_id;
use crate::model::{FieldProblem, Rule};
use std::collections::{BTreeSet, HashMap};

/// Marks a group-name id among friend indexes in one list.
const GROUP_TAG: u32 = 1 << 31;

/// The friend lists of every owner, by account index.
pub struct FriendLists {
    lists: Vec<Vec<u32>>,
    group_names: HashMap<String, u32>,
}

impl FriendLists {
    /// Empty lists for `accounts` accounts (indexes `0..accounts`).
    pub fn new(accounts: usize) -> Self {
        Self {
            lists: vec![Vec::new(); accounts],
            group_names: HashMap::new(),
        }
    }

    /// Checks the entry `owner → friend` (account indexes) with its friend-list `groups`, and
    /// adds it to the owner's list when it breaks none of the rules.
    pub fn add(&mut self, owner: u32, friend: u32, groups: &[String], p: &mut Vec<FieldProblem>) {
        let Some(list) = self.lists.get(owner as usize) else {
            return;
        };
        let mut friends = 0usize;
        let mut distinct_groups = 0usize;
        for &item in list {
            if item & GROUP_TAG == 0 {
                friends += 1;
                if item == friend {
                    let why = "duplicate entry: an earlier line has the same owner and friend";
                    p.push(FieldProblem::new(Rule::DuplicateId, "friend", why));
                    return;
                }
            } else {
                distinct_groups += 1;
            }
        }
        if friends >= FRIENDS_PER_OWNER_MAX {
            let why = format!(
                "the owner already has {FRIENDS_PER_OWNER_MAX} friend entries, Tencent's limit per list"
            );
            p.push(FieldProblem::new(Rule::TooManyFriends, "owner", why));
            return;
        }
        let names: BTreeSet<&String> = groups.iter().collect();
        let new_names: Vec<&String> = names
            .into_iter()
            .filter(|name| {
                self.group_names
                    .get(name.as_str())
                    .is_none_or(|id| !list.contains(&(GROUP_TAG | id)))
            })
            .collect();
        if distinct_groups + new_names.len() > FRIEND_GROUPS_PER_OWNER_MAX {
            let shown: Vec<String> = new_names
                .iter()
                .map(|n| format!("{:?}", display_id(n)))
                .collect();
            let why = format!(
                "adds friend group {}: the owner would have {} distinct groups, allowed {FRIEND_GROUPS_PER_OWNER_MAX}",
                shown.join(", "),
                distinct_groups + new_names.len()
            );
            p.push(FieldProblem::new(Rule::TooManyFriendGroups, "groups", why));
            return;
        }
        if !p.is_empty() {
            return;
        }
        let mut new_ids = Vec::with_capacity(new_names.len());
        for name in new_names {
            let next = u32::try_from(self.group_names.len()).unwrap_or(GROUP_TAG - 1);
            let id = *self
                .group_names
                .entry(name.clone())
                .or_insert(next.min(GROUP_TAG - 1));
            new_ids.push(GROUP_TAG | id);
        }
        // The index exists: checked at the top of this function.
        if let Some(list) = self.lists.get_mut(owner as usize) {
            list.push(friend);
            list.extend(new_ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(l: &mut FriendLists, owner: u32, friend: u32, groups: &[&str]) -> Vec<Rule> {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let mut p = Vec::new();
        l.add(owner, friend, &groups, &mut p);
        p.into_iter().map(|x| x.rule).collect()
    }

    #[test]
    fn duplicates_are_per_owner() {
        let mut l = FriendLists::new(3);
        assert!(add(&mut l, 0, 1, &[]).is_empty());
        assert!(add(&mut l, 1, 0, &[]).is_empty());
        assert_eq!(add(&mut l, 0, 1, &[]), vec![Rule::DuplicateId]);
    }

    #[test]
    fn at_most_3000_friends() {
        let n = FRIENDS_PER_OWNER_MAX as u32 + 2;
        let mut l = FriendLists::new(n as usize);
        for f in 1..=FRIENDS_PER_OWNER_MAX as u32 {
            assert!(add(&mut l, 0, f, &[]).is_empty());
        }
        assert_eq!(add(&mut l, 0, n - 1, &[]), vec![Rule::TooManyFriends]);
    }

    #[test]
    fn at_most_32_distinct_groups_and_reuse_is_free() {
        let mut l = FriendLists::new(100);
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
