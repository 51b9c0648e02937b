//! Accounts: `account_import`, `multiaccount_import` (§3.1, §3.2), `account_check` (§6) and
//! `account_delete` (§4.7b).

use super::{
    coded_failures, named_failures, EmptyResponse, Envelope, ItemFailure, Request, Response,
};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// `account_import`: one account with its nickname and avatar.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountImport {
    /// The account, ≤ 32 bytes.
    pub UserID: String,
    /// Nickname.
    pub Nick: Option<String>,
    /// Avatar URL.
    pub FaceUrl: Option<String>,
}

impl Request for AccountImport {
    const API: Api = Api::AccountImport;
    type Response = EmptyResponse;
}

/// One entry of the new `AccountList` form of `multiaccount_import`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountItem {
    /// The account, ≤ 32 bytes.
    pub UserID: String,
    /// Nickname.
    pub Nick: Option<String>,
    /// Avatar URL.
    pub FaceUrl: Option<String>,
}

/// `multiaccount_import`: up to 100 accounts, in the old (`Accounts`) or new (`AccountList`)
/// form; exactly one of the two is set.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiaccountImport {
    /// Old form: bare account ids.
    pub Accounts: Option<Vec<String>>,
    /// New form: accounts with nickname and avatar.
    pub AccountList: Option<Vec<AccountItem>>,
}

impl Request for MultiaccountImport {
    const API: Api = Api::MultiaccountImport;
    type Response = MultiaccountImportResponse;
}

/// The answer to `multiaccount_import`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiaccountImportResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// Accounts that were not imported (no reason is given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub FailAccounts: Vec<String>,
}

impl Response for MultiaccountImportResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn item_failures(&self) -> Vec<ItemFailure> {
        named_failures(&self.FailAccounts, &[])
    }
}

/// One account to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckItem {
    /// The account.
    pub UserID: String,
}

/// `account_check`: are these (≤ 100) accounts imported?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheck {
    /// The accounts.
    pub CheckItem: Vec<CheckItem>,
}

impl Request for AccountCheck {
    const API: Api = Api::AccountCheck;
    type Response = AccountCheckResponse;
    fn item_keys(&self) -> Option<Vec<String>> {
        Some(self.CheckItem.iter().map(|i| i.UserID.clone()).collect())
    }
}

/// The state of one checked account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountCheckItem {
    /// The account.
    pub UserID: String,
    /// 0 when the check itself worked.
    pub ResultCode: i64,
    /// Why not.
    #[serde(default)]
    pub ResultInfo: String,
    /// `Imported` or `NotImported`.
    #[serde(default)]
    pub AccountStatus: String,
}

/// The answer to `account_check`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountCheckResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per checked account.
    #[serde(default)]
    pub ResultItem: Vec<AccountCheckItem>,
}

impl Response for AccountCheckResponse {
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

/// One account to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteItem {
    /// The account.
    pub UserID: String,
}

/// `account_delete`: delete up to 100 accounts, with their profiles, friend lists and group
/// memberships. Irreversible: Tencent refuses to import the same UserID again for months.
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

/// The result for one deleted account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeleteItem {
    /// The account.
    pub UserID: String,
    /// 0 deleted; 70107 it does not exist (a repeat of a deletion that happened: done).
    pub ResultCode: i64,
    /// Why not (`Err_TLS_PT_Open_Login_Account_Not_Exist` for 70107).
    #[serde(default)]
    pub ResultInfo: String,
}

/// The answer to `account_delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountDeleteResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// One per account.
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
