//! One row per line of the outcome table in docs/tencent-wire.md, and the rules around it:
//! minimum waits, the daily cap, maybe-applied group messages, the protocol limit, giving up
//! after `max_retry`, and unreadable records.

use super::*;
use crate::store::queries::PendingItem;
use crate::tim::api::Api;

const MAX_RETRY: Duration = Duration::from_secs(600);
/// A Wednesday, 12:00 UTC (20:00 in Beijing: the next day starts in four hours).
const NOON_UTC: i64 = 1_767_787_200;

fn job(kind: Kind, task: Task, n: i64) -> Job {
    let items = (0..n)
        .map(|id| PendingItem::for_test(id, Some(9), -1, id))
        .collect();
    let mut job = Job::items(kind, Some(9), items);
    job.task = task;
    job
}

fn api_error(kind: Kind, code: i64) -> CallError {
    CallError::Api {
        api: kind.api(),
        code,
        info: "said so".into(),
    }
}

fn http(kind: Kind, status: u16) -> CallError {
    CallError::Http {
        api: kind.api(),
        status,
    }
}

/// A connection refused for a certificate this machine does not trust: nothing was sent.
fn untrusted(kind: Kind) -> CallError {
    CallError::Unreachable {
        api: kind.api(),
        host: "https://im.example".into(),
        why: crate::tim::unreachable::Unreachable::UntrustedCertificate,
        reason: "invalid peer certificate: UnknownIssuer".into(),
    }
}

fn policy() -> Policy {
    Policy {
        max_retry: MAX_RETRY,
        protocol_limit: 5,
    }
}

fn at(now: Instant) -> Clock {
    Clock {
        now,
        unix: NOON_UTC,
    }
}

/// What a row expects, in words: the next step, the journal, the budget, whether the lane
/// backs off, and how many items are done / failed (retryable) / stay pending.
#[derive(Debug, PartialEq)]
struct Expect {
    next: &'static str,
    journal: Journal,
    budget: &'static str,
    lane: bool,
    done: usize,
    failed: usize,
    retryable: usize,
    retry: usize,
    stop: bool,
    give_up_group: bool,
}

fn summary(d: &Decision) -> Expect {
    Expect {
        next: match d.next {
            Next::Settled => "settled",
            Next::RetryAt(_) => "retry",
            Next::HoldUntil(..) => "hold",
            Next::ReadBack => "read back",
            Next::ReadBackAt(_) => "read back later",
            Next::Stop => "stop",
        },
        journal: d.journal,
        budget: match d.budget {
            BudgetEffect::None => "none",
            BudgetEffect::Answered => "answered",
            BudgetEffect::Failed => "failed",
            BudgetEffect::Transient { .. } => "transient",
        },
        lane: d.lane_backoff.is_some(),
        done: d.done.len(),
        failed: d.failed.len(),
        retryable: d.failed.iter().filter(|f| f.retryable).count(),
        retry: d.retry.len(),
        stop: d.stop.is_some(),
        give_up_group: d.give_up_group.is_some(),
    }
}

#[allow(clippy::too_many_arguments)]
fn expect(
    next: &'static str,
    journal: Journal,
    budget: &'static str,
    lane: bool,
    (done, failed, retryable, retry): (usize, usize, usize, usize),
    stop: bool,
    give_up_group: bool,
) -> Expect {
    Expect {
        next,
        journal,
        budget,
        lane,
        done,
        failed,
        retryable,
        retry,
        stop,
        give_up_group,
    }
}

use Journal::{Close, KeepOpen};

/// A row: its name, the job, what the send returned, the streak, the clock, what follows.
type Row<'a> = (
    &'static str,
    &'a Job,
    Result<Answer, SendError>,
    Streak,
    Clock,
    Expect,
);

