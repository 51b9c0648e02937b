//! What is left to import and what may go next: the per-entity dependencies of an import
//! (docs/architecture.md, "How the import moves data").
//!
//! Pure bookkeeping, no I/O and no clock of its own (the caller passes `now`), so every rule
//! is unit-tested. It holds a window of each kind's pending items, filled a page at a time in
//! the store's order ([`Work::add_page`], `pages.rs`) as the lanes drain it, so memory does
//! not grow with the export; what it has not seen yet counts as unresolved. An item that needs
//! accounts waits until they are resolved (imported or refused); a group's messages go after
//! the group, one batch at a time and oldest first; its members after its messages; a
//! conversation's messages one at a time, oldest first; a group that cannot be imported fails
//! what depends on it. How a kind's items make jobs (their [`Grouping`] and batch limit) is the
//! kind's own ([`super::kinds`]); what an outcome does to the work is applied in one place
//! (`outcome.rs`, [`Work::apply`]).

use super::conversations::{self, Conversations};
use super::decide::Failing;
use super::failure::Reason;
use super::job::{Job, Task};
use super::kinds::{kind_of, Grouping};
use crate::store::queries::PendingItem;
use crate::store::writer::{FailedItem, Settled};
use crate::store::Kind;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

mod outcome;
mod pages;
pub(crate) use pages::GroupAt;
#[cfg(test)]
pub(crate) use pages::GroupsAtStart;

/// Items per call for `kind`: as configured, within the kind's own limit.
pub(crate) fn batch_limit(kind: Kind, configured: Option<usize>) -> usize {
    let most = kind_of(kind).max_batch();
    configured.unwrap_or(most).clamp(1, most)
}

/// A group's progress.
#[derive(Debug, Default)]
struct GroupState {
    /// None: not imported yet; Some(true): in the target; Some(false): it will not be.
    imported: Option<bool>,
    msgs: VecDeque<PendingItem>,
    members: VecDeque<PendingItem>,
    /// A message batch (or a read-back) of this group is in flight or waiting to be retried.
    busy: bool,
    /// Its last message request's outcome is unknown: read back before sending more. The
    /// items, and the journal entry that stays open until the read-back settles them.
    unresolved: Option<(Vec<PendingItem>, Option<i64>)>,
    /// Member batches in flight.
    members_in_flight: usize,
    /// Its messages have kept failing with retryable errors since then (the last error's code
    /// and text): the clock of `[import] max_retry_secs`, per group since they go one by one.
    failing: Option<Failing>,
    /// Its group item is not in the store at all (else, when `imported` is `Some(false)`, it
    /// failed or was skipped).
    not_staged: bool,
}

/// The work of one import, as far as it is not yet settled.
pub(crate) struct Work {
    batch: HashMap<Kind, usize>,
    /// Account items paged in and not yet imported nor refused.
    unresolved_accounts: BTreeSet<i64>,
    /// Accounts, profiles and groups, in order of what they need.
    flat: HashMap<Kind, VecDeque<PendingItem>>,
    /// Friend entries by owner, owners in order of what they need (the highest account, then
    /// the first entry): the key.
    owners: BTreeMap<(i64, i64, i64), Vec<PendingItem>>,
    /// The last owner of the last page of friends: more of its entries may follow.
    owner_tail: Vec<PendingItem>,
    /// Items paged in (or sent back) and not yet handed out, per kind.
    queued: HashMap<Kind, usize>,
    /// Kinds whose store may hold pending items not paged in yet.
    more: HashSet<Kind>,
    /// The last account item paged in: those after it are unresolved too.
    accounts_paged_to: Option<i64>,
    /// The group of the last group message paged in: every pending message of the groups
    /// before it is in the window (or settled).
    msgs_paged_to: Option<i64>,
    /// Groups whose members may go once their messages are all paged in.
    members_waiting: BTreeSet<i64>,
    /// Items never to take from a page, per kind: group messages a read-back owns (in flight
    /// when the last run stopped), and failed items sent back, which queue by themselves.
    not_paged: HashMap<Kind, HashSet<i64>>,
    /// One-to-one messages by conversation.
    conversations: Conversations,
    groups: HashMap<i64, GroupState>,
    /// Groups whose messages may go, oldest group first.
    msg_ready: VecDeque<i64>,
    /// Groups whose members may go.
    member_ready: VecDeque<i64>,
    /// Groups waiting for a sender's account.
    parked: Vec<i64>,
    /// Jobs to send again, not before their time.
    retry: HashMap<Kind, VecDeque<(Instant, Job)>>,
    /// Items not yet settled, per kind.
    remaining: HashMap<Kind, u64>,
    /// Settlements the engine decided itself (dependency failures), for the store.
    decided: Vec<Settled>,
    /// Below this many queued items a kind wants its next page.
    low_water: usize,
}

