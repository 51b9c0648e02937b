//! Tencent IM's "after" callbacks (§5), checked and turned into sync events for the old system.
//!
//! No I/O of their own: [`check_query`] authenticates a request by its query string (§5.1:
//! `SdkAppid`, `Sign`, `RequestTime`), and [`translate`] turns one of the ten bodies the relay
//! handles (the seven of §5.2, a friend entry deleted and the two recalls, in
//! [`deletions`]) into events in export-format shape, marking the relay's own writes as
//! echoes (§4.8); what it needs to know of the store it asks a [`Known`].
//! Event ids are deterministic, so a callback sent twice, or a message that reconciliation
//! finds again ([`c2c_event_from_roam`], [`group_event_from_rsp`]), is delivered once.

use super::convert::TargetMsg;
use super::elements::export_body;
use crate::model::sync_event::{EventKind, SyncEvent};
use crate::tim::wire::c2c::RoamMsg;
use crate::tim::wire::group_read::RspMsg;
use crate::tim::wire::MsgElement;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What a callback must carry to be believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackAuth {
    /// This app's SDKAppID.
    pub(crate) sdkappid: u64,
    /// The callback token set in the console ("回调鉴权").
    pub(crate) token: String,
    /// Seconds `RequestTime` may differ from now.
    pub(crate) max_skew_secs: u64,
}

/// Why a callback is refused. Never names the token or the expected `Sign`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Rejection {
    /// No `SdkAppid` in the query.
    #[error("the callback has no SdkAppid in its query string")]
    MissingAppId,
    /// Another app's callback.
    #[error("the callback's SdkAppid {got:?} is not this app's ({want})")]
    WrongAppId {
        /// What the query said (cut to 64 characters).
        got: String,
        /// This app.
        want: u64,
    },
    /// `Sign` or `RequestTime` is absent.
    #[error("the callback has no {0} in its query string: enable callback authentication with a token in the IM console")]
    MissingAuth(&'static str),
    /// `Sign` is not SHA-256(token + RequestTime).
    #[error("the callback's Sign does not match the configured token and its RequestTime")]
    BadSign,
    /// `RequestTime` is too far from now.
    #[error("the callback's RequestTime {request_time} is {off} s from now, more than the {max_skew} s allowed")]
    Stale {
        /// What the query said (unix seconds).
        request_time: i64,
        /// How far off, seconds.
        off: u64,
        /// The allowed skew.
        max_skew: u64,
    },
    /// The body or a field cannot be read.
    #[error("the callback's {field} {why}")]
    Malformed {
        /// Which field (`body`, `GroupId`, …).
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// Not one of the callbacks this relay handles.
    #[error("callback command {0:?} is not one this relay handles")]
    UnknownCommand(String),
}

/// At most `n` characters of something the sender chose, for a message.
fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn malformed(field: &str, why: impl Into<String>) -> Rejection {
    Rejection::Malformed {
        field: field.into(),
        why: why.into(),
    }
}

/// Checks the query string of §5.1: the app, then `Sign` = lowercase hex SHA-256(token +
/// RequestTime) compared in constant time, then `RequestTime` within `max_skew_secs` of
/// `now_secs`.
pub(crate) fn check_query(
    query: &HashMap<String, String>,
    auth: &CallbackAuth,
    now_secs: i64,
) -> Result<(), Rejection> {
    let app = query.get("SdkAppid").ok_or(Rejection::MissingAppId)?;
    if app.trim().parse::<u64>().ok() != Some(auth.sdkappid) {
        return Err(Rejection::WrongAppId {
            got: cut(app, 64),
            want: auth.sdkappid,
        });
    }
    let sign = query.get("Sign").ok_or(Rejection::MissingAuth("Sign"))?;
    let time_text = query
        .get("RequestTime")
        .ok_or(Rejection::MissingAuth("RequestTime"))?;
    let request_time: u64 = time_text
        .trim()
        .parse()
        .map_err(|_| malformed("RequestTime", "is not unix seconds"))?;
    let expected = crate::tim::callback::sign(&auth.token, request_time);
    if !same_bytes(expected.as_bytes(), sign.to_ascii_lowercase().as_bytes()) {
        return Err(Rejection::BadSign);
    }
    let request_time =
        i64::try_from(request_time).map_err(|_| malformed("RequestTime", "is not unix seconds"))?;
    let off = now_secs.abs_diff(request_time);
    if off > auth.max_skew_secs {
        return Err(Rejection::Stale {
            request_time,
            off,
            max_skew: auth.max_skew_secs,
        });
    }
    Ok(())
}

/// Equal bytes, in time that depends only on the lengths (no early exit on the first
/// difference, so a forger learns nothing from timing).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// What one callback becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Translated {
    /// An event for the old system.
    Event(SyncEvent),
    /// An event caused by the relay's own write, with what identified it: kept, not delivered.
    Echo(SyncEvent, String),
    /// Nothing to deliver, and why (a failed send, a change the export does not carry).
    Ignored(String),
}

