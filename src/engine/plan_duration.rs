//! `cutover plan`: the window's whole expected duration, part by part, against
//! `[window] ends_at` — staging the delta, its import at T_limit, the window's verification at
//! the documented read limits, and the hooks — so that a window that cannot fit is known before
//! anything is stopped.
//!
//! Each part says how it was estimated: staging at the rate this store measured (the records
//! of the export its preflight staged, over that step's time) or at a documented default; the
//! hooks at the time this store measured when they last ran (a rehearsal) or at their
//! configured timeouts, an upper bound.

use super::plan_window::Fit;
use crate::config::Runbook;
use crate::model::step::{Step, StepState};
use crate::store::staged::{exports, StagedExport};
use crate::store::steps::{self, StoredStep};
use crate::store::window_counts::{newest_delta, split_counts};
use crate::store::Kind;
use crate::tim::api::Api;
use rusqlite::Connection;
use serde::Serialize;

/// Records staged per second when the store has not measured its own: below every staging
/// rate docs/performance.md measured (11,900 to 17,100 records/s, 3 M to 30 M items, on the
/// 2-core machine), so the estimate errs long.
pub const DEFAULT_STAGING_RATE: f64 = 10_000.0;

/// One part of the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// `staging`, `stop_service`, `media`, `import`, `verification`, `resume_service`.
    pub name: &'static str,
    /// Its expected time, seconds.
    pub secs: f64,
    /// How it was estimated, for a person.
    pub basis: String,
}

/// The window's whole expected duration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowDuration {
    /// Each part, in the order they run (hooks around the import and verification).
    pub parts: Vec<Part>,
    /// Their sum, seconds.
    pub total_secs: f64,
    /// The whole window started now against `[window] ends_at`, when the runbook sets it.
    pub fit: Option<Fit>,
}

/// The expected duration of a window run of the store behind `conn` with the runbook `rb`,
/// whose import takes `import_secs` (its T_limit), started at `now`.
pub fn window_duration(
    conn: &Connection,
    rb: &Runbook,
    import_secs: f64,
    now: i64,
) -> rusqlite::Result<WindowDuration> {
    let delta = newest_delta(conn)?;
    let stored = steps::all(conn)?;
    let staged = exports(conn)?;
    let mut parts = vec![
        staging(&staged, &stored, delta),
        hook(rb, &stored, Step::StopService),
    ];
    parts.extend(media(conn, rb)?);
    parts.extend([
        Part {
            name: "import",
            secs: import_secs,
            basis: "the pending items at T_limit (the rate limits alone)".into(),
        },
        verification(conn, rb, delta)?,
        hook(rb, &stored, Step::ResumeService),
    ]);
    let total_secs = parts.iter().map(|p| p.secs).sum();
    Ok(WindowDuration {
        fit: rb.window_end.map(|ends| Fit::of(total_secs, now, ends)),
        parts,
        total_secs,
    })
}

/// The media stage: the objects still pending on the rehosted hosts, each host at `[media]
/// per_host_rate` (hosts side by side, so the busiest bounds it); none when nothing is
/// rehosted or pending. The bytes are not counted: at the default rate a host's requests, not
/// its bandwidth, bound small objects (docs/performance.md#media).
fn media(conn: &Connection, rb: &Runbook) -> rusqlite::Result<Option<Part>> {
    use crate::config::media::MediaAction;
    let pending: Vec<(String, u64)> = crate::store::media::hosts(conn)?
        .into_iter()
        .filter(|h| h.pending > 0 && rb.media.rule_for(&h.host).action == MediaAction::Rehost)
        .map(|h| (h.host, h.pending))
        .collect();
    let Some((host, most)) = pending.iter().max_by_key(|(_, n)| *n) else {
        return Ok(None);
    };
    let rate = f64::from(rb.media.per_host_rate);
    let objects: u64 = pending.iter().map(|(_, n)| n).sum();
    Ok(Some(Part {
        name: "media",
        secs: *most as f64 / rate,
        basis: format!(
            "{objects} media objects to copy on {} host(s), the busiest ({host}: {most}) at \
             [media] per_host_rate {rate}/s; their bytes not counted",
            pending.len()
        ),
    }))
}

