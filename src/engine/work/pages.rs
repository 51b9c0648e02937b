//! How [`Work`]'s window is filled: pages of pending items in the store's order, the state of
//! the groups they belong to, and when a kind wants its next page.

use super::Work;
use crate::engine::kinds::{kind_of, Grouping};
use crate::store::queries::PendingItem;
use crate::store::Kind;
use std::collections::HashMap;

/// Below this many queued items a kind wants its next page, by default.
pub(crate) const LOW_WATER: usize = 2_000;

/// What the store says of a group item, when its first messages or members are paged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupAt {
    /// In the target.
    Done,
    /// Failed or skipped: it will not be.
    NotImported,
    /// Still to import.
    Pending,
    /// Not in the store at all.
    NotStaged,
}

/// What the store says about groups at the start.
#[cfg(test)]
pub(crate) struct GroupsAtStart {
    /// Group items already in the target.
    pub(crate) done: Vec<i64>,
    /// Group items failed or skipped: what depends on them cannot go.
    pub(crate) not_imported: Vec<i64>,
}

impl Work {
    /// Work over `pending` items (per kind, in the store's order, all of them at once), where
    /// `groups_at_start` says which groups are settled.
    #[cfg(test)]
    pub(crate) fn new(
        pending: HashMap<Kind, Vec<PendingItem>>,
        groups_at_start: GroupsAtStart,
        batch: HashMap<Kind, usize>,
    ) -> Work {
        let remaining = pending.iter().map(|(k, v)| (*k, v.len() as u64)).collect();
        let mut work = Work::paged(remaining, batch);
        for id in groups_at_start.done {
            work.set_group(id, GroupAt::Done);
        }
        for id in groups_at_start.not_imported {
            work.set_group(id, GroupAt::NotImported);
        }
        for item in pending.get(&Kind::Group).into_iter().flatten() {
            work.set_group(item.id, GroupAt::Pending);
        }
        for kind in [Kind::GroupMessage, Kind::GroupMember] {
            let items = pending.get(&kind).map(Vec::as_slice).unwrap_or_default();
            for id in work.unknown_groups(items) {
                work.set_group(id, GroupAt::NotStaged);
            }
        }
        for kind in Kind::ALL {
            if let Some(items) = pending.get(&kind) {
                work.add_page(kind, items.clone(), false);
            }
        }
        work
    }

    /// Whether `kind`'s window is low and the store may hold more of it. The friend owner
    /// held back at a page's end does not count: it cannot go before the next page, however
    /// many entries it has.
    pub(crate) fn wants(&self, kind: Kind) -> bool {
        let mut queued = self.queued.get(&kind).copied().unwrap_or(0);
        if kind == Kind::Friend {
            queued = queued.saturating_sub(self.owner_tail.len());
        }
        self.more.contains(&kind) && queued < self.low_water
    }

    /// Whether every item of `kind` is settled and the store said it has no more: a last page
    /// that came full leaves the kind open until an empty one is read (members may wait on
    /// that for their group's messages).
    pub(crate) fn finished(&self, kind: Kind) -> bool {
        self.remaining(kind) == 0 && !self.more.contains(&kind)
    }

    /// Below `n` queued items a kind wants its next page.
    pub(crate) fn set_low_water(&mut self, n: usize) {
        self.low_water = n.max(1);
    }

