//! Live group operations (§4.2–§4.7), which fire their "after" callbacks (§5.2).

use super::group_common::{
    app_defined, apply_join, group, group_mut, key_values, member_list, new_group, not_avchatroom,
    text,
};
use super::msg_body::BodyCodes;
use super::{after_callback_allowed, answer, check_msg_body, Answer, Ctx};
use crate::sim::body::{object, ApiError, ApiResult, Body};
use crate::sim::callbacks::Callback;
use crate::sim::state::{GroupMsg, Member, Role, StoredBody};
use serde_json::{json, Value};

use crate::sim::body::U32;

const MSG_CODES: BodyCodes = BodyCodes {
    not_array: 10004,
    invalid: 10004,
    too_long: 80002,
};

/// `send_group_msg`. The same `Random` within the dedupe window is a duplicate: answered with
/// the original's MsgSeq, stored and announced once.
pub(crate) fn send_group_msg(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let random = body.uint("Random", U32, 10004)? as u32;
    let from = body.opt_str("From_Account", 10004)?;
    let custom = body.opt_str("CloudCustomData", 10004)?;
    let online_only = body.opt_uint("OnlineOnlyFlag", 1, 10004)? == Some(1);
    match body.opt_str("MsgPriority", 10004)? {
        None | Some("High" | "Normal" | "Low") => {}
        Some(p) => {
            return Err(ApiError::new(
                10004,
                format!("MsgPriority {p:?} is unknown"),
            ))
        }
    }
    let msg_body = check_msg_body(
        body.get("MsgBody"),
        custom,
        ctx.config.app.max_message_bytes,
        MSG_CODES,
    )?;
    // The group first: resolving the default sender may record the admin as an account,
    // which a request refused for a missing group must not do.
    group(ctx, group_id)?;
    let (from_id, from_idx) = ctx.sender(from, 10019)?;
    let (now, lean, window) = (ctx.now, ctx.config.lean, ctx.config.app.random_dedupe_secs);
    let g = group(ctx, group_id)?;
    let duplicate = g
        .msgs
        .iter()
        .enumerate()
        .rev()
        .take_while(|(_, m)| now - m.received_at <= window)
        .find(|(_, m)| m.random == random)
        .map(|(i, m)| (i as u64 + 1, m.time));
    if let Some((seq, time)) = duplicate {
        return Ok(answer(json!({"MsgTime": time, "MsgSeq": seq})));
    }
    if !ctx
        .limiter
        .admit_group_msg(group_id, ctx.config.app.group_msgs_per_sec)
    {
        return Err(ApiError::new(10023, "group message frequency exceeded"));
    }
    let kind = g.kind.clone();
    let group = group_mut(ctx, group_id)?;
    let seq = if online_only {
        0
    } else {
        group.msgs.push(GroupMsg {
            from: from_idx,
            time: now,
            random,
            body: StoredBody::new(lean, msg_body, custom),
            received_at: now,
            recent_contact: None,
        });
        group.last_seq()
    };
    if let Some(m) = group.member_mut(from_idx) {
        m.last_send_time = now;
    }
    if after_callback_allowed(body) {
        let mut cb = json!({
            "GroupId": group_id, "Type": kind, "From_Account": from_id,
            "Operator_Account": ctx.operator, "Random": random, "MsgSeq": seq, "MsgTime": now,
            "OnlineOnlyFlag": u32::from(online_only), "MsgBody": msg_body,
        });
        if let Some(c) = custom {
            cb["CloudCustomData"] = json!(c);
        }
        ctx.fire(Callback::new("Group.CallbackAfterSendMsg", cb));
    }
    Ok(answer(json!({"MsgTime": now, "MsgSeq": seq})))
}

