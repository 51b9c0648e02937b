//! One run of `cutover-bench sync` (the simulator, the scene, the relay, the load, the loss
//! check), and with `--faults` a second run under faults compared with the clean one: one
//! poison group whose every send is refused as retryable, 1 % HTTP 502 from the target on
//! every other request, and the old system's webhook down for 30 s in the middle.

use super::{
    group, measure, missing_in_sim, print, setup, start_relay, webhook, SyncBench, ACCOUNTS, KEY,
    LISTED, MEMBERS, RELAY_ADMIN, SDKAPPID, SETUP_ADMIN,
};
use cutover::model::sync_event::{Direction, EventKind, SyncEvent};
use cutover::sim::config::{Faults, SimConfig};
use cutover::sim::{start, SimOptions};
use cutover::store::open_for_reading;
use cutover::store::sync::percentile;
use cutover::store::sync_queue::{applied_lags_outside, scope_waiting};
use cutover::tim::SecretKey;
use serde_json::json;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages per second to the poison group in the faulted run.
pub(super) const POISON_PER_SEC: u32 = 10;
/// How long the webhook is down in the faulted run (at most half the run).
const OUTAGE: Duration = Duration::from_secs(30);
/// The share of other requests the target answers HTTP 502 in the faulted run.
const ERROR_RATE: f64 = 0.01;

/// What a run adds to the clean load.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scenario {
    /// The poison group's index (after the load's groups).
    pub(super) poison: Option<usize>,
    /// When the webhook goes down after the load starts, and for how long.
    pub(super) outage: Option<(Duration, Duration)>,
}

/// Old → new message `n` to the poison group `g`.
pub(super) fn poison_event(n: u64, at: i64, g: usize) -> SyncEvent {
    SyncEvent {
        event_id: format!("bench-poison-{n}"),
        kind: EventKind::GroupMessage,
        at,
        record: json!({"id": format!("bench-pm{n}"), "group": group(g),
            "from": super::member(g, 0), "sent_at": at,
            "body": [{"type": "text", "text": format!("poison message {n}")}]}),
    }
}

/// What one run found.
struct Found {
    /// Acknowledged events lost, per direction (the poison group's excluded: they are kept).
    missing: [Vec<String>; 2],
    /// Lag p50 and p99 (ms) of the applied events outside the poison scope, per direction.
    lags: [(Option<i64>, Option<i64>); 2],
    /// Poison-scope events pending and held.
    poisoned: (u64, u64),
}

impl Found {
    fn check(&self) -> anyhow::Result<()> {
        let lost = self.missing[0].len() + self.missing[1].len();
        if lost > 0 {
            let (o, n) = (self.missing[0].len(), self.missing[1].len());
            let first: Vec<&String> = self.missing.iter().flatten().take(LISTED).collect();
            anyhow::bail!(
                "{lost} acknowledged events lost (old → new {o}, new → old {n}), e.g. {first:?}"
            );
        }
        Ok(())
    }
}

/// `cutover-bench sync [--faults]`.
pub(super) async fn drive(b: &SyncBench, out: &mut dyn Write) -> anyhow::Result<()> {
    let clean = run_once(b, Scenario::default(), out).await?;
    clean.check()?;
    if !b.faults {
        return Ok(());
    }
    let groups = groups_for(b);
    let len = OUTAGE.min(Duration::from_secs_f64(b.seconds / 2.0));
    let at = Duration::from_secs_f64((b.seconds - len.as_secs_f64()).max(0.0) / 2.0);
    let scen = Scenario {
        poison: Some(groups),
        outage: Some((at, len)),
    };
    writeln!(out, "\nbench sync --faults: the same load, plus {POISON_PER_SEC} msgs/s to the poison group {} (every send refused 10002, retryable), HTTP 502 on {:.0} % of every other request to the target, the webhook answering 503 from {:.0} s to {:.0} s",
        group(groups), ERROR_RATE * 100.0, at.as_secs_f64(), (at + len).as_secs_f64())?;
    let faulted = run_once(b, scen, out).await?;
    let lost = faulted.missing[0].len() + faulted.missing[1].len();
    writeln!(
        out,
        "\nfaults vs clean: lost {lost} (must be 0); poison scope holds {} pending + {} held",
        faulted.poisoned.0, faulted.poisoned.1
    )?;
    writeln!(
        out,
        "lag of every other scope  clean p50/p99 ms  faults p50/p99 ms  p99 × clean"
    )?;
    for (i, label) in ["old → new", "new → old"].into_iter().enumerate() {
        let (c, f) = (clean.lags[i], faulted.lags[i]);
        let ratio = match (c.1, f.1) {
            (Some(c), Some(f)) if c > 0 => format!("{:.1}", f as f64 / c as f64),
            _ => "-".into(),
        };
        writeln!(
            out,
            "{label:<25} {:>16} {:>18} {ratio:>12}",
            format!("{}/{}", super::num(c.0), super::num(c.1)),
            format!("{}/{}", super::num(f.0), super::num(f.1)),
        )?;
    }
    faulted.check()
}

