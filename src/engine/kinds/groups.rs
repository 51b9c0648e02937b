//! Groups: one `import_group` each, under a GroupId derived from the old id. A replay finds
//! the GroupId taken (10021): the group is read back with `get_group_info` and counts as in
//! only when its name and owner are ours, so an unknown outcome is simply replayed. A group a
//! delta changed after it was imported is brought up to date instead ([`super::group_update`]).

use super::{Grouping, ImportKind, OnUnknown, Shape};
use crate::engine::failure::Reason;
use crate::engine::job::Job;
use crate::engine::send::{Answer, SendContext, SendError};
use crate::model::Group;
use crate::store::queries::PendingItem;
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::group_read::{GetGroupInfo, GroupInfo};
use futures_util::future::BoxFuture;

/// `import_group`'s answer when the GroupId is already used.
const GROUP_ID_TAKEN: i64 = 10021;

/// The groups.
pub(crate) struct Groups;

impl ImportKind for Groups {
    fn shape(&self) -> Shape {
        Shape {
            kind: Kind::Group,
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
        Box::pin(send(ctx, job))
    }
}

async fn send(ctx: &SendContext<'_>, job: &Job) -> Result<Answer, SendError> {
    let records: Vec<Group> = ctx.read(job)?;
    let mut answer = Answer::default();
    for (item, group) in job.items.iter().zip(&records) {
        if ctx.changed_groups.contains(&item.id) {
            super::group_update::bring_up_to_date(ctx, item, group, &mut answer).await?;
            continue;
        }
        match ctx.call(&requests::import_group(group)).await {
            Ok(_) => answer.done.push(item.id),
            Err(SendError::Call(e)) if e.code() == Some(GROUP_ID_TAKEN) => {
                already_there(ctx, item, group, &mut answer).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(answer)
}

/// `import_group` said the GroupId is taken: after a replay that is our own group. Read it
/// back and compare name and owner before calling it done.
async fn already_there(
    ctx: &SendContext<'_>,
    item: &PendingItem,
    group: &Group,
    answer: &mut Answer,
) -> Result<(), SendError> {
    let want = requests::import_group(group);
    let found = read_group(ctx, want.GroupId.as_deref().unwrap_or_default()).await?;
    let ours = found.is_some_and(|g| {
        g.Name.as_deref() == Some(want.Name.as_str())
            && g.Owner_Account.as_deref().unwrap_or("")
                == want.Owner_Account.as_deref().unwrap_or("")
    });
    if ours {
        answer.done.push(item.id);
    } else {
        let reason = Reason::Refused {
            code: Some(GROUP_ID_TAKEN),
            info: "GroupId already used by a different group on the target".into(),
        };
        answer.failed.push(reason.item(item.id, Kind::Group));
    }
    Ok(())
}

/// The target's copy of group `id`, if it has one.
pub(super) async fn read_group(
    ctx: &SendContext<'_>,
    id: &str,
) -> Result<Option<GroupInfo>, SendError> {
    let read = GetGroupInfo {
        GroupIdList: vec![id.to_string()],
        ResponseFilter: None,
    };
    let resp = ctx.call(&read).await?;
    Ok(resp.GroupInfo.into_iter().find(|g| g.ErrorCode == 0))
}
