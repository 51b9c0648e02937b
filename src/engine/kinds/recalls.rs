//! Recalls of messages a delta's tombstones deleted: a one-to-one message by the MsgKey it
//! was imported with (`admin_msgwithdraw`, one per call: `MsgSeq_MsgRandom_MsgTimeStamp` of
//! the import request, rebuilt from the record and the MsgSeq staged with it), a group
//! message by the MsgSeq the target answered at import (`group_msg_recall`, ≤ 10 of one
//! group per call). A repeat answers its own code, which counts as done (§4.7b), so an
//! unknown outcome is replayed. A recalled message stays in history, marked recalled.

use super::deletions::{deletion_kind, done_or_repeat};
use crate::engine::failure::Reason;
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::{C2cMessage, GroupMessage};
use crate::store::queries::PendingItem;
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::c2c::AdminMsgWithdraw;
use crate::tim::wire::group::{GroupMsgRecall, MsgSeqItem};
use crate::tim::wire::group_read::GroupMsgGetSimple;

/// Pages of a group's history read, newest first, to find a message whose MsgSeq the store
/// does not have (imported before MsgSeqs were recorded): 50 pages of 20.
const SEARCH_PAGES: usize = 50;

deletion_kind!(
    /// One-to-one messages recalled.
    C2cRecalls,
    Kind::C2cRecall,
    1,
    recall_c2c_messages
);
deletion_kind!(
    /// Group messages recalled.
    GroupRecalls,
    Kind::GroupRecall,
    10,
    recall_group_messages
);

async fn recall_c2c_messages(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<C2cMessage> = ctx.read(job)?;
    let mut answer = Answer::default();
    for (item, msg) in job.items.iter().zip(&records) {
        // The same request the import sent: its MsgKey is the message's.
        let sent = requests::import_msg(msg, item.seq);
        // import_msg always sets MsgSeq: the key is always known.
        let key = sent.msg_key().unwrap_or_default();
        let req = AdminMsgWithdraw {
            From_Account: sent.From_Account,
            To_Account: sent.To_Account,
            MsgKey: key,
        };
        done_or_repeat(ctx.call(&req).await.map(|_| ()), Kind::C2cRecall)?;
        answer.done.push(item.id);
    }
    Ok(answer)
}

async fn recall_group_messages(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let group_id = ctx.group_id(job)?.to_string();
    let mut answer = Answer::default();
    let mut seqs = Vec::new();
    let mut items = Vec::new();
    for item in &job.items {
        match item.seq.map(u64::from) {
            Some(seq) => {
                seqs.push(seq);
                items.push(*item);
            }
            None => match find_seq(ctx, job, &group_id, item).await? {
                Some(seq) => {
                    seqs.push(seq);
                    items.push(*item);
                }
                None => answer.failed.push(
                    Reason::Refused {
                        code: None,
                        info: format!(
                            "its MsgSeq was not recorded at import and it is not among the \
                         group's newest {} messages: recall it by hand",
                            SEARCH_PAGES * 20
                        ),
                    }
                    .item(item.id, Kind::GroupRecall),
                ),
            },
        }
    }
    if items.is_empty() {
        return Ok(answer);
    }
    let req = GroupMsgRecall {
        GroupId: group_id,
        MsgSeqList: seqs.iter().map(|s| MsgSeqItem { MsgSeq: *s }).collect(),
    };
    let keys = seqs.iter().map(u64::to_string).collect();
    let sub = Job {
        items,
        ..job.clone()
    };
    let sorted = ctx.batch(&sub, &req, keys).await?;
    answer.done.extend(sorted.done);
    answer.failed.extend(sorted.failed);
    answer.again.extend(sorted.again);
    Ok(answer)
}

/// The MsgSeq of `item`'s message, found in the group's history by what its import sent
/// (time, random, sender); `None` when not among the newest pages read.
async fn find_seq(
    ctx: &SendContext<'_>,
    job: &Job,
    group_id: &str,
    item: &PendingItem,
) -> Result<Option<u64>, SendError> {
    let one = Job {
        items: vec![*item],
        ..job.clone()
    };
    let records: Vec<GroupMessage> = ctx.read(&one)?;
    let batch = requests::import_group_msg(group_id, &records, &[item.t]);
    let Some(sent) = batch.MsgList.first() else {
        return Ok(None);
    };
    let mut before: Option<u64> = None;
    for _ in 0..SEARCH_PAGES {
        let req = GroupMsgGetSimple {
            GroupId: group_id.to_string(),
            ReqMsgSeq: before,
            ReqMsgNumber: 20,
        };
        let resp = ctx.call(&req).await?;
        let found = resp.RspMsgList.iter().find(|m| {
            m.MsgTimeStamp == sent.SendTime
                && Some(m.MsgRandom) == sent.Random
                && m.From_Account == sent.From_Account
        });
        if let Some(m) = found {
            return Ok(Some(m.MsgSeq));
        }
        let oldest = resp.RspMsgList.iter().map(|m| m.MsgSeq).min();
        match oldest {
            Some(seq) if seq > 1 && resp.IsFinished == 0 => before = Some(seq - 1),
            _ => return Ok(None),
        }
    }
    Ok(None)
}