    /// Groups of `items` (messages or members) whose state is not known yet.
    pub(crate) fn unknown_groups(&self, items: &[PendingItem]) -> Vec<i64> {
        let mut ids: Vec<i64> = items
            .iter()
            .map(|i| i.parent.unwrap_or(-1))
            .filter(|g| !self.groups.contains_key(g))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Records what the store says of group `id`; what this run already settled of it stands
    /// (the store may not have committed it yet).
    pub(crate) fn set_group(&mut self, id: i64, at: GroupAt) {
        let g = self.groups.entry(id).or_default();
        if g.imported.is_some() {
            return;
        }
        match at {
            GroupAt::Done => g.imported = Some(true),
            GroupAt::NotImported => g.imported = Some(false),
            GroupAt::NotStaged => {
                g.imported = Some(false);
                g.not_staged = true;
            }
            GroupAt::Pending => {}
        }
    }

    /// The next page of `kind`'s pending items, in the store's order (the groups of messages
    /// and members known through [`Self::set_group`]); `more`: the store may hold more.
    pub(crate) fn add_page(&mut self, kind: Kind, mut items: Vec<PendingItem>, more: bool) {
        if !more {
            self.more.remove(&kind);
        }
        if let Some(skip) = self.not_paged.get(&kind) {
            items.retain(|i| !skip.contains(&i.id));
        }
        *self.queued.entry(kind).or_default() += items.len();
        match kind_of(kind).grouping() {
            Grouping::InOrder => {
                if kind == Kind::Account {
                    self.unresolved_accounts.extend(items.iter().map(|i| i.id));
                    if let Some(last) = items.iter().map(|i| i.id).max() {
                        self.accounts_paged_to = Some(last);
                    }
                }
                self.flat.entry(kind).or_default().extend(items);
            }
            Grouping::Scoped => self.flat.entry(kind).or_default().extend(items),
            Grouping::ByOwner => self.add_friends(items, more),
            Grouping::ByConversation => self.conversations.add(items),
            Grouping::GroupMessages => self.add_messages(items),
            Grouping::GroupMembers => self.add_members(items),
        }
    }

    /// Friend entries; the page's last owner waits for the next page unless it is the last.
    fn add_friends(&mut self, items: Vec<PendingItem>, more: bool) {
        let mut items = items;
        let mut all = std::mem::take(&mut self.owner_tail);
        all.append(&mut items);
        if more {
            let last = all.last().map(|i| i.parent);
            let split = all
                .iter()
                .rposition(|i| i.parent != last.flatten())
                .map_or(0, |p| p + 1);
            self.owner_tail = all.split_off(split);
        }
        self.add_owners(all);
    }

    /// Friend entries grouped by owner, placed among the others by the accounts they need.
    pub(super) fn add_owners(&mut self, items: Vec<PendingItem>) {
        for (key, entries) in by_owner(items) {
            self.owners.entry(key).or_default().extend(entries);
        }
    }

    fn add_messages(&mut self, items: Vec<PendingItem>) {
        if let Some(last) = items.last() {
            self.msgs_paged_to = Some(last.parent.unwrap_or(-1));
        }
        let mut touched = Vec::new();
        for item in items {
            let id = item.parent.unwrap_or(-1);
            let g = self.groups.entry(id).or_default();
            g.msgs.push_back(item);
            if touched.last() != Some(&id) {
                touched.push(id);
            }
        }
        for id in touched {
            match self.groups.get(&id).map(|g| (g.imported, g.busy)) {
                Some((Some(true), false)) => self.msg_ready.push_back(id),
                Some((Some(false), _)) => self.group_lost(id),
                _ => {}
            }
        }
        // Groups before the last one paged in have all their messages here now.
        let waiting: Vec<i64> = match (self.more.contains(&Kind::GroupMessage), self.msgs_paged_to)
        {
            (false, _) => self.members_waiting.iter().copied().collect(),
            (true, Some(to)) => self.members_waiting.range(..to).copied().collect(),
            (true, None) => Vec::new(),
        };
        for id in waiting {
            self.members_waiting.remove(&id);
            let idle = self
                .groups
                .get(&id)
                .is_some_and(|g| g.msgs.is_empty() && !g.busy && g.unresolved.is_none());
            if idle {
                self.member_ready.push_back(id);
            }
        }
    }

    fn add_members(&mut self, items: Vec<PendingItem>) {
        let mut touched = Vec::new();
        for item in items {
            let id = item.parent.unwrap_or(-1);
            self.groups.entry(id).or_default().members.push_back(item);
            if touched.last() != Some(&id) {
                touched.push(id);
            }
        }
        for id in touched {
            let Some(g) = self.groups.get(&id) else {
                continue;
            };
            match g.imported {
                Some(true) if g.msgs.is_empty() && !g.busy && g.unresolved.is_none() => {
                    self.members_may_go(id)
                }
                Some(false) => self.group_lost(id),
                _ => {}
            }
        }
    }

    /// Group `id` has no message queued nor out: its members go, once every message of it
    /// has been paged in.
    pub(super) fn members_may_go(&mut self, id: i64) {
        let all_paged = !self.more.contains(&Kind::GroupMessage)
            || self.msgs_paged_to.is_some_and(|to| id < to);
        if all_paged {
            self.member_ready.push_back(id);
        } else {
            self.members_waiting.insert(id);
        }
    }

    /// Failed items the operator sent back: they queue again.
    pub(crate) fn requeue(&mut self, kind: Kind, items: Vec<PendingItem>) {
        if self.more.contains(&kind) {
            // Those after the kind's cursor would come again in a later page.
            self.not_paged
                .entry(kind)
                .or_default()
                .extend(items.iter().map(|i| i.id));
        }
        *self.remaining.entry(kind).or_default() += items.len() as u64;
        *self.queued.entry(kind).or_default() += items.len();
        if kind == Kind::Account {
            self.unresolved_accounts.extend(items.iter().map(|i| i.id));
        }
        let grouping = kind_of(kind).grouping();
        match grouping {
            Grouping::InOrder | Grouping::Scoped => {
                self.flat.entry(kind).or_default().extend(items)
            }
            Grouping::ByOwner => self.add_owners(items),
            Grouping::ByConversation => self.conversations.requeue(items),
            Grouping::GroupMessages | Grouping::GroupMembers => {
                let mut touched = Vec::new();
                for item in items {
                    let id = item.parent.unwrap_or(-1);
                    let g = self.groups.entry(id).or_default();
                    if grouping == Grouping::GroupMessages {
                        // Sent again in send-time order among what is left of the group.
                        let at = g.msgs.partition_point(|m| (m.t, m.id) < (item.t, item.id));
                        g.msgs.insert(at, item);
                    } else {
                        g.members.push_back(item);
                    }
                    touched.push(id);
                }
                touched.dedup();
                for id in touched {
                    match self.groups.get(&id).and_then(|g| g.imported) {
                        Some(true) => self.group_ready(id),
                        Some(false) => self.group_lost(id),
                        None => {}
                    }
                }
            }
        }
    }

    /// `n` items of `kind` left the window.
    pub(super) fn unqueue(&mut self, kind: Kind, n: usize) {
        if let Some(q) = self.queued.get_mut(&kind) {
            *q = q.saturating_sub(n);
        }
    }
}

/// Friend entries grouped by owner, keyed by the highest account they need, then the first
/// entry and the owner (the order owners go in).
fn by_owner(items: Vec<PendingItem>) -> Vec<((i64, i64, i64), Vec<PendingItem>)> {
    let mut map: HashMap<i64, Vec<PendingItem>> = HashMap::new();
    for item in items {
        map.entry(item.parent.unwrap_or(-1)).or_default().push(item);
    }
    map.into_iter()
        .map(|(owner, entries)| {
            let needs = entries.iter().map(|i| i.needs).max().unwrap_or(-1);
            let first = entries.first().map_or(0, |i| i.id);
            ((needs, first, owner), entries)
        })
        .collect()
}
