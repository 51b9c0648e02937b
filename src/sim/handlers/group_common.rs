//! What the group APIs share: id and field rules (§3.6), finding a group, custom data.

use super::Ctx;
use crate::model::GroupType;
use crate::sim::body::{max_bytes, object, ApiError, ApiResult, Body};
use crate::sim::state::Group;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Group types the REST API knows.
pub(crate) const TYPES: [&str; 5] = ["Private", "Public", "ChatRoom", "AVChatRoom", "Community"];

/// Checks a custom GroupId (§3.6): printable ASCII, ≤ 48 bytes, `@TGS#` reserved for server
/// ids except a community's `@TGS#_…`, which a community id must use.
pub(crate) fn check_group_id(id: &str, community: bool) -> ApiResult<()> {
    let bad = |why: &str| Err(ApiError::new(10015, format!("GroupId {id:?} {why}")));
    if id.is_empty() || id.len() > 48 {
        return bad("must be 1 to 48 bytes");
    }
    if !id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return bad("must be printable ASCII");
    }
    if community && !id.starts_with("@TGS#_") {
        return bad("of a community must start with @TGS#_");
    }
    if !community && id.starts_with("@TGS#") {
        return bad("must not start with @TGS#, which is reserved");
    }
    Ok(())
}

/// The optional text fields and their byte limits (§3.6, §4.4).
pub(crate) const TEXT_LIMITS: [(&str, usize); 4] = [
    ("Name", 30),
    ("Introduction", 240),
    ("Notification", 300),
    ("FaceUrl", 100),
];

/// Reads a text field within its limit (10004 beyond).
pub(crate) fn text(body: Body<'_>, field: &str) -> ApiResult<Option<String>> {
    let max = TEXT_LIMITS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(usize::MAX, |(_, m)| *m);
    match body.opt_str(field, 10004)? {
        Some(v) => {
            max_bytes(field, v, max, 10004)?;
            Ok(Some(v.to_string()))
        }
        None => Ok(None),
    }
}

/// `ApplyJoinOption`.
pub(crate) fn apply_join(body: Body<'_>) -> ApiResult<Option<String>> {
    match body.opt_str("ApplyJoinOption", 10004)? {
        None => Ok(None),
        Some(v @ ("FreeAccess" | "NeedPermission" | "DisableApply")) => Ok(Some(v.into())),
        Some(v) => Err(ApiError::new(
            10004,
            format!("ApplyJoinOption {v:?} is unknown"),
        )),
    }
}

