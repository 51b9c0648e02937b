//! The import estimate: calls per API from the staged items, and T_limit — the time the rate
//! limits alone allow (design.md): the slowest lane, plus the accounts lane everything waits on.

use super::import::ImportSettings;
use crate::store::order::{shifts, Shifts};
use crate::store::queries::counts_in_state;
use crate::store::{ItemState, Kind};
use crate::tim::lane::pace_for;
use rusqlite::Connection;
use serde::Serialize;

/// One lane of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanePlan {
    /// The stage.
    pub stage: &'static str,
    /// The API.
    pub api: &'static str,
    /// Items still to import.
    pub items: u64,
    /// Calls they need.
    pub calls: u64,
    /// Calls per second allowed.
    pub rate: u32,
    /// Seconds at that rate.
    pub secs: f64,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Per lane.
    pub lanes: Vec<LanePlan>,
    /// The lower bound of the import time at the configured limits, seconds.
    pub t_limit_secs: f64,
    /// The same at the pace the lanes actually keep (a few percent under the limits).
    pub t_paced_secs: f64,
    /// The lane that bounds it.
    pub long_pole: Option<&'static str>,
    /// Group messages sent later than their own time to get past a same-second burst (or
    /// refused for it), as staged.
    pub same_second: Shifts,
}

/// Calls needed for the pending items of `kind` with `batch` items per call.
fn calls(conn: &Connection, kind: Kind, batch: u64) -> rusqlite::Result<(u64, u64)> {
    let batch = batch.max(1);
    let grouped = matches!(kind, Kind::Friend | Kind::GroupMember | Kind::GroupMessage);
    let (mut items, mut calls) = (0, 0);
    for n in counts_in_state(conn, kind, ItemState::Pending, grouped)? {
        items += n;
        calls += n.div_ceil(batch);
    }
    Ok((items, calls))
}

/// The plan for what the store still has pending.
pub fn plan(conn: &Connection, settings: &ImportSettings) -> rusqlite::Result<Plan> {
    let mut lanes = Vec::new();
    for kind in Kind::ALL {
        let batch = settings.batches.get(&kind).copied().unwrap_or(1) as u64;
        let (items, calls) = calls(conn, kind, batch)?;
        let rate = settings
            .rates
            .get(&kind)
            .copied()
            .unwrap_or(kind.api().default_rate())
            .max(1);
        lanes.push(LanePlan {
            stage: kind.stage(),
            api: kind.api().command(),
            items,
            calls,
            rate,
            secs: calls as f64 / f64::from(rate),
        });
    }
    let accounts = lanes.first().map_or(0.0, |l| l.secs);
    let slowest = lanes
        .iter()
        .skip(1)
        .max_by(|a, b| a.secs.total_cmp(&b.secs))
        .filter(|l| l.calls > 0);
    let rest = slowest.map_or(0.0, |l| l.secs);
    let paced = |l: &LanePlan| l.calls as f64 / f64::from(pace_for(l.rate));
    let t_paced = lanes.first().map_or(0.0, paced) + slowest.map_or(0.0, paced);
    Ok(Plan {
        t_limit_secs: accounts + rest,
        t_paced_secs: t_paced,
        long_pole: slowest.map(|l| l.stage),
        lanes,
        same_second: shifts(conn)?,
    })
}
