//! Fills the work's window from the store a page at a time as the lanes drain it (see
//! [`crate::store::pending`]), and learns the groups those pages belong to: their state and
//! their target ids, read from the export only when their first messages or members arrive.

use super::error::EngineError;
use super::work::{GroupAt, Work};
use crate::model::group_id::target_group_id;
use crate::model::Group;
use crate::store::pending::{self, Cursor};
use crate::store::queries::PendingItem;
use crate::store::records::Sources;
use crate::store::{ItemState, Kind};
use crate::tim::requests::recent_contact_flag;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Items per page by default: enough that a page query is rare, few enough that memory stays flat.
pub(crate) const PAGE: usize = 4_000;

/// A group's target as its messages and members are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupTarget {
    /// Its Tencent GroupId.
    pub(crate) id: String,
    /// Its messages are imported with `RecentContactFlag: 1`.
    pub(crate) recent_contact: bool,
}

/// Reads pages of pending items for the work.
pub(crate) struct Feed {
    conn: Connection,
    /// Where each kind's last page ended.
    cursors: HashMap<Kind, Cursor>,
    /// Whether imported group messages update the members' conversation lists.
    update_conversations: bool,
    /// Group item → its target, for the groups whose messages or members were paged in.
    targets: HashMap<i64, GroupTarget>,
    /// Items per page.
    page: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Bookkeeping left by a panic is still the best we know; the panic is reported elsewhere.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Feed {
    /// A feed reading `page` items at a time through `conn` (its own connection to the store).
    pub(crate) fn new(conn: Connection, update_conversations: bool, page: usize) -> Feed {
        Feed {
            conn,
            cursors: HashMap::new(),
            update_conversations,
            targets: HashMap::new(),
            page,
        }
    }

    /// The target of group item `id`, read from the store and the export if its messages or
    /// members were not paged in (`None`: the group is not staged).
    pub(crate) fn target(
        &mut self,
        id: i64,
        sources: &Sources,
    ) -> Result<Option<GroupTarget>, EngineError> {
        if let Some(t) = self.targets.get(&id) {
            return Ok(Some(t.clone()));
        }
        for (item, _) in pending::items_by_id(&self.conn, Kind::Group, &[id])? {
            let target = self.read_target(&item, sources)?;
            self.targets.insert(id, target);
        }
        Ok(self.targets.get(&id).cloned())
    }

    /// The target of group `item`, from its record in the export.
    fn read_target(
        &self,
        item: &PendingItem,
        sources: &Sources,
    ) -> Result<GroupTarget, EngineError> {
        let group: Group = sources
            .read(Kind::Group, item)
            .map_err(EngineError::Records)?;
        let recent_contact = self.update_conversations && recent_contact_flag(group.kind).is_some();
        let id = target_group_id(&group.id, group.kind).into_owned();
        Ok(GroupTarget { id, recent_contact })
    }

    /// How many items of each kind are pending in the store.
    pub(crate) fn counts(&self) -> Result<HashMap<Kind, u64>, EngineError> {
        Ok(pending::pending_counts(&self.conn)?)
    }

    /// The pending items of `kind` with these ids.
    pub(crate) fn pending_items(
        &self,
        kind: Kind,
        ids: &[i64],
    ) -> Result<Vec<PendingItem>, EngineError> {
        Ok(pending::items_by_id(&self.conn, kind, ids)?
            .into_iter()
            .filter(|(_, s)| *s == ItemState::Pending)
            .map(|(i, _)| i)
            .collect())
    }

    /// Reads `kind`'s next page into `work` if its window is low; returns whether it did.
    pub(crate) fn refill(
        &mut self,
        kind: Kind,
        work: &Mutex<Work>,
        sources: &Sources,
    ) -> Result<bool, EngineError> {
        if !lock(work).wants(kind) {
            return Ok(false);
        }
        let page = pending::page(
            &self.conn,
            kind,
            self.cursors.get(&kind).copied(),
            self.page,
        )?;
        if matches!(kind, Kind::GroupMessage | Kind::GroupMember) {
            self.learn_groups_of(&page.items, work, sources)?;
        }
        if let Some(next) = page.next {
            self.cursors.insert(kind, next);
        }
        lock(work).add_page(kind, page.items, page.next.is_some());
        Ok(true)
    }

    /// Learns the groups of `items` (messages or members) that the work has no state for or
    /// whose target is not known. A group the work already knows of may have no target yet:
    /// this run imported it before any of its messages or members were paged in.
    pub(crate) fn learn_groups_of(
        &mut self,
        items: &[PendingItem],
        work: &Mutex<Work>,
        sources: &Sources,
    ) -> Result<(), EngineError> {
        let mut ids = lock(work).unknown_groups(items);
        ids.extend(
            items
                .iter()
                .map(|i| i.parent.unwrap_or(-1))
                .filter(|g| !self.targets.contains_key(g)),
        );
        ids.sort_unstable();
        ids.dedup();
        self.learn_groups(&ids, work, sources)
    }

    /// Looks up groups `ids` in the store (and their targets in the export) and tells `work`.
    pub(crate) fn learn_groups(
        &mut self,
        ids: &[i64],
        work: &Mutex<Work>,
        sources: &Sources,
    ) -> Result<(), EngineError> {
        if ids.is_empty() {
            return Ok(());
        }
        let found = pending::items_by_id(&self.conn, Kind::Group, ids)?;
        let mut states = HashMap::new();
        for (item, state) in found {
            let target = self.read_target(&item, sources)?;
            self.targets.insert(item.id, target);
            let at = match state {
                ItemState::Pending => GroupAt::Pending,
                ItemState::Done => GroupAt::Done,
                ItemState::Failed | ItemState::Skipped => GroupAt::NotImported,
            };
            states.insert(item.id, at);
        }
        let mut work = lock(work);
        for id in ids {
            work.set_group(*id, states.get(id).copied().unwrap_or(GroupAt::NotStaged));
        }
        Ok(())
    }
}
