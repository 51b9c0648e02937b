//! Profiles: one `portrait_set` each (none for a profile with nothing to set); setting the
//! same fields again is harmless, so an unknown outcome is replayed.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::Profile;
use crate::store::Kind;
use crate::tim::requests;
use futures_util::future::BoxFuture;

/// The profiles.
pub(crate) struct Profiles;

impl ImportKind for Profiles {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::Profile,
            max_batch: 1,
            grouping: Grouping::InOrder,
            unknown: OnUnknown::Replay,
        }
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<Profile> = ctx.read(job)?;
            let mut answer = Answer::default();
            for (item, profile) in job.items.iter().zip(&records) {
                // A profile line with nothing to set needs no call.
                if let Some(req) = requests::portrait_set(profile) {
                    ctx.call(&req).await?;
                }
                answer.done.push(item.id);
            }
            Ok(answer)
        })
    }
}
