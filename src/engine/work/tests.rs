//! The dependency rules of [`Work`].

use super::*;
use crate::engine::job::Task;
use std::time::Duration;

fn item(id: i64, parent: Option<i64>, needs: i64, t: i64) -> PendingItem {
    PendingItem::for_test(id, parent, needs, t)
}

fn batches() -> HashMap<Kind, usize> {
    Kind::ALL
        .into_iter()
        .map(|k| (k, batch_limit(k, None)))
        .collect()
}

fn work(pending: Vec<(Kind, Vec<PendingItem>)>) -> Work {
    let none = GroupsAtStart {
        done: Vec::new(),
        not_imported: Vec::new(),
    };
    Work::new(pending.into_iter().collect(), none, batches())
}

fn ok(w: &mut Work, job: &Job) {
    w.settle(job, &job.ids(), &[], None);
}

fn failed(id: i64) -> FailedItem {
    FailedItem {
        id,
        api: "x",
        code: Some(1),
        info: "no".into(),
        retryable: false,
    }
}

#[test]
fn a_friend_entry_waits_for_both_accounts() {
    let now = Instant::now();
    let accounts: Vec<_> = (0..150).map(|i| item(i, None, -1, 0)).collect();
    let mut w = work(vec![
        (Kind::Account, accounts),
        (Kind::Friend, vec![item(0, Some(0), 120, 0)]),
        (Kind::Profile, vec![item(0, None, 3, 0)]),
    ]);
    let first = w.next(Kind::Account, now).unwrap();
    assert_eq!(first.items.len(), 100);
    let second = w.next(Kind::Account, now).unwrap();
    assert_eq!(second.items.len(), 50);
    assert!(w.next(Kind::Friend, now).is_none());
    ok(&mut w, &first);
    assert!(w.next(Kind::Profile, now).is_some());
    assert!(
        w.next(Kind::Friend, now).is_none(),
        "account 120 is not in yet"
    );
    w.settle(&second, &[], &[failed(120)], None);
    assert!(
        w.next(Kind::Friend, now).is_none(),
        "others of the batch are unresolved"
    );
    let rest: Vec<i64> = (100..150).filter(|i| *i != 120).collect();
    w.settle(&second, &rest, &[], None);
    assert!(w.next(Kind::Friend, now).is_some());
    assert_eq!(w.remaining(Kind::Account), 0);
}

#[test]
fn group_messages_go_one_batch_at_a_time_then_members() {
    let now = Instant::now();
    let msgs: Vec<_> = (0..10).map(|i| item(i, Some(0), -1, 100 + i)).collect();
    let mut w = work(vec![
        (Kind::Group, vec![item(0, None, -1, 0)]),
        (Kind::GroupMessage, msgs),
        (Kind::GroupMember, vec![item(0, Some(0), -1, 0)]),
    ]);
    assert!(
        w.next(Kind::GroupMessage, now).is_none(),
        "group not in yet"
    );
    let group = w.next(Kind::Group, now).unwrap();
    ok(&mut w, &group);
    let first = w.next(Kind::GroupMessage, now).unwrap();
    assert_eq!(first.ids(), (0..7).collect::<Vec<_>>());
    assert!(
        w.next(Kind::GroupMessage, now).is_none(),
        "one batch per group"
    );
    assert!(
        w.next(Kind::GroupMember, now).is_none(),
        "members after messages"
    );
    ok(&mut w, &first);
    let second = w.next(Kind::GroupMessage, now).unwrap();
    assert_eq!(second.ids(), vec![7, 8, 9]);
    ok(&mut w, &second);
    let members = w.next(Kind::GroupMember, now).unwrap();
    assert_eq!(members.group(), Some(0));
    ok(&mut w, &members);
    assert_eq!(w.remaining(Kind::GroupMessage), 0);
    assert_eq!(w.remaining(Kind::GroupMember), 0);
}

