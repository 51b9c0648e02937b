//! Deletions of a delta's tombstones that remove a relation or an object: members
//! (`delete_group_member`, silently), groups (`destroy_group`), friend entries
//! (`friend_delete`, one way) and accounts (`account_delete`, irreversible). Each reads the
//! record it deletes (staged by the export that imported it). A repeat answers its own code,
//! which counts as done (§4.7b), so an unknown outcome is replayed.

use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::{Account, Friend, Group, GroupMember};
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::account::{AccountDelete, DeleteItem};
use crate::tim::wire::deletion::repeat_means_done;
use crate::tim::wire::group::{DeleteGroupMember, DestroyGroup};
use crate::tim::wire::sns::{FriendDelete, DELETE_TYPE_SINGLE};

/// A deletion kind: its struct, kind, most items per call (within one scope, `parent`) and
/// the async fn that sends a job of it. Deletions are replayed after an unknown outcome.
macro_rules! deletion_kind {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $max:expr, $send:path) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl super::ImportKind for $name {
            fn shape(&self) -> super::Shape {
                super::Shape {
                    kind: $kind,
                    max_batch: $max,
                    grouping: super::Grouping::Scoped,
                    unknown: super::OnUnknown::Replay,
                }
            }

            fn send<'a>(
                &'a self,
                ctx: &'a SendContext<'a>,
                job: &'a Job,
            ) -> futures_util::future::BoxFuture<'a, Result<Answer, SendError>> {
                Box::pin($send(ctx, job))
            }
        }
    };
}
pub(super) use deletion_kind;

deletion_kind!(
    /// Members who left their group: one group's per `delete_group_member` (≤ 100), told only
    /// to them (`Silence`: the others' history shows no notice of a removal that is only a
    /// copy of one made long ago).
    MemberRemovals,
    Kind::MemberRemoval,
    100,
    remove_members
);
deletion_kind!(
    /// Groups dismissed: one `destroy_group` each.
    GroupDeletions,
    Kind::GroupDeletion,
    1,
    destroy_groups
);
deletion_kind!(
    /// Friend entries deleted: one owner's per `friend_delete` (≤ 100: the documented limit is
    /// unconfirmed), one way (`Delete_Type_Single`), as the export's entry is one way.
    FriendDeletions,
    Kind::FriendDeletion,
    100,
    delete_friends
);
deletion_kind!(
    /// Accounts deleted: up to 100 per `account_delete`. Irreversible: only after the window's
    /// own confirmation (see the runbook's deletion gate).
    AccountDeletions,
    Kind::AccountDeletion,
    100,
    delete_accounts
);

async fn remove_members(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<GroupMember> = ctx.read(job)?;
    let req = DeleteGroupMember {
        GroupId: ctx.group_id(job)?.to_string(),
        Silence: Some(1),
        Reason: None,
        MemberToDel_Account: records.into_iter().map(|m| m.member).collect(),
    };
    done_or_repeat(ctx.call(&req).await.map(|_| ()), job.kind)?;
    Ok(Answer {
        done: job.ids(),
        ..Answer::default()
    })
}

async fn destroy_groups(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<Group> = ctx.read(job)?;
    let mut answer = Answer::default();
    for (item, group) in job.items.iter().zip(&records) {
        let id = requests::import_group(group).GroupId.unwrap_or_default();
        let req = DestroyGroup { GroupId: id };
        done_or_repeat(ctx.call(&req).await.map(|_| ()), Kind::GroupDeletion)?;
        answer.done.push(item.id);
    }
    Ok(answer)
}

async fn delete_friends(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<Friend> = ctx.read(job)?;
    let owner = records.first().map(|f| f.owner.clone()).unwrap_or_default();
    let keys: Vec<String> = records.iter().map(|r| r.friend.clone()).collect();
    let req = FriendDelete {
        From_Account: owner,
        To_Account: keys.clone(),
        DeleteType: Some(DELETE_TYPE_SINGLE.into()),
    };
    ctx.batch(job, &req, keys).await
}

async fn delete_accounts(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<Account> = ctx.read(job)?;
    let keys: Vec<String> = records.into_iter().map(|a| a.id).collect();
    let req = AccountDelete {
        DeleteItem: keys
            .iter()
            .map(|id| DeleteItem { UserID: id.clone() })
            .collect(),
    };
    ctx.batch(job, &req, keys).await
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
