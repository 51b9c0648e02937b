//! Old → new sync events turned into the typed requests that apply them (§4 of the REST spec).
//!
//! Pure: the same event always gives the same requests, so a retried call is the one that may
//! already have gone through, and Tencent's own de-duplication (or an "already done" answer)
//! makes it harmless. Records are checked with the export's per-record rules before anything
//! is built; a bad one is a [`ConvertError`] naming the event, the field and the rule.
//!
//! Group events other than `group_created` name the group by its old id only. Its `GroupId` is
//! [`target_group_id`] of that id, which is the same for every type except a community; see
//! [`group_id_for`].

use crate::config::C2cMode;
use crate::model::console::DropCustom;
use crate::model::fields::Fields;
use crate::model::group_id::target_group_id;
use crate::model::limits::*;
use crate::model::parse::display_id;
use crate::model::sync_event::{EventKind, SyncEvent};
use crate::model::{
    parse_line, Account, C2cMessage, ExportRecord, FieldProblem, Group, GroupMember, GroupMessage,
    GroupType, JoinOption, Rule,
};
use crate::tim::api::Api;
use crate::tim::requests::{import_group, import_group_msg, import_msg};
use crate::tim::wire::account::{AccountDelete, AccountImport, DeleteItem};
use crate::tim::wire::c2c::{AdminMsgWithdraw, ImportMsg, SendMsg};
use crate::tim::wire::group::{
    AddGroupMember, CreateGroup, DeleteGroupMember, DestroyGroup, GroupMsgRecall, MemberAccount,
    ModifyGroupBaseInfo, MsgSeqItem, SendGroupMsg,
};
use crate::tim::wire::sns::{FriendDelete, DELETE_TYPE_SINGLE};
use crate::tim::wire::KeyValue;
use serde_json::{json, Value};
use std::fmt;

/// `importmsg` real-time mode: counted as unread and pushed to devices (§3.5).
pub(crate) const SYNC_REALTIME: u32 = 5;
/// `sendmsg` `SyncOtherMachine`: the message also lands on the sender's other devices and in
/// the sender's roaming history, as a message the sender wrote should (§4.1).
pub(crate) const SYNC_OTHER_MACHINE: u32 = 1;
/// Sent with every message the relay writes, so it fires no callback that would come back to
/// the old system as an echo (§4.8).
pub(crate) const FORBID_CALLBACKS: [&str; 2] =
    ["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"];

/// One request that applies (part of) an event; serializes as its body.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Call {
    /// `account_created`.
    AccountImport(AccountImport),
    /// `c2c_message` in `importmsg` mode.
    ImportMsg(ImportMsg),
    /// `c2c_message` in `sendmsg` mode.
    SendMsg(SendMsg),
    /// `group_created`.
    CreateGroup(CreateGroup),
    /// `group_updated`.
    ModifyGroupBaseInfo(ModifyGroupBaseInfo),
    /// `member_joined`.
    AddGroupMember(AddGroupMember),
    /// `member_left`.
    DeleteGroupMember(DeleteGroupMember),
    /// `group_destroyed`.
    DestroyGroup(DestroyGroup),
    /// `group_message`.
    SendGroupMsg(SendGroupMsg),
    /// `account_deleted`.
    AccountDelete(AccountDelete),
    /// `friend_deleted`.
    FriendDelete(FriendDelete),
    /// `c2c_message_recalled`.
    AdminMsgWithdraw(AdminMsgWithdraw),
    /// `group_message_recalled`.
    GroupMsgRecall(GroupMsgRecall),
}

impl Call {
    /// The API it goes to.
    pub(crate) fn api(&self) -> Api {
        match self {
            Call::AccountImport(_) => Api::AccountImport,
            Call::ImportMsg(_) => Api::ImportMsg,
            Call::SendMsg(_) => Api::SendMsg,
            Call::CreateGroup(_) => Api::CreateGroup,
            Call::ModifyGroupBaseInfo(_) => Api::ModifyGroupBaseInfo,
            Call::AddGroupMember(_) => Api::AddGroupMember,
            Call::DeleteGroupMember(_) => Api::DeleteGroupMember,
            Call::DestroyGroup(_) => Api::DestroyGroup,
            Call::SendGroupMsg(_) => Api::SendGroupMsg,
            Call::AccountDelete(_) => Api::AccountDelete,
            Call::FriendDelete(_) => Api::FriendDelete,
            Call::AdminMsgWithdraw(_) => Api::AdminMsgWithdraw,
            Call::GroupMsgRecall(_) => Api::GroupMsgRecall,
        }
    }
}