#[test]
fn an_unknown_outcome_reads_back_before_sending_again() {
    let now = Instant::now();
    let msgs: Vec<_> = (0..3).map(|i| item(i, Some(5), -1, 100 + i)).collect();
    let mut w = work(vec![
        (Kind::Group, vec![item(5, None, -1, 0)]),
        (Kind::GroupMessage, msgs),
    ]);
    let group = w.next(Kind::Group, now).unwrap();
    ok(&mut w, &group);
    let batch = w.next(Kind::GroupMessage, now).unwrap();
    w.unknown_outcome(&batch, Some(9));
    let read = w.next(Kind::GroupMessage, now).unwrap();
    assert_eq!((read.task, read.journal), (Task::ReadBack, Some(9)));
    assert_eq!(read.ids(), vec![0, 1, 2]);
    assert!(w.next(Kind::GroupMessage, now).is_none());
    w.resolved(&read, &[0, 1], &[]);
    let again = w.next(Kind::GroupMessage, now).unwrap();
    assert_eq!((again.task, again.ids()), (Task::Import, vec![2]));
    ok(&mut w, &again);
    assert_eq!(w.remaining(Kind::GroupMessage), 0);
}

#[test]
fn a_group_that_fails_fails_its_messages_and_members_with_the_reason() {
    let now = Instant::now();
    let mut w = work(vec![
        (Kind::Group, vec![item(0, None, -1, 0)]),
        (
            Kind::GroupMessage,
            vec![item(0, Some(0), -1, 5), item(1, Some(0), -1, 6)],
        ),
        (Kind::GroupMember, vec![item(0, Some(0), -1, 0)]),
    ]);
    let group = w.next(Kind::Group, now).unwrap();
    w.settle(&group, &[], &[failed(0)], None);
    let decided = w.take_decided();
    let failed: usize = decided.iter().map(|s| s.failed.len()).sum();
    assert_eq!(failed, 3);
    assert!(decided[0].failed[0].info.contains("group was not imported"));
    assert_eq!(
        w.remaining(Kind::GroupMessage) + w.remaining(Kind::GroupMember),
        0
    );
}

#[test]
fn a_retried_job_waits_for_its_time_and_keeps_only_unsettled_items() {
    let now = Instant::now();
    let mut w = work(vec![(
        Kind::Account,
        (0..3).map(|i| item(i, None, -1, 0)).collect(),
    )]);
    let job = w.next(Kind::Account, now).unwrap();
    let later = now + Duration::from_secs(2);
    w.settle(&job, &[0], &[], Some(later));
    assert!(w.next(Kind::Account, now).is_none());
    let again = w.next(Kind::Account, later).unwrap();
    assert_eq!((again.ids(), again.attempt), (vec![1, 2], 1));
}

#[test]
fn batch_limits_never_exceed_the_documented_ones() {
    assert_eq!(batch_limit(Kind::GroupMessage, Some(20)), 7);
    assert_eq!(batch_limit(Kind::Account, Some(10)), 10);
    assert_eq!(batch_limit(Kind::Account, Some(0)), 1);
}

#[test]
fn a_conversation_has_one_message_in_flight_and_conversations_go_side_by_side() {
    let now = Instant::now();
    let msg = |id, conv, t| PendingItem {
        seq: Some(id as u32 + 1),
        ..item(id, Some(conv), -1, t)
    };
    let mut work = work(vec![(
        Kind::C2cMessage,
        vec![msg(0, 1, 100), msg(1, 1, 100), msg(2, 2, 100)],
    )]);
    let a = work.next(Kind::C2cMessage, now).unwrap();
    let b = work.next(Kind::C2cMessage, now).unwrap();
    let mut first: Vec<i64> = [&a, &b].iter().map(|j| j.items[0].id).collect();
    first.sort();
    assert_eq!(
        first,
        [0, 2],
        "the oldest of each conversation, side by side"
    );
    assert!(work.next(Kind::C2cMessage, now).is_none(), "1 waits for 0");
    let conv1 = if a.items[0].id == 0 { &a } else { &b };
    work.settle(conv1, &[0], &[], None);
    assert_eq!(work.next(Kind::C2cMessage, now).unwrap().items[0].id, 1);
}