fn records(e: &StagedExport) -> u64 {
    e.files.iter().map(|f| f.records).sum()
}

/// Staging the delta (or, without one, every export staged): its records at the measured or
/// the default rate.
fn staging(staged: &[StagedExport], stored: &[StoredStep], delta: Option<i64>) -> Part {
    let n: u64 = staged
        .iter()
        .filter(|e| delta.is_none_or(|d| e.id >= d))
        .map(records)
        .sum();
    let what = if delta.is_some() {
        "the delta"
    } else {
        "everything staged"
    };
    let (rate, how) = match measured_rate(staged, stored) {
        Some((rate, id, m, secs)) => (
            rate,
            format!("the rate this store measured staging export {id} ({m} records in {secs} s)"),
        ),
        None => (
            DEFAULT_STAGING_RATE,
            "the documented default (this store has measured none: docs/performance.md)"
                .to_string(),
        ),
    };
    Part {
        name: "staging",
        secs: n as f64 / rate,
        basis: format!("{n} records ({what}) at {rate:.0} records/s, {how}"),
    }
}

/// The rate of the export the last done preflight staged: its records over the step's time
/// (at least 1 s; the store keeps whole seconds, so a quick staging reads slower, never
/// faster, than it was).
fn measured_rate(staged: &[StagedExport], stored: &[StoredStep]) -> Option<(f64, i64, u64, i64)> {
    let pre = stored
        .iter()
        .find(|s| s.step == Step::Preflight && matches!(s.state, StepState::Done { .. }))?;
    let (start, end) = (pre.started_at?, pre.ended_at?);
    let e = staged
        .iter()
        .rev()
        .find(|e| (start..=end).contains(&e.staged_at))?;
    let n = records(e);
    let secs = (end - start).max(1);
    (n > 0).then(|| (n as f64 / secs as f64, e.id, n, secs))
}

/// A hook: its time when this store last ran it to the end, else its timeout.
fn hook(rb: &Runbook, stored: &[StoredStep], step: Step) -> Part {
    let name = match step {
        Step::StopService => "stop_service",
        _ => "resume_service",
    };
    let config = match step {
        Step::StopService => rb.stop_service.as_ref(),
        _ => rb.resume_service.as_ref(),
    };
    let Some(config) = config else {
        return Part {
            name,
            secs: 0.0,
            basis: "no hook configured".into(),
        };
    };
    let ran = stored.iter().find(|s| {
        s.step == step
            && matches!(s.state, StepState::Done { ref note } if !note.starts_with("done in an earlier"))
    });
    match ran.and_then(|s| Some(s.ended_at? - s.started_at?)) {
        Some(secs) => Part {
            name,
            secs: secs as f64,
            basis: "its time when this store last ran it".into(),
        },
        None => Part {
            name,
            secs: config.timeout.as_secs_f64(),
            basis: "its configured timeout (an upper bound; never run on this store)".into(),
        },
    }
}

/// Each kind's read-back API and whether it reads one scope (owner, conversation, group) at
/// a time; the calls carry the API's documented batch.
const READS: [(Kind, Api, bool); 7] = [
    (Kind::Account, Api::AccountCheck, false),
    (Kind::Profile, Api::PortraitGet, false),
    (Kind::Friend, Api::FriendCheck, true),
    (Kind::C2cMessage, Api::AdminGetRoamMsg, true),
    (Kind::Group, Api::GetGroupInfo, false),
    (Kind::GroupMember, Api::GetGroupMemberInfo, true),
    (Kind::GroupMessage, Api::GroupMsgGetSimple, true),
];