/// The API that applies events of `kind` in `mode` (also named when such an event fails before
/// any call, e.g. for a bad record).
pub(crate) fn api_for(kind: EventKind, mode: C2cMode) -> Api {
    match kind {
        EventKind::AccountCreated => Api::AccountImport,
        EventKind::C2cMessage if mode == C2cMode::Sendmsg => Api::SendMsg,
        EventKind::C2cMessage => Api::ImportMsg,
        EventKind::GroupCreated => Api::CreateGroup,
        EventKind::GroupUpdated => Api::ModifyGroupBaseInfo,
        EventKind::GroupDestroyed => Api::DestroyGroup,
        EventKind::MemberJoined => Api::AddGroupMember,
        EventKind::MemberLeft => Api::DeleteGroupMember,
        EventKind::GroupMessage => Api::SendGroupMsg,
        EventKind::FriendDeleted => Api::FriendDelete,
        EventKind::AccountDeleted => Api::AccountDelete,
        EventKind::C2cMessageRecalled => Api::AdminMsgWithdraw,
        EventKind::GroupMessageRecalled => Api::GroupMsgRecall,
    }
}

/// An event whose record breaks the export's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// The event.
    pub(crate) event_id: String,
    /// Everything wrong with its record; fields are paths from the event (`record.from`).
    pub(crate) problems: Vec<FieldProblem>,
}

impl ConvertError {
    /// The first field named.
    #[cfg(test)]
    pub(crate) fn field(&self) -> &str {
        self.problems.first().map_or("record", |p| p.field.as_str())
    }

    /// The first rule broken.
    #[cfg(test)]
    pub(crate) fn rule(&self) -> Rule {
        self.problems.first().map_or(Rule::InvalidJson, |p| p.rule)
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event {:?}:", display_id(&self.event_id))?;
        for (i, p) in self.problems.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            write!(f, "{sep}{}: {}: {}", p.field, p.rule, p.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConvertError {}

/// The checked record of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// `account_created`.
    Account(Account),
    /// `c2c_message`.
    C2cMessage(C2cMessage),
    /// `group_created`.
    Group(Group),
    /// `group_updated`: already the request, with only the fields that changed (the record
    /// has no other use).
    GroupChange(ModifyGroupBaseInfo),
    /// `group_destroyed`: the old id, and the type when given.
    GroupGone(String, Option<GroupType>),
    /// `member_joined`.
    Member(GroupMember),
    /// `member_left`: group and member.
    MemberGone(String, String),
    /// `group_message`.
    GroupMessage(GroupMessage),
    /// `friend_deleted`: owner and friend.
    FriendGone(String, String),
    /// `account_deleted`: the account.
    AccountGone(String),
    /// `c2c_message_recalled` or `group_message_recalled`: the message named.
    Recalled(MessageRef),
}

/// A message a recall names, as the old system knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageRef {
    /// A one-to-one message: its id, and its sender and receiver when the event gives them.
    C2c {
        /// The c2c_messages.jsonl id.
        id: String,
        /// `from` and `to`, when given.
        between: Option<(String, String)>,
    },
    /// A group message: the old group id and the message's id.
    Group {
        /// The groups.jsonl id.
        group: String,
        /// The group_messages.jsonl id.
        id: String,
    },
}

/// A message as the target knows it: what a recall names it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetMsg {
    /// A one-to-one message: sender, receiver and `MsgKey`.
    C2c {
        /// `From_Account`.
        from: String,
        /// `To_Account`.
        to: String,
        /// `MsgSeq_MsgRandom_MsgTimeStamp`.
        msg_key: String,
    },
    /// A group message: its `GroupId` and `MsgSeq`.
    Group {
        /// The Tencent `GroupId`.
        group_id: String,
        /// Its sequence in the group.
        msg_seq: u64,
    },
}

