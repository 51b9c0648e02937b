//! Group messages: up to 7 of one group per `import_group_msg`, answered by position. The
//! target does not de-duplicate them, so a batch is journaled on disk before it leaves and
//! an unknown outcome is resolved by reading the group's newest messages back
//! (`group_msg_get_simple`). Both answers carry the group's new high-water mark.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::failure::Reason;
use crate::engine::job::Job;
use crate::engine::send::{sort_items, Answer, SendContext, SendError};
use crate::model::GroupMessage;
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::group_read::GroupMsgGetSimple;
use crate::tim::wire::Response;
use futures_util::future::BoxFuture;

/// The group messages.
pub(crate) struct GroupMessages;

impl ImportKind for GroupMessages {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::GroupMessage,
            max_batch: 7,
            grouping: Grouping::GroupMessages,
            unknown: OnUnknown::ReadBack,
        }
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(send(ctx, job))
    }

    fn read_back<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(read_back(ctx, job))
    }
}

/// The times `job`'s messages go out: fixed at staging (shifted past a same-second burst).
fn send_times(job: &Job) -> Vec<i64> {
    job.items.iter().map(|i| i.t).collect()
}

async fn send(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<GroupMessage> = ctx.read(job)?;
    // The answer names a refused message by its position in the batch.
    let keys = (0..records.len()).map(|i| format!("#{i}")).collect();
    let mut req = requests::import_group_msg(ctx.group_id(job)?, &records, &send_times(job));
    if ctx.group.is_some_and(|g| g.recent_contact) {
        req.RecentContactFlag = Some(1);
    }
    let resp = ctx.call(&req).await?;
    let mut answer = sort_items(job, keys, resp.item_failures());
    answer.seqs = import_seqs(job, &req.MsgList, &resp.ImportMsgResult, &answer.done);
    answer.mark = resp
        .ImportMsgResult
        .iter()
        .filter(|r| r.Result == 0)
        .map(|r| (r.MsgTime, r.MsgSeq as i64))
        .max();
    Ok(answer)
}

/// The MsgSeq the target gave each message of `job` that went in: `ImportMsgResult` answers
/// the batch in order; an answer of another length is matched by send time (distinct within
/// a group once same-second bursts are shifted), or not at all.
fn import_seqs(
    job: &Job,
    sent: &[crate::tim::wire::group::ImportGroupMsgItem],
    results: &[crate::tim::wire::group::ImportMsgResult],
    done: &[i64],
) -> Vec<(i64, i64)> {
    let by_position = results.len() == job.items.len();
    job.items
        .iter()
        .zip(sent)
        .enumerate()
        .filter(|(_, (item, _))| done.contains(&item.id))
        .filter_map(|(i, (item, msg))| {
            let result = if by_position {
                results.get(i)
            } else {
                let mut same = results.iter().filter(|r| r.MsgTime == msg.SendTime);
                same.next().filter(|_| same.next().is_none())
            };
            result
                .filter(|r| r.Result == 0)
                .map(|r| (item.id, r.MsgSeq as i64))
        })
        .collect()
}

/// Reads `job`'s group back: which of its messages are in, which can no longer go.
async fn read_back(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<GroupMessage> = ctx.read(job)?;
    let req = GroupMsgGetSimple {
        GroupId: ctx.group_id(job)?.to_string(),
        ReqMsgSeq: None,
        ReqMsgNumber: (job.items.len() as u32).clamp(1, 20),
    };
    let resp = ctx.call(&req).await?;
    let newest = resp.RspMsgList.iter().map(|m| m.MsgTimeStamp).max();
    let mut answer = Answer {
        mark: resp
            .RspMsgList
            .iter()
            .map(|m| (m.MsgTimeStamp, m.MsgSeq as i64))
            .max(),
        ..Answer::default()
    };
    // The same conversion as the send, so each message is matched by what was sent.
    let batch = requests::import_group_msg("", &records, &send_times(job));
    for (item, sent) in job.items.iter().zip(&batch.MsgList) {
        let present = resp.RspMsgList.iter().find(|m| {
            m.MsgTimeStamp == sent.SendTime
                && Some(m.MsgRandom) == sent.Random
                && m.From_Account == sent.From_Account
        });
        if let Some(m) = present {
            answer.done.push(item.id);
            answer.seqs.push((item.id, m.MsgSeq as i64));
        } else if newest.is_some_and(|n| sent.SendTime <= n) {
            // Imported messages must be newer than the group's newest: this one never will be.
            let reason = Reason::NoLongerNewer {
                newest: newest.unwrap_or_default(),
            };
            answer.failed.push(reason.item(item.id, Kind::GroupMessage));
        }
    }
    Ok(answer)
}
