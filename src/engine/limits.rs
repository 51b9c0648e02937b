//! Where retrying stops: a retryable error that does not clear for the same items (or one
//! group's messages) within `[import] max_retry_secs` fails them as *retryable* — listed by
//! `cutover errors`, sent again by `cutover retry` — so the run goes on to its end instead of
//! holding at 95 % for ever; and 10006 from import_group (the app's daily net-new group cap)
//! holds the group lane until the next day rather than asking again every few seconds.

use super::execute::Shared;
use super::job::{Job, JobKind};
use super::send::Answer;
use super::work::Work;
use crate::store::writer::{FailedItem, Op, Settled};
use crate::store::Kind;
use crate::tim::client::CallError;
use crate::tim::errors::{is_daily_group_cap, DAILY_GROUP_CAP};
use crate::tim::lane::Lane;
use crate::tim::paced::until_next_day;
use std::time::{Duration, Instant};

/// Why items fail when their retries ran out.
fn why(max_retry: Duration) -> String {
    format!("still failing after {} s of retries", max_retry.as_secs())
}

/// `job`'s items, failed as retryable after `why` with the last error.
fn failed_items(job: &Job, code: Option<i64>, why: &str, last: &str) -> Vec<FailedItem> {
    job.items
        .iter()
        .map(|i| FailedItem {
            id: i.id,
            api: job.kind.api().command(),
            code,
            info: format!("{why} (last: {last})"),
            retryable: true,
        })
        .collect()
}

/// An answer named some of an import job's items "refused for now" (a retryable per-item
/// code): when they have kept failing for `max_retry`, they fail as retryable instead of
/// going again (and, for group messages, the rest of the group with them: returned, to be
/// recorded). Otherwise `job` carries the time they started failing into its retry.
pub fn answered(
    work: &mut Work,
    job: &mut Job,
    answer: &mut Answer,
    now: Instant,
    max_retry: Duration,
) -> Vec<FailedItem> {
    if job.what != JobKind::Import || answer.again.is_empty() {
        return Vec::new();
    }
    let last = "a retryable code for the item";
    let since = work.failing_since(job, now, None, last);
    job.failing_since = Some(since);
    if now.duration_since(since) < max_retry {
        return Vec::new();
    }
    let why = why(max_retry);
    let again = std::mem::take(&mut answer.again);
    answer.failed.extend(
        failed_items(job, None, &why, last)
            .into_iter()
            .filter(|f| again.contains(&f.id)),
    );
    match (job.kind, job.group) {
        (Kind::GroupMessage, Some(id)) => work.give_up_messages(id, &why),
        _ => Vec::new(),
    }
}

/// A read-back of group `id` settled its unresolved batch: when the group's messages have kept
/// failing for `max_retry` and nothing of the batch was in, what is left of the group fails as
/// retryable (returned, to be recorded).
pub fn after_read_back(
    work: &mut Work,
    id: i64,
    now: Instant,
    max_retry: Duration,
) -> Vec<FailedItem> {
    match work.group_failing_since(id) {
        Some(since) if now.duration_since(since) >= max_retry => {
            work.give_up_messages(id, &why(max_retry))
        }
        _ => Vec::new(),
    }
}

/// An import job's request failed with a retryable `error` at `now`: the job to retry, carrying
/// since when its items have kept failing; or `None` when that has lasted `[import]
/// max_retry_secs` and they failed as retryable ([`give_up`]). An outcome that may have been
/// applied (`read_back_first`) is read back before anything is given up: the read-back decides
/// ([`after_read_back`]).
pub async fn keep_trying(
    shared: &Shared,
    job: &Job,
    journal: Option<i64>,
    error: &CallError,
    now: Instant,
    read_back_first: bool,
) -> Option<Job> {
    let mut job = job.clone();
    if job.what != JobKind::Import {
        return Some(job);
    }
    let info = error.to_string();
    let since = shared.work().failing_since(&job, now, error.code(), &info);
    job.failing_since = Some(since);
    if !read_back_first && now.duration_since(since) >= shared.max_retry {
        give_up(shared, &job, journal, error.code(), &info).await;
        return None;
    }
    Some(job)
}

/// An import job's request kept failing with a retryable error for `[import] max_retry_secs`:
/// its items (and for group messages, the rest of the group) fail as retryable.
pub async fn give_up(
    shared: &Shared,
    job: &Job,
    journal: Option<i64>,
    code: Option<i64>,
    last: &str,
) {
    let why = why(shared.max_retry);
    tracing::warn!(api = job.kind.api().command(), items = job.items.len(), error = %last, "{why}: failed as retryable");
    let mut failed = failed_items(job, code, &why, last);
    let decided = {
        let mut work = shared.work();
        let rest = match (job.kind, job.group) {
            (Kind::GroupMessage, Some(id)) => work.give_up_messages(id, &why),
            _ => Vec::new(),
        };
        work.settle(job, &[], &failed, None);
        failed.extend(rest);
        work.take_decided()
    };
    shared
        .record_settled(Settled {
            request: journal,
            kind: Some(job.kind),
            failed,
            ..Settled::default()
        })
        .await;
    for settled in decided {
        shared.record_settled(settled).await;
    }
}