/// The record of `event`, checked with every per-record rule of its kind: the export's own
/// rules (`parse_line`) for whole records and for `group_updated`, the same limits field by
/// field for `group_destroyed` and `member_left`.
pub(crate) fn validate(event: &SyncEvent) -> Result<Record, ConvertError> {
    let fail = |problems: Vec<FieldProblem>| ConvertError {
        event_id: event.event_id.clone(),
        problems: problems
            .into_iter()
            .map(|mut p| {
                let dot = if p.field.is_empty() { "" } else { "." };
                p.field = format!("record{dot}{}", p.field);
                p
            })
            .collect(),
    };
    let r = &event.record;
    match event.kind {
        EventKind::AccountCreated => whole(r).map(Record::Account),
        EventKind::C2cMessage => whole(r).map(Record::C2cMessage),
        EventKind::GroupCreated => whole(r).map(Record::Group),
        EventKind::MemberJoined => whole(r).map(Record::Member),
        EventKind::GroupMessage => whole(r).map(Record::GroupMessage),
        EventKind::GroupUpdated => group_change(r).map(Record::GroupChange),
        EventKind::GroupDestroyed => partial(r, |f| {
            let id = f.req_str("id", 1, OTHER_ID_MAX);
            let kind = f.opt_enum::<GroupType>("type");
            Some(Record::GroupGone(id?, kind))
        }),
        EventKind::MemberLeft => partial(r, |f| {
            let group = f.req_str("group", 1, OTHER_ID_MAX);
            let member = f.req_str("member", 1, ACCOUNT_ID_MAX);
            Some(Record::MemberGone(group?, member?))
        }),
        EventKind::FriendDeleted => partial(r, |f| {
            let owner = f.req_str("owner", 1, ACCOUNT_ID_MAX);
            let friend = f.req_str("friend", 1, ACCOUNT_ID_MAX);
            Some(Record::FriendGone(owner?, friend?))
        }),
        EventKind::AccountDeleted => partial(r, |f| {
            Some(Record::AccountGone(f.req_str("id", 1, ACCOUNT_ID_MAX)?))
        }),
        EventKind::C2cMessageRecalled => partial(r, |f| {
            let id = f.req_str("id", 1, OTHER_ID_MAX);
            let from = f.opt_str("from", 1, ACCOUNT_ID_MAX);
            let to = f.opt_str("to", 1, ACCOUNT_ID_MAX);
            let between = from.zip(to);
            Some(Record::Recalled(MessageRef::C2c { id: id?, between }))
        }),
        EventKind::GroupMessageRecalled => partial(r, |f| {
            let group = f.req_str("group", 1, OTHER_ID_MAX);
            let id = f.req_str("id", 1, OTHER_ID_MAX);
            Some(Record::Recalled(MessageRef::Group {
                group: group?,
                id: id?,
            }))
        }),
    }
    .map_err(fail)
}

/// A whole export record, checked with every per-record rule (`parse_line`).
fn whole<T: ExportRecord>(record: &Value) -> Result<T, Vec<FieldProblem>> {
    // A `Value` always serializes (its keys are strings); an empty line would only be
    // reported as not JSON.
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    let parsed = parse_line::<T>(&bytes);
    parsed.record.ok_or(parsed.problems)
}

/// Reads a record field by field with `read`; unknown fields are ignored.
fn partial<T>(
    record: &Value,
    read: impl FnOnce(&mut Fields<'_>) -> Option<T>,
) -> Result<T, Vec<FieldProblem>> {
    let Value::Object(map) = record else {
        let why = "expected a JSON object";
        return Err(vec![FieldProblem::new(Rule::InvalidJson, "", why)]);
    };
    let mut problems = Vec::new();
    let mut fields = Fields::new(map.clone(), "", &mut problems);
    let value = read(&mut fields);
    match value {
        Some(v) if problems.is_empty() => Ok(v),
        _ => Err(problems),
    }
}

/// `group_updated`: the record checked as a whole groups.jsonl record (the fields it leaves
/// out filled with harmless stand-ins, so every rule names the field as the export does), and
/// only the fields it gives sent. `owner` and `created_at` are checked, not changed (there is
/// no such field in `modify_group_base_info`); `type` only finds a community's `GroupId`.
fn group_change(record: &Value) -> Result<ModifyGroupBaseInfo, Vec<FieldProblem>> {
    let given = |k: &str| record.get(k).is_some_and(|v| !v.is_null());
    let mut full = record.clone();
    if let Value::Object(map) = &mut full {
        let stand_ins = [
            ("type", json!("public")),
            ("name", json!("-")),
            ("created_at", json!(1)),
        ];
        for (k, v) in stand_ins.into_iter().filter(|(k, _)| !given(k)) {
            map.insert(k.to_owned(), v);
        }
    }
    let g: Group = whole(&full)?;
    Ok(ModifyGroupBaseInfo {
        GroupId: group_id_for(&g.id, given("type").then_some(g.kind)),
        Name: given("name").then_some(g.name),
        Introduction: g.introduction,
        Notification: g.notification,
        FaceUrl: g.avatar_url,
        MaxMemberNum: g.max_members,
        ApplyJoinOption: g.join_option.map(|o| join_option_name(o).to_owned()),
        ShutUpAllMember: None,
        AppDefinedData: (!g.custom.is_empty()).then(|| {
            let kv = |(k, v)| KeyValue { Key: k, Value: v };
            g.custom.into_iter().map(kv).collect()
        }),
    })
}

/// The Tencent `GroupId` of the old group `old_id`: [`target_group_id`] with its type when
/// known. Without a type, an old id starting `@TGS#_` is taken for a community's own id and any
/// other is mapped as a non-community group (the mapping is the same for all of those types);
/// a community whose old id does not start `@TGS#_` needs `type` in the event to be found.
pub(crate) fn group_id_for(old_id: &str, kind: Option<GroupType>) -> String {
    let kind = kind.unwrap_or(if old_id.starts_with("@TGS#_") {
        GroupType::Community
    } else {
        GroupType::Public
    });
    target_group_id(old_id, kind).into_owned()
}

fn join_option_name(o: JoinOption) -> &'static str {
    match o {
        JoinOption::Free => "FreeAccess",
        JoinOption::NeedPermission => "NeedPermission",
        JoinOption::Disabled => "DisableApply",
    }
}

