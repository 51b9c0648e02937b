//! Deletions of a delta's tombstones that remove a relation or an object: members
//! (`delete_group_member`, silently), groups (`destroy_group`), friend entries
//! (`friend_delete`, one way) and accounts (`account_delete`, irreversible). Each reads the
//! record it deletes (staged by the export that imported it). A repeat answers its own code,
//! which counts as done (§4.7b), so an unknown outcome is replayed.

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::{Account, Friend, Group, GroupMember};
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::account::{AccountDelete, DeleteItem};
use crate::tim::wire::deletion::repeat_means_done;
use crate::tim::wire::group::{DeleteGroupMember, DestroyGroup};
use crate::tim::wire::sns::{FriendDelete, DELETE_TYPE_SINGLE};
use futures_util::future::BoxFuture;

/// Items of `kind`, batched as `max_batch` per call within one scope (`parent`).
fn shape(kind: Kind, max_batch: usize, grouping: Grouping) -> Shape {
    Shape {
        kind,
        max_batch,
        grouping,
        unknown: OnUnknown::Replay,
    }
}

/// Members who left their group: one group's per `delete_group_member` (≤ 100), told only to
/// them (`Silence`: the others' history shows no notice of a removal that is only a copy of
/// one made long ago).
pub(crate) struct MemberRemovals;

impl ImportKind for MemberRemovals {
    fn shape(&self) -> Shape {
        shape(Kind::MemberRemoval, 100, Grouping::Scoped)
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<GroupMember> = ctx.read(job)?;
            let req = DeleteGroupMember {
                GroupId: ctx.group_id(job)?.to_string(),
                Silence: Some(1),
                Reason: None,
                MemberToDel_Account: records.into_iter().map(|m| m.member).collect(),
            };
            one_call_for_all(ctx, job, &req).await
        })
    }
}

/// Groups dismissed: one `destroy_group` each.
pub(crate) struct GroupDeletions;

impl ImportKind for GroupDeletions {
    fn shape(&self) -> Shape {
        shape(Kind::GroupDeletion, 1, Grouping::Scoped)
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<Group> = ctx.read(job)?;
            let mut answer = Answer::default();
            for (item, group) in job.items.iter().zip(&records) {
                let id = requests::import_group(group).GroupId.unwrap_or_default();
                let req = DestroyGroup { GroupId: id };
                done_or_repeat(ctx.call(&req).await.map(|_| ()), Kind::GroupDeletion)?;
                answer.done.push(item.id);
            }
            Ok(answer)
        })
    }
}

/// Friend entries deleted: one owner's per `friend_delete` (≤ 100: the documented limit is
/// unconfirmed), one way (`Delete_Type_Single`), as the export's entry is one way.
pub(crate) struct FriendDeletions;

impl ImportKind for FriendDeletions {
    fn shape(&self) -> Shape {
        shape(Kind::FriendDeletion, 100, Grouping::Scoped)
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<Friend> = ctx.read(job)?;
            let owner = records.first().map(|f| f.owner.clone()).unwrap_or_default();
            let keys: Vec<String> = records.iter().map(|r| r.friend.clone()).collect();
            let req = FriendDelete {
                From_Account: owner,
                To_Account: keys.clone(),
                DeleteType: Some(DELETE_TYPE_SINGLE.into()),
            };
            ctx.batch(job, &req, keys).await
        })
    }
}

/// Accounts deleted: up to 100 per `account_delete`. Irreversible: only after the window's
/// own confirmation (see the runbook's delete-accounts step).
pub(crate) struct AccountDeletions;

impl ImportKind for AccountDeletions {
    fn shape(&self) -> Shape {
        shape(Kind::AccountDeletion, 100, Grouping::Scoped)
    }

    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        Box::pin(async move {
            let records: Vec<Account> = ctx.read(job)?;
            let keys: Vec<String> = records.into_iter().map(|a| a.id).collect();
            let req = AccountDelete {
                DeleteItem: keys
                    .iter()
                    .map(|id| DeleteItem { UserID: id.clone() })
                    .collect(),
            };
            ctx.batch(job, &req, keys).await
        })
    }
}

/// One call that settles all of `job`'s items at once: all done, or (a repeat) done too.
async fn one_call_for_all<R: crate::tim::wire::Request>(
    ctx: &SendContext<'_>,
    job: &Job,
    req: &R,
) -> Result<Answer, SendError> {
    done_or_repeat(ctx.call(req).await.map(|_| ()), job.kind)?;
    Ok(Answer {
        done: job.ids(),
        ..Answer::default()
    })
}

/// A call's result, where the code a repeat answers (the deletion is applied already) is a
/// success.
pub(super) fn done_or_repeat(result: Result<(), SendError>, kind: Kind) -> Result<(), SendError> {
    match result {
        Err(SendError::Call(e)) if e.code().is_some_and(|c| repeat_means_done(kind.api(), c)) => {
            Ok(())
        }
        other => other,
    }
}