/// `create_group`: a live group with up to 100 initial members.
pub(crate) fn create_group(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let initial = body.opt_array("MemberList", 10004)?.unwrap_or(&[]);
    ctx.check_batch("MemberList", initial.len())?;
    if !initial.is_empty() && body.opt_str("Type", 10004)? == Some("AVChatRoom") {
        return Err(ApiError::new(
            10007,
            "AVChatRoom groups take no initial members",
        ));
    }
    let mut members = Vec::with_capacity(initial.len());
    for item in initial {
        let item = object(item, "MemberList", 10004)?;
        let idx = ctx.account(item.str("Member_Account", 10004)?, 10019)?;
        let role = match item.opt_str("Role", 10004)? {
            None => Role::Member,
            Some("Admin") => Role::Admin,
            Some(r) => return Err(ApiError::new(10004, format!("Role {r:?} cannot be given"))),
        };
        members.push((idx, role));
    }
    let now = ctx.now;
    let mut group = new_group(ctx, body, now, false)?;
    for (idx, role) in members {
        if group.member(idx).is_none() {
            group.members.push(Member {
                account: idx,
                role,
                join_time: now,
                read_seq: 0,
                last_send_time: 0,
            });
        }
    }
    let id = group.id.to_string();
    let mut cb = json!({
        "GroupId": id, "Operator_Account": ctx.operator, "Type": group.kind, "Name": group.name,
        "UserDefinedDataList": key_values(&group.app_defined),
    });
    if let Some(o) = group.owner {
        cb["Owner_Account"] = json!(ctx.state.account_id(o));
    }
    if !group.is_community() {
        cb["MemberList"] = member_list(
            group
                .members
                .iter()
                .map(|m| ctx.state.account_id(m.account)),
        );
    }
    ctx.state.add_group(group);
    ctx.fire(Callback::new("Group.CallbackAfterCreateGroup", cb));
    Ok(answer(json!({ "GroupId": id })))
}

/// `modify_group_base_info`; the callback carries only the changed fields that fire it.
pub(crate) fn modify_group_base_info(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let mut texts = Vec::new();
    for field in ["Name", "Introduction", "Notification", "FaceUrl"] {
        if let Some(v) = text(body, field)? {
            texts.push((field, v));
        }
    }
    let max_members = body.opt_uint("MaxMemberNum", U32, 10004)?;
    let join = apply_join(body)?;
    let shut_up = match body.opt_str("ShutUpAllMember", 10004)? {
        None => None,
        Some("On") => Some(true),
        Some("Off") => Some(false),
        Some(v) => {
            return Err(ApiError::new(
                10004,
                format!("ShutUpAllMember {v:?} is not On or Off"),
            ))
        }
    };
    let kind = group(ctx, group_id)?.kind.clone();
    let custom = app_defined(ctx, body, &kind)?;
    let (operator, now) = (ctx.operator.to_string(), ctx.now);
    let group = group_mut(ctx, group_id)?;
    let mut cb = json!({"GroupId": group_id, "Type": group.kind, "Operator_Account": operator});
    for (field, v) in &texts {
        match *field {
            "Name" => group.name = v.clone(),
            "Introduction" => group.introduction = Some(v.clone()),
            "Notification" => group.notification = Some(v.clone()),
            _ => group.face_url = Some(v.clone()),
        }
        cb[*field] = json!(v);
    }
    if let Some(m) = max_members {
        group.max_members = m;
    }
    if let Some(j) = join {
        group.apply_join = j;
    }
    if let Some(s) = shut_up {
        group.shut_up_all = s;
    }
    for (k, v) in &custom {
        // An empty value deletes the key.
        if v.is_empty() {
            group.app_defined.remove(k);
        } else {
            group.app_defined.insert(k.clone(), v.clone());
        }
    }
    group.last_info_time = now;
    if !custom.is_empty() {
        cb["UserDefinedDataList"] = Value::Array(
            custom
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect(),
        );
    }
    if !texts.is_empty() || !custom.is_empty() {
        ctx.fire(Callback::new("Group.CallbackAfterGroupInfoChanged", cb));
    }
    Ok(Answer::new())
}

/// `change_group_owner`: the new owner must already be a member (10004 otherwise); the old
/// owner stays as an ordinary member. Not for AVChatRoom (10007).
pub(crate) fn change_group_owner(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let new_owner = body.str("NewOwner_Account", 10004)?;
    not_avchatroom(group(ctx, group_id)?, 10007)?;
    let account = ctx.account(new_owner, 10004)?;
    let group = group_mut(ctx, group_id)?;
    if group.member(account).is_none() {
        return Err(ApiError::new(
            10004,
            format!("{new_owner} is not a member of {group_id}"),
        ));
    }
    if let Some(old) = group.owner.and_then(|o| group.member_mut(o)) {
        old.role = Role::Member;
    }
    if let Some(m) = group.member_mut(account) {
        m.role = Role::Owner;
    }
    group.owner = Some(account);
    Ok(Answer::new())
}

