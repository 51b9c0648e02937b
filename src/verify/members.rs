//! Group members (`get_group_member_info`, paged): each imported member is there with its
//! role and join time; members the export does not have are reported as extra.

use super::compare::{check, result, verdict};
use super::{for_each_unit, Ctx};
use crate::model::group_id::target_group_id;
use crate::model::{Group, GroupMember, GroupType, MemberRole};
use crate::store::queries::PendingItem;
use crate::store::verify::{Extra, Outcome};
use crate::store::Kind;
use crate::store::{pending, verify_pages};
use crate::tim::api::Api;
use crate::tim::paging::Pager;
use crate::tim::wire::group_read::{GetGroupMemberInfo, MemberInfo};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Members per page (the documented recommendation; the cap is 200).
const PAGE: u32 = 100;

/// A staged group as verification needs it.
pub struct GroupEntry {
    /// Its Tencent GroupId.
    pub target_id: String,
    /// Its record.
    pub record: Group,
    /// Every member the export has for it (any state), by account.
    pub members: HashSet<String>,
}

/// The staged groups a page of items needs, by group item id.
#[derive(Default)]
pub struct GroupIndex {
    groups: HashMap<i64, GroupEntry>,
}

impl GroupIndex {
    /// Reads the records of the groups `ids` and, `with_members`, the accounts of every
    /// member the export has for them (in any state).
    pub fn load(
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
    pub fn get(&self, id: i64) -> Option<&GroupEntry> {
        self.groups.get(&id)
    }
}

/// Items grouped by their group, in group order.
pub fn by_group(items: Vec<PendingItem>) -> Vec<(i64, Vec<PendingItem>)> {
    let mut map: BTreeMap<i64, Vec<PendingItem>> = BTreeMap::new();
    for item in items {
        map.entry(item.parent.unwrap_or(-1)).or_default().push(item);
    }
    map.into_iter().collect()
}

/// The role the target shows for a member imported with `role`.
fn role_name(role: Option<MemberRole>) -> &'static str {
    match role {
        Some(MemberRole::Owner) => "Owner",
        Some(MemberRole::Admin) => "Admin",
        _ => "Member",
    }
}

/// Every member of `group`, a page at a time; `None` if a read failed or the pass stopped.
async fn read_members(ctx: &Ctx, group: &GroupEntry) -> Option<Vec<MemberInfo>> {
    let community = group.record.kind == GroupType::Community;
    let mut out = Vec::new();
    let (mut offset, mut next) = (0u32, String::new());
    // Offsets move by the page's length (an empty page ends the list); Next is the server's.
    let mut pager = Pager::new(Api::GetGroupMemberInfo);
    loop {
        let req = GetGroupMemberInfo {
            GroupId: group.target_id.clone(),
            Limit: Some(PAGE),
            Offset: (!community).then_some(offset),
            Next: community.then(|| next.clone()),
            MemberInfoFilter: Some(vec!["Role".into(), "JoinTime".into()]),
            ..GetGroupMemberInfo::default()
        };
        let resp = ctx
            .read(&req, || {
                format!("get_group_member_info of {}", group.target_id)
            })
            .await?;
        let got = resp.MemberList.len() as u32;
        out.extend(resp.MemberList);
        if community {
            match resp.Next.filter(|n| !n.is_empty() && n != "0") {
                Some(n) if got > 0 => match pager.advance(n) {
                    Ok(n) => next = n,
                    Err(stuck) => {
                        ctx.unit_failed(format!(
                            "get_group_member_info of {}: {stuck}",
                            group.target_id
                        ));
                        return None;
                    }
                },
                _ => return Some(out),
            }
        } else {
            offset += got;
            if got == 0 || u64::from(offset) >= resp.MemberNum {
                return Some(out);
            }
        }
    }
}

/// Members: each group's imported members read back.
pub async fn members(
    ctx: &Ctx,
    index: &GroupIndex,
    items: Vec<PendingItem>,
    checked: &HashSet<i64>,
) {
    let units: Vec<_> = by_group(items)
        .into_iter()
        .filter(|(g, items)| match index.get(*g) {
            Some(entry) => ctx.to_read(Kind::GroupMember, &entry.target_id, items, checked),
            None => false,
        })
        .collect();
    for_each_unit(ctx, units, |(group, items)| async move {
        let Some(entry) = index.get(group) else {
            return;
        };
        let Some(records) = ctx.records::<GroupMember>(Kind::GroupMember, &items) else {
            return;
        };
        let Some(found) = read_members(ctx, entry).await else {
            return;
        };
        let found: HashMap<&str, &MemberInfo> = found
            .iter()
            .map(|m| (m.Member_Account.as_str(), m))
            .collect();
        let results = items
            .iter()
            .zip(&records)
            .map(|(item, m)| match found.get(m.member.as_str()) {
                None => result(
                    Kind::GroupMember,
                    item.id,
                    Outcome::Missing,
                    "not a member on the target",
                ),
                Some(info) => {
                    let mut d = Vec::new();
                    check(
                        &mut d,
                        "Role",
                        Some(json!(role_name(m.role))),
                        info.Role.clone().map(|r| json!(r)),
                    );
                    // The owner joins when import_group creates the group, at its CreateTime,
                    // whatever the export's member row says; so does a former owner, after a
                    // delta handed the group to someone else (no API changes a JoinTime).
                    let is_owner = m.role == Some(MemberRole::Owner)
                        || entry.record.owner.as_deref() == Some(m.member.as_str());
                    let former_owner = info.JoinTime == Some(entry.record.created_at);
                    if !is_owner && !former_owner {
                        check(
                            &mut d,
                            "JoinTime",
                            m.joined_at.map(|t| json!(t)),
                            info.JoinTime.map(|t| json!(t)),
                        );
                    }
                    verdict(Kind::GroupMember, item.id, &d)
                }
            })
            .collect();
        let owner = entry.record.owner.as_deref().unwrap_or("");
        let extras = found
            .keys()
            .filter(|a| **a != owner && !entry.members.contains(**a))
            .map(|a| Extra {
                kind: Kind::GroupMember,
                scope: entry.target_id.clone(),
                key: (*a).to_string(),
                detail: "a member on the target that the export does not have".into(),
            })
            .collect();
        ctx.sink.put(results, extras).await;
    })
    .await;
}