impl Work {
    /// Work that is filled a page at a time ([`Self::add_page`]), where `remaining` counts
    /// each kind's pending items in the store.
    pub(crate) fn paged(remaining: HashMap<Kind, u64>, batch: HashMap<Kind, usize>) -> Work {
        Work {
            batch,
            unresolved_accounts: BTreeSet::new(),
            flat: HashMap::new(),
            owners: BTreeMap::new(),
            owner_tail: Vec::new(),
            queued: HashMap::new(),
            more: remaining
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, _)| *k)
                .collect(),
            accounts_paged_to: None,
            msgs_paged_to: None,
            members_waiting: BTreeSet::new(),
            not_paged: HashMap::new(),
            conversations: Conversations::default(),
            groups: HashMap::new(),
            msg_ready: VecDeque::new(),
            member_ready: VecDeque::new(),
            parked: Vec::new(),
            retry: HashMap::new(),
            remaining,
            decided: Vec::new(),
            low_water: pages::LOW_WATER,
        }
    }

    /// Items of `kind` not yet settled (queued, in flight or waiting to be retried).
    pub(crate) fn remaining(&self, kind: Kind) -> u64 {
        self.remaining.get(&kind).copied().unwrap_or(0)
    }

    /// Settlements decided without a request (what depends on a failed group), to record.
    pub(crate) fn take_decided(&mut self) -> Vec<Settled> {
        std::mem::take(&mut self.decided)
    }

    /// The next job for the lane of `kind`, if one may go at `now`.
    pub(crate) fn next(&mut self, kind: Kind, now: Instant) -> Option<Job> {
        if let Some(queue) = self.retry.get_mut(&kind) {
            if let Some(pos) = queue.iter().position(|(at, _)| *at <= now) {
                return queue.remove(pos).map(|(_, job)| job);
            }
        }
        let job = self.next_fresh(kind)?;
        if job.task == Task::Import {
            self.unqueue(kind, job.items.len());
        }
        Some(job)
    }

    /// The next job of items from the window (or a read-back), retries aside.
    fn next_fresh(&mut self, kind: Kind) -> Option<Job> {
        let limit = self.batch.get(&kind).copied().unwrap_or(1);
        match kind_of(kind).grouping() {
            Grouping::InOrder => {
                let floor = self.account_floor();
                let queue = self.flat.get_mut(&kind)?;
                let mut items = Vec::new();
                while items.len() < limit && queue.front().is_some_and(|i| i.needs < floor) {
                    items.extend(queue.pop_front());
                }
                (!items.is_empty()).then(|| Job::items(kind, None, items))
            }
            Grouping::ByOwner => {
                let floor = self.account_floor();
                let (&key, _) = self.owners.first_key_value()?;
                // Owners go in order of the highest account they need.
                if key.0 >= floor {
                    return None;
                }
                let mut entries = self.owners.remove(&key)?;
                if entries.len() > limit {
                    let rest = entries.split_off(limit);
                    self.owners.insert(key, rest);
                }
                let owner_id = entries.first().and_then(|i| i.parent);
                Some(Job::items(kind, owner_id, entries))
            }
            Grouping::ByConversation => {
                let floor = self.account_floor();
                let (_, items) = self.conversations.next(limit, floor)?;
                Some(Job::items(kind, None, items))
            }
            Grouping::GroupMessages => self.next_messages(limit),
            Grouping::GroupMembers => self.next_members(limit),
            Grouping::Scoped => self.next_deletions(kind, limit),
        }
    }

    /// The next batch of a deletion kind, within one scope, once every kind before it (the
    /// records, then the deletions in their order) is settled: what a delta restates goes in
    /// before anything of it is deleted, and members go before their group.
    fn next_deletions(&mut self, kind: Kind, limit: usize) -> Option<Job> {
        let before = Kind::ALL.into_iter().take_while(|k| *k != kind);
        if before.into_iter().any(|k| !self.finished(k)) {
            return None;
        }
        let queue = self.flat.get_mut(&kind)?;
        let scope = queue.front()?.parent;
        let mut items = Vec::new();
        while items.len() < limit && queue.front().is_some_and(|i| i.parent == scope) {
            items.extend(queue.pop_front());
        }
        Some(Job::items(kind, scope, items))
    }

    /// The account item below which every account is resolved (all, when none is left):
    /// accounts not paged in yet all come after the last one that was.
    fn account_floor(&self) -> i64 {
        let unseen = if self.more.contains(&Kind::Account) {
            self.accounts_paged_to.map_or(0, |id| id.saturating_add(1))
        } else {
            i64::MAX
        };
        self.unresolved_accounts
            .first()
            .copied()
            .unwrap_or(i64::MAX)
            .min(unseen)
    }

    fn next_messages(&mut self, limit: usize) -> Option<Job> {
        let floor = self.account_floor();
        while let Some(id) = self.msg_ready.pop_front() {
            let Some(group) = self.groups.get_mut(&id) else {
                continue;
            };
            if group.busy {
                continue;
            }
            if let Some((items, journal)) = group.unresolved.clone() {
                group.busy = true;
                return Some(Job {
                    kind: Kind::GroupMessage,
                    task: Task::ReadBack,
                    parent: Some(id),
                    items,
                    attempt: 0,
                    journal,
                    failing_since: None,
                });
            }
            let batch: Vec<PendingItem> = group.msgs.iter().take(limit).copied().collect();
            if batch.is_empty() {
                continue;
            }
            if batch.iter().any(|i| i.needs >= floor) {
                self.parked.push(id);
                continue;
            }
            group.msgs.drain(..batch.len());
            group.busy = true;
            return Some(Job::items(Kind::GroupMessage, Some(id), batch));
        }
        None
    }

    fn next_members(&mut self, limit: usize) -> Option<Job> {
        let floor = self.account_floor();
        while let Some(&id) = self.member_ready.front() {
            let Some(group) = self.groups.get_mut(&id) else {
                self.member_ready.pop_front();
                continue;
            };
            if group.members.is_empty() {
                self.member_ready.pop_front();
                continue;
            }
            if group.members.front().is_some_and(|i| i.needs >= floor) {
                // Members come in file order, not account order: wait for this one's account.
                return None;
            }
            let n = group
                .members
                .iter()
                .take(limit)
                .take_while(|i| i.needs < floor)
                .count();
            let batch: Vec<PendingItem> = group.members.drain(..n).collect();
            group.members_in_flight += 1;
            return Some(Job::items(Kind::GroupMember, Some(id), batch));
        }
        None
    }

    /// Records a job's outcome: `done` and `failed` items are settled, the rest of the job
    /// (if `retry_at` is given) goes back to the queue until then.
    fn settle(
        &mut self,
        job: &Job,
        done: &[i64],
        failed: &[FailedItem],
        retry_at: Option<Instant>,
    ) {
        let settled = done.len() + failed.len();
        if let Some(n) = self.remaining.get_mut(&job.kind) {
            *n = n.saturating_sub(settled as u64);
        }
        let grouping = kind_of(job.kind).grouping();
        // What the others need: resolved accounts and imported groups free their items.
        match job.kind {
            Kind::Account => {
                for id in done.iter().chain(failed.iter().map(|f| &f.id)) {
                    self.unresolved_accounts.remove(id);
                }
                let parked = std::mem::take(&mut self.parked);
                self.msg_ready.extend(parked);
            }
            Kind::Group => {
                for id in done {
                    self.groups.entry(*id).or_default().imported = Some(true);
                    self.group_ready(*id);
                }
                for f in failed {
                    self.groups.entry(f.id).or_default().imported = Some(false);
                    self.group_lost(f.id);
                }
            }
            _ => {}
        }
        if let Some(g) = job.group().and_then(|id| self.groups.get_mut(&id)) {
            match grouping {
                Grouping::GroupMembers => {
                    g.members_in_flight = g.members_in_flight.saturating_sub(1)
                }
                // A message went in: the group's streak of failures is over.
                Grouping::GroupMessages if !done.is_empty() => g.failing = None,
                _ => {}
            }
        }
        let open: Vec<PendingItem> = job
            .items
            .iter()
            .filter(|i| !done.contains(&i.id) && !failed.iter().any(|f| f.id == i.id))
            .copied()
            .collect();
        match (retry_at, grouping) {
            (Some(at), _) if !open.is_empty() => {
                let mut again = job.clone();
                again.items = open;
                again.attempt += 1;
                if grouping == Grouping::GroupMembers {
                    if let Some(g) = job.group().and_then(|id| self.groups.get_mut(&id)) {
                        g.members_in_flight += 1;
                    }
                }
                self.retry
                    .entry(job.kind)
                    .or_default()
                    .push_back((at, again));
            }
            (_, Grouping::GroupMessages) => self.message_batch_over(job),
            (_, Grouping::ByConversation) => {
                if let Some(first) = job.items.first() {
                    self.conversations.over(conversations::key_of(first));
                }
            }
            _ => {}
        }
    }

    /// A message request of `job`'s group, journaled as `journal`, may have been applied: read
    /// the group back before anything else of it goes.
    fn unknown_outcome(&mut self, job: &Job, journal: Option<i64>) {
        if let Some(id) = job.group() {
            if let Some(g) = self.groups.get_mut(&id) {
                g.unresolved = Some((job.items.clone(), journal));
                g.busy = false;
                self.msg_ready.push_front(id);
            }
        }
    }

    /// A message request journaled as `journal` was in flight when the last run stopped: its
    /// `items` (those still pending) stay out of the queue until a read-back says which are in.
    pub(crate) fn unanswered_at_start(
        &mut self,
        group: i64,
        items: Vec<PendingItem>,
        journal: i64,
    ) {
        if items.is_empty() {
            return;
        }
        self.not_paged
            .entry(Kind::GroupMessage)
            .or_default()
            .extend(items.iter().map(|i| i.id));
        let g = self.groups.entry(group).or_default();
        let before = g.msgs.len();
        g.msgs.retain(|i| !items.iter().any(|h| h.id == i.id));
        let taken = before - g.msgs.len();
        let imported = g.imported;
        g.unresolved = Some((items, Some(journal)));
        self.unqueue(Kind::GroupMessage, taken);
        match imported {
            Some(true) => self.msg_ready.push_front(group),
            Some(false) => self.group_lost(group),
            None => {}
        }
    }

    /// The read-back of a group answered: of the unresolved batch, `present` are in the target,
    /// `refused` will never be (older than the group's newest message), the rest go again.
    fn resolved(&mut self, job: &Job, present: &[i64], refused: &[FailedItem]) {
        let Some(id) = job.group() else { return };
        let settled = (present.len() + refused.len()) as u64;
        if let Some(n) = self.remaining.get_mut(&Kind::GroupMessage) {
            *n = n.saturating_sub(settled);
        }
        if let Some(g) = self.groups.get_mut(&id) {
            let again: Vec<PendingItem> = job
                .items
                .iter()
                .filter(|i| !present.contains(&i.id) && !refused.iter().any(|f| f.id == i.id))
                .copied()
                .collect();
            *self.queued.entry(Kind::GroupMessage).or_default() += again.len();
            for item in again.into_iter().rev() {
                g.msgs.push_front(item);
            }
            g.unresolved = None;
            if !present.is_empty() {
                g.failing = None;
            }
        }
        self.message_batch_over(job);
    }

    /// Since when `job`'s items have kept failing with retryable errors, if they have. Group
    /// messages count per group (they go one batch at a time, and a batch read back after an
    /// unknown outcome comes back as a new job); other items per job.
    pub(crate) fn streak(&self, job: &Job) -> Option<Instant> {
        match job.group().filter(|_| job.kind == Kind::GroupMessage) {
            Some(id) => self.group_failing_since(id),
            None => job.failing_since,
        }
    }

    /// `job`'s streak of retryable failures goes on (`failing`): the job carries its start
    /// into its retry, and a group message's group keeps the last error for a give-up.
    fn keep_failing(&mut self, job: &mut Job, failing: &Failing) {
        job.failing_since = Some(failing.since);
        let group = job
            .group()
            .filter(|_| job.kind == Kind::GroupMessage)
            .and_then(|id| self.groups.get_mut(&id));
        if let Some(g) = group {
            g.failing = Some(failing.clone());
        }
    }

    /// Since when group `id`'s messages have kept failing, if they have.
    pub(crate) fn group_failing_since(&self, id: i64) -> Option<Instant> {
        self.groups
            .get(&id)
            .and_then(|g| g.failing.as_ref().map(|f| f.since))
    }

    /// Gives up on what is queued of group `id`'s messages after their retries ran out
    /// (`after`): they fail as retryable with the last error (`cutover retry` sends them again,
    /// in order), and the group's members may go once no batch of it is out.
    fn give_up_messages(&mut self, id: i64, after: Duration) -> Vec<FailedItem> {
        let Some(g) = self.groups.get_mut(&id) else {
            return Vec::new();
        };
        let (code, last) = g
            .failing
            .take()
            .map_or((None, String::new()), |f| (f.code, f.info));
        let reason = Reason::GaveUp { code, last, after };
        let items = std::mem::take(&mut g.msgs);
        if !g.busy && g.unresolved.is_none() {
            self.members_may_go(id);
        }
        self.unqueue(Kind::GroupMessage, items.len());
        if let Some(n) = self.remaining.get_mut(&Kind::GroupMessage) {
            *n = n.saturating_sub(items.len() as u64);
        }
        items
            .iter()
            .map(|i| reason.item(i.id, Kind::GroupMessage))
            .collect()
    }

    /// A read-back could not be made now: try it again at `at`.
    fn read_back_later(&mut self, job: &Job, at: Instant) {
        let mut again = job.clone();
        again.attempt += 1;
        self.retry
            .entry(Kind::GroupMessage)
            .or_default()
            .push_back((at, again));
    }

    fn message_batch_over(&mut self, job: &Job) {
        let Some(id) = job.group() else { return };
        let Some(g) = self.groups.get_mut(&id) else {
            return;
        };
        g.busy = false;
        if g.msgs.is_empty() && g.unresolved.is_none() {
            self.members_may_go(id);
        } else {
            self.msg_ready.push_back(id);
        }
    }

    /// The group is in the target: its messages may go, or its members if it has none.
    fn group_ready(&mut self, id: i64) {
        let Some(g) = self.groups.get(&id) else {
            return;
        };
        if !g.msgs.is_empty() || g.unresolved.is_some() {
            self.msg_ready.push_back(id);
        } else if !g.members.is_empty() {
            self.members_may_go(id);
        }
    }

    /// The group will not be in the target: everything of it fails, saying why.
    fn group_lost(&mut self, id: i64) {
        let Some(g) = self.groups.get_mut(&id) else {
            return;
        };
        let reason = Reason::GroupLost {
            not_staged: g.not_staged,
        };
        for (kind, items) in [
            (Kind::GroupMessage, std::mem::take(&mut g.msgs)),
            (Kind::GroupMember, std::mem::take(&mut g.members)),
        ] {
            if items.is_empty() {
                continue;
            }
            self.unqueue(kind, items.len());
            if let Some(n) = self.remaining.get_mut(&kind) {
                *n = n.saturating_sub(items.len() as u64);
            }
            let failed = items.iter().map(|i| reason.item(i.id, kind)).collect();
            self.decided.push(Settled {
                kind: Some(kind),
                failed,
                ..Settled::default()
            });
        }
    }
}

#[cfg(test)]
mod tests;
