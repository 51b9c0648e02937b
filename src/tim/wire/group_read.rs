//! Group read-back (§6): `get_group_info`, `get_group_member_info`,
//! `get_specified_group_member_info`, `get_appid_group_list`, `group_msg_get_simple`.

use super::{Envelope, ItemFailure, KeyValue, MsgElement, Request, Response};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

/// `get_group_info`: up to 50 groups.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetGroupInfo {
    /// The groups.
    pub GroupIdList: Vec<String>,
    /// Which fields to return (`GroupBaseInfoFilter`, `MemberInfoFilter`, …).
    pub ResponseFilter: Option<Value>,
}

impl Request for GetGroupInfo {
    const API: Api = Api::GetGroupInfo;
    type Response = GetGroupInfoResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(self.GroupIdList.clone())
    }
}

/// A member as the read APIs show it. `MsgSeq` is the member's read position, so its unread
/// count is the group's last sequence minus it.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The account.
    pub Member_Account: String,
    /// `Owner`, `Admin`, `Member`.
    pub Role: Option<String>,
    /// Unix seconds.
    pub JoinTime: Option<i64>,
    /// The sequence of the last message this member has read.
    pub MsgSeq: Option<u64>,
    /// `AcceptAndNotify`, …
    pub MsgFlag: Option<String>,
    /// Unix seconds.
    pub LastSendMsgTime: Option<i64>,
    /// Muted until (unix seconds, 0 = not muted).
    pub ShutUpUntil: Option<i64>,
    /// Group nickname.
    pub NameCard: Option<String>,
    /// Member custom fields.
    pub AppMemberDefinedData: Option<Vec<KeyValue>>,
}

/// One group in a `get_group_info` answer; `ErrorCode` says whether it was found.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The group.
    pub GroupId: String,
    /// 0 when found (the top-level code means nothing for this API).
    #[serde(default)]
    pub ErrorCode: i64,
    /// Why not.
    #[serde(default)]
    pub ErrorInfo: String,
    /// Type.
    pub Type: Option<String>,
    /// Name.
    pub Name: Option<String>,
    /// SDKAppID.
    pub Appid: Option<u64>,
    /// Introduction.
    pub Introduction: Option<String>,
    /// Notification.
    pub Notification: Option<String>,
    /// Avatar URL.
    pub FaceUrl: Option<String>,
    /// Owner.
    pub Owner_Account: Option<String>,
    /// Unix seconds.
    pub CreateTime: Option<i64>,
    /// Unix seconds of the last info change.
    pub LastInfoTime: Option<i64>,
    /// Unix seconds of the last message.
    pub LastMsgTime: Option<i64>,
    /// The sequence the next message will get (last + 1).
    pub NextMsgSeq: Option<u64>,
    /// Members now.
    pub MemberNum: Option<u64>,
    /// Member cap.
    pub MaxMemberNum: Option<u64>,
    /// Join option.
    pub ApplyJoinOption: Option<String>,
    /// `On` / `Off`.
    pub ShutUpAllMember: Option<String>,
    /// Group custom fields.
    pub AppDefinedData: Option<Vec<KeyValue>>,
    /// Members (unless filtered out).
    pub MemberList: Option<Vec<MemberInfo>>,
}

/// The answer to `get_group_info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GetGroupInfoResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per asked group.
    #[serde(default)]
    pub GroupInfo: Vec<GroupInfo>,
}

impl Response for GetGroupInfoResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        self.GroupInfo
            .iter()
            .filter(|g| g.ErrorCode != 0)
            .map(|g| ItemFailure::new(g.GroupId.as_str(), Some(g.ErrorCode), g.ErrorInfo.as_str()))
            .collect()
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        Some(self.GroupInfo.iter().map(|g| g.GroupId.clone()).collect())
    }
}

/// `get_group_member_info`: one page of a group's members (`Offset`, or `Next` for
/// communities).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GetGroupMemberInfo {
    /// The group.
    pub GroupId: String,
    /// Page size (≤ 200).
    pub Limit: Option<u32>,
    /// Where the page starts (not for communities).
    pub Offset: Option<u32>,
    /// Communities: the cursor (`""`/"0" first).
    pub Next: Option<String>,
    /// Which member fields to return.
    pub MemberInfoFilter: Option<Vec<String>>,
    /// Only these roles.
    pub MemberRoleFilter: Option<Vec<String>>,
    /// Member custom fields to return.
    pub AppDefinedDataFilter_GroupMember: Option<Vec<String>>,
}

