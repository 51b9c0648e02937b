//! One-to-one messages: `importmsg` (§3.5), `sendmsg` (§4.1), `admin_getroammsg` (§6).

use super::msg_body::BodyCodes;
use super::{after_callback_allowed, answer, check_msg_body, Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};
use crate::sim::callbacks::Callback;
use crate::sim::state::{C2cMsg, C2cOrigin, StoredBody};
use crate::tim::wire::c2c::MSG_FLAG_RECALLED;
use serde_json::{json, Value};

use crate::sim::body::U32;

const CODES: BodyCodes = BodyCodes {
    not_array: 90007,
    invalid: 90002,
    too_long: 93000,
};

/// The key ([`C2cMsg::key`]: time, seq, random) a `MsgKey` (`MsgSeq_MsgRandom_MsgTimeStamp`)
/// names; `None` when it is not of that shape.
pub(crate) fn parse_msg_key(key: &str) -> Option<(i64, u32, u32)> {
    let mut parts = key.split('_');
    let seq = parts.next()?.parse().ok()?;
    let random = parts.next()?.parse().ok()?;
    let time = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((time, seq, random))
}

/// `importmsg`. De-duplicates on (MsgSeq, MsgRandom, MsgTimeStamp) in either direction: the
/// first import wins and a repeat answers success (UNCONFIRMED that it is not an error).
/// A timestamp in the future is refused (UNCONFIRMED; the group import documents "< now").
pub(crate) fn importmsg(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let sync = body.uint("SyncFromOldSystem", U32, 90030)?;
    // CURRENT allows 2 and 5; OLDER allowed 1 (treated like 5 without push).
    if !matches!(sync, 1 | 2 | 5) {
        return Err(ApiError::new(
            90030,
            format!("SyncFromOldSystem {sync} is not 2 or 5"),
        ));
    }
    let from = body.str("From_Account", 90008)?;
    let to = body.str("To_Account", 90003)?;
    let seq = body.opt_uint("MsgSeq", U32, 90001)?;
    let random = body.uint("MsgRandom", U32, 90005)? as u32;
    let time = body.int("MsgTimeStamp", 90006)?;
    let custom = body.opt_str("CloudCustomData", 90001)?;
    let msg_body = check_msg_body(
        body.get("MsgBody"),
        custom,
        ctx.config.app.max_message_bytes,
        CODES,
    )?;
    if time > ctx.now {
        return Err(ApiError::new(90001, "MsgTimeStamp is in the future"));
    }
    let from_idx = ctx.account(from, 90048)?;
    let to_idx = ctx.account(to, 90012)?;
    let msg = C2cMsg {
        from: from_idx,
        to: to_idx,
        seq: seq.map_or_else(rand::random, |s| s as u32),
        random,
        time,
        origin: C2cOrigin::Import(sync as u8),
        body: StoredBody::new(ctx.config.lean, msg_body, custom),
    };
    let stored = ctx.state.conversation_mut(from_idx, to_idx).insert(msg);
    if stored && sync != 2 {
        ctx.state.account_mut(to_idx).c2c_unread += 1;
    }
    Ok(Answer::new())
}

fn has_control(body: Body<'_>, field: &str, value: &str) -> bool {
    body.get(field)
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == value))
}