/// `add_group_member`: all accounts must exist (10019, nobody added otherwise).
pub(crate) fn add_group_member(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    body.opt_uint("Silence", 1, 10004)?;
    let items = body.array("MemberList", 10004)?;
    ctx.check_batch("MemberList", items.len())?;
    not_avchatroom(group(ctx, group_id)?, 10007)?;
    let mut accounts = Vec::with_capacity(items.len());
    for item in items {
        let id = object(item, "MemberList", 10004)?.str("Member_Account", 10004)?;
        accounts.push((id, ctx.account(id, 10019)?));
    }
    let (now, operator) = (ctx.now, ctx.operator.to_string());
    let group = group_mut(ctx, group_id)?;
    // Who would join: an account named twice joins once.
    let mut fresh: Vec<_> = accounts
        .iter()
        .map(|(_, i)| *i)
        .filter(|i| group.member(*i).is_none())
        .collect();
    fresh.sort_unstable();
    fresh.dedup();
    let cap = usize::try_from(group.max_members).unwrap_or(usize::MAX);
    if group.members.len() + fresh.len() > cap {
        return Err(ApiError::new(10014, "the group is full"));
    }
    let last = group.last_seq();
    let mut results = Vec::with_capacity(accounts.len());
    let mut added = Vec::new();
    for (id, idx) in accounts {
        if group.member(idx).is_some() {
            results.push(json!({"Member_Account": id, "Result": 2}));
        } else {
            group.members.push(Member {
                account: idx,
                role: Role::Member,
                join_time: now,
                read_seq: last,
                last_send_time: 0,
            });
            results.push(json!({"Member_Account": id, "Result": 1}));
            added.push(id);
        }
    }
    let kind = group.kind.clone();
    if !added.is_empty() {
        ctx.fire(Callback::new("Group.CallbackAfterNewMemberJoin", json!({
            "GroupId": group_id, "Type": kind, "JoinType": "Invited", "Operator_Account": operator,
            "NewMemberList": member_list(added.into_iter()),
        })));
    }
    Ok(answer(json!({ "MemberList": results })))
}

/// `delete_group_member`: removing a non-member succeeds (idempotent); the owner cannot be
/// removed this way (10004).
pub(crate) fn delete_group_member(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    body.opt_uint("Silence", 1, 10004)?;
    body.opt_str("Reason", 10004)?;
    let accounts = body.strings("MemberToDel_Account", 10004)?;
    ctx.check_batch("MemberToDel_Account", accounts.len())?;
    not_avchatroom(group(ctx, group_id)?, 10004)?;
    let idxs: Vec<_> = accounts
        .iter()
        .map(|a| (*a, ctx.state.account_idx(a)))
        .collect();
    let operator = ctx.operator.to_string();
    let group = group_mut(ctx, group_id)?;
    if idxs.iter().any(|(_, i)| i.is_some() && *i == group.owner) {
        return Err(ApiError::new(10004, "the owner cannot be removed"));
    }
    let mut removed = Vec::new();
    for (id, idx) in idxs {
        let Some(idx) = idx else { continue };
        let before = group.members.len();
        group.members.retain(|m| m.account != idx);
        if group.members.len() < before {
            removed.push(id);
        }
    }
    let kind = group.kind.clone();
    if !removed.is_empty() {
        ctx.fire(Callback::new("Group.CallbackAfterMemberExit", json!({
            "GroupId": group_id, "Type": kind, "ExitType": "Kicked", "Operator_Account": operator,
            "ExitMemberList": member_list(removed.into_iter()),
        })));
    }
    Ok(Answer::new())
}

/// `destroy_group`.
pub(crate) fn destroy_group(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let Some(g) = ctx.state.remove_group(group_id) else {
        return Err(ApiError::new(
            10010,
            format!("group {group_id:?} does not exist"),
        ));
    };
    let mut cb = json!({"GroupId": group_id, "Type": g.kind, "Name": g.name});
    if let Some(o) = g.owner {
        cb["Owner_Account"] = json!(ctx.state.account_id(o));
    }
    if !g.is_community() {
        cb["MemberList"] = member_list(g.members.iter().map(|m| ctx.state.account_id(m.account)));
    }
    ctx.fire(Callback::new("Group.CallbackAfterGroupDestroyed", cb));
    Ok(Answer::new())
}

#[cfg(test)]
#[path = "group_live_tests.rs"]
mod tests;
