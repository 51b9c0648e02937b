//! Removed members read back: each group's member list (`get_group_member_info`, paged) no
//! longer has them; a group that does not exist has no members left.

use super::{Absence, NO_GROUP};
use crate::model::GroupMember;
use crate::store::queries::PendingItem;
use crate::store::verify::ItemResult;
use crate::store::Kind;
use crate::tim::wire::group_read::MemberInfo;
use crate::verify::groups::{by_group, GroupIndex};
use crate::verify::members::read_members;
use crate::verify::{for_each_unit, Answered, Ctx};

/// A removed member against the group's member list as read back.
fn member(found: &[MemberInfo], account: &str) -> Absence {
    match found.iter().find(|m| m.Member_Account == account) {
        None => Absence::Gone("not in the group's member list".into()),
        Some(m) => Absence::There(format!(
            "still a member ({})",
            m.Role.as_deref().unwrap_or("role not given")
        )),
    }
}

/// Removed members: a group at a time, none of its removed members in its member list.
pub(crate) async fn members(ctx: &Ctx, index: &GroupIndex, items: Vec<PendingItem>) {
    let kind = Kind::MemberRemoval;
    for_each_unit(ctx, by_group(items), |(group, items)| async move {
        let Some(entry) = index.get(group) else {
            ctx.unit_failed(format!(
                "{}: group item {group} is not staged",
                kind.stage()
            ));
            return;
        };
        let Some(records) = ctx.records::<GroupMember>(kind, &items) else {
            return;
        };
        let results: Vec<ItemResult> = match read_members(ctx, entry, &NO_GROUP).await {
            None => return,
            Some(Answered::Code(code)) => items
                .iter()
                .map(|i| {
                    let why = format!("the group does not exist (get_group_member_info {code})");
                    Absence::Gone(why).result(kind, i.id)
                })
                .collect(),
            Some(Answered::Read(found)) => items
                .iter()
                .zip(&records)
                .map(|(i, m)| member(&found, &m.member).result(kind, i.id))
                .collect(),
        };
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_removed_member_is_gone_when_not_listed() {
        let found: Vec<MemberInfo> = serde_json::from_value(json!([
            {"Member_Account": "u1", "Role": "Owner"},
            {"Member_Account": "u2", "Role": "Member"}
        ]))
        .unwrap();
        assert!(matches!(member(&found, "u3"), Absence::Gone(_)));
        assert_eq!(
            member(&found, "u2"),
            Absence::There("still a member (Member)".into())
        );
    }
}
