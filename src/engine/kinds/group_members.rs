//! Group members: up to 20 of one group per `import_group_member`, each answered by its
//! UserID; a member already in the group is answered as such, so an unknown outcome is
//! replayed.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::GroupMember;
use crate::store::Kind;
use crate::tim::requests;
use futures_util::future::BoxFuture;

/// The group members.
pub(crate) struct GroupMembers;

impl ImportKind for GroupMembers {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::GroupMember,
            max_batch: 20,
            grouping: Grouping::GroupMembers,
            unknown: OnUnknown::Replay,
        }
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<GroupMember> = ctx.read(job)?;
            let keys = records.iter().map(|r| r.member.clone()).collect();
            let req = requests::import_group_member(ctx.group_id(job)?, &records);
            ctx.batch(job, &req, keys).await
        })
    }
}
