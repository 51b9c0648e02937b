//! The staged groups a page of items needs, and the read-back loop shared by the kinds read
//! a group at a time (members, group messages): each group of the page that is still to read
//! is read back through the paced reader, compared with its staged items, and the results
//! recorded. What differs by kind is a [`GroupCheck`].

use super::{for_each_unit, Ctx};
use crate::model::group_id::target_group_id;
use crate::model::{ExportRecord, Group, GroupMember};
use crate::store::queries::PendingItem;
use crate::store::verify::{Extra, ItemResult};
use crate::store::Kind;
use crate::store::{pending, verify_pages};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A staged group as verification needs it.
pub(crate) struct GroupEntry {
    /// Its Tencent GroupId.
    pub(crate) target_id: String,
    /// Its record.
    pub(crate) record: Group,
    /// Every member the export has for it (any state), by account.
    pub(crate) members: HashSet<String>,
}

/// The staged groups a page of items needs, by group item id.
#[derive(Default)]
pub(crate) struct GroupIndex {
    groups: HashMap<i64, GroupEntry>,
}

impl GroupIndex {
    /// Reads the records of the groups `ids` and, `with_members`, the accounts of every
    /// member the export has for them (in any state).
    pub(crate) fn load(
        ctx: &Ctx,
        conn: &rusqlite::Connection,
        ids: &[i64],
        with_members: bool,
    ) -> Result<GroupIndex, String> {
        let mut groups = HashMap::new();
        let items = pending::items_by_id(conn, Kind::Group, ids).map_err(|e| e.to_string())?;
        for (item, _) in items {
            let record: Group = ctx.sources.read(Kind::Group, &item)?;
            let mut members = HashSet::new();
            if with_members {
                let rows = verify_pages::items_of_scope(conn, Kind::GroupMember, item.id)
                    .map_err(|e| e.to_string())?;
                for chunk in rows.chunks(1024) {
                    let records: Vec<GroupMember> =
                        ctx.sources.read_all(Kind::GroupMember, chunk)?;
                    members.extend(records.into_iter().map(|m| m.member));
                }
            }
            let target_id = target_group_id(&record.id, record.kind).into_owned();
            let entry = GroupEntry {
                target_id,
                record,
                members,
            };
            groups.insert(item.id, entry);
        }
        Ok(GroupIndex { groups })
    }

    /// The group of item `id`.
    pub(crate) fn get(&self, id: i64) -> Option<&GroupEntry> {
        self.groups.get(&id)
    }
}

/// Items grouped by their group, in group order.
pub(super) fn by_group(items: Vec<PendingItem>) -> Vec<(i64, Vec<PendingItem>)> {
    let mut map: BTreeMap<i64, Vec<PendingItem>> = BTreeMap::new();
    for item in items {
        map.entry(item.parent.unwrap_or(-1)).or_default().push(item);
    }
    map.into_iter().collect()
}

/// What a kind read back a group at a time reads and compares.
pub(super) trait GroupCheck {
    /// The kind.
    const KIND: Kind;
    /// Its staged record.
    type Record: ExportRecord;
    /// What the target holds for one group.
    type Found;

    /// Reads `group` back; `None` if a read failed (the unit is reported) or the pass stopped.
    async fn read(ctx: &Ctx, group: &GroupEntry) -> Option<Self::Found>;

    /// Compares the group's staged `items` (with their `records`) with what was `found`:
    /// a result per item, and what the target has that the export does not.
    fn compare(
        ctx: &Ctx,
        group: &GroupEntry,
        items: &[PendingItem],
        records: &[Self::Record],
        found: &Self::Found,
    ) -> (Vec<ItemResult>, Vec<Extra>);
}

/// Reads back every group of `items` that is still to read, as many at once as the lanes
/// allow, and records what `K` makes of each.
pub(super) async fn check_groups<K: GroupCheck>(
    ctx: &Ctx,
    index: &GroupIndex,
    items: Vec<PendingItem>,
    checked: &HashSet<i64>,
) {
    let units: Vec<_> = by_group(items)
        .into_iter()
        .filter(|(g, items)| match index.get(*g) {
            Some(entry) => ctx.to_read(K::KIND, &entry.target_id, items, checked),
            None => false,
        })
        .collect();
    for_each_unit(ctx, units, |(group, items)| async move {
        let Some(entry) = index.get(group) else {
            return;
        };
        let Some(records) = ctx.records::<K::Record>(K::KIND, &items) else {
            return;
        };
        let Some(found) = K::read(ctx, entry).await else {
            return;
        };
        let (results, extras) = K::compare(ctx, entry, &items, &records, &found);
        ctx.sink.put(results, extras).await;
    })
    .await;
}
