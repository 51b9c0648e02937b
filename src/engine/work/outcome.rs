//! The one place an outcome changes the work: [`Work::apply`] carries out a
//! [`Decision`](crate::engine::decide::Decision) about a job.

use super::Work;
use crate::engine::decide::{Decision, Next};
use crate::engine::job::{Job, Task};
use crate::store::writer::FailedItem;

impl Work {
    /// Carries out `decision` about `job` (journaled as `journal`): settles what it settled,
    /// queues what goes again (at its time, or after a read-back), keeps the failing streak,
    /// and gives up the rest of a group whose retries ran out. Returns the group's other
    /// messages that failed with it, to record.
    pub(crate) fn apply(
        &mut self,
        job: &Job,
        decision: &Decision,
        journal: Option<i64>,
    ) -> Vec<FailedItem> {
        // A job whose streak goes on carries its start into its retry: only it is copied.
        let carried;
        let job = match &decision.failing {
            Some(failing) => {
                let mut again = job.clone();
                self.keep_failing(&mut again, failing);
                carried = again;
                &carried
            }
            None => job,
        };
        let (done, failed) = (&decision.done, &decision.failed);
        let give_up = |work: &mut Work, job: &Job| match (decision.give_up_group, job.group()) {
            (Some(after), Some(id)) => work.give_up_messages(id, after),
            _ => Vec::new(),
        };
        match (decision.next, job.task) {
            (Next::Settled, Task::ReadBack) => {
                self.resolved(job, done, failed);
                give_up(self, job)
            }
            (Next::Settled, Task::Import) => {
                let rest = give_up(self, job);
                self.settle(job, done, failed, None);
                rest
            }
            (Next::RetryAt(at) | Next::HoldUntil(at, _), _) => {
                self.settle(job, done, failed, Some(at));
                Vec::new()
            }
            (Next::ReadBack, _) => {
                self.unknown_outcome(job, journal);
                Vec::new()
            }
            (Next::ReadBackAt(at), _) => {
                self.read_back_later(job, at);
                Vec::new()
            }
            (Next::Stop, _) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::decide::{decide, Clock, Decision, Policy, Streak};
    use crate::engine::job::{Job, Task};
    use crate::engine::send::{Answer, SendError};
    use crate::engine::work::{batch_limit, GroupsAtStart, Work};
    use crate::store::queries::PendingItem;
    use crate::store::Kind;
    use crate::tim::client::CallError;
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    const LIMIT: Duration = Duration::from_secs(600);

    /// Group 7, already imported, with 20 messages and 2 members.
    fn one_group() -> Work {
        let item = |id, t| PendingItem::for_test(id, Some(7), -1, t);
        let msgs = (0..20).map(|i| item(i, i)).collect();
        let members = (0..2).map(|i| item(i, 0)).collect();
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

    fn busy() -> Result<Answer, SendError> {
        Err(SendError::Call(CallError::Api {
            api: Kind::GroupMessage.api(),
            code: 10002,
            info: "busy".into(),
        }))
    }

    /// Decides `job`'s outcome at `now` from the work's own streak, and applies it.
    fn settle(
        work: &mut Work,
        job: &Job,
        result: Result<Answer, SendError>,
        now: Instant,
    ) -> Decision {
        let streak = Streak {
            since: work.streak(job),
            protocol_errors: 0,
        };
        let policy = Policy {
            max_retry: LIMIT,
            protocol_limit: 5,
        };
        let clock = Clock { now, unix: 0 };
        let mut d = decide(job, result, &streak, clock, &policy);
        let rest = work.apply(job, &d, Some(1));
        d.failed.extend(rest);
        d
    }

    #[test]
    fn a_group_that_keeps_failing_gives_up_its_messages_as_retryable() {
        let t0 = Instant::now();
        let mut work = one_group();
        let job = work.next(Kind::GroupMessage, t0).unwrap();
        // The outcome was unknown: the read-back found nothing of the batch, within the limit.
        settle(&mut work, &job, busy(), t0);
        assert_eq!(work.group_failing_since(7), Some(t0));
        let read = work.next(Kind::GroupMessage, t0).unwrap();
        assert_eq!(read.task, Task::ReadBack);
        let d = settle(&mut work, &read, Ok(Answer::default()), t0 + LIMIT / 2);
        assert!(d.failed.is_empty());
        // The next send fails too, with the group's clock still running from t0.
        let later = t0 + LIMIT;
        let again = work.next(Kind::GroupMessage, t0).unwrap();
        assert_eq!(again.task, Task::Import);
        settle(&mut work, &again, busy(), later);
        assert_eq!(work.group_failing_since(7), Some(t0));
        let read = work.next(Kind::GroupMessage, later).unwrap();
        let d = settle(&mut work, &read, Ok(Answer::default()), later);
        assert_eq!(d.failed.len(), 20);
        assert!(d
            .failed
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
        let again = job.ids().into_iter().map(|id| (id, 10002)).collect();
        let answer = Answer {
            again,
            ..Answer::default()
        };
        settle(&mut work, &job, Ok(answer), t0);
        assert_eq!(work.group_failing_since(7), Some(t0));
        let retry = work.next(Kind::GroupMessage, t0 + LIMIT / 2).unwrap();
        let answer = Answer {
            done: retry.ids(),
            ..Answer::default()
        };
        settle(&mut work, &retry, Ok(answer), t0 + LIMIT / 2);
        assert_eq!(work.group_failing_since(7), None);
    }

    #[test]
    fn items_that_keep_answering_a_retryable_code_fail_as_retryable() {
        let t0 = Instant::now();
        let mut work = one_group();
        let job = work.next(Kind::GroupMessage, t0).unwrap();
        let answer = Answer {
            again: job.ids().into_iter().map(|id| (id, 10002)).collect(),
            ..Answer::default()
        };
        // Within the limit: they go again, carrying when they started failing.
        let d = settle(&mut work, &job, Ok(answer), t0);
        assert_eq!((d.retry.len(), d.failed.len()), (7, 0));
        let retry = work.next(Kind::GroupMessage, t0 + LIMIT).unwrap();
        assert_eq!((retry.failing_since, retry.items.len()), (Some(t0), 7));
        let answer = Answer {
            again: retry.ids().into_iter().map(|id| (id, 10002)).collect(),
            ..Answer::default()
        };
        let d = settle(&mut work, &retry, Ok(answer), t0 + LIMIT);
        assert!(d.retry.is_empty());
        assert_eq!(
            d.failed.len(),
            7 + 13,
            "the rest of the group goes with them"
        );
        assert!(d.failed.iter().all(|f| f.retryable));
    }
}
