//! Pure conversions from validated export records to the typed request bodies of the import
//! APIs (§3 of the TIM REST spec).
//!
//! Nothing here does I/O or reads a clock: the same records always give the same requests, so a
//! retried request is byte-for-byte the one that may already have gone through. Values the
//! export may leave out but Tencent de-duplicates on (`MsgSeq`, `MsgRandom`, `Random`) are
//! derived from the old message id by [`derived_u32`].

use crate::model::element::tim_msg_body;
use crate::model::group_id::target_group_id;
use crate::model::{
    Account, AllowFriend, C2cMessage, CustomValue, Element, Friend, Gender, Group, GroupMember,
    GroupMessage, GroupType, JoinOption, MemberRole, Profile,
};
use crate::tim::wire::account::{AccountItem, MultiaccountImport};
use crate::tim::wire::c2c::ImportMsg;
use crate::tim::wire::group::{
    ImportGroup, ImportGroupMember, ImportGroupMsg, ImportGroupMsgItem, ImportMember,
};
use crate::tim::wire::profile::PortraitSet;
use crate::tim::wire::sns::{FriendImport, ImportFriendItem};
use crate::tim::wire::{KeyValue, MsgElement, TagValue};
use serde_json::Value;

/// `importmsg` history mode: not counted as unread, not pushed (§3.5).
pub(crate) const SYNC_HISTORY: u32 = 2;
/// Salt of the derived c2c `MsgSeq`.
pub(crate) const SALT_C2C_SEQ: &str = "cutover/c2c/seq:";
/// Salt of the derived c2c `MsgRandom`.
pub(crate) const SALT_C2C_RANDOM: &str = "cutover/c2c/random:";
/// Salt of the derived group-message `Random`.
pub(crate) const SALT_GROUP_RANDOM: &str = "cutover/group/random:";

/// A stable 32-bit value for the old message id `id`: the low 32 bits of the XXH3-64 hash
/// (seed 0) of `salt` followed by `id`.
///
/// The same on every run and every machine, so a re-sent message carries the same de-duplication
/// key; different salts give independent values for the different fields of one message.
pub(crate) fn derived_u32(id: &str, salt: &str) -> u32 {
    let mut bytes = Vec::with_capacity(salt.len() + id.len());
    bytes.extend_from_slice(salt.as_bytes());
    bytes.extend_from_slice(id.as_bytes());
    // Truncation to the low 32 bits is the point.
    (xxhash_rust::xxh3::xxh3_64(&bytes) & u64::from(u32::MAX)) as u32
}

/// The `MsgBody` elements of an export message body.
fn msg_body(body: &[Element]) -> Vec<MsgElement> {
    // `tim_msg_body` always yields an array of `{MsgType, MsgContent}` objects, so the
    // conversion cannot fail; an empty body (which Tencent refuses) is the only fallback.
    MsgElement::body_from_value(tim_msg_body(body)).unwrap_or_default()
}

/// `multiaccount_import` in its `AccountList` form (UserID, Nick, FaceUrl), one item per
/// account, in order. The caller keeps each batch within the API's limit (100).
pub(crate) fn multiaccount_import(accounts: &[Account]) -> MultiaccountImport {
    let list = accounts
        .iter()
        .map(|a| AccountItem {
            UserID: a.id.clone(),
            Nick: a.nick.clone(),
            FaceUrl: a.avatar_url.clone(),
        })
        .collect();
    MultiaccountImport {
        Accounts: None,
        AccountList: Some(list),
    }
}

/// Tencent's `Tag_Profile_IM_Gender` value.
fn gender_value(g: Gender) -> &'static str {
    match g {
        Gender::Male => "Gender_Type_Male",
        Gender::Female => "Gender_Type_Female",
        Gender::Unknown => "Gender_Type_Unknown",
    }
}

/// Tencent's `Tag_Profile_IM_AllowType` value.
fn allow_type_value(a: AllowFriend) -> &'static str {
    match a {
        AllowFriend::NeedConfirm => "AllowType_Type_NeedConfirm",
        AllowFriend::AllowAny => "AllowType_Type_AllowAny",
        AllowFriend::DenyAny => "AllowType_Type_DenyAny",
    }
}

fn tag(tag: impl Into<String>, value: impl Into<Value>) -> TagValue {
    TagValue {
        Tag: tag.into(),
        Value: value.into(),
    }
}

