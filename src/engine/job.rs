//! One request's worth of work.

use crate::store::queries::PendingItem;
use crate::store::Kind;
use std::time::Instant;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Import its items.
    Import,
    /// Read the group's newest messages back to learn which of its items are in.
    ReadBack,
}

/// Items that go in one request (or one read-back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The items' kind.
    pub kind: Kind,
    /// Import or read back.
    pub what: JobKind,
    /// Friends: the owner's account item; group messages and members: the group item.
    pub group: Option<i64>,
    /// The items.
    pub items: Vec<PendingItem>,
    /// How many times this job was tried before.
    pub attempt: u32,
    /// A read-back: the journal entry of the unanswered request it resolves.
    pub journal: Option<i64>,
    /// When these items first failed with a retryable error and have kept failing since (the
    /// clock of `[import] max_retry_secs`).
    pub failing_since: Option<Instant>,
}

impl Job {
    /// An import job.
    pub fn items(kind: Kind, group: Option<i64>, items: Vec<PendingItem>) -> Job {
        Job {
            kind,
            what: JobKind::Import,
            group,
            items,
            attempt: 0,
            journal: None,
            failing_since: None,
        }
    }

    /// The items' ids.
    pub fn ids(&self) -> Vec<i64> {
        self.items.iter().map(|i| i.id).collect()
    }
}
