//! Accounts: up to 100 per `multiaccount_import`, each answered by its UserID; the target
//! takes an account it already has again, so an unknown outcome is replayed.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::Account;
use crate::store::Kind;
use crate::tim::requests;
use futures_util::future::BoxFuture;

/// The accounts.
pub(crate) struct Accounts;

impl ImportKind for Accounts {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::Account,
            max_batch: 100,
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
            let records: Vec<Account> = ctx.read(job)?;
            let keys = records.iter().map(|r| r.id.clone()).collect();
            let req = requests::multiaccount_import(&records);
            ctx.batch(job, &req, keys).await
        })
    }
}