/// `portrait_set` with every field the profile has, in the spec's tag order and then the custom
/// fields (`Tag_Profile_Custom_<key>`) by key; `None` when the profile has no field at all
/// (there is nothing to send).
///
/// Numbers (birthday, language, level, role) are sent as JSON numbers, everything else as
/// strings. Nick and avatar are not here: they go with the account (`multiaccount_import`).
pub(crate) fn portrait_set(profile: &Profile) -> Option<PortraitSet> {
    let mut items = Vec::new();
    if let Some(g) = profile.gender {
        items.push(tag("Tag_Profile_IM_Gender", gender_value(g)));
    }
    if let Some(b) = profile.birthday {
        items.push(tag("Tag_Profile_IM_BirthDay", b));
    }
    if let Some(l) = &profile.location {
        items.push(tag("Tag_Profile_IM_Location", l.as_str()));
    }
    if let Some(s) = &profile.signature {
        items.push(tag("Tag_Profile_IM_SelfSignature", s.as_str()));
    }
    if let Some(a) = profile.allow_friend {
        items.push(tag("Tag_Profile_IM_AllowType", allow_type_value(a)));
    }
    if let Some(l) = profile.language {
        items.push(tag("Tag_Profile_IM_Language", l));
    }
    if let Some(l) = profile.level {
        items.push(tag("Tag_Profile_IM_Level", l));
    }
    if let Some(r) = profile.role {
        items.push(tag("Tag_Profile_IM_Role", r));
    }
    for (key, value) in &profile.custom {
        items.push(tag(format!("Tag_Profile_Custom_{key}"), value.as_str()));
    }
    if items.is_empty() {
        return None;
    }
    Some(PortraitSet {
        From_Account: profile.id.clone(),
        ProfileItem: items,
    })
}

/// `friend_import` of `owner`'s one-way entries, in order (`AddSource_Type_<source>`,
/// `Remark`, `GroupName`, `AddWording`, `AddTime`, `Tag_SNS_Custom_<key>` items).
///
/// The caller passes only entries whose `owner` is `owner`; the entry's own `owner` field is not
/// read. `RemarkTime` is not sent: the export has no such time.
pub(crate) fn friend_import(owner: &str, entries: &[Friend]) -> FriendImport {
    let items = entries
        .iter()
        .map(|f| ImportFriendItem {
            To_Account: f.friend.clone(),
            Remark: f.remark.clone(),
            RemarkTime: None,
            GroupName: (!f.groups.is_empty()).then(|| f.groups.clone()),
            AddSource: format!("AddSource_Type_{}", f.source),
            AddWording: f.wording.clone(),
            AddTime: f.added_at,
            CustomItem: (!f.custom.is_empty()).then(|| {
                f.custom
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            CustomValue::Text(s) => Value::from(s.as_str()),
                            CustomValue::Int(i) => Value::from(*i),
                        };
                        tag(format!("Tag_SNS_Custom_{key}"), value)
                    })
                    .collect()
            }),
        })
        .collect();
    FriendImport {
        From_Account: owner.to_owned(),
        AddFriendItem: items,
    }
}

/// `importmsg` of one historical message (`SyncFromOldSystem` 2). `MsgSeq` is the export's
/// own `seq` when it has one (the exporter knows its system's order best, so it wins), else
/// `seq` (assigned at staging, increasing per conversation in send order, so that Tencent
/// orders a same-second burst as the export does), else derived from the message id (with
/// [`SALT_C2C_SEQ`]); `MsgRandom` is the export's or derived ([`SALT_C2C_RANDOM`]);
/// `MsgTimeStamp` is `sent_at`; `CloudCustomData` is `custom_data`.
pub(crate) fn import_msg(msg: &C2cMessage, seq: Option<u32>) -> ImportMsg {
    ImportMsg {
        SyncFromOldSystem: SYNC_HISTORY,
        From_Account: msg.from.clone(),
        To_Account: msg.to.clone(),
        MsgSeq: Some(
            msg.seq
                .or(seq)
                .unwrap_or_else(|| derived_u32(&msg.id, SALT_C2C_SEQ)),
        ),
        MsgRandom: msg
            .random
            .unwrap_or_else(|| derived_u32(&msg.id, SALT_C2C_RANDOM)),
        MsgTimeStamp: msg.sent_at,
        MsgBody: msg_body(&msg.body),
        CloudCustomData: msg.custom_data.clone(),
    }
}

