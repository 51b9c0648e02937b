//! Reading a group back before a group message is sent again: `send_group_msg` de-duplicates
//! on `Random` for five minutes only, so a send whose outcome is unknown (its answer lost, the
//! relay stopped or killed after it left) is looked up by sender and `Random` among the
//! group's messages since it left, and sent again only when it is not there.

use crate::tim::api::Api;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors::ErrorClass;
use crate::tim::lane::Lane;
use crate::tim::paced::{call_paced, PacedError, Policy, Waits};
use crate::tim::wire::group::SendGroupMsg;
use crate::tim::wire::group_read::GroupMsgGetSimple;
use tokio::sync::watch;

/// Pages of 20 read at most: a send is looked for among the group's last 2,000 messages.
const MAX_PAGES: usize = 100;
/// Messages older than the send by more than this are not it (server clocks drift a little).
const CLOCK_MARGIN_SECS: i64 = 300;

/// Reads, retried a few times with a halt cutting the waits short.
const READ: Policy = Policy {
    max_attempts: Some(4),
    waits: Waits::Growing,
    stop_during_waits: true,
};

/// Why a read-back did not answer.
pub(crate) enum ReadBackError {
    /// Halted.
    Stopped,
    /// Nothing will work until the setup is fixed.
    Fatal(CallError),
    /// The read failed, or the group's messages since the send are too many to read: the send
    /// is not tried now (`code`, why).
    Unknown(Option<i64>, String),
}

/// The `MsgSeq` of `msg`, sent at `sent_ms` (or later), when it is among its group's
/// messages: sender (the calling admin when it names none) and `Random` equal. A group that
/// does not exist holds nothing.
pub(crate) async fn find_sent(
    client: &TimClient,
    lane: Option<&Lane>,
    halt: &watch::Receiver<bool>,
    msg: &SendGroupMsg,
    sent_ms: i64,
) -> Result<Option<u64>, ReadBackError> {
    let sender = msg.From_Account.as_deref().unwrap_or(client.admin());
    let oldest = sent_ms / 1000 - CLOCK_MARGIN_SECS;
    let mut below: Option<u64> = None;
    for _ in 0..MAX_PAGES {
        let read = GroupMsgGetSimple {
            GroupId: msg.GroupId.clone(),
            ReqMsgSeq: below,
            ReqMsgNumber: 20,
        };
        let page = match call_paced(lane, &READ, halt, || client.call(&read)).await {
            Ok(page) => page,
            Err(PacedError::Stopped) => return Err(ReadBackError::Stopped),
            Err(PacedError::Call(e)) => {
                return match e.code() {
                    Some(10010 | 10015) => Ok(None),
                    _ if e.class() == ErrorClass::Fatal => Err(ReadBackError::Fatal(e)),
                    code => Err(ReadBackError::Unknown(code, e.to_string())),
                }
            }
        };
        if let Some(found) = page.RspMsgList.iter().find(|m| {
            m.MsgRandom == msg.Random && m.From_Account == sender && m.MsgTimeStamp >= oldest
        }) {
            return Ok(Some(found.MsgSeq));
        }
        let Some(last) = page.RspMsgList.iter().min_by_key(|m| m.MsgSeq) else {
            return Ok(None);
        };
        if last.MsgSeq <= 1 || last.MsgTimeStamp < oldest || page.IsFinished == 1 {
            return Ok(None);
        }
        below = Some(last.MsgSeq - 1);
    }
    Err(ReadBackError::Unknown(
        None,
        format!(
            "{}: more than {} messages since the send in group {}: not sent again unread",
            Api::GroupMsgGetSimple,
            MAX_PAGES * 20,
            msg.GroupId
        ),
    ))
}