/// `sendmsg`: a live message; fires `C2C.CallbackAfterSendMsg` unless forbidden.
pub(crate) fn sendmsg(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let from = body.opt_str("From_Account", 90008)?;
    let to = body.str("To_Account", 90003)?;
    body.opt_uint("SyncOtherMachine", 2, 90031)?;
    let lifetime = body.opt_uint("MsgLifeTime", U32, 90044)?;
    let seq = body
        .opt_uint("MsgSeq", U32, 90001)?
        .map_or_else(rand::random, |s| s as u32);
    let random = body.uint("MsgRandom", U32, 90005)? as u32;
    let time = body.opt_int("MsgTimeStamp", 90006)?.unwrap_or(ctx.now);
    let custom = body.opt_str("CloudCustomData", 90001)?;
    let msg_body = check_msg_body(
        body.get("MsgBody"),
        custom,
        ctx.config.app.max_message_bytes,
        CODES,
    )?;
    let (from_id, from_idx) = ctx.sender(from, 20003)?;
    let to_idx = ctx.account(to, 20003)?;
    let msg = C2cMsg {
        from: from_idx,
        to: to_idx,
        seq,
        random,
        time,
        origin: C2cOrigin::Send,
        body: StoredBody::new(ctx.config.lean, msg_body, custom),
    };
    let key = msg.msg_key();
    // MsgLifeTime 0 = online only: delivered, not stored in the roaming history.
    let stored = lifetime != Some(0) && ctx.state.conversation_mut(from_idx, to_idx).insert(msg);
    if stored && !has_control(body, "SendMsgControl", "NoUnread") {
        ctx.state.account_mut(to_idx).c2c_unread += 1;
    }
    if stored && after_callback_allowed(body) {
        let mut cb = json!({
            "From_Account": from_id, "To_Account": to, "MsgSeq": seq, "MsgRandom": random,
            "MsgTime": time, "MsgKey": key, "OnlineOnlyFlag": 0, "SendMsgResult": 0,
            "ErrorInfo": "send msg succeed", "UnreadMsgNum": ctx.state.account(to_idx).c2c_unread,
            "MsgBody": msg_body,
        });
        if let Some(c) = custom {
            cb["CloudCustomData"] = json!(c);
        }
        ctx.fire(Callback::new("C2C.CallbackAfterSendMsg", cb));
    }
    Ok(answer(json!({"MsgTime": time, "MsgKey": key})))
}

/// `admin_getroammsg`: newest first within [MinTime, MaxTime], continuing below
/// `LastMsgKey`; only messages inside the roaming period are found.
pub(crate) fn admin_getroammsg(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let from = body.str("From_Account", 90008)?;
    let to = body.str("To_Account", 90003)?;
    let max_cnt = body.uint("MaxCnt", U32, 90001)? as usize;
    let min_time = body.int("MinTime", 90001)?;
    let max_time = body.int("MaxTime", 90001)?;
    let last_key = body.opt_str("LastMsgKey", 90001)?;
    let from_idx = ctx.account(from, 90008)?;
    let to_idx = ctx.account(to, 90003)?;
    let page = max_cnt.min(ctx.batch().unwrap_or(100)).max(1);
    let roaming_floor = match ctx.config.app.roaming_days {
        0 => i64::MIN,
        days => ctx.now - i64::from(days) * 86_400,
    };
    let conversation = ctx.state.conversation(from_idx, to_idx);
    let msgs = conversation.map_or(&[][..], |c| c.msgs.as_slice());
    // Newest first; skip down to (and past) the continuation key.
    let mut iter = msgs
        .iter()
        .rev()
        .filter(|m| m.time >= min_time.max(roaming_floor) && m.time <= max_time)
        .peekable();
    if let Some(key) = last_key {
        let mut found = false;
        for m in iter.by_ref() {
            if m.msg_key() == key {
                found = true;
                break;
            }
        }
        if !found {
            return Err(ApiError::new(
                90001,
                format!("LastMsgKey {key:?} is not in the range"),
            ));
        }
    }
    let mut list = Vec::new();
    let (mut last_time, mut last_key_out) = (0, String::new());
    while list.len() < page {
        let Some(m) = iter.next() else { break };
        last_time = m.time;
        last_key_out = m.msg_key();
        // A recalled message stays, flagged 8 (§6), its content no longer readable.
        let recalled = conversation.is_some_and(|c| c.is_recalled(m));
        let mut item = json!({
            "From_Account": ctx.state.account_id(m.from), "To_Account": ctx.state.account_id(m.to),
            "MsgSeq": m.seq, "MsgRandom": m.random, "MsgTimeStamp": m.time,
            "MsgFlagBits": if recalled { MSG_FLAG_RECALLED } else { 0 },
            "MsgKey": last_key_out,
            "MsgBody": if recalled { Value::Array(Vec::new()) } else { m.body.body() },
        });
        if let Some(c) = m.body.custom().filter(|_| !recalled) {
            item["CloudCustomData"] = json!(c);
        }
        list.push(item);
    }
    let complete = u32::from(iter.peek().is_none());
    Ok(answer(json!({
        "Complete": complete, "MsgCnt": list.len(), "LastMsgTime": last_time,
        "LastMsgKey": last_key_out, "MsgList": list,
    })))
}

#[cfg(test)]
#[path = "c2c_tests.rs"]
mod tests;