#[test]
fn every_line_of_the_outcome_table() {
    let t0 = Instant::now();
    let fresh = Streak::default();
    let long = Streak {
        since: Some(t0),
        protocol_errors: 0,
    };
    let later = at(t0 + MAX_RETRY);
    let answer = Answer {
        done: vec![0, 1],
        failed: vec![Reason::Refused {
            code: Some(90012),
            info: String::new(),
        }
        .item(2, Kind::C2cMessage)],
        again: vec![(3, 10002)],
        mark: None,
        seqs: Vec::new(),
    };
    let accounts = job(Kind::Account, Task::Import, 4);
    let messages = job(Kind::GroupMessage, Task::Import, 4);
    let read_back = job(Kind::GroupMessage, Task::ReadBack, 4);
    let groups = job(Kind::Group, Task::Import, 1);
    let call = |e: CallError| Err(SendError::Call(e));
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        // Not applied: a retryable refusal goes again after its wait (a rate limit backs the lane off).
        ("60007 rate limit", &accounts, call(api_error(Kind::Account, 60007)), fresh, at(t0),
            expect("retry", Close, "none", true, (0, 0, 0, 4), false, false)),
        ("70001 expired UserSig", &accounts, call(api_error(Kind::Account, 70001)), fresh, at(t0),
            expect("retry", Close, "none", false, (0, 0, 0, 4), false, false)),
        ("HTTP 429 from a proxy", &accounts, call(http(Kind::Account, 429)), fresh, at(t0),
            expect("retry", Close, "transient", false, (0, 0, 0, 4), false, false)),
        // Not applied: any other refusal goes to the error table; the setup's stop the run.
        ("90012 item refusal", &accounts, call(api_error(Kind::Account, 90012)), fresh, at(t0),
            expect("settled", Close, "answered", false, (0, 4, 0, 0), false, false)),
        ("HTTP 404", &accounts, call(http(Kind::Account, 404)), fresh, at(t0),
            expect("stop", Close, "none", false, (0, 0, 0, 4), true, false)),
        ("70009 fatal", &messages, call(api_error(Kind::GroupMessage, 70009)), fresh, at(t0),
            expect("stop", Close, "none", false, (0, 0, 0, 4), true, false)),
        // Maybe applied: kinds the target de-duplicates go again; group messages are read back.
        ("502 on accounts", &accounts, call(http(Kind::Account, 502)), fresh, at(t0),
            expect("retry", Close, "transient", false, (0, 0, 0, 4), false, false)),
        ("502 on group messages", &messages, call(http(Kind::GroupMessage, 502)), fresh, at(t0),
            expect("read back", KeepOpen, "transient", false, (0, 0, 0, 4), false, false)),
        ("10002 on group messages", &messages, call(api_error(Kind::GroupMessage, 10002)), fresh, at(t0),
            expect("read back", KeepOpen, "transient", false, (0, 0, 0, 4), false, false)),
        ("502 on group messages, retries long over", &messages, call(http(Kind::GroupMessage, 502)), long, later,
            expect("read back", KeepOpen, "transient", false, (0, 0, 0, 4), false, false)),
        ("HTTP 401 on group messages", &messages, call(http(Kind::GroupMessage, 401)), fresh, at(t0),
            expect("stop", Close, "none", false, (0, 0, 0, 4), true, false)),
        ("an untrusted certificate mid-import", &messages, call(untrusted(Kind::GroupMessage)), fresh, at(t0),
            expect("stop", Close, "none", false, (0, 0, 0, 4), true, false)),
        // Answered: item by item.
        ("an answer item by item", &accounts, Ok(answer.clone()), fresh, at(t0),
            expect("retry", Close, "answered", false, (2, 1, 0, 1), false, false)),
        ("retryable items whose retries ran out", &messages, Ok(answer.clone()), long, later,
            expect("settled", Close, "answered", false, (2, 2, 1, 0), false, true)),
        // Waits, caps and giving up.
        ("10006 import_group: hold for the day", &groups, call(api_error(Kind::Group, 10006)), fresh, at(t0),
            expect("hold", Close, "none", true, (0, 0, 0, 1), false, false)),
        ("10002 on accounts, retries ran out", &accounts, call(api_error(Kind::Account, 10002)), long, later,
            expect("settled", Close, "failed", false, (0, 4, 4, 0), false, false)),
        ("10004 on group messages: refused", &messages, call(api_error(Kind::GroupMessage, 10004)), fresh, at(t0),
            expect("settled", Close, "answered", false, (0, 4, 0, 0), false, false)),
        // Unreadable records fail, and count as failures, not as an answer.
        ("an unreadable record", &accounts, Err(SendError::Source("line 4: cut short".into())), fresh, at(t0),
            expect("settled", Close, "failed", false, (0, 4, 0, 0), false, false)),
        // Read-backs.
        ("a read-back that finds nothing, retries over", &read_back, Ok(Answer::default()), long, later,
            expect("settled", Close, "answered", false, (0, 0, 0, 0), false, true)),
        ("a read-back that finds some", &read_back, Ok(Answer { done: vec![0], ..Answer::default() }), long, later,
            expect("settled", Close, "answered", false, (1, 0, 0, 0), false, false)),
        ("a read-back that fails", &read_back, call(api_error(Kind::GroupMessage, 10002)), fresh, at(t0),
            expect("read back later", KeepOpen, "transient", false, (0, 0, 0, 0), false, false)),
        ("a read-back rate-limited", &read_back, call(api_error(Kind::GroupMessage, 10023)), fresh, at(t0),
            expect("read back later", KeepOpen, "none", true, (0, 0, 0, 0), false, false)),
        ("a read-back refused for good", &read_back, call(http(Kind::GroupMessage, 403)), fresh, at(t0),
            expect("stop", KeepOpen, "none", false, (0, 0, 0, 0), true, false)),
    ];
    for (name, job, result, streak, clock, want) in rows {
        let d = decide(job, result, &streak, clock, &policy());
        assert_eq!(summary(&d), want, "{name}");
    }
}

