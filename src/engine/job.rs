//! One request's worth of work.

use crate::store::queries::PendingItem;
use crate::store::Kind;
use std::time::Instant;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    /// Import its items.
    Import,
    /// Read the group's newest messages back to learn which of its items are in.
    ReadBack,
}

/// Items that go in one request (or one read-back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// The items' kind.
    pub(crate) kind: Kind,
    /// Import or read back.
    pub(crate) task: Task,
    /// The items' common parent ([`PendingItem::parent`]): the owner's account item for friend
    /// entries, the group item for group messages and members ([`Job::group`]).
    pub(crate) parent: Option<i64>,
    /// The items.
    pub(crate) items: Vec<PendingItem>,
    /// How many times this job was tried before.
    pub(crate) attempt: u32,
    /// A read-back: the journal entry of the unanswered request it resolves.
    pub(crate) journal: Option<i64>,
    /// When these items first failed with a retryable error and have kept failing since (the
    /// clock of `[import] max_retry_secs`).
    pub(crate) failing_since: Option<Instant>,
}

impl Job {
    /// An import job.
    pub(crate) fn items(kind: Kind, parent: Option<i64>, items: Vec<PendingItem>) -> Job {
        Job {
            kind,
            task: Task::Import,
            parent,
            items,
            attempt: 0,
            journal: None,
            failing_since: None,
        }
    }

    /// The group item of a group message or member job (or of their deletions).
    pub(crate) fn group(&self) -> Option<i64> {
        self.parent.filter(|_| {
            matches!(
                self.kind,
                Kind::GroupMessage | Kind::GroupMember | Kind::GroupRecall | Kind::MemberRemoval
            )
        })
    }

    /// The items' ids.
    pub(crate) fn ids(&self) -> Vec<i64> {
        self.items.iter().map(|i| i.id).collect()
    }
}
