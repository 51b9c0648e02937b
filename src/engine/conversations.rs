//! One-to-one messages by conversation: each conversation's messages go oldest first with one
//! request in flight at a time (Tencent orders a conversation's history by time, then MsgSeq,
//! and asks for imports in time order), while different conversations go in parallel so the
//! lane still reaches its rate. A conversation can go no faster than one round trip per
//! message, so among those whose accounts are in, the busiest starts first: the longest chain
//! of round trips begins at once instead of last. Pure bookkeeping for
//! [`super::work::Work`].

use crate::store::queries::PendingItem;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// The conversation of `item`: its `parent`; an item staged without one (by an earlier
/// cutover) is a conversation of its own (negative keys never clash with real ones).
pub(crate) fn key_of(item: &PendingItem) -> i64 {
    item.parent.unwrap_or(-1 - item.id)
}

#[derive(Debug, Default)]
struct Conversation {
    msgs: VecDeque<PendingItem>,
    /// A request of it is in flight (or waiting to be retried).
    busy: bool,
    /// It is in `fresh` or `ready`.
    queued: bool,
}

/// Conversations with messages still to go.
#[derive(Debug, Default)]
pub(crate) struct Conversations {
    convs: HashMap<i64, Conversation>,
    /// Not started yet, in order of the accounts they need.
    fresh: VecDeque<i64>,
    /// Not started yet, accounts in: the busiest first (messages, then the lowest key).
    startable: BinaryHeap<(usize, Reverse<i64>)>,
    /// Started, idle, with messages left (their accounts were resolved when they started).
    ready: VecDeque<i64>,
}

impl Conversations {
    /// Conversations of `items`, each in the given order (the store's: time, then MsgSeq).
    #[cfg(test)]
    pub(crate) fn new(items: Vec<PendingItem>) -> Conversations {
        let mut out = Conversations::default();
        out.add(items);
        out
    }

    /// The next page of messages, in the store's order (by conversation, then time and
    /// MsgSeq): each goes after what its conversation already has; conversations new to the
    /// window queue in order of the accounts they need.
    pub(crate) fn add(&mut self, items: Vec<PendingItem>) {
        let mut fresh: Vec<(i64, i64, i64)> = Vec::new();
        for item in items {
            let key = key_of(&item);
            let conv = self.convs.entry(key).or_default();
            if conv.msgs.is_empty() && !conv.busy && !conv.queued {
                conv.queued = true;
                fresh.push((item.needs, item.id, key));
            }
            conv.msgs.push_back(item);
        }
        fresh.sort_unstable();
        self.fresh.extend(fresh.into_iter().map(|(_, _, k)| k));
    }

    /// Up to `limit` next messages of one idle conversation whose accounts are below `floor`
    /// (all resolved); the conversation is busy until [`Self::over`].
    pub(crate) fn next(&mut self, limit: usize, floor: i64) -> Option<(i64, Vec<PendingItem>)> {
        for _ in 0..self.ready.len() {
            let key = self.ready.pop_front()?;
            if let Some(batch) = self.take(key, limit, floor, true) {
                return Some((key, batch));
            }
        }
        self.admit(floor);
        let (size, Reverse(key)) = self.startable.pop()?;
        match self.take(key, limit, floor, false) {
            Some(batch) => Some((key, batch)),
            None => {
                // Its accounts went back to pending (an operator retry): it waits again.
                if self
                    .convs
                    .get(&key)
                    .is_some_and(|c| !c.busy && !c.msgs.is_empty())
                {
                    self.startable.push((size, Reverse(key)));
                }
                None
            }
        }
    }

    /// Moves the fresh conversations whose accounts are all in (below `floor`) to
    /// `startable`; `fresh` is in order of the accounts needed, so they are at its front.
    fn admit(&mut self, floor: i64) {
        while let Some(&key) = self.fresh.front() {
            let Some(conv) = self.convs.get(&key) else {
                self.fresh.pop_front();
                continue;
            };
            if conv.msgs.front().is_some_and(|i| i.needs >= floor) {
                break;
            }
            self.startable.push((conv.msgs.len(), Reverse(key)));
            self.fresh.pop_front();
        }
    }

