//! The import estimate: calls per API from the staged items, and T_limit — the time the rate
//! limits alone allow (docs/performance.md): the slowest lane, plus the accounts lane everything
//! waits on.

use super::import::ImportSettings;
use crate::store::order::{shifts, Shifts};
use crate::store::queries::counts_in_state;
use crate::store::staged::{share_counts, Share};
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
    pub(crate) t_paced_secs: f64,
    /// The lane that bounds it.
    pub long_pole: Option<&'static str>,
    /// Group messages sent later than their own time to get past a same-second burst (or
    /// refused for it), as staged.
    pub same_second: Shifts,
}

/// Items and calls for `counts` (one count per scope, or one total) with `batch` per call.
fn items_and_calls(counts: Vec<u64>, batch: u64) -> (u64, u64) {
    let batch = batch.max(1);
    counts.into_iter().fold((0, 0), |(items, calls), n| {
        (items + n, calls + n.div_ceil(batch))
    })
}

/// Whether a kind's batches stay within one scope (owner, group).
fn grouped(kind: Kind) -> bool {
    matches!(kind, Kind::Friend | Kind::GroupMember | Kind::GroupMessage)
}

/// Calls needed for the pending items of `kind` with `batch` items per call.
fn calls(conn: &Connection, kind: Kind, batch: u64) -> rusqlite::Result<(u64, u64)> {
    let counts = counts_in_state(conn, kind, ItemState::Pending, grouped(kind))?;
    Ok(items_and_calls(counts, batch))
}

/// One lane's figures for `items` needing `calls` at the settings' rate.
fn lane(kind: Kind, settings: &ImportSettings, items: u64, calls: u64) -> LanePlan {
    let rate = settings
        .rates
        .get(&kind)
        .copied()
        .unwrap_or(kind.api().default_rate())
        .max(1);
    LanePlan {
        stage: kind.stage(),
        api: kind.api().command(),
        items,
        calls,
        rate,
        secs: calls as f64 / f64::from(rate),
    }
}

/// The items per call of `kind`.
pub(super) fn batch_of(settings: &ImportSettings, kind: Kind) -> u64 {
    settings.batches.get(&kind).copied().unwrap_or(1) as u64
}

/// T_limit, T_paced and the long pole of `lanes` (in [`Kind::ALL`] order): the accounts lane
/// everything waits on, plus the slowest of the others.
pub(super) fn bounds(lanes: &[LanePlan]) -> (f64, f64, Option<&'static str>) {
    let accounts = lanes.first().map_or(0.0, |l| l.secs);
    let slowest = lanes
        .iter()
        .skip(1)
        .max_by(|a, b| a.secs.total_cmp(&b.secs))
        .filter(|l| l.calls > 0);
    let rest = slowest.map_or(0.0, |l| l.secs);
    let paced = |l: &LanePlan| l.calls as f64 / f64::from(pace_for(l.rate));
    let t_paced = lanes.first().map_or(0.0, paced) + slowest.map_or(0.0, paced);
    (accounts + rest, t_paced, slowest.map(|l| l.stage))
}

/// The plan for what the store still has pending.
pub fn plan(conn: &Connection, settings: &ImportSettings) -> rusqlite::Result<Plan> {
    let mut lanes = Vec::new();
    for kind in Kind::ALL {
        let (items, calls) = calls(conn, kind, batch_of(settings, kind))?;
        lanes.push(lane(kind, settings, items, calls));
    }
    let (t_limit_secs, t_paced_secs, long_pole) = bounds(&lanes);
    Ok(Plan {
        t_limit_secs,
        t_paced_secs,
        long_pole,
        lanes,
        same_second: shifts(conn)?,
    })
}

/// The lanes for the `share` of every kind (messages only for [`Share::TooOld`]).
pub(super) fn share_lanes(
    conn: &Connection,
    settings: &ImportSettings,
    share: Share,
) -> rusqlite::Result<Vec<LanePlan>> {
    let mut lanes = Vec::new();
    for kind in Kind::ALL {
        let message = matches!(kind, Kind::C2cMessage | Kind::GroupMessage);
        let (items, calls) = if share == Share::TooOld && !message {
            (0, 0)
        } else {
            let counts = share_counts(conn, kind, share, grouped(kind))?;
            items_and_calls(counts, batch_of(settings, kind))
        };
        lanes.push(lane(kind, settings, items, calls));
    }
    Ok(lanes)
}
