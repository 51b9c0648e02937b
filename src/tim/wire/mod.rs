//! The request and response bodies of every API, with the exact field names of the spec.
//!
//! Field names are the wire names (`From_Account`, `MsgBody`, …) so that a reader can check
//! them against the spec at a glance; optional fields are left out of the JSON when unset.
//! Every response keeps the per-item results the API returns (`FailAccounts`, `ResultItem`,
//! `Fail_Account`, `MemberList[].Result`, `ImportMsgResult`, …): a batch can be "OK" while
//! some of its items failed, and [`Response::item_failures`] says which. Batched APIs that
//! answer every item also say which items they answered ([`Request::item_keys`],
//! [`Response::answered_keys`]), so that the client can refuse an answer that leaves an item
//! out.

#![allow(non_snake_case)] // the wire's own names, exactly

pub mod account;
pub mod c2c;
pub mod deletion;
pub mod group;
pub mod group_read;
pub mod profile;
pub mod sns;

use super::api::Api;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The envelope every answer carries (§1.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// `"OK"` or `"FAIL"`.
    #[serde(default)]
    pub ActionStatus: String,
    /// 0 on success.
    #[serde(default)]
    pub ErrorCode: i64,
    /// The reason, empty on success.
    #[serde(default)]
    pub ErrorInfo: String,
    /// Only from the profile and relation-chain services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ErrorDisplay: Option<String>,
}

/// One item of a batch that the target refused, though the request as a whole was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// Which item: the account, the friend, the member, or `#N` for the N-th message.
    pub key: String,
    /// The code the target gave for it; `None` where the API names the item but no reason
    /// (`FailAccounts`, member `Result` 0).
    pub code: Option<i64>,
    /// The target's words for it, when it gave any.
    pub(crate) info: String,
}

impl ItemFailure {
    fn new(key: impl Into<String>, code: Option<i64>, info: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            code,
            info: info.into(),
        }
    }
}

/// A request body: which API it goes to and what comes back.
pub trait Request: Serialize {
    /// The API.
    const API: Api;
    /// The answer's body.
    type Response: Response;
    /// For a batched API whose answer carries one result per item: the key by which the
    /// answer names each item sent (see [`Response::answered_keys`]). `None` for the others.
    fn item_keys(&self) -> Option<Vec<String>> {
        None
    }
}

/// A response body.
pub trait Response: DeserializeOwned + Serialize + Send + 'static {
    /// The envelope.
    fn envelope(&self) -> &Envelope;
    /// The items refused inside an accepted request; empty when all went in.
    fn item_failures(&self) -> Vec<ItemFailure> {
        Vec::new()
    }
    /// For a batched API that answers every item: the keys of the items the answer has a
    /// result for. An item sent without a result has an unknown outcome. `None` for APIs that
    /// name only their failures (`multiaccount_import`) or are not batched.
    fn answered_keys(&self) -> Option<Vec<String>> {
        None
    }
}

/// The answer's keys for the `n` messages of a batch answered by position: `#0`, `#1`, …
pub(crate) fn position_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("#{i}")).collect()
}

/// An answer that is only the envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmptyResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
}

impl Response for EmptyResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// One element of a `MsgBody` (§3.10): its type and its content, kept as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsgElement {
    /// `TIMTextElem`, `TIMImageElem`, …
    pub MsgType: String,
    /// The element's fields.
    pub MsgContent: Map<String, Value>,
}

impl MsgElement {
    /// A text element.
    pub fn text(text: &str) -> Self {
        let mut content = Map::new();
        content.insert("Text".into(), Value::String(text.into()));
        Self {
            MsgType: "TIMTextElem".into(),
            MsgContent: content,
        }
    }

    /// Converts the `MsgBody` JSON that the model produces; `None` if it is not an array of
    /// elements.
    pub(crate) fn body_from_value(value: Value) -> Option<Vec<MsgElement>> {
        serde_json::from_value(value).ok()
    }
}

/// A `{Key, Value}` pair (group custom data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    pub Key: String,
    /// The value.
    pub Value: String,
}

/// A `{Tag, Value}` pair (profile items, friend custom items); the value is a string or a
/// number depending on the tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagValue {
    /// The tag, e.g. `Tag_Profile_IM_Nick`.
    pub Tag: String,
    /// Its value.
    pub Value: Value,
}

/// Item failures of a `{To_Account, ResultCode, ResultInfo}` list.
fn coded_failures<'a>(items: impl Iterator<Item = (&'a str, i64, &'a str)>) -> Vec<ItemFailure> {
    items
        .filter(|(_, code, _)| *code != 0)
        .map(|(key, code, info)| ItemFailure::new(key, Some(code), info))
        .collect()
}

/// Item failures named only by account (`FailAccounts`, `Fail_Account`), for accounts not
/// already reported with a code.
fn named_failures(names: &[String], already: &[ItemFailure]) -> Vec<ItemFailure> {
    names
        .iter()
        .filter(|n| !already.iter().any(|f| &f.key == *n))
        .map(|n| ItemFailure::new(n.as_str(), None, ""))
        .collect()
}

#[cfg(test)]
mod tests;