/// The answer Tencent expects to every callback.
pub(crate) fn ok_answer() -> Value {
    json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})
}

/// What a translation asks of the relay's store.
pub(crate) trait Known {
    /// The old system's id of the Tencent group `group_id` (itself when not known).
    fn old_group_id(&self, group_id: &str) -> String;
    /// The old system's id of the message the target knows as `msg` (`old_group`: the old id
    /// of its group), when the relay wrote it or the import brought it.
    fn old_message_id(&self, msg: &TargetMsg, old_group: &str) -> Option<String>;
    /// Whether the relay wrote the echo ledger key `key` lately.
    fn relay_wrote(&self, key: &str) -> bool;
}

/// The callback commands [`translate`] handles (the seven the simulator fires, then the
/// deletion callbacks).
pub(crate) use crate::tim::callback::COMMANDS;
/// Turns the callback `command` with `body` into events in export-format shape. Group ids are
/// given to the old system as [`Known::old_group_id`]. A callback whose `Operator_Account` is
/// `relay_admin` and whose query says `OptPlatform=RESTAPI` is an [`Translated::Echo`], and so
/// is a deletion or recall whose ledger key the relay wrote; a message whose `SendMsgResult`
/// is not 0 is [`Translated::Ignored`].
pub(crate) fn translate(
    command: &str,
    query: &HashMap<String, String>,
    body: &Value,
    relay_admin: &str,
    known: &dyn Known,
) -> Result<Vec<Translated>, Rejection> {
    if !COMMANDS.contains(&command) {
        return Err(Rejection::UnknownCommand(cut(command, 80)));
    }
    let b = Body(
        body.as_object()
            .ok_or_else(|| malformed("body", "is not a JSON object"))?,
    );
    if let Some(inner) = b.opt_str("CallbackCommand")? {
        if inner != command {
            return Err(malformed(
                "CallbackCommand",
                format!("{:?} in the body differs from the query's", cut(inner, 80)),
            ));
        }
    }
    match command {
        "C2C.CallbackAfterSendMsg" => {
            // C2C callbacks carry no Operator_Account: the relay writes one-to-one messages so
            // that none come back (importmsg, or ForbidCallbackControl), so none is an echo.
            return Ok(vec![c2c_message(&b)?]);
        }
        "Sns.CallbackFriendDelete" => return deletions::friends_deleted(&b, query, known),
        "C2C.CallbackAfterMsgWithDraw" => {
            return Ok(vec![deletions::c2c_recalled(&b, query, known)?])
        }
        "Group.CallbackAfterRecallMsg" => {
            return deletions::group_recalled(&b, query, relay_admin, known)
        }
        _ => {}
    }
    let group_id = b.str("GroupId")?;
    let old = known.old_group_id(group_id);
    let echo = echo_reason(&b, query, relay_admin)?;
    let ms = || event_time_ms(&b, query);
    let events = match command {
        "Group.CallbackAfterSendMsg" => {
            if let Some(why) = failed_send(&b)? {
                return Ok(vec![Translated::Ignored(why)]);
            }
            vec![group_message(&b, group_id, &old)?]
        }
        "Group.CallbackAfterCreateGroup" => vec![group_created(&b, group_id, &old, ms()?)?],
        "Group.CallbackAfterGroupInfoChanged" => match group_updated(&b, group_id, &old, ms()?)? {
            Some(e) => vec![e],
            None => {
                let why = "no field the export carries changed";
                return Ok(vec![Translated::Ignored(why.into())]);
            }
        },
        "Group.CallbackAfterNewMemberJoin" => members(&b, group_id, &old, ms()?, true)?,
        "Group.CallbackAfterMemberExit" => members(&b, group_id, &old, ms()?, false)?,
        _ => vec![event(
            format!("tim-gdestroy-{group_id}"),
            EventKind::GroupDestroyed,
            ms()?.div_euclid(1000),
            json!({"id": old}),
        )],
    };
    if events.is_empty() {
        return Ok(vec![Translated::Ignored("no member listed".into())]);
    }
    Ok(events
        .into_iter()
        .map(|e| match &echo {
            Some(why) => Translated::Echo(e, why.clone()),
            None => Translated::Event(e),
        })
        .collect())
}

