//! One applied call and what the target answered it: done (with what the target named the
//! message it took, so a later recall can name it), refused for this event, or still failing.
//!
//! Answers that mean "already so" count as done: `create_group` 10021/10025 (the id is taken
//! — by an earlier attempt), `destroy_group` 10010/10015 (no such group), `add_group_member`
//! result 2 (already a member), and every repeat code of the deletions (§4.7b:
//! [`repeat_means_done`]), for the call as a whole or for its one item.

use super::convert::Call;
use crate::model::sync_event::SyncEvent;
use crate::store::sync_msgs::SentMessage;
use crate::tim::api::Api;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors::lookup_for;
use crate::tim::wire::c2c::msg_key;
use crate::tim::wire::deletion::repeat_means_done;
use crate::tim::wire::group::MemberResultResponse;
use crate::tim::wire::Response;

/// How one call ended.
pub(super) enum Answer {
    /// Applied (or already so), with a note when something is worth keeping, and for a
    /// message, what the target answered it is known by (`MsgKey`, or `MsgSeq` in decimal).
    Done(Option<String>, Option<String>),
    /// Refused for this item.
    Refused { code: Option<i64>, info: String },
    /// Still failing with a retryable error: the event backs off.
    Retry { code: Option<i64>, info: String },
}

/// Whether `code` from `api` means the change is already in place.
pub(super) fn already_done(api: Api, code: i64) -> bool {
    repeat_means_done(api, code)
        || matches!(
            (api, code),
            (Api::CreateGroup, 10021 | 10025) | (Api::DestroyGroup, 10010 | 10015)
        )
}

/// The answer to `add_group_member`: refused when the member was not added.
fn members_answer(resp: &MemberResultResponse) -> Answer {
    let mut notes = Vec::new();
    for m in &resp.MemberList {
        match m.Result {
            0 => {
                let info = format!("{} was not added (Result 0)", m.Member_Account);
                return Answer::Refused { code: None, info };
            }
            2 => notes.push(format!("{} was already a member", m.Member_Account)),
            3 => notes.push(format!(
                "{} is invited, waiting to confirm",
                m.Member_Account
            )),
            _ => {}
        }
    }
    Answer::Done((!notes.is_empty()).then(|| notes.join("; ")), None)
}

/// The answer to a deletion with per-item results: an item's repeat code is done, a
/// retryable code is retried, any other refuses the event.
fn items_answer<R: Response>(api: Api, resp: &R) -> Answer {
    let mut notes = Vec::new();
    for f in resp.item_failures() {
        let info = format!("{api}: {} answered {:?}: {}", f.key, f.code, f.info);
        match f.code {
            Some(code) if already_done(api, code) => {
                notes.push(format!("{api} answered {code} for {}: already so", f.key));
            }
            Some(code) if lookup_for(api, code).class.is_retryable() => {
                return Answer::Retry {
                    code: Some(code),
                    info,
                }
            }
            code => return Answer::Refused { code, info },
        }
    }
    Answer::Done((!notes.is_empty()).then(|| notes.join("; ")), None)
}

/// Sends one call once.
pub(super) async fn send(client: &TimClient, call: &Call) -> Result<Answer, CallError> {
    let done = Answer::Done(None, None);
    Ok(match call {
        Call::AccountImport(r) => client.call(r).await.map(|_| done)?,
        Call::ImportMsg(r) => client.call(r).await.map(|_| done)?,
        Call::SendMsg(r) => {
            let key = client.call(r).await?.MsgKey;
            Answer::Done(None, Some(key).filter(|k| !k.is_empty()))
        }
        Call::CreateGroup(r) => client.call(r).await.map(|_| done)?,
        Call::ModifyGroupBaseInfo(r) => client.call(r).await.map(|_| done)?,
        Call::AddGroupMember(r) => members_answer(&client.call(r).await?),
        Call::DeleteGroupMember(r) => client.call(r).await.map(|_| done)?,
        Call::DestroyGroup(r) => client.call(r).await.map(|_| done)?,
        Call::SendGroupMsg(r) => {
            let seq = client.call(r).await?.MsgSeq;
            Answer::Done(None, (seq > 0).then(|| seq.to_string()))
        }
        Call::AccountDelete(r) => items_answer(Api::AccountDelete, &client.call(r).await?),
        Call::FriendDelete(r) => items_answer(Api::FriendDelete, &client.call(r).await?),
        Call::AdminMsgWithdraw(r) => client.call(r).await.map(|_| done)?,
        Call::GroupMsgRecall(r) => items_answer(Api::GroupMsgRecall, &client.call(r).await?),
    })
}

/// The message `call` wrote for `event`, as the target knows it: `answered` (the `MsgKey` or
/// `MsgSeq` of its answer, or of a read-back), else for a one-to-one message the `MsgKey` its
/// request fixes (`MsgSeq_MsgRandom_MsgTimeStamp`). `None` for calls that write no message,
/// and for a group message whose `MsgSeq` is not known.
pub(super) fn sent_message(
    event: &SyncEvent,
    call: &Call,
    answered: Option<String>,
) -> Option<SentMessage> {
    let old_id = event.record.get("id")?.as_str()?.to_owned();
    let key = |seq: Option<u32>, random, time| msg_key(seq.unwrap_or_default(), random, time);
    let (group, place, peer, target) = match call {
        Call::ImportMsg(m) => (
            false,
            m.From_Account.clone(),
            m.To_Account.clone(),
            answered.unwrap_or_else(|| key(m.MsgSeq, m.MsgRandom, m.MsgTimeStamp)),
        ),
        Call::SendMsg(m) => (
            false,
            m.From_Account.clone()?,
            m.To_Account.clone(),
            answered
                .unwrap_or_else(|| key(m.MsgSeq, m.MsgRandom, m.MsgTimeStamp.unwrap_or_default())),
        ),
        Call::SendGroupMsg(m) => (true, m.GroupId.clone(), String::new(), answered?),
        _ => return None,
    };
    Some(SentMessage {
        group,
        old_id,
        place,
        peer,
        target,
    })
}
