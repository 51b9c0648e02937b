//! The deletion APIs of §4.7b: `account_delete`, `friend_delete`, `group_msg_recall`,
//! `admin_msgwithdraw`. A repeat of a deletion already applied answers its own code
//! ([`repeat_means_done`]): the caller counts it as done.

use super::{coded_failures, EmptyResponse, Envelope, ItemFailure, Request, Response};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};

/// Whether `code`, answered by `api` for one item, says the deletion is applied already
/// (§4.7b): the account does not exist (70107), not friends (31704), the message is not
/// found (10030, 20022) or already recalled (20023), the group is gone (10010).
pub fn repeat_means_done(api: Api, code: i64) -> bool {
    matches!(
        (api, code),
        (Api::AccountDelete, 70107)
            | (Api::FriendDelete, 31704)
            | (Api::GroupMsgRecall, 10030 | 10010)
            | (Api::AdminMsgWithdraw, 20022 | 20023)
            | (Api::DestroyGroup, 10010)
            | (Api::DeleteGroupMember, 10010)
    )
}

/// One account of `account_delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteItem {
    /// The account.
    pub UserID: String,
}

/// `account_delete`: ≤ 100 accounts, irreversible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDelete {
    /// The accounts.
    pub DeleteItem: Vec<DeleteItem>,
}

impl Request for AccountDelete {
    const API: Api = Api::AccountDelete;
    type Response = AccountDeleteResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(self.DeleteItem.iter().map(|i| i.UserID.clone()).collect())
    }
}

/// One account's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeleteItem {
    /// 0, or why not.
    pub ResultCode: i64,
    /// The reason.
    #[serde(default)]
    pub ResultInfo: String,
    /// The account.
    pub UserID: String,
}

/// The answer of `account_delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountDeleteResponse {
    /// The envelope.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// One result per account.
    #[serde(default)]
    pub ResultItem: Vec<AccountDeleteItem>,
}

impl Response for AccountDeleteResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        coded_failures(
            self.ResultItem
                .iter()
                .map(|i| (i.UserID.as_str(), i.ResultCode, i.ResultInfo.as_str())),
        )
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        Some(self.ResultItem.iter().map(|i| i.UserID.clone()).collect())
    }
}

/// `friend_delete`: one owner's entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendDelete {
    /// The owner.
    pub From_Account: String,
    /// The friends to delete from the owner's list.
    pub To_Account: Vec<String>,
    /// `Delete_Type_Single` (only from the owner's list) or `Delete_Type_Both`.
    pub DeleteType: String,
}

impl Request for FriendDelete {
    const API: Api = Api::FriendDelete;
    type Response = FriendDeleteResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(self.To_Account.clone())
    }
}

/// One friend's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendDeleteItem {
    /// The friend.
    pub To_Account: String,
    /// 0, or why not.
    pub ResultCode: i64,
    /// The reason.
    #[serde(default)]
    pub ResultInfo: String,
}

/// The answer of `friend_delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FriendDeleteResponse {
    /// The envelope.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// One result per friend.
    #[serde(default)]
    pub ResultItem: Vec<FriendDeleteItem>,
}

impl Response for FriendDeleteResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        coded_failures(
            self.ResultItem
                .iter()
                .map(|i| (i.To_Account.as_str(), i.ResultCode, i.ResultInfo.as_str())),
        )
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        Some(
            self.ResultItem
                .iter()
                .map(|i| i.To_Account.clone())
                .collect(),
        )
    }
}

/// One message of `group_msg_recall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgSeqItem {
    /// Its MsgSeq in the group.
    pub MsgSeq: u64,
}

/// `group_msg_recall`: messages of one group by MsgSeq.
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

/// One message's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallRet {
    /// The message.
    pub MsgSeq: u64,
    /// 0, or why not.
    pub RetCode: i64,
}

/// The answer of `group_msg_recall`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupMsgRecallResponse {
    /// The envelope.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// One result per message.
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
            .map(|r| ItemFailure {
                key: r.MsgSeq.to_string(),
                code: Some(r.RetCode),
                info: String::new(),
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

/// `admin_msgwithdraw`: one one-to-one message, by the MsgKey the target gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminMsgWithdraw {
    /// The sender.
    pub From_Account: String,
    /// The receiver.
    pub To_Account: String,
    /// `MsgSeq_MsgRandom_MsgTimeStamp`.
    pub MsgKey: String,
}

impl Request for AdminMsgWithdraw {
    const API: Api = Api::AdminMsgWithdraw;
    type Response = EmptyResponse;
}
