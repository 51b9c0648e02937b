//! Group writes: the imports of §3.6–§3.9, the live operations of §4.2–§4.7 and
//! `group_msg_recall` (§4.7b).

use super::{EmptyResponse, Envelope, ItemFailure, KeyValue, MsgElement, Request, Response};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

/// `import_group`: one historical group, with its creation time.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportGroup {
    /// Owner (added as a member).
    pub Owner_Account: Option<String>,
    /// `Private`, `Public`, `ChatRoom` or `Community`.
    pub Type: String,
    /// Custom id (printable ASCII, ≤ 48 bytes, not `@TGS#` unless a `@TGS#_` community).
    pub GroupId: Option<String>,
    /// Name, ≤ 30 bytes.
    pub Name: String,
    /// ≤ 240 bytes.
    pub Introduction: Option<String>,
    /// ≤ 300 bytes.
    pub Notification: Option<String>,
    /// ≤ 100 bytes.
    pub FaceUrl: Option<String>,
    /// Member cap.
    pub MaxMemberCount: Option<u32>,
    /// `FreeAccess`, `NeedPermission`, `DisableApply`.
    pub ApplyJoinOption: Option<String>,
    /// Group custom fields.
    pub AppDefinedData: Option<Vec<KeyValue>>,
    /// Unix seconds.
    pub CreateTime: Option<i64>,
    /// Community only: 1 = supports topics.
    pub SupportTopic: Option<u32>,
}

impl Request for ImportGroup {
    const API: Api = Api::ImportGroup;
    type Response = GroupIdResponse;
}

/// The answer to `import_group` and `create_group`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupIdResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// The group's id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub GroupId: String,
}

impl Response for GroupIdResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// One member of an `import_group_member`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportMember {
    /// The account.
    pub Member_Account: String,
    /// Only `Admin` (absent = ordinary member).
    pub Role: Option<String>,
    /// Unix seconds; after the group's CreateTime and before now.
    pub JoinTime: Option<i64>,
    /// Unread messages (capped to the group's message count).
    pub UnreadMsgNum: Option<u32>,
}

/// `import_group_member`: up to 20 members of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportGroupMember {
    /// The group.
    pub GroupId: String,
    /// The members.
    pub MemberList: Vec<ImportMember>,
}

impl Request for ImportGroupMember {
    const API: Api = Api::ImportGroupMember;
    type Response = MemberResultResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(member_keys(&self.MemberList))
    }
}

fn member_keys(list: &[ImportMember]) -> Vec<String> {
    list.iter().map(|m| m.Member_Account.clone()).collect()
}

/// The result for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberResult {
    /// The account.
    pub Member_Account: String,
    /// 0 failed, 1 added, 2 already a member (3: waiting for the invitee, add only).
    pub Result: u32,
}

/// The answer to `import_group_member` and `add_group_member`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberResultResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per member.
    #[serde(default)]
    pub MemberList: Vec<MemberResult>,
}

impl Response for MemberResultResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        self.MemberList
            .iter()
            .filter(|m| m.Result == 0)
            .map(|m| ItemFailure::new(m.Member_Account.as_str(), None, "Result 0"))
            .collect()
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        Some(
            self.MemberList
                .iter()
                .map(|m| m.Member_Account.clone())
                .collect(),
        )
    }
}

/// One message of an `import_group_msg`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportGroupMsgItem {
    /// Sender.
    pub From_Account: String,
    /// Unix seconds: after the group's creation and its newest message, before now.
    pub SendTime: i64,
    /// Random (same Random within 5 minutes: the later one is dropped).
    pub Random: Option<u32>,
    /// The elements.
    pub MsgBody: Vec<MsgElement>,
    /// Custom data.
    pub CloudCustomData: Option<String>,
}

/// `import_group_msg`: up to 7 messages of one group, oldest first.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportGroupMsg {
    /// The group.
    pub GroupId: String,
    /// 1 = update the members' conversation lists.
    pub RecentContactFlag: Option<u32>,
    /// The messages.
    pub MsgList: Vec<ImportGroupMsgItem>,
}

impl Request for ImportGroupMsg {
    const API: Api = Api::ImportGroupMsg;
    type Response = ImportGroupMsgResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(super::position_keys(self.MsgList.len()))
    }
}

