//! What `cutover-bench sync` prints after a run: the per-direction table and the details
//! below it.

use super::{num, Measured};
use cutover::sim::SimHandle;
use cutover::tim::api::Api;
use cutover::tim::errors::{self, ErrorClass};
use std::collections::HashMap;
use std::io::Write;

/// The figures' table header.
const HEADER: &str =
    "direction    sent sent/s  acked   done  lost failed  p50 ms  p99 ms all: p50/p99/max";

/// The table: per direction, sent, acknowledged, done, lost and failed, and the lags.
pub(super) fn print_directions(
    out: &mut dyn Write,
    run: &Measured,
    missing: &[Vec<String>; 2],
) -> anyhow::Result<()> {
    let state = ["STILL PENDING", "nothing pending"][usize::from(run.drained)];
    writeln!(
        out,
        "generators ran {:.1} s; {state} {:.1} s after they stopped",
        run.generated,
        run.total - run.generated
    )?;
    writeln!(out, "{HEADER}")?;
    for (i, (label, f)) in [("old → new", &run.old), ("new → old", &run.new)]
        .into_iter()
        .enumerate()
    {
        let (c, all) = (&run.counts[i], &run.lags[i]);
        writeln!(
            out,
            "{label:<10} {:>6} {:>6.1} {:>6} {:>6} {:>5} {:>6} {:>7} {:>7} {all:>16}",
            f.sent,
            f.sent as f64 / run.secs[i].max(1e-9),
            f.acked,
            f.acked.saturating_sub(missing[i].len() as u64),
            missing[i].len(),
            c.failed,
            num(c.lag_p50_ms),
            num(c.lag_p99_ms)
        )?;
    }
    writeln!(out, "  done: old → new = held by the simulator, new → old = received by the webhook; lag p50/p99: the relay's counts (its last 1000 applied events); all: every applied event")?;
    Ok(())
}

/// Below the table: the relay's own counts, refusals, what the webhook saw, failed events, the
/// simulator's answers, CPU, and what was still pending.
pub(super) fn print_details(
    out: &mut dyn Write,
    run: &Measured,
    received: &HashMap<String, u32>,
    handle: &SimHandle,
) -> anyhow::Result<()> {
    let (old, new, total) = (&run.old, &run.new, run.total);
    for (label, c) in ["old → new", "new → old"].iter().zip(&run.counts) {
        writeln!(out, "  relay {label}: received {}, applied/delivered {} ({:.1}/s over {total:.1} s), failed {}, echoes {}, recovered {}, pending {}",
            c.received, c.applied, c.applied as f64 / total, c.failed, c.dropped_as_echo, c.recovered, c.pending)?;
    }
    for (label, f) in [("ingest", old), ("callbacks", new)] {
        if f.refused.0 > 0 {
            let (n, why) = &f.refused;
            writeln!(out, "  {label}: {n} events not acknowledged (last: {why})")?;
        }
    }
    let unexpected = received.keys().filter(|id| !new.ids.contains(*id)).count();
    let repeats: u32 = received.values().map(|n| n.saturating_sub(1)).sum();
    writeln!(
        out,
        "  webhook: {} distinct events, {repeats} repeats, {unexpected} not sent as callbacks",
        received.len()
    )?;
    for e in &run.failures {
        writeln!(out, "  failed: {e:?}")?;
    }
    let sim_counts = handle.sim().counts();
    let limited = |code: i64| code > 0 && errors::lookup(code).class == ErrorClass::RateLimited;
    let rate_limited: u64 = sim_counts
        .iter()
        .filter(|((_, c), _)| limited(*c))
        .map(|(_, n)| n)
        .sum();
    let answers: Vec<String> = sim_counts
        .iter()
        .filter(|((api, _), _)| !matches!(api, Api::MultiaccountImport | Api::CreateGroup))
        .map(|((api, code), n)| format!("{} {n} × {code}", api.command()))
        .collect();
    writeln!(out, "simulator: {rate_limited} rate-limit answers (60007 class, 10023 included); answers after setup: {}", answers.join(", "))?;
    let events = old.sent + new.sent;
    if let Some(cpu) = run.cpu {
        writeln!(out, "CPU {cpu:.1} s in {total:.1} s, the whole process (relay, simulator, generators, webhook) = {:.3} s per 1000 events ({events} events)",
            cpu * 1000.0 / events.max(1) as f64)?;
    }
    if !run.drained {
        let (secs, left) = (
            run.limit.as_secs(),
            [run.counts[0].pending, run.counts[1].pending],
        );
        writeln!(
            out,
            "still pending after {secs} s: old → new {}, new → old {}",
            left[0], left[1]
        )?;
    }
    Ok(())
}