    /// Takes the next batch of `key`, just popped from `ready` (`from_ready`) or `startable`;
    /// `None` when it cannot go now (then a ready one waiting for accounts is queued again,
    /// and a startable one is the caller's to put back).
    fn take(
        &mut self,
        key: i64,
        limit: usize,
        floor: i64,
        from_ready: bool,
    ) -> Option<Vec<PendingItem>> {
        let conv = self.convs.get_mut(&key)?;
        if conv.busy || conv.msgs.is_empty() {
            conv.queued = false;
            return None;
        }
        if conv.msgs.front().is_some_and(|i| i.needs >= floor) {
            if from_ready {
                self.ready.push_back(key);
            }
            return None;
        }
        let n = conv.msgs.len().min(limit.max(1));
        conv.busy = true;
        conv.queued = false;
        Some(conv.msgs.drain(..n).collect())
    }

    /// The request of conversation `key` is over (its items settled or failed for good): its
    /// next message may go.
    pub(crate) fn over(&mut self, key: i64) {
        let Some(conv) = self.convs.get_mut(&key) else {
            return;
        };
        conv.busy = false;
        if conv.msgs.is_empty() {
            self.convs.remove(&key);
        } else if !conv.queued {
            conv.queued = true;
            self.ready.push_back(key);
        }
    }

    /// Failed messages the operator sent back: each goes again in time order among what is
    /// left of its conversation.
    pub(crate) fn requeue(&mut self, items: Vec<PendingItem>) {
        for item in items {
            let key = key_of(&item);
            let conv = self.convs.entry(key).or_default();
            let at = conv
                .msgs
                .partition_point(|m| (m.t, m.seq, m.id) < (item.t, item.seq, item.id));
            conv.msgs.insert(at, item);
            if !conv.busy && !conv.queued {
                conv.queued = true;
                self.ready.push_back(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: i64, conv: i64, needs: i64, t: i64) -> PendingItem {
        PendingItem {
            seq: Some(id as u32 + 1),
            ..PendingItem::for_test(id, Some(conv), needs, t)
        }
    }

    #[test]
    fn one_request_in_flight_per_conversation_oldest_first() {
        let mut c = Conversations::new(vec![
            msg(0, 7, 1, 100),
            msg(1, 7, 1, 100),
            msg(2, 9, 0, 100),
        ]);
        // Both have their accounts: 7, the busier, goes first; then 9; 7 again only after.
        assert_eq!(c.next(1, 10).map(|(k, b)| (k, b[0].id)), Some((7, 0)));
        assert_eq!(c.next(1, 10).map(|(k, b)| (k, b[0].id)), Some((9, 2)));
        assert_eq!(c.next(1, 10), None);
        c.over(7);
        assert_eq!(c.next(1, 10).map(|(k, b)| (k, b[0].id)), Some((7, 1)));
        c.over(7);
        c.over(9);
        assert_eq!(c.next(1, 10), None);
        assert!(c.convs.is_empty());
    }

    #[test]
    fn the_busiest_conversation_whose_accounts_are_in_starts_first() {
        let mut c = Conversations::new(vec![
            msg(0, 1, 0, 100),
            msg(1, 2, 0, 100),
            msg(2, 2, 0, 101),
            msg(3, 3, 8, 100),
            msg(4, 3, 8, 101),
            msg(5, 3, 8, 102),
        ]);
        // Conversation 3 is the busiest but waits for account 8.
        assert_eq!(c.next(1, 5).map(|(k, _)| k), Some(2));
        assert_eq!(c.next(1, 5).map(|(k, _)| k), Some(1));
        assert_eq!(c.next(1, 5), None);
        assert_eq!(c.next(1, 9).map(|(k, _)| k), Some(3));
    }

    #[test]
    fn waits_for_the_accounts_and_takes_back_a_retried_message_in_order() {
        let mut c = Conversations::new(vec![msg(0, 7, 5, 100), msg(1, 7, 5, 101)]);
        assert_eq!(c.next(1, 5), None);
        let (key, batch) = c.next(1, 6).unwrap();
        assert_eq!((key, batch[0].id), (7, 0));
        c.over(7);
        let (_, batch) = c.next(1, 6).unwrap();
        assert_eq!(batch[0].id, 1);
        c.requeue(vec![msg(0, 7, 5, 100)]);
        assert_eq!(c.next(1, 6), None, "busy until its request is over");
        c.over(7);
        assert_eq!(c.next(1, 6).unwrap().1[0].id, 0);
    }
}