#[test]
fn the_tables_minimum_wait_holds_for_70050_whichever_way_it_comes() {
    let t0 = Instant::now();
    let job = job(Kind::Account, Task::Import, 2);
    let minute = |next: Next| match next {
        Next::RetryAt(at) | Next::ReadBackAt(at) => at >= t0 + Duration::from_secs(60),
        _ => false,
    };
    let whole = decide(
        &job,
        Err(SendError::Call(api_error(Kind::Account, 70050))),
        &Streak::default(),
        at(t0),
        &policy(),
    );
    assert!(minute(whole.next), "{:?}", whole.next);
    assert_eq!(
        whole
            .lane_backoff
            .map(|(w, _)| w >= Duration::from_secs(60)),
        Some(true)
    );
    // The same code for one item of an answered batch waits just as long.
    let per_item = Answer {
        done: vec![0],
        again: vec![(1, 70050)],
        ..Answer::default()
    };
    let item = decide(&job, Ok(per_item), &Streak::default(), at(t0), &policy());
    assert!(minute(item.next), "{:?}", item.next);
}

#[test]
fn the_daily_cap_holds_until_the_next_day_in_beijing() {
    let t0 = Instant::now();
    let d = decide(
        &job(Kind::Group, Task::Import, 1),
        Err(SendError::Call(api_error(Kind::Group, 10006))),
        &Streak::default(),
        at(t0),
        &policy(),
    );
    // 20:00 in Beijing: four hours and the minute's margin.
    let wait = Duration::from_secs(4 * 3600 + 60);
    assert_eq!(d.next, Next::HoldUntil(t0 + wait, DAILY_GROUP_CAP));
    assert_eq!(d.lane_backoff, Some((wait, Some(10006))));
    assert_eq!(d.note.map(|n| n.action), Some("hold"));
    // The same code from another group API is a plain rate limit.
    let other = decide(
        &job(Kind::GroupMember, Task::Import, 1),
        Err(SendError::Call(api_error(Kind::GroupMember, 10006))),
        &Streak::default(),
        at(t0),
        &policy(),
    );
    assert!(matches!(other.next, Next::RetryAt(at) if at < t0 + Duration::from_secs(60)));
}

#[test]
fn answers_that_are_not_tencents_turn_fatal_after_the_limit() {
    let t0 = Instant::now();
    let job = job(Kind::Account, Task::Import, 1);
    let protocol = || {
        Err(SendError::Call(CallError::Protocol {
            api: Api::GroupMsgGetSimple,
            reason: "{}".into(),
        }))
    };
    for before in 0..4 {
        let streak = Streak {
            since: None,
            protocol_errors: before,
        };
        let d = decide(&job, protocol(), &streak, at(t0), &policy());
        assert_eq!(
            (d.protocol, d.stop.is_some()),
            (ProtocolStreak::Counted, false)
        );
        assert!(matches!(d.next, Next::RetryAt(_)));
    }
    let fifth = Streak {
        since: None,
        protocol_errors: 4,
    };
    let d = decide(&job, protocol(), &fifth, at(t0), &policy());
    assert!(d
        .stop
        .is_some_and(|s| s.contains("does not speak Tencent IM")));
    // Any answer of Tencent's, even a refusal, starts the count again.
    let refused = decide(
        &job,
        Err(SendError::Call(api_error(Kind::Account, 90012))),
        &fifth,
        at(t0),
        &policy(),
    );
    assert_eq!(refused.protocol, ProtocolStreak::Reset);
}

#[test]
fn a_streak_carries_its_start_and_last_error() {
    let t0 = Instant::now();
    let job = job(Kind::GroupMessage, Task::Import, 2);
    let since = t0 - Duration::from_secs(30);
    let streak = Streak {
        since: Some(since),
        protocol_errors: 0,
    };
    let d = decide(
        &job,
        Err(SendError::Call(http(Kind::GroupMessage, 503))),
        &streak,
        at(t0),
        &policy(),
    );
    let failing = d.failing.expect("the streak goes on");
    assert_eq!((failing.since, failing.code), (since, None));
    assert!(failing.info.contains("HTTP status 503"));
}
