//! The relation chain: `friend_import` (§3.4), `friend_add` (§3.4, sync only), `friend_get`
//! and `friend_check` (§6), `friend_delete` (§4.7b).

use super::{coded_failures, named_failures, Envelope, ItemFailure, Request, Response, TagValue};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// One one-way entry of a `friend_import`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportFriendItem {
    /// The friend.
    pub To_Account: String,
    /// Remark, ≤ 96 bytes.
    pub Remark: Option<String>,
    /// When the remark was set.
    pub RemarkTime: Option<i64>,
    /// Friend groups (≤ 32 per owner).
    pub GroupName: Option<Vec<String>>,
    /// `AddSource_Type_<keyword>` (required).
    pub AddSource: String,
    /// Add wording, ≤ 256 bytes.
    pub AddWording: Option<String>,
    /// When the friendship formed.
    pub AddTime: Option<i64>,
    /// `Tag_SNS_Custom_*` fields.
    pub CustomItem: Option<Vec<TagValue>>,
}

/// `friend_import`: one owner's one-way entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendImport {
    /// The owner of the list.
    pub From_Account: String,
    /// The entries.
    pub AddFriendItem: Vec<ImportFriendItem>,
}

impl Request for FriendImport {
    const API: Api = Api::FriendImport;
    type Response = FriendResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(
            self.AddFriendItem
                .iter()
                .map(|i| i.To_Account.clone())
                .collect(),
        )
    }
}

/// One entry of a `friend_add`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct AddFriendItem {
    /// The friend.
    pub To_Account: String,
    /// Remark.
    pub Remark: Option<String>,
    /// One friend group (a string here, unlike `friend_import`).
    pub GroupName: Option<String>,
    /// `AddSource_Type_<keyword>` (required).
    pub AddSource: String,
    /// Add wording.
    pub AddWording: Option<String>,
}

/// `friend_add`: add friends as a live action (real-time sync only).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct FriendAdd {
    /// Who adds.
    pub From_Account: String,
    /// The entries.
    pub AddFriendItem: Vec<AddFriendItem>,
    /// `Add_Type_Single` or `Add_Type_Both` (default).
    pub AddType: Option<String>,
    /// 1 = force-add ignoring the peer's AllowType.
    pub ForceAddFlags: Option<u32>,
}

#[cfg(any(test, feature = "test-support"))]
impl Request for FriendAdd {
    const API: Api = Api::FriendAdd;
    type Response = FriendResponse;
}

/// `DeleteType` of a `friend_delete` that removes only `From_Account`'s entries (one-way: the
/// export's friend entry).
pub const DELETE_TYPE_SINGLE: &str = "Delete_Type_Single";
/// `DeleteType` of a `friend_delete` that removes the entries both ways (the default).
pub const DELETE_TYPE_BOTH: &str = "Delete_Type_Both";

/// `friend_delete`: remove friends from one owner's list (up to 100 per call). Answered like
/// `friend_import`: a `ResultItem` per friend, 31704 when it was not a friend (a repeat:
/// done). Fires `Sns.CallbackFriendDelete`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendDelete {
    /// The owner of the list.
    pub From_Account: String,
    /// The friends to remove.
    pub To_Account: Vec<String>,
    /// [`DELETE_TYPE_SINGLE`] or [`DELETE_TYPE_BOTH`] (absent: both).
    pub DeleteType: Option<String>,
}

impl Request for FriendDelete {
    const API: Api = Api::FriendDelete;
    type Response = FriendResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(self.To_Account.clone())
    }
}

/// The result of one friend entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendResultItem {
    /// The friend.
    pub To_Account: String,
    /// 0 when done.
    pub ResultCode: i64,
    /// Why not.
    #[serde(default)]
    pub ResultInfo: String,
}

/// The answer to `friend_import`, `friend_add` and `friend_delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FriendResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per entry.
    #[serde(default)]
    pub ResultItem: Vec<FriendResultItem>,
    /// The entries that failed (present only when some did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub Fail_Account: Vec<String>,
}

impl Response for FriendResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        let coded = coded_failures(
            self.ResultItem
                .iter()
                .map(|i| (i.To_Account.as_str(), i.ResultCode, i.ResultInfo.as_str())),
        );
        let mut all = named_failures(&self.Fail_Account, &coded);
        all.splice(0..0, coded);
        all
    }
    fn answered_keys(&self) -> Option<Vec<String>> {
        let results = self.ResultItem.iter().map(|i| i.To_Account.clone());
        Some(results.chain(self.Fail_Account.iter().cloned()).collect())
    }
}

/// `friend_get`: one page of an owner's friend list.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct FriendGet {
    /// The owner.
    pub From_Account: String,
    /// Where the page starts (0 first).
    pub StartIndex: u64,
    /// Standard-field sequence from the previous page.
    pub StandardSequence: Option<u64>,
    /// Custom-field sequence from the previous page.
    pub CustomSequence: Option<u64>,
}

#[cfg(any(test, feature = "test-support"))]
impl Request for FriendGet {
    const API: Api = Api::FriendGet;
    type Response = FriendGetResponse;
}

/// One friend in a `friend_get` page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct UserDataItem {
    /// The friend.
    pub To_Account: String,
    /// `Tag_SNS_IM_AddSource`, `Tag_SNS_IM_Remark`, `Tag_SNS_IM_Group`, `Tag_SNS_IM_AddTime`,
    /// `Tag_SNS_Custom_*`.
    #[serde(default)]
    pub ValueItem: Vec<TagValue>,
}

/// The answer to `friend_get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg(any(test, feature = "test-support"))]
pub struct FriendGetResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// The page.
    #[serde(default)]
    pub UserDataItem: Vec<UserDataItem>,
    /// Pass back on the next page.
    #[serde(default)]
    pub StandardSequence: u64,
    /// Pass back on the next page.
    #[serde(default)]
    pub CustomSequence: u64,
    /// Friends in all.
    #[serde(default)]
    pub FriendNum: u64,
    /// Non-zero when this was the last page.
    #[serde(default)]
    pub CompleteFlag: u32,
    /// Where the next page starts.
    #[serde(default)]
    pub NextStartIndex: u64,
}

#[cfg(any(test, feature = "test-support"))]
impl Response for FriendGetResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// `friend_check`: the relation between an owner and up to 1000 accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FriendCheck {
    /// The owner.
    pub From_Account: String,
    /// The accounts to check.
    pub To_Account: Vec<String>,
    /// `CheckResult_Type_Single` or `CheckResult_Type_Both`.
    pub CheckType: String,
}

impl Request for FriendCheck {
    const API: Api = Api::FriendCheck;
    type Response = FriendCheckResponse;
}

/// The relation with one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfoItem {
    /// The account.
    pub To_Account: String,
    /// `CheckResult_Type_AWithB`, `…_BWithA`, `…_BothWay` or `…_NoRelation`.
    #[serde(default)]
    pub Relation: String,
    /// 0 when checked.
    #[serde(default)]
    pub ResultCode: i64,
    /// Why not.
    #[serde(default)]
    pub ResultInfo: String,
}

/// The answer to `friend_check`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FriendCheckResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per account.
    #[serde(default)]
    pub InfoItem: Vec<InfoItem>,
    /// Accounts that could not be checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub Fail_Account: Vec<String>,
}

impl Response for FriendCheckResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        let coded = coded_failures(
            self.InfoItem
                .iter()
                .map(|i| (i.To_Account.as_str(), i.ResultCode, i.ResultInfo.as_str())),
        );
        let mut all = named_failures(&self.Fail_Account, &coded);
        all.splice(0..0, coded);
        all
    }
}