fn forbid_callbacks() -> Option<Vec<String>> {
    Some(FORBID_CALLBACKS.iter().map(|s| (*s).to_owned()).collect())
}

/// The requests that apply `event`, in order (empty when there is nothing to change):
///
/// | kind | request |
/// |---|---|
/// | `account_created` | `account_import` (UserID, Nick, FaceUrl) |
/// | `c2c_message` | `importmsg` with `SyncFromOldSystem` 5 ([`C2cMode::Importmsg`]), or `sendmsg` with [`FORBID_CALLBACKS`] and `SyncOtherMachine` 1 ([`C2cMode::Sendmsg`]); `MsgSeq`/`MsgRandom` as the history import derives them, `MsgTimeStamp` = `sent_at` |
/// | `group_created` | `create_group` under [`target_group_id`], with owner, type, name, texts, cap, join option, custom data |
/// | `group_updated` | `modify_group_base_info` with only the fields present (`owner`, `type`, `created_at` are not changed) |
/// | `group_destroyed` | `destroy_group` |
/// | `member_joined` | `add_group_member` with `Silence` 1 (the role is not relayed) |
/// | `member_left` | `delete_group_member` with `Silence` 1 |
/// | `group_message` | `send_group_msg` from `from`, `Random` as the history import derives it, with [`FORBID_CALLBACKS`] |
/// | `friend_deleted` | `friend_delete` of `friend` from `owner`'s list, `Delete_Type_Single` |
/// | `account_deleted` | `account_delete` of `id` (irreversible) |
/// | `c2c_message_recalled` | `admin_msgwithdraw` with the message's `MsgKey` on the target |
/// | `group_message_recalled` | `group_msg_recall` with the message's `MsgSeq` on the target |
///
/// A recall needs the message as the target knows it, which only the store can say: here
/// (without it) a recall has no request; the applier finds it and calls [`calls`].
pub fn request_for(event: &SyncEvent, mode: C2cMode) -> Result<Vec<Call>, ConvertError> {
    calls(event, mode, None, &DropCustom::default())
}

