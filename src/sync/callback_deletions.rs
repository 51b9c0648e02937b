//! The deletion callbacks: a friend entry deleted (`Sns.CallbackFriendDelete`), a one-to-one
//! message recalled (`C2C.CallbackAfterMsgWithDraw`), group messages recalled
//! (`Group.CallbackAfterRecallMsg`), turned into `friend_deleted`, `c2c_message_recalled` and
//! `group_message_recalled` events.
//!
//! A recalled message is named by its old id when the relay knows it (it wrote it, or the
//! import brought it), else by the id the relay gave it when delivering it to the old system
//! (`tim-c2c-{MsgKey}`, `tim-gmsg-{GroupId}-{MsgSeq}`). The relay's own deletions and recalls
//! come back as echoes: their ledger keys, or (group recalls) the relay's admin through REST.

use super::{echo_reason, event, event_time_ms, malformed, Body, Known, Rejection, Translated};
use crate::model::sync_event::{EventKind, SyncEvent};
use crate::sync::convert::TargetMsg;
use crate::sync::ledger::{c2c_recall_key, friend_delete_key, group_recall_key};
use serde_json::{json, Value};
use std::collections::HashMap;

/// An event, or its echo when the relay wrote `key`.
fn keyed(e: SyncEvent, key: &str, known: &dyn Known) -> Translated {
    if known.relay_wrote(key) {
        Translated::Echo(e, format!("matches the relay's own write {key} (ledger)"))
    } else {
        Translated::Event(e)
    }
}

/// `Sns.CallbackFriendDelete`: one `friend_deleted` per `PairList` entry (`To_Account` left
/// `From_Account`'s list). The body carries no time: `EventTime` when present, else the
/// query's `RequestTime`, names the event.
pub(super) fn friends_deleted(
    b: &Body<'_>,
    query: &HashMap<String, String>,
    known: &dyn Known,
) -> Result<Vec<Translated>, Rejection> {
    let ms = event_time_ms(b, query)?;
    let at = ms.div_euclid(1000);
    let mut out = Vec::new();
    for (owner, friend) in pairs(b)? {
        let id = format!("tim-fdel-{owner}-{friend}-{ms}");
        let record = json!({"owner": owner, "friend": friend});
        let e = event(id, EventKind::FriendDeleted, at, record);
        out.push(keyed(e, &friend_delete_key(owner, friend), known));
    }
    if out.is_empty() {
        out.push(Translated::Ignored("no pair listed".into()));
    }
    Ok(out)
}

/// The `(From_Account, To_Account)` pairs of `PairList`.
fn pairs<'a>(b: &Body<'a>) -> Result<Vec<(&'a str, &'a str)>, Rejection> {
    let Some(list) = b.0.get("PairList") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| malformed("PairList", "is not a list"))?;
    list.iter()
        .map(|p| {
            let text = |f: &str| p.get(f).and_then(Value::as_str).filter(|s| !s.is_empty());
            text("From_Account").zip(text("To_Account")).ok_or_else(|| {
                malformed(
                    "PairList",
                    "has an entry without From_Account and To_Account",
                )
            })
        })
        .collect()
}

/// `C2C.CallbackAfterMsgWithDraw`: one `c2c_message_recalled`, with the message's `from` and
/// `to` (so the old system, and the outbox's order, can place it in its conversation).
pub(super) fn c2c_recalled(
    b: &Body<'_>,
    query: &HashMap<String, String>,
    known: &dyn Known,
) -> Result<Translated, Rejection> {
    let (from, to) = (b.str("From_Account")?, b.str("To_Account")?);
    let msg_key = b.str("MsgKey")?;
    let at = event_time_ms(b, query)?.div_euclid(1000);
    let target = TargetMsg::C2c {
        from: from.into(),
        to: to.into(),
        msg_key: msg_key.into(),
    };
    let id = known
        .old_message_id(&target, "")
        .unwrap_or_else(|| format!("tim-c2c-{msg_key}"));
    let record = json!({"id": id, "from": from, "to": to});
    let e = event(
        format!("tim-c2crecall-{msg_key}"),
        EventKind::C2cMessageRecalled,
        at,
        record,
    );
    Ok(keyed(e, &c2c_recall_key(from, to, msg_key), known))
}

/// `Group.CallbackAfterRecallMsg`: one `group_message_recalled` per `MsgSeqList` entry.
pub(super) fn group_recalled(
    b: &Body<'_>,
    query: &HashMap<String, String>,
    relay_admin: &str,
    known: &dyn Known,
) -> Result<Vec<Translated>, Rejection> {
    let group_id = b.str("GroupId")?;
    let old_group = known.old_group_id(group_id);
    let echo = echo_reason(b, query, relay_admin)?;
    let at = event_time_ms(b, query)?.div_euclid(1000);
    let mut out = Vec::new();
    for msg_seq in seqs(b)? {
        let target = TargetMsg::Group {
            group_id: group_id.into(),
            msg_seq,
        };
        let id = known
            .old_message_id(&target, &old_group)
            .unwrap_or_else(|| format!("tim-gmsg-{group_id}-{msg_seq}"));
        let e = event(
            format!("tim-grecall-{group_id}-{msg_seq}"),
            EventKind::GroupMessageRecalled,
            at,
            json!({"group": old_group, "id": id}),
        );
        out.push(match &echo {
            Some(why) => Translated::Echo(e, why.clone()),
            None => keyed(e, &group_recall_key(group_id, msg_seq), known),
        });
    }
    if out.is_empty() {
        out.push(Translated::Ignored("no message listed".into()));
    }
    Ok(out)
}

/// The `MsgSeq`s of `MsgSeqList` (integers, or integers written as strings).
fn seqs(b: &Body<'_>) -> Result<Vec<u64>, Rejection> {
    let Some(list) = b.0.get("MsgSeqList") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| malformed("MsgSeqList", "is not a list"))?;
    list.iter()
        .map(|m| {
            let seq = match m.get("MsgSeq") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            seq.ok_or_else(|| malformed("MsgSeqList", "has an entry without a MsgSeq"))
        })
        .collect()
}