/// True when `error` is 10006 from import_group (or create_group), the app's daily net-new
/// group cap: then the lane backs off (code 10006, shown on the status line) until the next
/// day and the job waits for then; a run restarted after the cap is raised goes on at once.
/// The reason is logged and audited.
pub async fn held_for_the_day(
    shared: &Shared,
    lane: &Lane,
    job: &Job,
    journal: Option<i64>,
    error: &CallError,
) -> bool {
    let capped = error
        .code()
        .is_some_and(|c| is_daily_group_cap(error.api(), c));
    if job.what != JobKind::Import || !capped {
        return false;
    }
    let wait = until_next_day(crate::timefmt::now_secs());
    lane.back_off(wait, error.code());
    tracing::warn!(api = %error.api(), wait_secs = wait.as_secs(), "{DAILY_GROUP_CAP}");
    shared
        .record(Op::Audit {
            actor: "engine".into(),
            action: "hold".into(),
            detail: error.api().command().into(),
            reason: DAILY_GROUP_CAP.into(),
        })
        .await;
    shared
        .work()
        .settle(job, &[], &[], Some(Instant::now() + wait));
    shared
        .record_settled(Settled {
            request: journal,
            kind: Some(job.kind),
            retry: job.ids(),
            ..Settled::default()
        })
        .await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::work::{batch_limit, GroupsAtStart};
    use crate::store::queries::PendingItem;
    use std::collections::HashMap;

    fn item(id: i64, parent: Option<i64>, t: i64) -> PendingItem {
        PendingItem::for_test(id, parent, -1, t)
    }

    /// Group 7, already imported, with 20 messages and 2 members.
    fn one_group() -> Work {
        let msgs = (0..20).map(|i| item(i, Some(7), i)).collect();
        let members = (0..2).map(|i| item(i, Some(7), 0)).collect();
        let pending = HashMap::from([(Kind::GroupMessage, msgs), (Kind::GroupMember, members)]);
        let batches = Kind::ALL
            .into_iter()
            .map(|k| (k, batch_limit(k, None)))
            .collect();
        let groups = GroupsAtStart {
            done: vec![7],
            not_imported: Vec::new(),
        };
        Work::new(pending, groups, batches)
    }

    #[test]
    fn a_group_that_keeps_failing_gives_up_its_messages_as_retryable() {
        let (t0, limit) = (Instant::now(), Duration::from_secs(600));
        let mut work = one_group();
        let job = work.next(Kind::GroupMessage, t0).unwrap();
        assert_eq!(work.failing_since(&job, t0, Some(10002), "busy"), t0);
        // The outcome was unknown: the read-back found nothing of the batch, within the limit.
        work.unknown_outcome(&job, Some(1));
        let read = work.next(Kind::GroupMessage, t0).unwrap();
        assert_eq!(read.what, JobKind::ReadBack);
        work.resolved(&read, &[], &[]);
        assert!(after_read_back(&mut work, 7, t0 + limit / 2, limit).is_empty());
        // The next send fails too, with the group's clock still running from t0.
        let again = work.next(Kind::GroupMessage, t0).unwrap();
        let later = t0 + limit;
        assert_eq!(work.failing_since(&again, later, Some(10002), "busy"), t0);
        work.unknown_outcome(&again, Some(2));
        let read = work.next(Kind::GroupMessage, later).unwrap();
        work.resolved(&read, &[], &[]);
        let failed = after_read_back(&mut work, 7, later, limit);
        assert_eq!(failed.len(), 20);
        assert!(failed
            .iter()
            .all(|f| f.retryable && f.code == Some(10002) && f.info.contains("still failing")));
        assert_eq!(work.remaining(Kind::GroupMessage), 0);
        // The group's members still go.
        assert!(work.next(Kind::GroupMember, later).is_some());
    }

    #[test]
    fn a_message_that_goes_in_ends_the_groups_streak() {
        let t0 = Instant::now();
        let mut work = one_group();
        let job = work.next(Kind::GroupMessage, t0).unwrap();
        work.failing_since(&job, t0, Some(10002), "busy");
        assert_eq!(work.group_failing_since(7), Some(t0));
        work.settle(&job, &job.ids(), &[], None);
        assert_eq!(work.group_failing_since(7), None);
    }

    #[test]
    fn items_that_keep_answering_a_retryable_code_fail_as_retryable() {
        let (t0, limit) = (Instant::now(), Duration::from_secs(10));
        let mut work = one_group();
        let mut job = work.next(Kind::GroupMessage, t0).unwrap();
        let mut answer = Answer {
            done: vec![0],
            again: job.ids()[1..].to_vec(),
            ..Answer::default()
        };
        // Within the limit: they go again, carrying when they started failing.
        assert!(answered(&mut work, &mut job, &mut answer, t0, limit).is_empty());
        assert_eq!((job.failing_since, answer.again.len()), (Some(t0), 6));
        let mut answer = Answer {
            again: job.ids()[1..].to_vec(),
            ..Answer::default()
        };
        let rest = answered(&mut work, &mut job, &mut answer, t0 + limit, limit);
        assert!(answer.again.is_empty());
        assert_eq!(answer.failed.len(), 6);
        assert!(answer.failed.iter().all(|f| f.retryable));
        assert_eq!(rest.len(), 13, "the rest of the group goes with them");
    }
}
