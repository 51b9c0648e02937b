//! Deletions and recalls (§4.7b): `account_delete`, `friend_delete`, `group_msg_recall` and
//! `admin_msgwithdraw`. A repeat answers the code the spec says counts as done (70107, 31704,
//! RetCode 0 for a message already recalled, 20023; 10010 for destroy_group in
//! `group_live`), while a malformed request keeps its own code, so that a client bug never
//! looks like "already done".
//!
//! Where the docs leave a choice open the stricter reading is taken:
//! - Deleting an account removes its profile, its own friend list and its group memberships
//!   (`State::delete_accounts`), but not the entries of other accounts' friend lists that
//!   point at it: the docs say "that user's contacts … will also be deleted", which does not
//!   say whether the others' entries go. A client that deletes those entries itself
//!   (friend_delete, before account_delete) ends right under either reading; one that relies
//!   on the cascade would pass here only if the simulator were kind. friend_delete can still
//!   remove such an entry after the account is gone.
//! - friend_delete without `DeleteType` deletes both ways (the more destructive default;
//!   UNCONFIRMED).
//! - A recalled message stays in the history, flagged (`IsPlaceMsg` 2 in
//!   group_msg_get_simple, `MsgFlagBits` 8 in admin_getroammsg), with no content.

use super::group_common::group_mut;
use super::sns::EntryResults;
use super::{answer, Answer, Ctx};
use crate::sim::body::{object, ApiError, ApiResult, Body};
use crate::sim::callbacks::Callback;
use crate::tim::wire::sns::{DELETE_TYPE_BOTH, DELETE_TYPE_SINGLE};
use serde_json::{json, Value};

use super::c2c::parse_msg_key;

/// A repeated account_delete: the account does not exist (documented, with this ResultInfo).
const ACCOUNT_GONE: (i64, &str) = (70107, "Err_TLS_PT_Open_Login_Account_Not_Exist");
/// friend_delete of an entry that is not there: not friends.
const NOT_FRIENDS: i64 = 31704;
/// group_msg_recall of a `MsgSeq` the group does not hold (or no longer shows: expired).
const MSG_NOT_FOUND: i64 = 10030;
/// admin_msgwithdraw of a message that is not there.
const WITHDRAW_NOT_FOUND: i64 = 20022;
/// admin_msgwithdraw of a message already recalled.
const WITHDRAW_REPEAT: i64 = 20023;

/// `account_delete`: up to 100 accounts, each with its `ResultCode` (70107 when it does not
/// exist, a repeat included). No callback is documented for it.
pub(crate) fn account_delete(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let items = body.array("DeleteItem", 70402)?;
    ctx.check_batch("DeleteItem", items.len())?;
    let ids = items
        .iter()
        .map(|item| object(item, "DeleteItem", 70402)?.str("UserID", 70402))
        .collect::<ApiResult<Vec<_>>>()?;
    let found = ctx.state.delete_accounts(&ids);
    let results: Vec<Value> = ids
        .iter()
        .zip(found)
        .map(|(id, found)| {
            let (code, info) = if found { (0, "") } else { ACCOUNT_GONE };
            json!({"ResultCode": code, "ResultInfo": info, "UserID": id})
        })
        .collect();
    Ok(answer(json!({ "ResultItem": results })))
}

/// `friend_delete`: `Delete_Type_Single` removes the owner's entries, `Delete_Type_Both` (the
/// default) the reverse ones too. An entry that is not there answers 31704; an account never
/// imported 30003 (one deleted since is looked up by the index it had, so that an entry
/// pointing at it can still go). Fires `Sns.CallbackFriendDelete` with every pair removed.
pub(crate) fn friend_delete(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let owner_id = body.str("From_Account", 30001)?;
    let accounts = body.strings("To_Account", 30001)?;
    ctx.check_batch("To_Account", accounts.len())?;
    let both = match body.opt_str("DeleteType", 30001)? {
        None | Some(DELETE_TYPE_BOTH) => true,
        Some(DELETE_TYPE_SINGLE) => false,
        Some(other) => {
            return Err(ApiError::new(
                30001,
                format!("DeleteType {other:?} is unknown"),
            ))
        }
    };
    let owner = ctx.account(owner_id, 30003)?;
    let mut results = EntryResults::default();
    let mut pairs = Vec::new();
    for to in accounts {
        let found = ctx
            .state
            .account_idx(to)
            .or_else(|| ctx.state.deleted_idx(to));
        let Some(idx) = found else {
            results.push(Err((to.into(), 30003, "account does not exist".into())));
            continue;
        };
        let mine = ctx.state.account_mut(owner).friends.remove(&idx).is_some();
        if mine {
            pairs.push(json!({"From_Account": owner_id, "To_Account": to}));
        }
        let theirs = both && ctx.state.account_mut(idx).friends.remove(&owner).is_some();
        if theirs {
            pairs.push(json!({"From_Account": to, "To_Account": owner_id}));
        }
        results.push(if mine || theirs {
            Ok(to.into())
        } else {
            Err((to.into(), NOT_FRIENDS, "not friends".into()))
        });
    }
    if !pairs.is_empty() {
        ctx.fire(Callback::new(
            "Sns.CallbackFriendDelete",
            json!({ "PairList": pairs }),
        ));
    }
    Ok(results.into_answer())
}