/// Why a group callback is the relay's own write (an echo), if it is: the operator is the
/// relay's admin and the platform is the REST API.
fn echo_reason(
    b: &Body<'_>,
    query: &HashMap<String, String>,
    relay_admin: &str,
) -> Result<Option<String>, Rejection> {
    Ok(b.opt_str("Operator_Account")?.and_then(|op| {
        let rest = query.get("OptPlatform").map(String::as_str) == Some("RESTAPI");
        (rest && !relay_admin.is_empty() && op == relay_admin).then(|| {
            format!("Operator_Account {op} with OptPlatform RESTAPI: the relay's own write")
        })
    }))
}

/// A group message that was sent: the same event reconciliation would make of it read back,
/// with its custom data.
fn group_message(b: &Body<'_>, group_id: &str, old: &str) -> Result<SyncEvent, Rejection> {
    let msg = RspMsg {
        From_Account: b.str("From_Account")?.into(),
        IsPlaceMsg: 0,
        MsgPriority: None,
        MsgRandom: b.u32("Random")?,
        MsgSeq: b.u64("MsgSeq")?,
        MsgTimeStamp: b.i64("MsgTime")?,
        MsgBody: b.msg_body()?,
    };
    let mut e = group_event_from_rsp(group_id, old, &msg);
    if let Some(c) = b.opt_str("CloudCustomData")? {
        e.record["custom_data"] = json!(c);
    }
    Ok(e)
}

fn event(event_id: String, kind: EventKind, at: i64, record: Value) -> SyncEvent {
    SyncEvent {
        event_id,
        kind,
        at,
        record,
    }
}

/// The `c2c_message` event a reconciliation read (`admin_getroammsg`) finds: the same id and
/// record as `C2C.CallbackAfterSendMsg` for that message.
pub(crate) fn c2c_event_from_roam(msg: &RoamMsg) -> SyncEvent {
    let id = format!("tim-c2c-{}", msg.MsgKey);
    let mut record = json!({"id": id, "from": msg.From_Account, "to": msg.To_Account,
        "sent_at": msg.MsgTimeStamp, "seq": msg.MsgSeq, "random": msg.MsgRandom,
        "body": export_body(&msg.MsgBody)});
    if let Some(c) = &msg.CloudCustomData {
        record["custom_data"] = json!(c);
    }
    event(id, EventKind::C2cMessage, msg.MsgTimeStamp, record)
}

/// The `group_message` event a reconciliation read (`group_msg_get_simple`) finds: the same
/// id and record as `Group.CallbackAfterSendMsg` for that message. (That read returns no
/// `CloudCustomData`, so only a callback can carry `custom_data`.)
pub(crate) fn group_event_from_rsp(group_id: &str, old_group_id: &str, msg: &RspMsg) -> SyncEvent {
    let id = format!("tim-gmsg-{group_id}-{}", msg.MsgSeq);
    let record = json!({"id": id, "group": old_group_id, "from": msg.From_Account,
        "sent_at": msg.MsgTimeStamp, "random": msg.MsgRandom, "body": export_body(&msg.MsgBody)});
    event(id, EventKind::GroupMessage, msg.MsgTimeStamp, record)
}

