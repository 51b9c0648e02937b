//! Group read-back (§6): `get_group_info`, `get_group_member_info`,
//! `get_specified_group_member_info`, `get_appid_group_list`, `group_msg_get_simple`.

use super::group_common::{group, key_values, not_avchatroom};
use super::{answer, Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};
use crate::sim::state::{Group, Member, State};
use crate::tim::wire::group_read::{PLACE_MSG_GONE, PLACE_MSG_RECALLED};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use crate::sim::body::U32;

/// A member as the read APIs show it, limited to `filter` when given.
fn member_json(state: &State, m: &Member, filter: Option<&[&str]>) -> Value {
    let full = json!({
        "Member_Account": state.account_id(m.account), "Role": m.role.name(), "JoinTime": m.join_time,
        "MsgSeq": m.read_seq, "MsgFlag": "AcceptAndNotify", "LastSendMsgTime": m.last_send_time,
        "ShutUpUntil": 0, "NameCard": "",
    });
    keep(full, filter, &["Member_Account"])
}

/// Keeps only the filtered fields (and the ones always present).
fn keep(value: Value, filter: Option<&[&str]>, always: &[&str]) -> Value {
    let (Some(filter), Value::Object(map)) = (filter, &value) else {
        return value;
    };
    let kept: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| always.contains(&k.as_str()) || filter.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// One group's info. `base` and `members` filter the fields (all when `None`); `app` names the
/// custom keys returned even when `base` leaves `AppDefinedData` out (`AppDefinedDataFilter_Group`).
fn group_json(
    ctx: &Ctx<'_>,
    g: &Group,
    base: Option<&[&str]>,
    members: Option<&[&str]>,
    app: Option<&[&str]>,
) -> Value {
    let state = &*ctx.state;
    let mut info = json!({
        "Type": g.kind, "Name": g.name, "Appid": ctx.sdkappid,
        "Introduction": g.introduction.clone().unwrap_or_default(),
        "Notification": g.notification.clone().unwrap_or_default(),
        "FaceUrl": g.face_url.clone().unwrap_or_default(),
        "Owner_Account": g.owner.map(|o| state.account_id(o).to_string()).unwrap_or_default(),
        "CreateTime": g.create_time, "LastInfoTime": g.last_info_time, "LastMsgTime": g.last_msg_time(),
        "NextMsgSeq": g.last_seq() + 1, "MaxMemberNum": g.max_members, "ApplyJoinOption": g.apply_join,
        "ShutUpAllMember": if g.shut_up_all { "On" } else { "Off" },
        "AppDefinedData": key_values(&g.app_defined),
    });
    // Live-broadcast groups show no members (CURRENT).
    if !g.is_avchatroom() {
        info["MemberNum"] = json!(g.members.len());
        info["MemberList"] = Value::Array(
            g.members
                .iter()
                .map(|m| member_json(state, m, members))
                .collect(),
        );
    }
    let mut info = keep(info, base, &["MemberList"]);
    if let Some(keys) = app {
        let wanted: BTreeMap<String, String> = g
            .app_defined
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        info["AppDefinedData"] = key_values(&wanted);
    }
    info["GroupId"] = json!(g.id);
    info["ErrorCode"] = json!(0);
    info["ErrorInfo"] = json!("");
    info
}

fn filter<'a>(value: Option<&'a Value>, field: &str) -> ApiResult<Option<Vec<&'a str>>> {
    let Some(list) = value.and_then(|v| v.get(field)) else {
        return Ok(None);
    };
    list.as_array()
        .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
        .map(Some)
        .ok_or_else(|| ApiError::new(10004, format!("{field} must be an array of strings")))
}

