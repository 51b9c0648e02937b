//! Group history imports: `import_group`, `import_group_member`, `import_group_msg`,
//! `set_unread_msg_num` (§3.6–§3.9). None of them fires a callback.

use super::group_common::{group, group_mut, new_group, not_avchatroom};
use super::msg_body::BodyCodes;
use super::{answer, check_msg_body, Answer, Ctx};
use crate::sim::body::{object, ApiError, ApiResult, Body};
use crate::sim::state::{GroupMsg, Member, Role, StoredBody};
use serde_json::{json, Value};

use crate::sim::body::U32;

/// `import_group`: CreateTime may be given (not in the future).
pub(crate) fn import_group(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let create_time = body.opt_int("CreateTime", 10004)?.unwrap_or(ctx.now);
    if create_time > ctx.now {
        return Err(ApiError::new(10004, "CreateTime is in the future"));
    }
    let group = new_group(ctx, body, create_time, true)?;
    let id = group.id.to_string();
    ctx.state.add_group(group);
    Ok(answer(json!({ "GroupId": id })))
}

/// One `MemberList` item, read before anything is written so that a malformed item refuses
/// the whole request (10004) without leaving the members before it in the group.
struct MemberItem<'a> {
    account: &'a str,
    role: Option<&'a str>,
    join_time: Option<i64>,
    unread: Option<u64>,
}

impl<'a> MemberItem<'a> {
    fn read(item: &'a Value) -> ApiResult<Self> {
        let item = object(item, "MemberList", 10004)?;
        Ok(Self {
            account: item.str("Member_Account", 10004)?,
            role: item.opt_str("Role", 10004)?,
            join_time: item.opt_int("JoinTime", 10004)?,
            unread: item.opt_uint("UnreadMsgNum", U32, 10004)?,
        })
    }
}

/// One member's `Result`: 1 added, 2 already a member, 0 refused.
fn import_member(ctx: &mut Ctx<'_>, group_id: &str, item: &MemberItem<'_>) -> ApiResult<u32> {
    let now = ctx.now;
    let Some(idx) = ctx.state.account_idx(item.account) else {
        return Ok(0);
    };
    let group = group_mut(ctx, group_id)?;
    if group.member(idx).is_some() {
        return Ok(2);
    }
    let role = match item.role {
        None => Role::Member,
        Some("Admin") => Role::Admin,
        Some(_) => return Ok(0), // only Admin may be given
    };
    // A given JoinTime must lie strictly between the group's creation and now. The default
    // (now) is not held to that rule: a group imported this second takes members at once.
    let join_ok = item
        .join_time
        .is_none_or(|t| t > group.create_time && t < now);
    let full = group.members.len() as u64 >= group.max_members;
    if !join_ok || full {
        return Ok(0);
    }
    let last = group.last_seq();
    group.members.push(Member {
        account: idx,
        role,
        join_time: item.join_time.unwrap_or(now),
        read_seq: last - item.unread.unwrap_or(0).min(last),
        last_send_time: 0,
    });
    Ok(1)
}

/// `import_group_member`: up to 20 members; each gets its own `Result`.
pub(crate) fn import_group_member(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let items = body.array("MemberList", 10004)?;
    ctx.check_batch("MemberList", items.len())?;
    let items = items
        .iter()
        .map(MemberItem::read)
        .collect::<ApiResult<Vec<_>>>()?;
    not_avchatroom(group(ctx, group_id)?, 10007)?;
    let mut results = Vec::with_capacity(items.len());
    for item in &items {
        let result = import_member(ctx, group_id, item)?;
        results.push(json!({"Member_Account": item.account, "Result": result}));
    }
    Ok(answer(json!({ "MemberList": results })))
}

const MSG_CODES: BodyCodes = BodyCodes {
    not_array: 10004,
    invalid: 10004,
    too_long: 80002,
};

/// One `MsgList` item, read before anything is stored: a malformed item (a field missing or of
/// the wrong type) refuses the whole request with 10004 rather than leaving the messages
/// before it in the group behind a refusal. The spec does not say which the service does
/// (UNCONFIRMED); this is the reading under which a refused request changed nothing. Time,
/// sender and body are judged per message (`Result`).
struct MsgItem<'a> {
    from: &'a str,
    send_time: i64,
    random: Option<u64>,
    custom: Option<&'a str>,
    body: Option<&'a Value>,
}