/// A callback body, read field by field with errors that name the field.
struct Body<'a>(&'a Map<String, Value>);

impl<'a> Body<'a> {
    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, Rejection> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(malformed(name, "is not a string")),
        }
    }

    fn str(&self, name: &str) -> Result<&'a str, Rejection> {
        match self.opt_str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(malformed(name, "is missing")),
        }
    }

    /// An integer, also when written as a string.
    fn opt_i64(&self, name: &str) -> Result<Option<i64>, Rejection> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| malformed(name, "is not an integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| malformed(name, "is not an integer")),
            Some(_) => Err(malformed(name, "is not an integer")),
        }
    }

    fn i64(&self, name: &str) -> Result<i64, Rejection> {
        self.opt_i64(name)?
            .ok_or_else(|| malformed(name, "is missing"))
    }

    fn u64(&self, name: &str) -> Result<u64, Rejection> {
        u64::try_from(self.i64(name)?).map_err(|_| malformed(name, "is negative"))
    }

    fn u32(&self, name: &str) -> Result<u32, Rejection> {
        u32::try_from(self.i64(name)?).map_err(|_| malformed(name, "is not a u32"))
    }

    fn msg_body(&self) -> Result<Vec<MsgElement>, Rejection> {
        let v = self.0.get("MsgBody").cloned().unwrap_or(json!([]));
        serde_json::from_value(v).map_err(|e| malformed("MsgBody", format!("is not elements: {e}")))
    }

    /// The `Member_Account`s of a member list (absent: none).
    fn accounts(&self, name: &str) -> Result<Vec<&'a str>, Rejection> {
        let Some(list) = self.0.get(name) else {
            return Ok(Vec::new());
        };
        let list = list
            .as_array()
            .ok_or_else(|| malformed(name, "is not a list"))?;
        list.iter()
            .map(|m| {
                m.get("Member_Account")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| malformed(name, "has an entry without Member_Account"))
            })
            .collect()
    }
}

/// `EventTime` in milliseconds (a JSON integer or a string); without one, `RequestTime`.
fn event_time_ms(b: &Body<'_>, query: &HashMap<String, String>) -> Result<i64, Rejection> {
    if let Some(ms) = b.opt_i64("EventTime")? {
        return Ok(ms);
    }
    query
        .get("RequestTime")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .map(|s| s.saturating_mul(1000))
        .ok_or_else(|| malformed("EventTime", "is missing"))
}

/// Why a message callback reports a send that failed, if it does.
fn failed_send(b: &Body<'_>) -> Result<Option<String>, Rejection> {
    Ok(match b.opt_i64("SendMsgResult")? {
        Some(code) if code != 0 => Some(format!(
            "the send failed (SendMsgResult {code}: {})",
            cut(b.opt_str("ErrorInfo")?.unwrap_or(""), 200)
        )),
        _ => None,
    })
}

fn c2c_message(b: &Body<'_>) -> Result<Translated, Rejection> {
    if let Some(why) = failed_send(b)? {
        return Ok(Translated::Ignored(why));
    }
    let (seq, random, time) = (b.u32("MsgSeq")?, b.u32("MsgRandom")?, b.i64("MsgTime")?);
    let msg = RoamMsg {
        From_Account: b.str("From_Account")?.into(),
        To_Account: b.str("To_Account")?.into(),
        MsgSeq: seq,
        MsgRandom: random,
        MsgTimeStamp: time,
        MsgFlagBits: 0,
        MsgKey: match b.opt_str("MsgKey")? {
            Some(k) if !k.is_empty() => k.into(),
            _ => format!("{seq}_{random}_{time}"),
        },
        MsgBody: b.msg_body()?,
        CloudCustomData: b.opt_str("CloudCustomData")?.map(String::from),
    };
    Ok(Translated::Event(c2c_event_from_roam(&msg)))
}