/// `get_group_info`: the top-level code means nothing; each group has its own.
pub(crate) fn get_group_info(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let ids = body.strings("GroupIdList", 10004)?;
    ctx.check_batch("GroupIdList", ids.len())?;
    let response_filter = body.get("ResponseFilter");
    let base = filter(response_filter, "GroupBaseInfoFilter")?;
    let members = filter(response_filter, "MemberInfoFilter")?;
    let app = filter(response_filter, "AppDefinedDataFilter_Group")?;
    let infos: Vec<Value> = ids
        .iter()
        .map(|id| match ctx.state.groups.get(*id) {
            Some(g) => group_json(ctx, g, base.as_deref(), members.as_deref(), app.as_deref()),
            None => json!({"GroupId": id, "ErrorCode": 10010, "ErrorInfo": "group does not exist"}),
        })
        .collect();
    Ok(answer(json!({ "GroupInfo": infos })))
}

fn role_filter(body: Body<'_>) -> ApiResult<Option<Vec<&str>>> {
    let roles = body.opt_strings("MemberRoleFilter", 10004)?;
    if let Some(r) = &roles {
        if let Some(bad) = r
            .iter()
            .find(|r| !matches!(**r, "Owner" | "Admin" | "Member"))
        {
            return Err(ApiError::new(
                10004,
                format!("MemberRoleFilter {bad:?} is unknown"),
            ));
        }
    }
    Ok(roles)
}

/// `get_group_member_info`: `Limit`/`Offset` pages, or `Limit`/`Next` for communities.
pub(crate) fn get_group_member_info(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let max = ctx.batch().unwrap_or(200);
    let limit = body
        .opt_uint("Limit", U32, 10004)?
        .map_or(max, |l| l as usize);
    if limit > max {
        return Err(ApiError::new(10004, format!("Limit {limit} is over {max}")));
    }
    let offset = body.opt_uint("Offset", U32, 10004)?;
    let next = body.opt_str("Next", 10004)?;
    let fields = body.opt_strings("MemberInfoFilter", 10004)?;
    let roles = role_filter(body)?;
    let g = group(ctx, group_id)?;
    not_avchatroom(g, 10007)?;
    let start = if g.is_community() {
        if offset.is_some() {
            return Err(ApiError::new(
                10004,
                "communities page with Next, not Offset",
            ));
        }
        match next {
            None | Some("" | "0") => 0,
            Some(n) => n
                .parse::<usize>()
                .map_err(|_| ApiError::new(10004, "Next is not a cursor from this API"))?,
        }
    } else {
        offset.unwrap_or(0) as usize
    };
    let selected: Vec<&Member> = g
        .members
        .iter()
        .filter(|m| roles.as_ref().is_none_or(|r| r.contains(&m.role.name())))
        .collect();
    let page: Vec<Value> = selected
        .iter()
        .skip(start)
        .take(limit)
        .map(|m| member_json(ctx.state, m, fields.as_deref()))
        .collect();
    let end = start + page.len();
    let mut a = answer(json!({"MemberNum": g.members.len(), "MemberList": page}));
    if g.is_community() {
        a.insert(
            "Next".into(),
            json!(if end < selected.len() {
                end.to_string()
            } else {
                String::new()
            }),
        );
    }
    Ok(a)
}

/// `get_specified_group_member_info`: up to 50 named members (non-members are left out).
pub(crate) fn get_specified_group_member_info(
    ctx: &mut Ctx<'_>,
    body: Body<'_>,
) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let accounts = body.strings("Member_List_Account", 10004)?;
    ctx.check_batch("Member_List_Account", accounts.len())?;
    let fields = body.opt_strings("MemberInfoFilter", 10004)?;
    let g = group(ctx, group_id)?;
    not_avchatroom(g, 10007)?;
    let list: Vec<Value> = accounts
        .iter()
        .filter_map(|a| ctx.state.account_idx(a))
        .filter_map(|i| g.member(i))
        .map(|m| member_json(ctx.state, m, fields.as_deref()))
        .collect();
    Ok(answer(
        json!({"MemberNum": g.members.len(), "MemberList": list}),
    ))
}