/// `group_msg_recall`: up to 10 `MsgSeq`s of one group, each answered in `RecallRetList` with
/// its `RetCode`: 0 recalled (or already recalled), 10030 not found — a sequence the group
/// never had, or a message past the roaming period, which the docs say cannot be recalled.
/// A group that does not exist (or was destroyed) refuses the whole request (10010). Fires
/// `Group.CallbackAfterRecallMsg` with the sequences newly recalled.
pub(crate) fn group_msg_recall(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let group_id = body.str("GroupId", 10004)?;
    let items = body.array("MsgSeqList", 10004)?;
    if items.is_empty() {
        return Err(ApiError::new(10004, "MsgSeqList is empty"));
    }
    ctx.check_batch("MsgSeqList", items.len())?;
    let seqs = items
        .iter()
        .map(|item| object(item, "MsgSeqList", 10004)?.uint("MsgSeq", u64::MAX, 10004))
        .collect::<ApiResult<Vec<_>>>()?;
    let floor = match ctx.config.app.roaming_days {
        0 => i64::MIN,
        days => ctx.now - i64::from(days) * 86_400,
    };
    let operator = ctx.operator.to_string();
    let group = group_mut(ctx, group_id)?;
    let mut rets = Vec::with_capacity(seqs.len());
    let mut recalled = Vec::new();
    for seq in seqs {
        let held = seq >= 1 && seq <= group.last_seq();
        let code = if held && group.msgs[(seq - 1) as usize].time >= floor {
            if group.recalled.insert(seq) {
                recalled.push(json!({ "MsgSeq": seq }));
            }
            0
        } else {
            MSG_NOT_FOUND
        };
        rets.push(json!({"MsgSeq": seq, "RetCode": code}));
    }
    let kind = group.kind.clone();
    if !recalled.is_empty() {
        ctx.fire(Callback::new(
            "Group.CallbackAfterRecallMsg",
            json!({"Operator_Account": operator, "Type": kind, "GroupId": group_id,
                "MsgSeqList": recalled}),
        ));
    }
    Ok(answer(json!({ "RecallRetList": rets })))
}

/// `admin_msgwithdraw`: one message, named by its conversation and its `MsgKey`
/// (`MsgSeq_MsgRandom_MsgTimeStamp`, as importmsg makes it), found whichever way it went (the
/// conversation de-duplicates on the key in either direction). 20022 when it is not there,
/// 20023 when it was recalled already; a MsgKey of another shape is refused with 90001
/// (UNCONFIRMED) rather than answered "not found", which a client counts as done. No time
/// limit (the docs: any message, sent at any time). Fires `C2C.CallbackAfterMsgWithDraw`.
pub(crate) fn admin_msgwithdraw(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let from = body.str("From_Account", 90008)?;
    let to = body.str("To_Account", 90003)?;
    let msg_key = body.str("MsgKey", 90001)?;
    let key = parse_msg_key(msg_key).ok_or_else(|| {
        ApiError::new(
            90001,
            format!("MsgKey {msg_key:?} is not MsgSeq_MsgRandom_MsgTimeStamp"),
        )
    })?;
    let from_idx = ctx.account(from, 90048)?;
    let to_idx = ctx.account(to, 90012)?;
    let not_found = || {
        ApiError::new(
            WITHDRAW_NOT_FOUND,
            format!("no message {msg_key} between {from} and {to}"),
        )
    };
    let conversation = ctx
        .state
        .conversations
        .get_mut(&(from_idx.min(to_idx), from_idx.max(to_idx)))
        .ok_or_else(not_found)?;
    let msg = conversation.find(key).ok_or_else(not_found)?;
    let (sender, receiver, canonical) = (msg.from, msg.to, msg.msg_key());
    if !conversation.recalled.insert(key) {
        return Err(ApiError::new(
            WITHDRAW_REPEAT,
            format!("message {msg_key} was recalled already"),
        ));
    }
    let state = &*ctx.state;
    let callback = json!({
        "From_Account": state.account_id(sender), "To_Account": state.account_id(receiver),
        "MsgKey": canonical, "UnreadMsgNum": state.account(receiver).c2c_unread,
    });
    ctx.fire(Callback::new("C2C.CallbackAfterMsgWithDraw", callback));
    Ok(Answer::new())
}

#[cfg(test)]
#[path = "delete_tests.rs"]
mod tests;