/// The export's name of a Tencent group `Type`.
fn export_group_type(tim: &str) -> String {
    match tim {
        "Private" | "Work" => "private".into(),
        "Public" => "public".into(),
        "ChatRoom" | "Meeting" => "chatroom".into(),
        "Community" => "community".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// `UserDefinedDataList` as the export's `custom` object (`None` when absent).
fn custom_data(b: &Body<'_>) -> Result<Option<Map<String, Value>>, Rejection> {
    let Some(list) = b.0.get("UserDefinedDataList") else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or_else(|| malformed("UserDefinedDataList", "is not a list"))?;
    let mut out = Map::new();
    for kv in list {
        let key = kv.get("Key").and_then(Value::as_str);
        let value = kv.get("Value").and_then(Value::as_str);
        let (Some(k), Some(v)) = (key, value) else {
            return Err(malformed(
                "UserDefinedDataList",
                "has an entry without a string Key and Value",
            ));
        };
        out.insert(k.into(), json!(v));
    }
    Ok(Some(out))
}

fn group_created(b: &Body<'_>, group_id: &str, old: &str, ms: i64) -> Result<SyncEvent, Rejection> {
    let at = ms.div_euclid(1000);
    let kind = export_group_type(b.opt_str("Type")?.unwrap_or(""));
    let name = b.opt_str("Name")?.unwrap_or("");
    let mut record = json!({"id": old, "type": kind, "name": name, "created_at": at});
    if let Some(owner) = b.opt_str("Owner_Account")?.filter(|o| !o.is_empty()) {
        record["owner"] = json!(owner);
    }
    if let Some(custom) = custom_data(b)?.filter(|c| !c.is_empty()) {
        record["custom"] = Value::Object(custom);
    }
    let id = format!("tim-gcreate-{group_id}");
    Ok(event(id, EventKind::GroupCreated, at, record))
}

/// `group_updated` with only the changed fields; `None` when none the export carries changed.
fn group_updated(
    b: &Body<'_>,
    group_id: &str,
    old: &str,
    ms: i64,
) -> Result<Option<SyncEvent>, Rejection> {
    let mut record = Map::new();
    for (tim, export) in [
        ("Name", "name"),
        ("Introduction", "introduction"),
        ("Notification", "notification"),
        ("FaceUrl", "avatar_url"),
    ] {
        if let Some(v) = b.opt_str(tim)? {
            record.insert(export.into(), json!(v));
        }
    }
    if let Some(custom) = custom_data(b)?.filter(|c| !c.is_empty()) {
        record.insert("custom".into(), Value::Object(custom));
    }
    if record.is_empty() {
        return Ok(None);
    }
    record.insert("id".into(), json!(old));
    let id = format!("tim-gupd-{group_id}-{ms}");
    let at = ms.div_euclid(1000);
    Ok(Some(event(
        id,
        EventKind::GroupUpdated,
        at,
        Value::Object(record),
    )))
}

/// One `member_joined` (or `member_left`) per member listed.
fn members(
    b: &Body<'_>,
    group_id: &str,
    old: &str,
    ms: i64,
    joined: bool,
) -> Result<Vec<SyncEvent>, Rejection> {
    let at = ms.div_euclid(1000);
    let list = if joined {
        "NewMemberList"
    } else {
        "ExitMemberList"
    };
    let one = |member: &str| {
        if joined {
            let id = format!("tim-join-{group_id}-{member}-{ms}");
            let record = json!({"group": old, "member": member, "joined_at": at});
            event(id, EventKind::MemberJoined, at, record)
        } else {
            let id = format!("tim-exit-{group_id}-{member}-{ms}");
            let record = json!({"group": old, "member": member});
            event(id, EventKind::MemberLeft, at, record)
        }
    };
    Ok(b.accounts(list)?.into_iter().map(one).collect())
}

#[path = "callback_deletions.rs"]
mod deletions;

#[cfg(test)]
#[path = "callback_tests.rs"]
mod tests;