/// `get_appid_group_list`: every group id, `Limit` at a time; `Next` 0 when done.
pub(crate) fn get_appid_group_list(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let max = ctx.batch().unwrap_or(10_000);
    let limit = body
        .opt_uint("Limit", U32, 10004)?
        .map_or(max, |l| l as usize);
    if limit == 0 || limit > max {
        return Err(ApiError::new(10004, format!("Limit must be 1 to {max}")));
    }
    let next = body.opt_uint("Next", u64::MAX, 10004)?.unwrap_or(0);
    let kind = body.opt_str("GroupType", 10004)?;
    let matches =
        |id: &str| kind.is_none_or(|k| ctx.state.groups.get(id).is_some_and(|g| g.kind == k));
    let total = ctx
        .state
        .group_order
        .values()
        .filter(|id| matches(id))
        .count();
    let mut page = Vec::new();
    let mut cursor = 0;
    let mut more = false;
    for (order, id) in ctx.state.group_order.range(next..) {
        if !matches(id) {
            continue;
        }
        if page.len() == limit {
            more = true;
            break;
        }
        page.push(json!({ "GroupId": id }));
        cursor = order + 1;
    }
    Ok(answer(json!({
        "TotalCount": total, "GroupIdList": page, "Next": if more { cursor } else { 0 },
    })))
}

/// `group_msg_get_simple`: up to 20 messages at or below `ReqMsgSeq`, newest first; messages
/// older than the roaming period come back as placeholders (`IsPlaceMsg` 1, no body), recalled
/// ones as `IsPlaceMsg` 2 with an empty `MsgBody` (§6: 2 = recalled; the content of a recalled
/// message is not readable).
///
/// `WithRecalledMsg` (0 or 1) is accepted: the docs say recalled messages are returned only
/// with 1; whether they are then left out or shown otherwise is UNCONFIRMED, so the simulator
/// always shows them as recalled (a reader that sends 1 sees the same).
pub(crate) fn group_msg_get_simple(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    body.opt_uint("WithRecalledMsg", 1, 10004)?;
    let wanted = body.uint("ReqMsgNumber", U32, 10004)? as usize;
    if wanted == 0 {
        return Err(ApiError::new(10004, "ReqMsgNumber must be at least 1"));
    }
    ctx.check_batch("ReqMsgNumber", wanted)?;
    let req_seq = body.opt_uint("ReqMsgSeq", u64::MAX, 10004)?;
    let g = group(ctx, group_id)?;
    not_avchatroom(g, 10007)?;
    let top = req_seq.unwrap_or(g.last_seq()).min(g.last_seq());
    let floor = match ctx.config.app.roaming_days {
        0 => i64::MIN,
        days => ctx.now - i64::from(days) * 86_400,
    };
    let mut list = Vec::new();
    let mut all_expired = true;
    let mut seq = top;
    while seq >= 1 && list.len() < wanted {
        let m = &g.msgs[(seq - 1) as usize];
        let expired = m.time < floor;
        all_expired &= expired;
        let place = if expired {
            PLACE_MSG_GONE
        } else if g.is_recalled(seq) {
            PLACE_MSG_RECALLED
        } else {
            0
        };
        list.push(json!({
            "From_Account": ctx.state.account_id(m.from), "IsPlaceMsg": place,
            "MsgPriority": 1, "MsgRandom": m.random, "MsgSeq": seq, "MsgTimeStamp": m.time,
            "MsgBody": if place == 0 { m.body.body() } else { Value::Array(Vec::new()) },
        }));
        seq -= 1;
    }
    let finished = if seq == 0 {
        1
    } else if all_expired && !list.is_empty() {
        2
    } else {
        0
    };
    Ok(answer(
        json!({"GroupId": group_id, "IsFinished": finished, "RspMsgList": list}),
    ))
}

#[cfg(test)]
#[path = "group_read_tests.rs"]
mod tests;