/// Tencent's group `Type`. `avchatroom` (never importable, refused by validation) maps to
/// `AVChatRoom`, which Tencent answers with 10007.
fn group_type_name(kind: GroupType) -> &'static str {
    kind.tencent_name()
}

/// Tencent's `ApplyJoinOption`.
fn join_option_name(option: JoinOption) -> &'static str {
    match option {
        JoinOption::Free => "FreeAccess",
        JoinOption::NeedPermission => "NeedPermission",
        JoinOption::Disabled => "DisableApply",
    }
}

/// `import_group` of one group, under the `GroupId` of [`target_group_id`], with its
/// `CreateTime`; `custom` becomes `AppDefinedData` (by key). `SupportTopic` is not sent.
pub(crate) fn import_group(group: &Group) -> ImportGroup {
    ImportGroup {
        Owner_Account: group.owner.clone(),
        Type: group_type_name(group.kind).to_owned(),
        GroupId: Some(target_group_id(&group.id, group.kind).into_owned()),
        Name: group.name.clone(),
        Introduction: group.introduction.clone(),
        Notification: group.notification.clone(),
        FaceUrl: group.avatar_url.clone(),
        MaxMemberCount: group.max_members,
        ApplyJoinOption: group.join_option.map(|o| join_option_name(o).to_owned()),
        AppDefinedData: (!group.custom.is_empty()).then(|| {
            group
                .custom
                .iter()
                .map(|(k, v)| KeyValue {
                    Key: k.clone(),
                    Value: v.clone(),
                })
                .collect()
        }),
        CreateTime: Some(group.created_at),
        SupportTopic: None,
    }
}

/// `import_group_msg` of `msgs`, in the order given, into the Tencent group `group_id` (the
/// id of [`target_group_id`], not the old one). The caller sorts them oldest first and keeps
/// the batch within the API's limit. `SendTime` of `msgs[i]` is `send_times[i]` (the time
/// fixed at staging, later than `sent_at` when a same-second burst was shifted), or its own
/// `sent_at` where `send_times` has no entry. `Random` is the export's or derived from the
/// message id (with [`SALT_GROUP_RANDOM`]); `RecentContactFlag` is left unset (the import engine
/// sets it with [`recent_contact_flag`]).
pub(crate) fn import_group_msg(
    group_id: &str,
    msgs: &[GroupMessage],
    send_times: &[i64],
) -> ImportGroupMsg {
    let list = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| ImportGroupMsgItem {
            From_Account: m.from.clone(),
            SendTime: send_times.get(i).copied().unwrap_or(m.sent_at),
            Random: Some(
                m.random
                    .unwrap_or_else(|| derived_u32(&m.id, SALT_GROUP_RANDOM)),
            ),
            MsgBody: msg_body(&m.body),
            CloudCustomData: m.custom_data.clone(),
        })
        .collect();
    ImportGroupMsg {
        GroupId: group_id.to_owned(),
        RecentContactFlag: None,
        MsgList: list,
    }
}

/// The `RecentContactFlag` for messages imported into a group of type `kind` when the
/// members' conversation lists are to be updated: 1 for Work (Private), Public and Meeting
/// (ChatRoom); none for Community (refused there, CURRENT §3.8) and AVChatRoom (not importable).
pub(crate) fn recent_contact_flag(kind: GroupType) -> Option<u32> {
    match kind {
        GroupType::Private | GroupType::Public | GroupType::Chatroom => Some(1),
        GroupType::Community | GroupType::Avchatroom => None,
    }
}

/// `import_group_member` of `members`, in order, into the Tencent group `group_id` (the id of
/// [`target_group_id`]). Only admins carry a `Role` (`Admin`); the owner and ordinary members
/// send none. `JoinTime` is `joined_at`, `UnreadMsgNum` is `unread`.
pub(crate) fn import_group_member(group_id: &str, members: &[GroupMember]) -> ImportGroupMember {
    let list = members
        .iter()
        .map(|m| ImportMember {
            Member_Account: m.member.clone(),
            Role: (m.role == Some(MemberRole::Admin)).then(|| "Admin".to_owned()),
            JoinTime: m.joined_at,
            UnreadMsgNum: m.unread,
        })
        .collect();
    ImportGroupMember {
        GroupId: group_id.to_owned(),
        MemberList: list,
    }
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
