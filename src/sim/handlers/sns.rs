//! The relation chain: `friend_import`, `friend_add` (§3.4), `friend_get`, `friend_check` (§6).

use super::{answer, Answer, Ctx};
use crate::sim::body::{object, ApiError, ApiResult, Body};
use crate::sim::state::{AccountIdx, Friend};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Friends per user (30010 beyond).
const MAX_FRIENDS: usize = 3000;
/// Friend groups per user (30011 beyond).
const MAX_FRIEND_GROUPS: usize = 32;

/// `AddSource_Type_` + 1–8 English letters.
fn valid_add_source(s: &str) -> bool {
    s.strip_prefix("AddSource_Type_")
        .is_some_and(|k| (1..=8).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// A refused entry: its To_Account, ResultCode and ResultInfo.
pub(super) type EntryError = (String, i64, String);

/// One entry checked and converted; `Err` is this entry's own ResultCode.
fn parse_entry(
    ctx: &Ctx<'_>,
    owner: AccountIdx,
    item: Body<'_>,
    live: bool,
) -> Result<(String, Option<AccountIdx>, Friend), EntryError> {
    let to = item
        .str("To_Account", 30001)
        .map_err(|e| (String::new(), e.code, e.info))?;
    let fail = |code: i64, info: String| (to.to_string(), code, info);
    let to_idx = ctx.state.account_idx(to);
    let mut friend = Friend::default();
    let source = item
        .str("AddSource", 30001)
        .map_err(|e| fail(e.code, e.info))?;
    if !valid_add_source(source) {
        return Err(fail(
            30001,
            format!("AddSource {source:?} is not AddSource_Type_<letters ≤ 8>"),
        ));
    }
    friend.add_source = source.to_string();
    let text = |field: &str, max: usize| -> Result<Option<String>, EntryError> {
        match item
            .opt_str(field, 30001)
            .map_err(|e| fail(e.code, e.info))?
        {
            Some(s) if s.len() > max => Err(fail(30001, format!("{field} is over {max} bytes"))),
            other => Ok(other.map(str::to_string)),
        }
    };
    friend.remark = text("Remark", 96)?;
    friend.add_wording = text("AddWording", 256)?;
    friend.groups = if live {
        text("GroupName", 30)?.into_iter().collect()
    } else {
        item.opt_strings("GroupName", 30001)
            .map_err(|e| fail(e.code, e.info))?
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    if friend.groups.iter().any(|g| g.is_empty() || g.len() > 30) {
        return Err(fail(30001, "a GroupName is empty or over 30 bytes".into()));
    }
    if !live {
        friend.remark_time = item
            .opt_int("RemarkTime", 30001)
            .map_err(|e| fail(e.code, e.info))?;
        friend.add_time = item
            .opt_int("AddTime", 30001)
            .map_err(|e| fail(e.code, e.info))?
            .unwrap_or(ctx.now);
        friend.custom = custom_items(ctx, &item).map_err(|(code, info)| fail(code, info))?;
    } else {
        friend.add_time = ctx.now;
    }
    let Some(to_idx) = to_idx else {
        return Err(fail(30003, "To_Account is not imported".into()));
    };
    if to_idx == owner {
        return Err(fail(30001, "cannot befriend oneself".into()));
    }
    Ok((to.to_string(), Some(to_idx), friend))
}

/// An import entry's `CustomItem`s: each a tag the app defines with a string or integer value.
/// `Err` is the entry's ResultCode and ResultInfo.
fn custom_items(ctx: &Ctx<'_>, item: &Body<'_>) -> Result<Vec<(String, Value)>, (i64, String)> {
    let mut custom = Vec::new();
    let items = item
        .opt_array("CustomItem", 30001)
        .map_err(|e| (e.code, e.info))?;
    for one in items.unwrap_or(&[]) {
        let c = object(one, "CustomItem", 30001).map_err(|e| (e.code, e.info))?;
        let tag = c.str("Tag", 30001).map_err(|e| (e.code, e.info))?;
        let known = tag
            .strip_prefix("Tag_SNS_Custom_")
            .is_some_and(|k| ctx.config.app.friend_custom_tags.iter().any(|t| t == k));
        if !known {
            return Err((30001, format!("tag {tag} does not exist")));
        }
        match c.get("Value") {
            Some(v @ (Value::String(_) | Value::Number(_))) => {
                custom.push((tag.to_string(), v.clone()))
            }
            _ => return Err((30001, format!("{tag} needs a string or integer Value"))),
        }
    }
    Ok(custom)
}

/// Stores `friend` in `owner`'s list, within the list's limits.
fn store(
    ctx: &mut Ctx<'_>,
    owner: AccountIdx,
    to: AccountIdx,
    friend: Friend,
) -> Result<(), (i64, String)> {
    let list = &ctx.state.account(owner).friends;
    if !list.contains_key(&to) && list.len() >= MAX_FRIENDS {
        return Err((30010, "friend list is full".into()));
    }
    let mut groups: BTreeSet<&str> = list
        .values()
        .flat_map(|f| f.groups.iter().map(String::as_str))
        .collect();
    groups.extend(friend.groups.iter().map(String::as_str));
    if groups.len() > MAX_FRIEND_GROUPS {
        return Err((30011, "friend-group count at its limit".into()));
    }
    ctx.state.account_mut(owner).friends.insert(to, friend);
    Ok(())
}

/// The `ResultItem` list and `Fail_Account` of a friend write.
#[derive(Default)]
pub(super) struct EntryResults {
    items: Vec<Value>,
    failed: Vec<String>,
}

impl EntryResults {
    /// Adds one entry's outcome.
    pub(super) fn push(&mut self, outcome: Result<String, EntryError>) {
        match outcome {
            Ok(to) => self
                .items
                .push(json!({"To_Account": to, "ResultCode": 0, "ResultInfo": ""})),
            Err((to, code, info)) => {
                self.items
                    .push(json!({"To_Account": to, "ResultCode": code, "ResultInfo": info}));
                self.failed.push(to);
            }
        }
    }

    /// The answer's fields.
    pub(super) fn into_answer(self) -> Answer {
        let mut a = answer(json!({ "ResultItem": self.items }));
        if !self.failed.is_empty() {
            a.insert("Fail_Account".into(), json!(self.failed));
        }
        a
    }
}

/// `friend_import`: one-way entries, overwritten on re-import.
pub(crate) fn friend_import(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let owner_id = body.str("From_Account", 30001)?;
    let items = body.array("AddFriendItem", 30001)?;
    ctx.check_batch("AddFriendItem", items.len())?;
    let owner = ctx.account(owner_id, 30003)?;
    let mut results = EntryResults::default();
    for item in items {
        let item = object(item, "AddFriendItem", 30001)?;
        let outcome = parse_entry(ctx, owner, item, false).and_then(|(to, idx, friend)| {
            let idx = idx.unwrap_or_default();
            store(ctx, owner, idx, friend)
                .map(|()| to.clone())
                .map_err(|(c, i)| (to, c, i))
        });
        results.push(outcome);
    }
    Ok(results.into_answer())
}

/// `friend_add`: a live add; `Add_Type_Both` (default) adds both directions. Without
/// `ForceAddFlags` 1 the peer's AllowType applies (pending 30539, refused 30516).
pub(crate) fn friend_add(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let owner_id = body.str("From_Account", 30001)?;
    let items = body.array("AddFriendItem", 30001)?;
    ctx.check_batch("AddFriendItem", items.len())?;
    let both = match body.opt_str("AddType", 30001)? {
        None | Some("Add_Type_Both") => true,
        Some("Add_Type_Single") => false,
        Some(other) => {
            return Err(ApiError::new(
                30001,
                format!("AddType {other:?} is unknown"),
            ))
        }
    };
    let force = body.opt_uint("ForceAddFlags", 1, 30001)? == Some(1);
    let owner = ctx.account(owner_id, 30003)?;
    let mut results = EntryResults::default();
    for item in items {
        let item = object(item, "AddFriendItem", 30001)?;
        let outcome = parse_entry(ctx, owner, item, true).and_then(|(to, idx, friend)| {
            let idx = idx.unwrap_or_default();
            let allow = ctx
                .state
                .account(idx)
                .profile
                .get("Tag_Profile_IM_AllowType")
                .and_then(Value::as_str);
            if !force {
                match allow {
                    Some("AllowType_Type_DenyAny") => {
                        return Err((to, 30516, "peer accepts no friend requests".into()))
                    }
                    Some("AllowType_Type_AllowAny") => {}
                    _ => return Err((to, 30539, "pending: the peer must confirm".into())),
                }
            }
            store(ctx, owner, idx, friend.clone()).map_err(|(c, i)| (to.clone(), c, i))?;
            if both {
                let back = Friend {
                    remark: None,
                    groups: Vec::new(),
                    add_wording: None,
                    ..friend
                };
                store(ctx, idx, owner, back)
                    .map_err(|(c, i)| (to.clone(), if c == 30010 { 30014 } else { c }, i))?;
            }
            Ok(to)
        });
        results.push(outcome);
    }
    Ok(results.into_answer())
}

fn friend_values(friend: &Friend) -> Vec<Value> {
    let mut v = vec![json!({"Tag": "Tag_SNS_IM_AddSource", "Value": friend.add_source})];
    if let Some(r) = &friend.remark {
        v.push(json!({"Tag": "Tag_SNS_IM_Remark", "Value": r}));
    }
    if !friend.groups.is_empty() {
        v.push(json!({"Tag": "Tag_SNS_IM_Group", "Value": friend.groups}));
    }
    if let Some(w) = &friend.add_wording {
        v.push(json!({"Tag": "Tag_SNS_IM_AddWording", "Value": w}));
    }
    v.push(json!({"Tag": "Tag_SNS_IM_AddTime", "Value": friend.add_time}));
    for (tag, value) in &friend.custom {
        v.push(json!({"Tag": tag, "Value": value}));
    }
    v
}

/// `friend_get`: a page of the owner's list, `StartIndex` onward.
pub(crate) fn friend_get(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let owner_id = body.str("From_Account", 30001)?;
    let start = body.uint("StartIndex", u64::MAX, 30001)? as usize;
    let owner = ctx.account(owner_id, 30003)?;
    let page = ctx.batch().unwrap_or(100);
    let list = &ctx.state.account(owner).friends;
    let items: Vec<Value> = list
        .iter()
        .skip(start)
        .take(page)
        .map(|(idx, f)| json!({"To_Account": ctx.state.account_id(*idx), "ValueItem": friend_values(f)}))
        .collect();
    let next = start + items.len();
    let complete = u32::from(next >= list.len());
    Ok(answer(json!({
        "UserDataItem": items, "StandardSequence": 1, "CustomSequence": 1,
        "FriendNum": list.len(), "CompleteFlag": complete, "NextStartIndex": next,
    })))
}

/// `friend_check`: the relation with each account.
pub(crate) fn friend_check(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let owner_id = body.str("From_Account", 30001)?;
    let accounts = body.strings("To_Account", 30001)?;
    ctx.check_batch("To_Account", accounts.len())?;
    let both = match body.str("CheckType", 30001)? {
        "CheckResult_Type_Both" => true,
        "CheckResult_Type_Single" => false,
        other => {
            return Err(ApiError::new(
                30001,
                format!("CheckType {other:?} is unknown"),
            ))
        }
    };
    let owner = ctx.account(owner_id, 30003)?;
    let mut items = Vec::with_capacity(accounts.len());
    let mut failed = Vec::new();
    for id in accounts {
        let Some(idx) = ctx.state.account_idx(id) else {
            items.push(json!({"To_Account": id, "Relation": "", "ResultCode": 30003, "ResultInfo": "account does not exist"}));
            failed.push(id);
            continue;
        };
        let a_with_b = ctx.state.account(owner).friends.contains_key(&idx);
        let b_with_a = both && ctx.state.account(idx).friends.contains_key(&owner);
        let relation = match (a_with_b, b_with_a) {
            (true, true) => "CheckResult_Type_BothWay",
            (true, false) => "CheckResult_Type_AWithB",
            (false, true) => "CheckResult_Type_BWithA",
            (false, false) => "CheckResult_Type_NoRelation",
        };
        items.push(
            json!({"To_Account": id, "Relation": relation, "ResultCode": 0, "ResultInfo": ""}),
        );
    }
    let mut a = answer(json!({ "InfoItem": items }));
    if !failed.is_empty() {
        a.insert("Fail_Account".into(), json!(failed));
    }
    Ok(a)
}

#[cfg(test)]
#[path = "sns_tests.rs"]
mod tests;
