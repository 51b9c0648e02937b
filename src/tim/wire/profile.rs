//! Profiles: `portrait_set` (§3.3) and `portrait_get` (§6).

use super::{
    coded_failures, named_failures, EmptyResponse, Envelope, ItemFailure, Request, Response,
    TagValue,
};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};

/// `portrait_set`: overwrite some profile fields of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortraitSet {
    /// Whose profile.
    pub From_Account: String,
    /// The fields to set.
    pub ProfileItem: Vec<TagValue>,
}

impl Request for PortraitSet {
    const API: Api = Api::PortraitSet;
    type Response = EmptyResponse;
}

/// `portrait_get`: read some fields of up to 100 accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortraitGet {
    /// The accounts.
    pub To_Account: Vec<String>,
    /// The tags wanted.
    pub TagList: Vec<String>,
}

impl Request for PortraitGet {
    const API: Api = Api::PortraitGet;
    type Response = PortraitGetResponse;
}

/// One account's profile in a `portrait_get` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfileItem {
    /// The account.
    pub To_Account: String,
    /// The fields that are set, among those asked for.
    #[serde(default)]
    pub ProfileItem: Vec<TagValue>,
    /// 0 when read.
    #[serde(default)]
    pub ResultCode: i64,
    /// Why not.
    #[serde(default)]
    pub ResultInfo: String,
}

/// The answer to `portrait_get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortraitGetResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per account.
    #[serde(default)]
    pub UserProfileItem: Vec<UserProfileItem>,
    /// Accounts that could not be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub Fail_Account: Vec<String>,
}

impl Response for PortraitGetResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        let coded = coded_failures(
            self.UserProfileItem
                .iter()
                .map(|i| (i.To_Account.as_str(), i.ResultCode, i.ResultInfo.as_str())),
        );
        let mut all = named_failures(&self.Fail_Account, &coded);
        all.splice(0..0, coded);
        all
    }
}