/// The requests that apply `event` (see [`request_for`]); a recall's with `found`, the
/// message as the target knows it (none without it, or when it is of the other kind); the
/// custom keys `dropped` left out.
pub(crate) fn calls(
    event: &SyncEvent,
    mode: C2cMode,
    found: Option<&TargetMsg>,
    dropped: &DropCustom,
) -> Result<Vec<Call>, ConvertError> {
    let call = match validate(event)? {
        Record::FriendGone(owner, friend) => Call::FriendDelete(FriendDelete {
            From_Account: owner,
            To_Account: vec![friend],
            // One way: the export's friend entry is one way.
            DeleteType: Some(DELETE_TYPE_SINGLE.into()),
        }),
        Record::AccountGone(id) => Call::AccountDelete(AccountDelete {
            DeleteItem: vec![DeleteItem { UserID: id }],
        }),
        Record::Recalled(named) => match (named, found) {
            (MessageRef::C2c { .. }, Some(TargetMsg::C2c { from, to, msg_key })) => {
                Call::AdminMsgWithdraw(AdminMsgWithdraw {
                    From_Account: from.clone(),
                    To_Account: to.clone(),
                    MsgKey: msg_key.clone(),
                })
            }
            (MessageRef::Group { .. }, Some(TargetMsg::Group { group_id, msg_seq })) => {
                Call::GroupMsgRecall(GroupMsgRecall {
                    GroupId: group_id.clone(),
                    MsgSeqList: vec![MsgSeqItem { MsgSeq: *msg_seq }],
                })
            }
            _ => return Ok(Vec::new()),
        },
        Record::Account(a) => Call::AccountImport(AccountImport {
            UserID: a.id,
            Nick: a.nick,
            FaceUrl: a.avatar_url,
        }),
        Record::C2cMessage(m) => c2c_call(&m, mode),
        Record::Group(mut g) => {
            dropped.strip_group(&mut g);
            create_group_call(&g)
        }
        Record::GroupChange(modify) => {
            let unchanged = ModifyGroupBaseInfo {
                GroupId: modify.GroupId.clone(),
                ..ModifyGroupBaseInfo::default()
            };
            if modify == unchanged {
                return Ok(Vec::new());
            }
            Call::ModifyGroupBaseInfo(modify)
        }
        Record::GroupGone(id, kind) => Call::DestroyGroup(DestroyGroup {
            GroupId: group_id_for(&id, kind),
        }),
        Record::Member(m) => Call::AddGroupMember(AddGroupMember {
            GroupId: group_id_for(&m.group, None),
            Silence: Some(1),
            MemberList: vec![MemberAccount {
                Member_Account: m.member,
            }],
        }),
        Record::MemberGone(group, member) => Call::DeleteGroupMember(DeleteGroupMember {
            GroupId: group_id_for(&group, None),
            Silence: Some(1),
            Reason: None,
            MemberToDel_Account: vec![member],
        }),
        Record::GroupMessage(m) => {
            let Some(call) = group_msg_call(&m) else {
                return Ok(Vec::new()); // one message in, one item out
            };
            call
        }
    };
    Ok(vec![call])
}

/// A one-to-one message: the import's fields, sent as a real-time `importmsg` or as a
/// `sendmsg` that syncs to the sender's other devices, as `[sync] c2c_mode` says.
fn c2c_call(m: &C2cMessage, mode: C2cMode) -> Call {
    let import = import_msg(m, None);
    match mode {
        C2cMode::Importmsg => Call::ImportMsg(ImportMsg {
            SyncFromOldSystem: SYNC_REALTIME,
            ..import
        }),
        C2cMode::Sendmsg => Call::SendMsg(SendMsg {
            SyncOtherMachine: Some(SYNC_OTHER_MACHINE),
            From_Account: Some(import.From_Account),
            To_Account: import.To_Account,
            MsgSeq: import.MsgSeq,
            MsgRandom: import.MsgRandom,
            MsgTimeStamp: Some(import.MsgTimeStamp),
            ForbidCallbackControl: forbid_callbacks(),
            MsgBody: import.MsgBody,
            CloudCustomData: import.CloudCustomData,
            ..SendMsg::default()
        }),
    }
}

/// A new group: the import's fields as a `create_group`, without members (they come as
/// their own events).
fn create_group_call(g: &Group) -> Call {
    let i = import_group(g);
    Call::CreateGroup(CreateGroup {
        Owner_Account: i.Owner_Account,
        Type: i.Type,
        GroupId: i.GroupId,
        Name: i.Name,
        Introduction: i.Introduction,
        Notification: i.Notification,
        FaceUrl: i.FaceUrl,
        MaxMemberCount: i.MaxMemberCount,
        ApplyJoinOption: i.ApplyJoinOption,
        AppDefinedData: i.AppDefinedData,
        MemberList: None,
    })
}

/// A group message as a `send_group_msg` with the import's `Random` (its de-duplication key).
fn group_msg_call(m: &GroupMessage) -> Option<Call> {
    let gid = group_id_for(&m.group, None);
    let mut import = import_group_msg(&gid, std::slice::from_ref(m), &[]);
    let item = import.MsgList.pop()?;
    Some(Call::SendGroupMsg(SendGroupMsg {
        GroupId: gid,
        Random: item.Random.unwrap_or_default(), // always given by the import
        MsgBody: item.MsgBody,
        From_Account: Some(item.From_Account),
        ForbidCallbackControl: forbid_callbacks(),
        CloudCustomData: item.CloudCustomData,
        ..SendGroupMsg::default()
    }))
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
