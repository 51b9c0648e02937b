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
pub fn import_group(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let create_time = body.opt_int("CreateTime", 10004)?.unwrap_or(ctx.now);
    if create_time > ctx.now {
        return Err(ApiError::new(10004, "CreateTime is in the future"));
    }
    let group = new_group(ctx, body, create_time, true)?;
    let id = group.id.to_string();
    ctx.state.add_group(group);
    Ok(answer(json!({ "GroupId": id })))
}

/// One member's `Result`: 1 added, 2 already a member, 0 refused.
fn import_member(ctx: &mut Ctx<'_>, group_id: &str, item: Body<'_>) -> ApiResult<(String, u32)> {
    let account = item.str("Member_Account", 10004)?.to_string();
    let role = item.opt_str("Role", 10004)?;
    let join_time = item.opt_int("JoinTime", 10004)?;
    let unread = item.opt_uint("UnreadMsgNum", U32, 10004)?;
    let now = ctx.now;
    let Some(idx) = ctx.state.account_idx(&account) else {
        return Ok((account, 0));
    };
    let group = group_mut(ctx, group_id)?;
    if group.member(idx).is_some() {
        return Ok((account, 2));
    }
    let role = match role {
        None => Role::Member,
        Some("Admin") => Role::Admin,
        Some(_) => return Ok((account, 0)), // only Admin may be given
    };
    // A given JoinTime must lie between the group's creation and now; absent, it is now.
    let given_in_future = join_time.is_some_and(|t| t >= now);
    let join_time = join_time.unwrap_or(now);
    let full = group.members.len() as u64 >= group.max_members;
    if join_time <= group.create_time || given_in_future || full {
        return Ok((account, 0));
    }
    let last = group.last_seq();
    group.members.push(Member {
        account: idx,
        role,
        join_time,
        read_seq: last - unread.unwrap_or(0).min(last),
        last_send_time: 0,
    });
    Ok((account, 1))
}

/// `import_group_member`: up to 20 members; each gets its own `Result`.
pub fn import_group_member(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let items = body.array("MemberList", 10004)?;
    ctx.check_batch("MemberList", items.len())?;
    not_avchatroom(group(ctx, group_id)?, 10007)?;
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let (account, result) = import_member(ctx, group_id, object(item, "MemberList", 10004)?)?;
        results.push(json!({"Member_Account": account, "Result": result}));
    }
    Ok(answer(json!({ "MemberList": results })))
}

const MSG_CODES: BodyCodes = BodyCodes {
    not_array: 10004,
    invalid: 10004,
    too_long: 80002,
};

/// Checks and stores one message; its `(MsgSeq, Result)`.
fn import_one_msg(ctx: &mut Ctx<'_>, group_id: &str, item: &Value) -> ApiResult<(u64, i64, i64)> {
    let item = object(item, "MsgList", 10004)?;
    let from = item.str("From_Account", 10004)?;
    let send_time = item.int("SendTime", 10004)?;
    let random = item.opt_uint("Random", U32, 10004)?;
    let custom = item.opt_str("CloudCustomData", 10004)?;
    let max = ctx.config.app.max_message_bytes;
    let body = match check_msg_body(item.get("MsgBody"), custom, max, MSG_CODES) {
        Ok(b) => b,
        Err(e) => return Ok((0, send_time, e.code)),
    };
    // The sender must exist; the spec lists no per-message code for it, so 10004.
    let Some(from_idx) = ctx.state.account_idx(from) else {
        return Ok((0, send_time, 10004));
    };
    let (now, lean) = (ctx.now, ctx.config.lean);
    let group = group_mut(ctx, group_id)?;
    // Strictly after the group's creation and its newest message, and before now.
    if send_time >= now || send_time <= group.create_time || send_time <= group.last_msg_time() {
        return Ok((0, send_time, 10004));
    }
    group.msgs.push(GroupMsg {
        from: from_idx,
        time: send_time,
        random: random.map_or_else(rand::random, |r| r as u32),
        body: StoredBody::new(lean, body, custom),
        received_at: now,
    });
    Ok((group.last_seq(), send_time, 0))
}

/// `import_group_msg`: up to 7 messages, oldest first; resets every member's unread count.
pub fn import_group_msg(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let flag = body.opt_uint("RecentContactFlag", 1, 10004)?;
    let items = body.array("MsgList", 10004)?;
    ctx.check_batch("MsgList", items.len())?;
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
    for item in items {
        let (seq, time, result) = import_one_msg(ctx, group_id, item)?;
        stored |= result == 0;
        results.push(json!({"MsgSeq": seq, "MsgTime": time, "Result": result}));
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
pub fn set_unread_msg_num(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
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