/// `AppDefinedData` checked against the console's keys for groups of type `kind` (Tencent's
/// name): ≤ 10 keys of ≤ 16 bytes `[A-Za-z0-9_]`, values ≤ 512 bytes. Returns (key, value)
/// pairs.
pub(crate) fn app_defined(
    ctx: &Ctx<'_>,
    body: Body<'_>,
    kind: &str,
) -> ApiResult<Vec<(String, String)>> {
    let Some(items) = body.opt_array("AppDefinedData", 10004)? else {
        return Ok(Vec::new());
    };
    if items.len() > 10 {
        return Err(ApiError::new(10004, "AppDefinedData has more than 10 keys"));
    }
    let mut pairs = Vec::with_capacity(items.len());
    for item in items {
        let item = object(item, "AppDefinedData", 10004)?;
        let key = item.str("Key", 10004)?;
        let value = item.str("Value", 10004)?;
        let shape_ok = !key.is_empty()
            && key.len() <= 16
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let enabled = GroupType::from_tencent_name(kind)
            .is_some_and(|t| ctx.config.app.group_custom_fields.enabled(t, key));
        if !shape_ok || !enabled {
            return Err(ApiError::new(
                10004,
                format!("custom key {key:?} is not enabled in the console for {kind} groups"),
            ));
        }
        max_bytes("AppDefinedData Value", value, 512, 10004)?;
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// The group `id`, or 10010.
pub(crate) fn group<'s>(ctx: &'s Ctx<'_>, id: &str) -> ApiResult<&'s Group> {
    ctx.state
        .groups
        .get(id)
        .ok_or_else(|| ApiError::new(10010, format!("group {id:?} does not exist")))
}

/// The mutable group `id`, or 10010.
pub(crate) fn group_mut<'s>(ctx: &'s mut Ctx<'_>, id: &str) -> ApiResult<&'s mut Group> {
    ctx.state
        .groups
        .get_mut(id)
        .ok_or_else(|| ApiError::new(10010, format!("group {id:?} does not exist")))
}

/// Refuses live-broadcast groups, which the import APIs cannot write (10007).
pub(crate) fn not_avchatroom(group: &Group, code: i64) -> ApiResult<()> {
    if group.is_avchatroom() {
        Err(ApiError::new(code, "not supported for AVChatRoom groups"))
    } else {
        Ok(())
    }
}

/// `[{Key, Value}]` of a group's custom data.
pub(crate) fn key_values(map: &BTreeMap<String, String>) -> Value {
    Value::Array(
        map.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// `[{Member_Account}]` of some accounts.
pub(crate) fn member_list<'a>(ids: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(ids.map(|id| json!({ "Member_Account": id })).collect())
}

/// A new group from an `import_group` or `create_group` body, with the owner as its first
/// member; `create_time` is the group's CreateTime.
pub(crate) fn new_group(
    ctx: &mut Ctx<'_>,
    body: Body<'_>,
    create_time: i64,
    imported: bool,
) -> ApiResult<Group> {
    let kind = body.str("Type", 10004)?;
    if !TYPES.contains(&kind) {
        return Err(ApiError::new(10004, format!("Type {kind:?} is unknown")));
    }
    if imported && kind == "AVChatRoom" {
        return Err(ApiError::new(10007, "AVChatRoom groups cannot be imported"));
    }
    let community = kind == "Community";
    let name = text(body, "Name")?.ok_or_else(|| ApiError::new(10004, "Name is missing"))?;
    let introduction = text(body, "Introduction")?;
    let notification = text(body, "Notification")?;
    let face_url = text(body, "FaceUrl")?;
    let max_members = body
        .opt_uint("MaxMemberCount", u64::from(u32::MAX), 10004)?
        .unwrap_or(ctx.config.app.default_max_members);
    let apply_join = apply_join(body)?.unwrap_or_else(|| "NeedPermission".into());
    let custom = app_defined(ctx, body, kind)?;
    if body.has("SupportTopic") {
        body.opt_uint("SupportTopic", 1, 10004)?;
        if !community {
            return Err(ApiError::new(10004, "SupportTopic is for communities only"));
        }
    }
    let owner = match body.opt_str("Owner_Account", 10004)? {
        Some(id) => Some(ctx.account(id, 10019)?),
        None => None,
    };
    let id = match body.opt_str("GroupId", 10015)? {
        Some(id) => {
            check_group_id(id, community)?;
            if ctx.state.groups.contains_key(id) {
                // import_group: used (10021); create_group: "used by yourself" (10025).
                let code = if imported { 10021 } else { 10025 };
                return Err(ApiError::new(
                    code,
                    format!("GroupId {id:?} is already used"),
                ));
            }
            id.to_string()
        }
        None => ctx.state.generate_group_id(community),
    };
    let members = owner
        .map(|o| crate::sim::state::Member {
            account: o,
            role: crate::sim::state::Role::Owner,
            join_time: create_time,
            read_seq: 0,
            last_send_time: 0,
        })
        .into_iter()
        .collect();
    Ok(Group {
        id: id.into(),
        kind: kind.to_string(),
        name,
        introduction,
        notification,
        face_url,
        owner,
        create_time,
        max_members,
        apply_join,
        app_defined: custom.into_iter().collect(),
        shut_up_all: false,
        last_info_time: ctx.now,
        members,
        msgs: Vec::new(),
        order: 0,
        imported,
        recalled: Default::default(),
    })
}