/// The kinds whose pre-copy share is sampled by scope (a group's members, a conversation).
const SAMPLED_BY_SCOPE: [Kind; 3] = [Kind::GroupMember, Kind::GroupMessage, Kind::C2cMessage];

/// The window's verification: the delta whole and `[verify] precopy_sample` of the pre-copy
/// (without a delta: everything, the scoped kinds at `[verify] sample`), each kind's calls at
/// its read API's limit; the kinds read at once, so the slowest bounds it.
fn verification(conn: &Connection, rb: &Runbook, delta: Option<i64>) -> rusqlite::Result<Part> {
    let mut slowest: Option<(f64, &'static str, u64)> = None;
    let mut all_calls = 0;
    for (kind, api, scoped) in READS {
        let batch = api.default_batch().unwrap_or(1).max(1) as u64;
        let calls_of = |counts: &[u64]| -> u64 { counts.iter().map(|n| n.div_ceil(batch)).sum() };
        let (whole, older) = split_counts(conn, kind, delta.unwrap_or(0), scoped)?;
        let mut calls = calls_of(&whole);
        if delta.is_none() && SAMPLED_BY_SCOPE.contains(&kind) {
            calls = (calls as f64 * rb.verify.sample).ceil() as u64;
        }
        let share = rb.verify_precopy_sample;
        let items: u64 = older.iter().sum();
        calls += if SAMPLED_BY_SCOPE.contains(&kind) {
            (calls_of(&older) as f64 * share).ceil() as u64
        } else if scoped {
            // Sampled entries fall in different owners, each read on its own.
            ((items as f64 * share).ceil() as u64).min(older.len() as u64)
        } else {
            (items as f64 * share / batch as f64).ceil() as u64
        };
        let rate = rb
            .rates
            .get(&api)
            .copied()
            .unwrap_or(api.default_rate())
            .max(1);
        let secs = calls as f64 / f64::from(rate);
        all_calls += calls;
        if slowest.is_none_or(|(s, _, _)| secs > s) {
            slowest = Some((secs, api.command(), calls));
        }
    }
    let (secs, api, calls) = slowest.unwrap_or((0.0, "", 0));
    let scope = if delta.is_some() {
        format!(
            "the delta whole and {:.0} % of the pre-copy",
            rb.verify_precopy_sample * 100.0
        )
    } else {
        "everything staged".to_string()
    };
    Ok(Part {
        name: "verification",
        secs,
        basis: format!(
            "{scope}: {all_calls} read calls at the documented limits, the kinds at once; the longest {api}, {calls} calls (deletions' read-backs not counted)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::staged::StagedFile;

    fn export(id: i64, staged_at: i64, records: u64) -> StagedExport {
        StagedExport {
            id,
            root: "x".into(),
            exported_at: 0,
            staged_at,
            watermark: None,
            delta_of: None,
            history_since: None,
            files: vec![StagedFile {
                kind: 0,
                name: "accounts.jsonl".into(),
                records,
                invalid: 0,
            }],
        }
    }

    fn step(step: Step, state: StepState, times: (i64, i64)) -> StoredStep {
        StoredStep {
            step,
            state,
            started_at: Some(times.0),
            ended_at: Some(times.1),
        }
    }

    fn done(note: &str) -> StepState {
        StepState::Done { note: note.into() }
    }

    #[test]
    fn staging_is_timed_at_the_rate_the_preflight_measured() {
        let staged = [export(1, 1_000, 300_000), export(2, 5_000, 20_000)];
        let stored = [step(Step::Preflight, done("staged"), (990, 1_020))];
        // Export 1 was staged by that preflight: 300,000 records in 30 s.
        assert_eq!(
            measured_rate(&staged, &stored),
            Some((10_000.0, 1, 300_000, 30))
        );
        let part = staging(&staged, &stored, Some(2));
        assert_eq!(part.secs, 2.0, "{part:?}");
        assert!(part.basis.contains("measured staging export 1"), "{part:?}");
        // A preflight still running measures nothing: the default.
        let running = [step(
            Step::Preflight,
            StepState::Running {
                what: String::new(),
            },
            (990, 1_020),
        )];
        assert_eq!(measured_rate(&staged, &running), None);
        let part = staging(&staged, &running, Some(2));
        assert_eq!(part.secs, 20_000.0 / DEFAULT_STAGING_RATE);
        // A staging quicker than the store's second reads as one second.
        let quick = [step(Step::Preflight, done("staged"), (1_000, 1_000))];
        assert_eq!(measured_rate(&staged, &quick).map(|m| m.3), Some(1));
    }

    fn runbook(text: &str) -> Runbook {
        let file = crate::config::parse_file(text, "t").unwrap();
        let flags = crate::config::Flags {
            source: Some(".".into()),
            store: Some(".".into()),
            target_url: Some("http://127.0.0.1:1".into()),
            sdkappid: Some(1),
            admin: Some("a".into()),
        };
        let key = crate::tim::SecretKey::new("k".to_string());
        crate::config::resolve(&file, &flags, Some(key)).unwrap()
    }

    #[test]
    fn media_to_copy_is_timed_at_the_busiest_hosts_rate() {
        use crate::model::media::{MediaElem, MediaRef};
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
        let url = |host: &str, i: u32| format!("https://{host}/{i}.png");
        for (host, n) in [("a.example", 40), ("b.example", 10), ("kept.example", 500)] {
            for i in 0..n {
                let u = url(host, i);
                let r = [MediaRef {
                    elem: MediaElem::Image,
                    url: &u,
                    size_hint: None,
                }];
                crate::store::media::record_refs(&conn, 1, Kind::C2cMessage, 1, &r).unwrap();
            }
        }
        let rb = runbook(
            "[media]\nper_host_rate = 20\n[media.bucket]\nendpoint = \"http://s3\"\n\
             region = \"r\"\nbucket = \"b\"\npublic_base = \"http://p\"\n\
             [[media.host]]\npattern = \"*.example\"\naction = \"rehost\"\n\
             [[media.host]]\npattern = \"kept.example\"\n",
        );
        // kept.example matches the first rule too: rules go in order, first match wins.
        let part = media(&conn, &rb).unwrap().unwrap();
        assert_eq!(part.secs, 25.0, "kept.example's 500 at 20/s: {part:?}");
        let rb = runbook(
            "[media]\nper_host_rate = 20\n[media.bucket]\nendpoint = \"http://s3\"\n\
             region = \"r\"\nbucket = \"b\"\npublic_base = \"http://p\"\n\
             [[media.host]]\npattern = \"kept.example\"\n\
             [[media.host]]\npattern = \"*.example\"\naction = \"rehost\"\n",
        );
        let part = media(&conn, &rb).unwrap().unwrap();
        assert_eq!(part.secs, 2.0, "a.example's 40 at 20/s: {part:?}");
        assert!(part.basis.contains("50 media objects"), "{part:?}");
        assert_eq!(
            media(&conn, &runbook("")).unwrap(),
            None,
            "nothing rehosted"
        );
    }

    #[test]
    fn a_hook_counts_its_measured_time_or_its_timeout() {
        let rb = runbook("[hooks.stop_service]\ncommand = \"true\"\ntimeout_secs = 120\n");
        assert_eq!(hook(&rb, &[], Step::StopService).secs, 120.0);
        let ran = [step(Step::StopService, done("stopped"), (100, 107))];
        let part = hook(&rb, &ran, Step::StopService);
        assert_eq!(part.secs, 7.0);
        assert!(part.basis.contains("last ran it"), "{part:?}");
        let skipped = hook(&rb, &ran, Step::ResumeService);
        assert_eq!(
            (skipped.secs, skipped.basis.as_str()),
            (0.0, "no hook configured")
        );
    }
}