impl Request for GetGroupMemberInfo {
    const API: Api = Api::GetGroupMemberInfo;
    type Response = GetGroupMemberInfoResponse;
}

/// The answer to `get_group_member_info` and `get_specified_group_member_info`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GetGroupMemberInfoResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// Members in all.
    #[serde(default)]
    pub MemberNum: u64,
    /// The page.
    #[serde(default)]
    pub MemberList: Vec<MemberInfo>,
    /// Communities: the next cursor (empty or absent when done).
    pub Next: Option<String>,
}

impl Response for GetGroupMemberInfoResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// `get_specified_group_member_info`: up to 50 named members.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct GetSpecifiedGroupMemberInfo {
    /// The group.
    pub GroupId: String,
    /// The members.
    pub Member_List_Account: Vec<String>,
    /// Which member fields to return.
    pub MemberInfoFilter: Option<Vec<String>>,
}

#[cfg(any(test, feature = "test-support"))]
impl Request for GetSpecifiedGroupMemberInfo {
    const API: Api = Api::GetSpecifiedGroupMemberInfo;
    type Response = GetGroupMemberInfoResponse;
}

/// `get_appid_group_list`: all group ids, a page at a time (1 call/s).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct GetAppidGroupList {
    /// Page size (≤ 10000).
    pub Limit: Option<u32>,
    /// Cursor: 0 first; a u64.
    pub Next: Option<u64>,
    /// Only this type.
    pub GroupType: Option<String>,
}

#[cfg(any(test, feature = "test-support"))]
impl Request for GetAppidGroupList {
    const API: Api = Api::GetAppidGroupList;
    type Response = GetAppidGroupListResponse;
}

/// A group id in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct GroupIdItem {
    /// The id.
    pub GroupId: String,
}

/// The answer to `get_appid_group_list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct GetAppidGroupListResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// Groups in all.
    #[serde(default)]
    pub TotalCount: u64,
    /// The page.
    #[serde(default)]
    pub GroupIdList: Vec<GroupIdItem>,
    /// The next cursor; 0 when done.
    #[serde(default)]
    pub Next: u64,
}

#[cfg(any(test, feature = "test-support"))]
impl Response for GetAppidGroupListResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// `group_msg_get_simple`: up to 20 messages at or below `ReqMsgSeq`, newest first.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMsgGetSimple {
    /// The group.
    pub GroupId: String,
    /// The newest sequence wanted (inclusive); absent = the newest.
    pub ReqMsgSeq: Option<u64>,
    /// How many (≤ 20).
    pub ReqMsgNumber: u32,
}

impl Request for GroupMsgGetSimple {
    const API: Api = Api::GroupMsgGetSimple;
    type Response = GroupMsgGetSimpleResponse;
}

/// `IsPlaceMsg` of a message past the roaming period, deleted or not stored (no body).
pub const PLACE_MSG_GONE: u32 = 1;
/// `IsPlaceMsg` of a recalled message (group_msg_recall; no body).
pub const PLACE_MSG_RECALLED: u32 = 2;

/// One group message read back.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RspMsg {
    /// Sender.
    pub From_Account: String,
    /// 0 normal, [`PLACE_MSG_GONE`] deleted or expired, [`PLACE_MSG_RECALLED`] recalled.
    #[serde(default)]
    pub IsPlaceMsg: u32,
    /// Priority.
    pub MsgPriority: Option<u32>,
    /// Random.
    #[serde(default)]
    pub MsgRandom: u32,
    /// Group sequence.
    pub MsgSeq: u64,
    /// Unix seconds.
    pub MsgTimeStamp: i64,
    /// The elements.
    #[serde(default)]
    pub MsgBody: Vec<MsgElement>,
}

/// The answer to `group_msg_get_simple`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupMsgGetSimpleResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// The group.
    #[serde(default)]
    pub GroupId: String,
    /// 1 all returned, 0 partial, 2 partial and the rest expired.
    #[serde(default)]
    pub IsFinished: u32,
    /// The page, newest first.
    #[serde(default)]
    pub RspMsgList: Vec<RspMsg>,
}

impl Response for GroupMsgGetSimpleResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}