/// The load's groups: each gets at most a tenth of the simulator's per-group message limit.
fn groups_for(b: &SyncBench) -> usize {
    let per_group = SimConfig::default().app.group_msgs_per_sec;
    let share = (per_group / super::GROUP_SHARE).max(1);
    usize::try_from(b.group_per_sec.div_ceil(share))
        .unwrap_or(1)
        .max(1)
}

/// The simulator's settings for `scen`.
fn sim_config(scen: Scenario) -> SimConfig {
    let mut config = SimConfig::default();
    if let Some(g) = scen.poison {
        let some = Faults {
            seed: 17,
            error_rate: ERROR_RATE,
            error_codes: vec![502],
            ..Faults::default()
        };
        let poison = Faults {
            error_rate: 1.0,
            error_codes: vec![10002],
            group_ids: vec![group(g)],
            ..Faults::default()
        };
        config.faults.insert("all".into(), some);
        config.faults.insert("send_group_msg".into(), poison);
    }
    config
}

/// One run: the simulator, the scene, the relay, the load, the figures printed.
async fn run_once(b: &SyncBench, scen: Scenario, out: &mut dyn Write) -> anyhow::Result<Found> {
    let config = sim_config(scen);
    let per_group = config.app.group_msgs_per_sec;
    let groups = groups_for(b);
    let share = (per_group / super::GROUP_SHARE).max(1);
    writeln!(out, "bench sync: {} s; old → new {} c2c/s + {} group/s (one ingest POST per 100 ms), new → old {} callbacks/s (half C2C, half group); {ACCOUNTS} accounts, {groups} groups of {MEMBERS} (≤ {share} msgs/s each, the simulator allows {per_group}); simulator at its default limits",
        b.seconds, b.c2c_per_sec, b.group_per_sec, b.callbacks_per_sec)?;
    let handle = start(SimOptions {
        listen: "127.0.0.1:0".parse()?,
        sdkappid: SDKAPPID,
        admins: vec![SETUP_ADMIN.into(), RELAY_ADMIN.into()],
        key: SecretKey::new(KEY),
        config,
    })
    .await?;
    let started = Instant::now();
    setup(&handle, groups + usize::from(scen.poison.is_some())).await?;
    let down = Arc::new(AtomicBool::new(false));
    let (hook, received) = webhook(Arc::clone(&down)).await?;
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("bench.db");
    let (relay, every) = start_relay(&handle, &hook, &store).await?;
    writeln!(out, "setup (not measured): {ACCOUNTS} accounts and {groups} groups in {:.1} s; relay: c2c_mode importmsg, reconciliation every {every} s, webhook sink",
        started.elapsed().as_secs_f64())?;
    out.flush()?;
    if let Some((at, len)) = scen.outage {
        let down = Arc::clone(&down);
        tokio::spawn(async move {
            tokio::time::sleep(at).await;
            down.store(true, Ordering::Relaxed);
            tokio::time::sleep(len).await;
            down.store(false, Ordering::Relaxed);
        });
    }
    let run = measure(b, relay, &store, groups, &scen).await?;
    // Loss: acknowledged, yet not in the simulator (old → new) or not at the webhook (new → old).
    let received = received.lock().map(|r| r.clone()).unwrap_or_default();
    let kept: Vec<SyncEvent> = run
        .old
        .events
        .iter()
        .filter(|e| !e.event_id.starts_with("bench-poison-"))
        .cloned()
        .collect();
    let mut missing = [
        missing_in_sim(&handle, &kept),
        run.new
            .ids
            .iter()
            .filter(|id| !received.contains_key(*id))
            .cloned()
            .collect(),
    ];
    missing.iter_mut().for_each(|m| m.sort());
    print::print_directions(out, &run, &missing)?;
    print::print_details(out, &run, &received, &handle)?;
    let scope = scen
        .poison
        .map_or_else(String::new, |g| format!("group:{}", group(g)));
    let conn = open_for_reading(&store)?;
    let lags = [Direction::OldToNew, Direction::NewToOld].map(|d| {
        let mut lags = applied_lags_outside(&conn, d, &scope).unwrap_or_default();
        lags.sort_unstable();
        (percentile(&lags, 0.5), percentile(&lags, 0.99))
    });
    let poisoned = scope_waiting(&conn, Direction::OldToNew, &scope)?;
    Ok(Found {
        missing,
        lags,
        poisoned,
    })
}
