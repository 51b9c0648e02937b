//! A group an earlier export imported and a later one (a delta) changed: read back, then the
//! changed fields through `modify_group_base_info` and a new owner through
//! `change_group_owner` — never `import_group` again, which the target would refuse (10021).
//! Every call sets a value, so a replay after an unknown outcome does no harm.

use crate::engine::failure::Reason;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::Group;
use crate::store::queries::PendingItem;
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::group::{
    ChangeGroupOwner, ImportGroup, ImportGroupMember, ImportMember, ModifyGroupBaseInfo,
};
use crate::tim::wire::group_read::GroupInfo;
use crate::tim::wire::KeyValue;

/// Brings the target's copy of `group` (item `item`) up to date, or creates it when the
/// target no longer has it.
pub(crate) async fn bring_up_to_date(
    ctx: &SendContext<'_>,
    item: &PendingItem,
    group: &Group,
    answer: &mut Answer,
) -> Result<(), SendError> {
    let want = requests::import_group(group);
    let id = want.GroupId.clone().unwrap_or_default();
    let Some(have) = super::groups::read_group(ctx, &id).await? else {
        // Not on the target any more (destroyed there): create it as the delta has it.
        ctx.call(&want).await?;
        answer.done.push(item.id);
        return Ok(());
    };
    if let Some(modify) = changes(&want, &have) {
        ctx.call(&modify).await?;
    }
    if let Some(owner) = want.Owner_Account.as_deref() {
        if have.Owner_Account.as_deref() != Some(owner) {
            if let Some(refused) = hand_over(ctx, &id, owner).await? {
                let reason = Reason::Refused {
                    code: None,
                    info: refused,
                };
                answer.failed.push(reason.item(item.id, Kind::Group));
                return Ok(());
            }
        }
    }
    answer.done.push(item.id);
    Ok(())
}

/// Makes `owner` a member of group `id` if it is not one, then its owner; `Some(why)` when the
/// target would not take the owner as a member.
async fn hand_over(
    ctx: &SendContext<'_>,
    id: &str,
    owner: &str,
) -> Result<Option<String>, SendError> {
    let join = ImportGroupMember {
        GroupId: id.to_string(),
        MemberList: vec![ImportMember {
            Member_Account: owner.to_string(),
            Role: None,
            JoinTime: None,
            UnreadMsgNum: None,
        }],
    };
    let joined = ctx.call(&join).await?;
    // 1 added, 2 already a member; 0 refused.
    if joined.MemberList.iter().all(|m| m.Result == 0) {
        return Ok(Some(format!(
            "the new owner {owner} could not be made a member, so the owner is unchanged"
        )));
    }
    let change = ChangeGroupOwner {
        GroupId: id.to_string(),
        NewOwner_Account: owner.to_string(),
    };
    ctx.call(&change).await?;
    Ok(None)
}

/// The `modify_group_base_info` that makes `have` look like `want`, if anything differs.
/// Custom keys the delta does not name are left as they are (nothing is deleted).
pub(crate) fn changes(want: &ImportGroup, have: &GroupInfo) -> Option<ModifyGroupBaseInfo> {
    fn differs(want: &Option<String>, have: &Option<String>) -> Option<String> {
        want.as_ref().filter(|w| Some(*w) != have.as_ref()).cloned()
    }
    let custom: Vec<KeyValue> = want
        .AppDefinedData
        .iter()
        .flatten()
        .filter(|kv| {
            let held = have
                .AppDefinedData
                .iter()
                .flatten()
                .find(|h| h.Key == kv.Key);
            held.is_none_or(|h| h.Value != kv.Value)
        })
        .cloned()
        .collect();
    let modify = ModifyGroupBaseInfo {
        GroupId: want.GroupId.clone().unwrap_or_default(),
        Name: (Some(&want.Name) != have.Name.as_ref()).then(|| want.Name.clone()),
        Introduction: differs(&want.Introduction, &have.Introduction),
        Notification: differs(&want.Notification, &have.Notification),
        FaceUrl: differs(&want.FaceUrl, &have.FaceUrl),
        MaxMemberNum: want
            .MaxMemberCount
            .filter(|m| Some(u64::from(*m)) != have.MaxMemberNum),
        ApplyJoinOption: differs(&want.ApplyJoinOption, &have.ApplyJoinOption),
        ShutUpAllMember: None,
        AppDefinedData: (!custom.is_empty()).then_some(custom),
    };
    let unchanged = ModifyGroupBaseInfo {
        GroupId: modify.GroupId.clone(),
        ..ModifyGroupBaseInfo::default()
    };
    (modify != unchanged).then_some(modify)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want() -> ImportGroup {
        ImportGroup {
            Owner_Account: Some("u1".into()),
            Type: "Public".into(),
            GroupId: Some("g1".into()),
            Name: "New name".into(),
            Introduction: Some("same".into()),
            Notification: None,
            FaceUrl: None,
            MaxMemberCount: Some(500),
            ApplyJoinOption: None,
            AppDefinedData: Some(vec![KeyValue {
                Key: "k".into(),
                Value: "2".into(),
            }]),
            CreateTime: Some(1),
            SupportTopic: None,
        }
    }

    #[test]
    fn only_what_changed_is_modified_and_nothing_is_deleted() {
        let have = GroupInfo {
            GroupId: "g1".into(),
            Name: Some("Old name".into()),
            Introduction: Some("same".into()),
            Notification: Some("kept".into()),
            MaxMemberNum: Some(500),
            AppDefinedData: Some(vec![
                KeyValue {
                    Key: "k".into(),
                    Value: "1".into(),
                },
                KeyValue {
                    Key: "other".into(),
                    Value: "x".into(),
                },
            ]),
            ..GroupInfo::default()
        };
        let m = changes(&want(), &have).unwrap();
        assert_eq!(m.Name.as_deref(), Some("New name"));
        assert_eq!(
            (m.Introduction, m.Notification, m.MaxMemberNum),
            (None, None, None)
        );
        let custom = m.AppDefinedData.unwrap();
        assert_eq!((custom.len(), custom[0].Value.as_str()), (1, "2"));
    }

    #[test]
    fn a_group_as_it_should_be_needs_no_call() {
        let w = want();
        let have = GroupInfo {
            GroupId: "g1".into(),
            Name: Some(w.Name.clone()),
            Introduction: w.Introduction.clone(),
            MaxMemberNum: Some(500),
            AppDefinedData: w.AppDefinedData.clone(),
            ..GroupInfo::default()
        };
        assert_eq!(changes(&w, &have), None);
    }
}