/// The result for one imported group message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMsgResult {
    /// The group sequence it got (from 1).
    pub MsgSeq: u64,
    /// Its time.
    pub MsgTime: i64,
    /// 0 ok; 10004 send time invalid; 80001 dirty words; 80002 too long.
    pub Result: i64,
}

/// The answer to `import_group_msg`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportGroupMsgResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per message, in request order.
    #[serde(default)]
    pub ImportMsgResult: Vec<ImportMsgResult>,
}

impl Response for ImportGroupMsgResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        self.ImportMsgResult
            .iter()
            .enumerate()
            .filter(|(_, r)| r.Result != 0)
            .map(|(i, r)| {
                let meaning = crate::tim::errors::lookup_for(Api::ImportGroupMsg, r.Result).meaning;
                ItemFailure::new(format!("#{i}"), Some(r.Result), meaning)
            })
            .collect()
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        Some(super::position_keys(self.ImportMsgResult.len()))
    }
}

/// `set_unread_msg_num`: one member's unread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct SetUnreadMsgNum {
    /// The group.
    pub GroupId: String,
    /// The member.
    pub Member_Account: String,
    /// Unread messages (capped to the group's message count).
    pub UnreadMsgNum: u32,
}

#[cfg(any(test, feature = "test-support"))]
impl Request for SetUnreadMsgNum {
    const API: Api = Api::SetUnreadMsgNum;
    type Response = EmptyResponse;
}

/// `send_group_msg`: one live group message (the old → new relay).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendGroupMsg {
    /// The group.
    pub GroupId: String,
    /// Random (same Random within 5 minutes: the later one is dropped).
    pub Random: u32,
    /// `High`, `Normal`, `Low`.
    pub MsgPriority: Option<String>,
    /// The elements.
    pub MsgBody: Vec<MsgElement>,
    /// Sender (default: the admin).
    pub From_Account: Option<String>,
    /// Push settings.
    pub OfflinePushInfo: Option<Value>,
    /// `ForbidBeforeSendMsgCallback`, `ForbidAfterSendMsgCallback`.
    pub ForbidCallbackControl: Option<Vec<String>>,
    /// 1 = online members only, not stored.
    pub OnlineOnlyFlag: Option<u32>,
    /// `NoLastMsg`, `NoUnread`.
    pub SendMsgControl: Option<Vec<String>>,
    /// Custom data.
    pub CloudCustomData: Option<String>,
    /// @ mentions.
    pub GroupAtInfo: Option<Vec<Value>>,
}

impl Request for SendGroupMsg {
    const API: Api = Api::SendGroupMsg;
    type Response = SendGroupMsgResponse;
}

/// The answer to `send_group_msg`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendGroupMsgResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// Server time.
    #[serde(default)]
    pub MsgTime: i64,
    /// The group sequence it got.
    #[serde(default)]
    pub MsgSeq: u64,
}

impl Response for SendGroupMsgResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// An initial member of a `create_group`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateMember {
    /// The account.
    pub Member_Account: String,
    /// `Admin` or absent.
    pub Role: Option<String>,
    /// Member custom fields.
    pub AppMemberDefinedData: Option<Vec<KeyValue>>,
}

/// `create_group`: a live group (old → new relay of a group made in the old system).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateGroup {
    /// Owner.
    pub Owner_Account: Option<String>,
    /// Type.
    pub Type: String,
    /// Custom id.
    pub GroupId: Option<String>,
    /// Name.
    pub Name: String,
    /// Introduction.
    pub Introduction: Option<String>,
    /// Notification.
    pub Notification: Option<String>,
    /// Avatar URL.
    pub FaceUrl: Option<String>,
    /// Member cap.
    pub MaxMemberCount: Option<u32>,
    /// Join option.
    pub ApplyJoinOption: Option<String>,
    /// Group custom fields.
    pub AppDefinedData: Option<Vec<KeyValue>>,
    /// Up to 100 initial members.
    pub MemberList: Option<Vec<CreateMember>>,
}

impl Request for CreateGroup {
    const API: Api = Api::CreateGroup;
    type Response = GroupIdResponse;
}

