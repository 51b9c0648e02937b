//! One-to-one messages: one `importmsg` each, with the MsgSeq assigned at staging; the target
//! de-duplicates a message by its MsgSeq, MsgRandom and time, so an unknown outcome is
//! replayed. A conversation's messages go oldest first, one request in flight per
//! conversation (Tencent wants them "in time order"), conversations in parallel.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::C2cMessage;
use crate::store::Kind;
use crate::tim::requests;
use futures_util::future::BoxFuture;

/// The one-to-one messages.
pub(crate) struct C2cMessages;

impl ImportKind for C2cMessages {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::C2cMessage,
            max_batch: 1,
            grouping: Grouping::ByConversation,
            unknown: OnUnknown::Replay,
        }
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<C2cMessage> = ctx.read(job)?;
            let mut answer = Answer::default();
            for (item, msg) in job.items.iter().zip(&records) {
                ctx.call(&requests::import_msg(msg, item.seq)).await?;
                answer.done.push(item.id);
            }
            Ok(answer)
        })
    }
}
