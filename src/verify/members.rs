//! Group members (`get_group_member_info`, paged): each imported member is there with its
//! role and join time; members the export does not have are reported as extra.

use super::compare::{check, result, verdict};
use super::groups::{GroupCheck, GroupEntry};
use super::{Answered, Ctx};
use crate::model::{GroupMember, GroupType, MemberRole};
use crate::store::queries::PendingItem;
use crate::store::verify::{Extra, ItemResult, Outcome};
use crate::store::Kind;
use crate::tim::api::Api;
use crate::tim::paging::Pager;
use crate::tim::wire::group_read::{GetGroupMemberInfo, MemberInfo};
use serde_json::json;
use std::collections::HashMap;

/// Members per page (the documented recommendation; the cap is 200).
const PAGE: u32 = 100;

/// The role the target shows for a member imported with `role`.
fn role_name(role: Option<MemberRole>) -> &'static str {
    match role {
        Some(MemberRole::Owner) => "Owner",
        Some(MemberRole::Admin) => "Admin",
        _ => "Member",
    }
}

/// Every member of `group`, a page at a time; `None` if a read failed or the pass stopped. An
/// error with one of `codes` (the group does not exist) is the answer instead.
pub(super) async fn read_members(
    ctx: &Ctx,
    group: &GroupEntry,
    codes: &[i64],
) -> Option<Answered<Vec<MemberInfo>>> {
    let community = group.record.kind == GroupType::Community;
    let mut out = Vec::new();
    let (mut offset, mut next) = (0u32, String::new());
    // Offsets move by the page's length (an empty page ends the list); Next is the server's.
    let mut pager = Pager::new(Api::GetGroupMemberInfo);
    let unit = || format!("get_group_member_info of {}", group.target_id);
    loop {
        let req = GetGroupMemberInfo {
            GroupId: group.target_id.clone(),
            Limit: Some(PAGE),
            Offset: (!community).then_some(offset),
            Next: community.then(|| next.clone()),
            MemberInfoFilter: Some(vec!["Role".into(), "JoinTime".into()]),
            ..GetGroupMemberInfo::default()
        };
        let resp = match ctx.read_or(&req, codes, unit).await? {
            Answered::Read(resp) => resp,
            Answered::Code(code) => return Some(Answered::Code(code)),
        };
        let got = resp.MemberList.len() as u32;
        out.extend(resp.MemberList);
        if community {
            match resp.Next.filter(|n| !n.is_empty() && n != "0") {
                Some(n) if got > 0 => next = ctx.advance(&mut pager, n, unit)?,
                _ => return Some(Answered::Read(out)),
            }
        } else {
            offset += got;
            if got == 0 || u64::from(offset) >= resp.MemberNum {
                return Some(Answered::Read(out));
            }
        }
    }
}

/// Members: each group's imported members read back, with their role and join time.
pub(super) struct Members;

impl GroupCheck for Members {
    const KIND: Kind = Kind::GroupMember;
    type Record = GroupMember;
    type Found = Vec<MemberInfo>;

    async fn read(ctx: &Ctx, group: &GroupEntry) -> Option<Vec<MemberInfo>> {
        match read_members(ctx, group, &[]).await? {
            Answered::Read(members) => Some(members),
            Answered::Code(_) => None,
        }
    }

    fn compare(
        _ctx: &Ctx,
        entry: &GroupEntry,
        items: &[PendingItem],
        records: &[GroupMember],
        found: &Vec<MemberInfo>,
    ) -> (Vec<ItemResult>, Vec<Extra>) {
        let found: HashMap<&str, &MemberInfo> = found
            .iter()
            .map(|m| (m.Member_Account.as_str(), m))
            .collect();
        let results = items
            .iter()
            .zip(records)
            .map(|(item, m)| match found.get(m.member.as_str()) {
                None => result(
                    Kind::GroupMember,
                    item.id,
                    Outcome::Missing,
                    "not a member on the target",
                ),
                Some(info) => compare_member(entry, item.id, m, info),
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
        (results, extras)
    }
}

/// A member read back against its record: the role, and the join time but the owner's.
fn compare_member(entry: &GroupEntry, id: i64, m: &GroupMember, info: &MemberInfo) -> ItemResult {
    let mut d = Vec::new();
    check(
        &mut d,
        "Role",
        Some(json!(role_name(m.role))),
        info.Role.clone().map(|r| json!(r)),
    );
    // The owner joins when import_group creates the group, at its CreateTime, whatever the
    // export's member row says; so does a former owner, after a delta handed the group to
    // someone else (no API changes a JoinTime).
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
    verdict(Kind::GroupMember, id, &d)
}