/// Work to be fed `pending` a page at a time per kind, as the feed does.
fn paged(pending: Vec<(Kind, Vec<PendingItem>)>) -> (Work, Vec<(Kind, Vec<PendingItem>)>) {
    let remaining = pending.iter().map(|(k, v)| (*k, v.len() as u64)).collect();
    (Work::paged(remaining, batches()), pending)
}

/// Gives `kind`'s next page of `size` from `left` (taking it off); groups are in the target.
fn page(w: &mut Work, left: &mut [(Kind, Vec<PendingItem>)], kind: Kind, size: usize) {
    let Some((_, items)) = left.iter_mut().find(|(k, _)| *k == kind) else {
        return;
    };
    let n = size.min(items.len());
    let page: Vec<PendingItem> = items.drain(..n).collect();
    if kind == Kind::GroupMessage || kind == Kind::GroupMember {
        for id in w.unknown_groups(&page) {
            w.set_group(id, GroupAt::Done);
        }
    }
    w.add_page(kind, page, !items.is_empty());
}

#[test]
fn accounts_not_paged_in_yet_hold_back_what_needs_them() {
    let now = Instant::now();
    let accounts: Vec<_> = (0..10).map(|i| item(i, None, -1, 0)).collect();
    let (mut w, mut left) = paged(vec![
        (Kind::Account, accounts),
        (Kind::Profile, vec![item(0, None, 7, 0)]),
    ]);
    page(&mut w, &mut left, Kind::Profile, 4);
    page(&mut w, &mut left, Kind::Account, 4);
    let first = w.next(Kind::Account, now).unwrap();
    ok(&mut w, &first);
    assert!(
        w.next(Kind::Profile, now).is_none(),
        "account 7 is not even paged in"
    );
    assert!(w.wants(Kind::Account));
    page(&mut w, &mut left, Kind::Account, 4);
    let second = w.next(Kind::Account, now).unwrap();
    ok(&mut w, &second);
    assert_eq!(w.next(Kind::Profile, now).unwrap().ids(), vec![0]);
}

#[test]
fn an_owner_split_across_pages_goes_as_one_job() {
    let now = Instant::now();
    let friends: Vec<_> = (0..6).map(|i| item(i, Some(i / 4), -1, 0)).collect();
    let (mut w, mut left) = paged(vec![(Kind::Friend, friends)]);
    page(&mut w, &mut left, Kind::Friend, 3);
    assert!(w.next(Kind::Friend, now).is_none(), "owner 0 may have more");
    page(&mut w, &mut left, Kind::Friend, 3);
    let job = w.next(Kind::Friend, now).unwrap();
    assert_eq!((job.parent, job.ids()), (Some(0), vec![0, 1, 2, 3]));
    assert_eq!(w.next(Kind::Friend, now).unwrap().ids(), vec![4, 5]);
}

#[test]
fn members_wait_until_every_message_of_their_group_was_paged_in() {
    let now = Instant::now();
    let msgs: Vec<_> = (0..10).map(|i| item(i, Some(0), -1, 100 + i)).collect();
    let (mut w, mut left) = paged(vec![
        (Kind::GroupMessage, msgs),
        (Kind::GroupMember, vec![item(0, Some(0), -1, 0)]),
    ]);
    page(&mut w, &mut left, Kind::GroupMember, 7);
    page(&mut w, &mut left, Kind::GroupMessage, 7);
    let first = w.next(Kind::GroupMessage, now).unwrap();
    assert_eq!(first.ids(), (0..7).collect::<Vec<_>>());
    ok(&mut w, &first);
    assert!(
        w.next(Kind::GroupMember, now).is_none(),
        "3 messages not paged in"
    );
    page(&mut w, &mut left, Kind::GroupMessage, 7);
    let second = w.next(Kind::GroupMessage, now).unwrap();
    assert_eq!(second.ids(), vec![7, 8, 9]);
    assert!(w.next(Kind::GroupMember, now).is_none(), "a batch is out");
    ok(&mut w, &second);
    assert_eq!(w.next(Kind::GroupMember, now).unwrap().ids(), vec![0]);
    assert_eq!(w.remaining(Kind::GroupMessage), 0);
}

