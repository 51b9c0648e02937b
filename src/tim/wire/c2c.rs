//! One-to-one messages: `importmsg` (§3.5), `sendmsg` (§4.1), `admin_getroammsg` (§6) and
//! `admin_msgwithdraw` (§4.7b).

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

impl ImportMsg {
    /// The `MsgKey` the message this request imports has on the target ([`msg_key`]); `None`
    /// when the request leaves `MsgSeq` to the target.
    pub fn msg_key(&self) -> Option<String> {
        self.MsgSeq
            .map(|seq| msg_key(seq, self.MsgRandom, self.MsgTimeStamp))
    }
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

/// `MsgFlagBits` of a recalled message in an `admin_getroammsg` answer (§6).
pub const MSG_FLAG_RECALLED: u32 = 8;

/// The `MsgKey` of a message imported with these `MsgSeq`, `MsgRandom` and `MsgTimeStamp`
/// (§3.5: importmsg returns none; this is the key admin_getroammsg shows for it).
pub fn msg_key(seq: u32, random: u32, time: i64) -> String {
    format!("{seq}_{random}_{time}")
}

/// `admin_msgwithdraw`: recall one message of a conversation, named by its `MsgKey`. Answered
/// with the envelope only: 20022 when the message is not there, 20023 when it was recalled
/// already (both a repeat: done). Fires `C2C.CallbackAfterMsgWithDraw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminMsgWithdraw {
    /// The sender.
    pub From_Account: String,
    /// The receiver.
    pub To_Account: String,
    /// `MsgSeq_MsgRandom_MsgTimeStamp` (see [`msg_key`]).
    pub MsgKey: String,
}

impl Request for AdminMsgWithdraw {
    const API: Api = Api::AdminMsgWithdraw;
    type Response = EmptyResponse;
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
    /// 0 normal, 8 recalled ([`MSG_FLAG_RECALLED`]; the body is then empty).
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
