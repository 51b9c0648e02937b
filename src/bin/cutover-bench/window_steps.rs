//! What `cutover-bench window` reads off the window's run: each step's time from the run's
//! JSON lines, and when each deletion stage's calls were answered, seen by polling the
//! simulator's per-API counts every 20 ms (the stages go one after another, in apply order).

use cutover::sim::{Sim, SimHandle};
use cutover::store::Kind;
use cutover::tim::api::Api;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the simulator's counts are read.
const POLL: Duration = Duration::from_millis(20);

/// One step of the run.
#[derive(Debug, Default)]
pub(crate) struct StepTime {
    /// From its first `running` to its last end.
    pub(crate) secs: f64,
    /// The reason it ended with.
    pub(crate) reason: String,
}

/// Each step's time and last reason, by step name, from the `step` events of `lines`.
pub(crate) fn step_times(lines: &str) -> BTreeMap<String, StepTime> {
    let mut started: BTreeMap<String, f64> = BTreeMap::new();
    let mut out: BTreeMap<String, StepTime> = BTreeMap::new();
    for line in lines.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["event"] != "step" {
            continue;
        }
        let name = event["step"].as_str().unwrap_or_default().to_string();
        let at = event["elapsed"].as_f64().unwrap_or(0.0);
        match event["state"].as_str().unwrap_or_default() {
            "running" => {
                started.entry(name).or_insert(at);
            }
            "waiting" | "needs confirmation" => {}
            _ => {
                let from = started.get(&name).copied().unwrap_or(at);
                let reason = event["reason"].as_str().unwrap_or_default().to_string();
                let secs = at - from;
                out.insert(name, StepTime { secs, reason });
            }
        }
    }
    out
}

/// When the poller saw each deletion API's count change: the first and the last time.
#[derive(Debug, Default)]
pub(crate) struct DeletionTimes {
    seen: BTreeMap<Api, (Instant, Instant)>,
}

impl DeletionTimes {
    /// Seconds after `t0` of the first and the last deletion answer seen, of any API.
    pub(crate) fn span(&self, t0: Instant) -> Option<(f64, f64)> {
        let first = self.seen.values().map(|s| s.0).min()?;
        let last = self.seen.values().map(|s| s.1).max()?;
        Some((secs_after(t0, first), secs_after(t0, last)))
    }
}

fn secs_after(t0: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(t0).as_secs_f64()
}

/// Calls of `api` in `counts`, whatever they answered.
fn calls(counts: &BTreeMap<(Api, i64), u64>, api: Api) -> u64 {
    counts
        .iter()
        .filter(|((a, _), _)| *a == api)
        .map(|(_, n)| *n)
        .sum()
}

/// Polls `sim`'s counts until `stop` turns true (one last look after it): when each deletion
/// API's count first and last changed.
pub(crate) async fn deletion_times(
    sim: Arc<Sim>,
    mut stop: watch::Receiver<bool>,
) -> DeletionTimes {
    let apis: Vec<Api> = Kind::DELETIONS.iter().map(|k| k.api()).collect();
    let start = sim.counts();
    let mut last: BTreeMap<Api, u64> = apis.iter().map(|a| (*a, calls(&start, *a))).collect();
    let mut times = DeletionTimes::default();
    loop {
        let now = Instant::now();
        let counts = sim.counts();
        for api in &apis {
            let n = calls(&counts, *api);
            if last.get(api) != Some(&n) {
                times.seen.entry(*api).or_insert((now, now)).1 = now;
                last.insert(*api, n);
            }
        }
        if *stop.borrow() {
            return times;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The deletion stages in apply order: calls per API since `before` (answered 0, and the
/// other codes), and when their answers came, in seconds after `t0`.
pub(crate) fn print_deletions(
    out: &mut dyn Write,
    handle: &SimHandle,
    before: &BTreeMap<(Api, i64), u64>,
    times: &DeletionTimes,
    t0: Instant,
) -> anyhow::Result<()> {
    let now = handle.sim().counts();
    writeln!(
        out,
        "{:<18} {:<20} {:>6} {:>10}  {:<14} answers seen (s after the window started)",
        "deletion stage", "API", "calls", "answered 0", "other codes"
    )?;
    for kind in Kind::DELETIONS {
        let api = kind.api();
        let mut ok = 0;
        let mut other = Vec::new();
        for ((a, code), n) in &now {
            let n = n - before.get(&(*a, *code)).copied().unwrap_or(0);
            match (*a == api, *code, n) {
                (false, ..) | (_, _, 0) => {}
                (true, 0, n) => ok = n,
                (true, code, n) => other.push(format!("{code}×{n}")),
            }
        }
        let calls = calls(&now, api) - calls(before, api);
        let seen = times.seen.get(&api).map_or("-".to_string(), |(f, l)| {
            format!("{:.1} → {:.1}", secs_after(t0, *f), secs_after(t0, *l))
        });
        let other = if other.is_empty() {
            "-".to_string()
        } else {
            other.join(" ")
        };
        writeln!(
            out,
            "{:<18} {:<20} {calls:>6} {ok:>10}  {other:<14} {seen}",
            kind.stage(),
            api.command()
        )?;
    }
    Ok(())
}