#[test]
fn a_conversation_continued_on_the_next_page_keeps_one_message_in_flight() {
    let now = Instant::now();
    let msg = |id, t| PendingItem {
        seq: Some(id as u32 + 1),
        ..item(id, Some(1), -1, t)
    };
    let (mut w, mut left) = paged(vec![(Kind::C2cMessage, vec![msg(0, 1), msg(1, 2)])]);
    page(&mut w, &mut left, Kind::C2cMessage, 1);
    let a = w.next(Kind::C2cMessage, now).unwrap();
    page(&mut w, &mut left, Kind::C2cMessage, 1);
    assert!(w.next(Kind::C2cMessage, now).is_none(), "1 waits for 0");
    ok(&mut w, &a);
    assert_eq!(w.next(Kind::C2cMessage, now).unwrap().ids(), vec![1]);
}

#[test]
fn an_owner_longer_than_the_low_water_mark_still_gets_its_next_page() {
    let friends: Vec<_> = (0..10).map(|i| item(i, Some(i / 8), -1, 0)).collect();
    let (mut w, mut left) = paged(vec![(Kind::Friend, friends)]);
    w.set_low_water(2);
    page(&mut w, &mut left, Kind::Friend, 6);
    assert!(
        w.next(Kind::Friend, Instant::now()).is_none(),
        "owner 0 may have more"
    );
    assert!(
        w.wants(Kind::Friend),
        "the held-back owner does not fill the window"
    );
}

#[test]
fn a_full_last_page_leaves_the_kind_open_until_an_empty_one_is_read() {
    let now = Instant::now();
    let msgs: Vec<_> = (0..4).map(|i| item(i, Some(0), -1, 100 + i)).collect();
    let (mut w, mut left) = paged(vec![
        (Kind::GroupMessage, msgs),
        (Kind::GroupMember, vec![item(0, Some(1), -1, 0)]),
    ]);
    page(&mut w, &mut left, Kind::GroupMember, 4);
    // The page is full, so the store may hold more: as the feed says of a full page.
    let all: Vec<_> = left[0].1.drain(..).collect();
    w.set_group(0, GroupAt::Done);
    w.add_page(Kind::GroupMessage, all, true);
    let job = w.next(Kind::GroupMessage, now).unwrap();
    ok(&mut w, &job);
    assert_eq!(w.remaining(Kind::GroupMessage), 0);
    assert!(!w.finished(Kind::GroupMessage), "the store may hold more");
    assert!(
        w.next(Kind::GroupMember, now).is_none(),
        "group 1 may have messages"
    );
    assert!(w.wants(Kind::GroupMessage));
    w.add_page(Kind::GroupMessage, Vec::new(), false);
    assert!(w.finished(Kind::GroupMessage));
    assert_eq!(w.next(Kind::GroupMember, now).unwrap().ids(), vec![0]);
}

#[test]
fn failed_items_sent_back_are_not_paged_in_again() {
    let now = Instant::now();
    let accounts: Vec<_> = (0..6).map(|i| item(i, None, -1, 0)).collect();
    let (mut w, mut left) = paged(vec![(Kind::Account, accounts)]);
    page(&mut w, &mut left, Kind::Account, 3);
    // Item 4 failed in an earlier run; sent back now, it is also still ahead of the cursor.
    w.requeue(Kind::Account, vec![item(4, None, -1, 0)]);
    page(&mut w, &mut left, Kind::Account, 3);
    let mut ids = Vec::new();
    while let Some(job) = w.next(Kind::Account, now) {
        ids.extend(job.ids());
        ok(&mut w, &job);
    }
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5]);
}