/// `modify_group_base_info`: change some of a group's fields.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModifyGroupBaseInfo {
    /// The group.
    pub GroupId: String,
    /// Name.
    pub Name: Option<String>,
    /// Introduction.
    pub Introduction: Option<String>,
    /// Notification.
    pub Notification: Option<String>,
    /// Avatar URL.
    pub FaceUrl: Option<String>,
    /// Member cap (`MaxMemberNum` here, unlike create/import).
    pub MaxMemberNum: Option<u32>,
    /// Join option.
    pub ApplyJoinOption: Option<String>,
    /// `On` / `Off`.
    pub ShutUpAllMember: Option<String>,
    /// Custom fields (an empty Value deletes the key).
    pub AppDefinedData: Option<Vec<KeyValue>>,
}

impl Request for ModifyGroupBaseInfo {
    const API: Api = Api::ModifyGroupBaseInfo;
    type Response = EmptyResponse;
}

/// `change_group_owner`: hand a group to one of its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ChangeGroupOwner {
    /// The group.
    pub GroupId: String,
    /// The new owner: must already be a member.
    pub NewOwner_Account: String,
}

impl Request for ChangeGroupOwner {
    const API: Api = Api::ChangeGroupOwner;
    type Response = EmptyResponse;
}

/// One account to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAccount {
    /// The account.
    pub Member_Account: String,
}

/// `add_group_member`: live join (old → new relay).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddGroupMember {
    /// The group.
    pub GroupId: String,
    /// 1 = no system notification.
    pub Silence: Option<u32>,
    /// The accounts.
    pub MemberList: Vec<MemberAccount>,
}

impl Request for AddGroupMember {
    const API: Api = Api::AddGroupMember;
    type Response = MemberResultResponse;
}

/// `delete_group_member`: live removal (old → new relay).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteGroupMember {
    /// The group.
    pub GroupId: String,
    /// 1 = notify only the removed members.
    pub Silence: Option<u32>,
    /// Why.
    pub Reason: Option<String>,
    /// The accounts.
    pub MemberToDel_Account: Vec<String>,
}

impl Request for DeleteGroupMember {
    const API: Api = Api::DeleteGroupMember;
    type Response = EmptyResponse;
}

/// `destroy_group`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestroyGroup {
    /// The group.
    pub GroupId: String,
}

impl Request for DestroyGroup {
    const API: Api = Api::DestroyGroup;
    type Response = EmptyResponse;
}

/// One message to recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgSeqItem {
    /// Its group sequence: the `MsgSeq` that import_group_msg's `ImportMsgResult` (or
    /// send_group_msg's answer) gave it.
    pub MsgSeq: u64,
}

/// `group_msg_recall`: recall up to 10 messages of one group. The messages stay in the
/// history, read back as recalled (`IsPlaceMsg` 2). Fires `Group.CallbackAfterRecallMsg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgRecall {
    /// The group.
    pub GroupId: String,
    /// The messages.
    pub MsgSeqList: Vec<MsgSeqItem>,
}

impl Request for GroupMsgRecall {
    const API: Api = Api::GroupMsgRecall;
    type Response = GroupMsgRecallResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(
            self.MsgSeqList
                .iter()
                .map(|m| m.MsgSeq.to_string())
                .collect(),
        )
    }
}

/// The result for one recalled message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallRet {
    /// The message.
    pub MsgSeq: u64,
    /// 0 recalled (also when it was already); 10030 no such message (a repeat after the
    /// message went: done).
    pub RetCode: i64,
}

/// The answer to `group_msg_recall`; a group that does not exist (or was destroyed) is the
/// top-level 10010.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupMsgRecallResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per message, keyed by `MsgSeq`.
    #[serde(default)]
    pub RecallRetList: Vec<RecallRet>,
}

impl Response for GroupMsgRecallResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        self.RecallRetList
            .iter()
            .filter(|r| r.RetCode != 0)
            .map(|r| {
                let meaning =
                    crate::tim::errors::lookup_for(Api::GroupMsgRecall, r.RetCode).meaning;
                ItemFailure::new(r.MsgSeq.to_string(), Some(r.RetCode), meaning)
            })
            .collect()
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        Some(
            self.RecallRetList
                .iter()
                .map(|r| r.MsgSeq.to_string())
                .collect(),
        )
    }
}
