//! One-to-one messages: `importmsg` (§3.5), `sendmsg` (§4.1) and `admin_getroammsg` (§6).

use super::{EmptyResponse, Envelope, MsgElement, Request, Response};
use crate::tim::api::Api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

/// `importmsg`: one historical (2) or live (5) message.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportMsg {
    /// 2 = history (no unread, no push); 5 = real-time during the transition.
    pub SyncFromOldSystem: u32,
    /// Sender.
    pub From_Account: String,
    /// Receiver.
    pub To_Account: String,
    /// Caller-chosen sequence (de-duplication and same-second order).
    pub MsgSeq: Option<u32>,
    /// Caller-chosen random (de-duplication).
    pub MsgRandom: u32,
    /// Unix seconds.
    pub MsgTimeStamp: i64,
    /// The elements.
    pub MsgBody: Vec<MsgElement>,
    /// Custom data stored with the message.
    pub CloudCustomData: Option<String>,
}

impl Request for ImportMsg {
    const API: Api = Api::ImportMsg;
    type Response = EmptyResponse;
}

/// `sendmsg`: one live message (the old → new relay).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendMsg {
    /// 1 = also sync to the sender's devices; 2 = do not.
    pub SyncOtherMachine: Option<u32>,
    /// Sender (default: the admin).
    pub From_Account: Option<String>,
    /// Receiver.
    pub To_Account: String,
    /// Offline retention in seconds (≤ 604800).
    pub MsgLifeTime: Option<u32>,
    /// Sequence.
    pub MsgSeq: Option<u32>,
    /// Random (de-duplication within a second).
    pub MsgRandom: u32,
    /// Unix seconds (the original send time).
    pub MsgTimeStamp: Option<i64>,
    /// `ForbidBeforeSendMsgCallback`, `ForbidAfterSendMsgCallback`.
    pub ForbidCallbackControl: Option<Vec<String>>,
    /// `NoUnread`, `NoLastMsg`, `WithMuteNotifications`.
    pub SendMsgControl: Option<Vec<String>>,
    /// The elements.
    pub MsgBody: Vec<MsgElement>,
    /// Custom data.
    pub CloudCustomData: Option<String>,
    /// Push settings.
    pub OfflinePushInfo: Option<Value>,
}

impl Request for SendMsg {
    const API: Api = Api::SendMsg;
    type Response = SendMsgResponse;
}

/// The answer to `sendmsg`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendMsgResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// Server time of the message.
    #[serde(default)]
    pub MsgTime: i64,
    /// `MsgSeq_MsgRandom_MsgTime`.
    #[serde(default)]
    pub MsgKey: String,
}

impl Response for SendMsgResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// `admin_getroammsg`: one page of a conversation's history, newest first.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminGetRoamMsg {
    /// One side.
    pub From_Account: String,
    /// The other side.
    pub To_Account: String,
    /// Most messages to return.
    pub MaxCnt: u32,
    /// Oldest time, unix seconds.
    pub MinTime: i64,
    /// Newest time, unix seconds.
    pub MaxTime: i64,
    /// Continue after this key (from the previous page).
    pub LastMsgKey: Option<String>,
}

impl Request for AdminGetRoamMsg {
    const API: Api = Api::AdminGetRoamMsg;
    type Response = AdminGetRoamMsgResponse;
}

/// One message read back.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoamMsg {
    /// Sender.
    pub From_Account: String,
    /// Receiver.
    pub To_Account: String,
    /// Sequence.
    pub MsgSeq: u32,
    /// Random.
    pub MsgRandom: u32,
    /// Unix seconds.
    pub MsgTimeStamp: i64,
    /// 0 normal, 8 recalled.
    #[serde(default)]
    pub MsgFlagBits: u32,
    /// `MsgSeq_MsgRandom_MsgTimeStamp`.
    pub MsgKey: String,
    /// The elements.
    #[serde(default)]
    pub MsgBody: Vec<MsgElement>,
    /// Custom data.
    pub CloudCustomData: Option<String>,
}

/// The answer to `admin_getroammsg`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminGetRoamMsgResponse {
    /// The envelope.
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    /// 1 when everything in the range was returned.
    #[serde(default)]
    pub Complete: u32,
    /// Messages in this page.
    #[serde(default)]
    pub MsgCnt: u32,
    /// Time of the oldest message in this page (the next page's `MaxTime`).
    #[serde(default)]
    pub LastMsgTime: i64,
    /// Key of the oldest message in this page (the next page's `LastMsgKey`).
    #[serde(default)]
    pub LastMsgKey: String,
    /// The page, newest first.
    #[serde(default)]
    pub MsgList: Vec<RoamMsg>,
}

impl Response for AdminGetRoamMsgResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}