impl<'a> MsgItem<'a> {
    fn read(item: &'a Value) -> ApiResult<Self> {
        let item = object(item, "MsgList", 10004)?;
        Ok(Self {
            from: item.str("From_Account", 10004)?,
            send_time: item.int("SendTime", 10004)?,
            random: item.opt_uint("Random", U32, 10004)?,
            custom: item.opt_str("CloudCustomData", 10004)?,
            body: item.get("MsgBody"),
        })
    }
}

/// Checks and stores one message; its `(MsgSeq, Result)`.
fn import_one_msg(
    ctx: &mut Ctx<'_>,
    group_id: &str,
    item: &MsgItem<'_>,
    flag: Option<u64>,
) -> ApiResult<(u64, i64)> {
    let max = ctx.config.app.max_message_bytes;
    let body = match check_msg_body(item.body, item.custom, max, MSG_CODES) {
        Ok(b) => b,
        Err(e) => return Ok((0, e.code)),
    };
    // The sender must exist; the spec lists no per-message code for it, so 10004.
    let Some(from_idx) = ctx.state.account_idx(item.from) else {
        return Ok((0, 10004));
    };
    let (now, lean, send_time) = (ctx.now, ctx.config.lean, item.send_time);
    let group = group_mut(ctx, group_id)?;
    // Strictly after the group's creation and its newest message, and before now. The docs
    // say "greater than" the newest (大于); whether an equal time is accepted is UNCONFIRMED,
    // so the simulator takes the strict reading and refuses ties with the documented
    // per-message "send time invalid" (10004): a client that passes here passes either way.
    if send_time >= now || send_time <= group.create_time || send_time <= group.last_msg_time() {
        return Ok((0, 10004));
    }
    group.msgs.push(GroupMsg {
        from: from_idx,
        time: send_time,
        random: item.random.map_or_else(rand::random, |r| r as u32),
        body: StoredBody::new(lean, body, item.custom),
        received_at: now,
        recent_contact: flag,
    });
    Ok((group.last_seq(), 0))
}

/// `import_group_msg`: up to 7 messages, oldest first; resets every member's unread count.
pub(crate) fn import_group_msg(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let flag = body.opt_uint("RecentContactFlag", 1, 10004)?;
    let items = body.array("MsgList", 10004)?;
    ctx.check_batch("MsgList", items.len())?;
    let items = items
        .iter()
        .map(MsgItem::read)
        .collect::<ApiResult<Vec<_>>>()?;
    let g = group(ctx, group_id)?;
    not_avchatroom(g, 10007)?;
    if flag == Some(1) && g.is_community() {
        return Err(ApiError::new(
            10004,
            "RecentContactFlag is not supported for communities",
        ));
    }
    let mut results = Vec::with_capacity(items.len());
    let mut stored = false;
    for item in &items {
        let (seq, result) = import_one_msg(ctx, group_id, item, flag)?;
        stored |= result == 0;
        results.push(json!({"MsgSeq": seq, "MsgTime": item.send_time, "Result": result}));
    }
    if stored {
        let group = group_mut(ctx, group_id)?;
        let last = group.last_seq();
        for m in &mut group.members {
            m.read_seq = last;
        }
    }
    Ok(answer(json!({ "ImportMsgResult": results })))
}

/// `set_unread_msg_num`: one member; meaningless (but accepted) for ChatRoom and AVChatRoom.
pub(crate) fn set_unread_msg_num(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let account = body.str("Member_Account", 10004)?;
    let unread = body.uint("UnreadMsgNum", U32, 10004)?;
    let idx = ctx.account(account, 10004)?;
    let group = group_mut(ctx, group_id)?;
    if matches!(group.kind.as_str(), "ChatRoom" | "AVChatRoom") {
        return Ok(Answer::new());
    }
    let last = group.last_seq();
    let member = group
        .member_mut(idx)
        .ok_or_else(|| ApiError::new(10004, format!("{account:?} is not a member")))?;
    member.read_seq = last - unread.min(last);
    Ok(Answer::new())
}

#[cfg(test)]
#[path = "group_import_tests.rs"]
pub(super) mod tests;
