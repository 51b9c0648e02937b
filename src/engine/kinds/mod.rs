//! One home per kind of item: how its items batch, the request they make (with the
//! conversions of [`crate::tim::requests`]), how an answer settles them, and what an unknown
//! outcome calls for. The engine asks [`kind_of`] and never switches on the kind for these.

mod accounts;
mod c2c;
mod deletions;
mod friends;
mod group_members;
mod group_messages;
mod group_update;
mod groups;
mod profiles;
mod recalls;

use super::job::Job;
use super::send::{Answer, SendContext, SendError};
use crate::store::Kind;
use futures_util::future::BoxFuture;

/// How the work makes jobs of a kind's items (the dependency rules are the work's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grouping {
    /// In the order of the accounts they need, up to the batch limit per job.
    InOrder,
    /// One owner's entries per job (split when above the batch limit), owners in the order of
    /// the accounts they need.
    ByOwner,
    /// A conversation's messages: one request in flight per conversation, oldest first,
    /// conversations in order of the accounts they need.
    ByConversation,
    /// A group's messages, after the group: one batch in flight per group, oldest first.
    GroupMessages,
    /// A group's members, after its messages, several batches at a time.
    GroupMembers,
    /// Deletions: in the store's order, a batch within one scope (the owner, the group, the
    /// conversation), each kind after every record kind and every deletion kind before it.
    Scoped,
}

/// What a request whose outcome is unknown (sent, never answered) calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnUnknown {
    /// Send it again: the target takes the items again without harm, or the kind's
    /// [`ImportKind::send`] recognises its own earlier import.
    Replay,
    /// Never send it blindly again: the request is journaled on disk before it leaves, and
    /// [`ImportKind::read_back`] says which of its items went in.
    ReadBack,
}

/// What the engine knows of a kind before it sends anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The kind.
    pub(crate) kind: Kind,
    /// The most items one request may carry (the API's documented batch limit).
    pub(crate) max_batch: usize,
    /// How its items are put into jobs.
    pub(crate) grouping: Grouping,
    /// What an unknown outcome calls for.
    pub(crate) unknown: OnUnknown,
}

/// A kind of item, as the import engine sends it.
pub(crate) trait ImportKind: Sync {
    /// Its kind, batch limit, grouping and unknown-outcome rule.
    fn shape(&self) -> Shape;

    /// The kind.
    fn kind(&self) -> Kind {
        self.shape().kind
    }

    /// The most items one request may carry.
    fn max_batch(&self) -> usize {
        self.shape().max_batch
    }

    /// How its items are put into jobs.
    fn grouping(&self) -> Grouping {
        self.shape().grouping
    }

    /// What an unknown outcome calls for.
    fn unknown(&self) -> OnUnknown {
        self.shape().unknown
    }

    /// Sends an import job: reads its records, makes its request(s), and sorts its items by
    /// the answer (done, failed for good, again).
    fn send<'a>(
        &'a self,
        ctx: &'a SendContext<'a>,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>>;

    /// Reads back the items of a request whose outcome was unknown: which are in, which can
    /// no longer go (the rest go again). Only asked of kinds whose [`Self::unknown`] is
    /// [`OnUnknown::ReadBack`]; the others fail the items, saying so.
    fn read_back<'a>(
        &'a self,
        _ctx: &'a SendContext<'a>,
        _job: &'a Job,
    ) -> BoxFuture<'a, Result<Answer, SendError>> {
        let reason = format!(
            "{} requests are never read back",
            self.kind().api().command()
        );
        Box::pin(async move { Err(SendError::Source(reason)) })
    }
}

/// The home of `kind`.
pub(crate) fn kind_of(kind: Kind) -> &'static dyn ImportKind {
    match kind {
        Kind::Account => &accounts::Accounts,
        Kind::Profile => &profiles::Profiles,
        Kind::Friend => &friends::Friends,
        Kind::C2cMessage => &c2c::C2cMessages,
        Kind::Group => &groups::Groups,
        Kind::GroupMember => &group_members::GroupMembers,
        Kind::GroupMessage => &group_messages::GroupMessages,
        Kind::C2cRecall => &recalls::C2cRecalls,
        Kind::GroupRecall => &recalls::GroupRecalls,
        Kind::MemberRemoval => &deletions::MemberRemovals,
        Kind::GroupDeletion => &deletions::GroupDeletions,
        Kind::FriendDeletion => &deletions::FriendDeletions,
        Kind::AccountDeletion => &deletions::AccountDeletions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_home() {
        for kind in Kind::ALL {
            assert_eq!(kind_of(kind).kind(), kind);
        }
    }

    #[test]
    fn batch_limits_are_the_documented_ones() {
        let limits: Vec<usize> = Kind::ALL.map(|k| kind_of(k).max_batch()).to_vec();
        // Account, Profile, Friend, C2cMessage, Group, GroupMember, GroupMessage, then the
        // recalls, member removals, group, friend and account deletions.
        assert_eq!(limits, [100, 1, 1000, 1, 1, 20, 7, 1, 10, 100, 1, 100, 100]);
    }

    #[test]
    fn only_group_messages_are_read_back() {
        for kind in Kind::ALL {
            let read_back = kind_of(kind).unknown() == OnUnknown::ReadBack;
            assert_eq!(read_back, kind == Kind::GroupMessage, "{kind:?}");
        }
    }
}
