//! Friend entries: one owner's entries per `friend_import` (up to 1000), each answered by
//! the friend's UserID; an entry already there is answered as such, so an unknown outcome is
//! replayed.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::Friend;
use crate::store::Kind;
use crate::tim::requests;
use futures_util::future::BoxFuture;

/// The friend entries.
pub(crate) struct Friends;

impl ImportKind for Friends {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::Friend,
            max_batch: 1000,
            grouping: Grouping::ByOwner,
            unknown: OnUnknown::Replay,
        }
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<Friend> = ctx.read(job)?;
            let owner = records.first().map(|f| f.owner.clone()).unwrap_or_default();
            let keys = records.iter().map(|r| r.friend.clone()).collect();
            let req = requests::friend_import(&owner, &records);
            ctx.batch(job, &req, keys).await
        })
    }
}
