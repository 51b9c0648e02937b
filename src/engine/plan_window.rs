//! `cutover plan` beyond the pending lanes: for a store holding a pre-copy and a staged delta,
//! what is still to import (the delta) next to a full import, each against the maintenance
//! window's end; and what `[import] history_since` saves.

use super::import::ImportSettings;
use super::plan::{bounds, plan, share_lanes, LanePlan, Plan};
use crate::store::staged::{export_count, history_skips, Share};
use crate::store::Kind;
use rusqlite::Connection;
use serde::Serialize;

/// The lanes of one import and the bounds they give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Per lane.
    pub lanes: Vec<LanePlan>,
    /// The time the rate limits alone allow, seconds.
    pub t_limit_secs: f64,
    /// The same at the pace the lanes keep.
    pub(crate) t_paced_secs: f64,
    /// The lane that bounds it.
    pub(crate) long_pole: Option<&'static str>,
}

impl Estimate {
    fn of(lanes: Vec<LanePlan>) -> Estimate {
        let (t_limit_secs, t_paced_secs, long_pole) = bounds(&lanes);
        Estimate {
            lanes,
            t_limit_secs,
            t_paced_secs,
            long_pole,
        }
    }
}

/// One import started now against the window's end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    /// T_limit of the import, seconds.
    pub(crate) needs_secs: f64,
    /// When it would end if it started now (unix seconds).
    pub finish_at: i64,
    /// `ends_at − finish_at`: spare time when positive, the overrun when negative.
    pub margin_secs: i64,
    /// Whether it ends by `ends_at`.
    pub fits: bool,
}

impl Fit {
    /// `needs_secs` started at `now` against `ends_at`.
    pub(super) fn of(needs_secs: f64, now: i64, ends_at: i64) -> Fit {
        let finish_at = now.saturating_add(needs_secs.ceil() as i64);
        Fit {
            needs_secs,
            finish_at,
            margin_secs: ends_at - finish_at,
            fits: finish_at <= ends_at,
        }
    }
}

/// `[window] ends_at` against the imports, each started at `from`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowFit {
    /// When the window closes (unix seconds).
    pub(crate) ends_at: i64,
    /// When the plan was made: the imports are taken to start then.
    pub(crate) from: i64,
    /// What is still to import (the pending items: after a pre-copy, the delta).
    pub still_to_import: Fit,
    /// A full import of everything staged, when a delta is staged.
    pub full: Option<Fit>,
}

/// What the history cut-off saves: the skipped messages' calls at their lanes' rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistorySaving {
    /// Why they were skipped, one per cut-off (`older than history_since 2026-11-01`).
    pub reasons: Vec<String>,
    /// The one-to-one and group message lanes: skipped items, the calls they would need,
    /// and those calls' time at the lane's rate.
    pub lanes: Vec<LanePlan>,
    /// Messages skipped.
    pub items: u64,
    /// Calls saved.
    pub calls: u64,
    /// A full import's T_limit with the skipped messages, seconds.
    pub t_limit_without_cutoff_secs: f64,
    /// How much shorter the full import's T_limit is for the cut-off, seconds.
    pub t_limit_saved_secs: f64,
}

/// The plan command's view of a store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowPlan {
    /// What is still to import (pending items), lane by lane.
    #[serde(flatten)]
    pub pending: Plan,
    /// Exports staged into the store (more than one: the later ones are deltas).
    pub exports: u64,
    /// A full import of everything staged (not skipped), when a delta is staged.
    pub full: Option<Estimate>,
    /// Against `[window] ends_at`, when the runbook sets it.
    pub window: Option<WindowFit>,
    /// What `[import] history_since` saved, when it skipped anything.
    pub history: Option<HistorySaving>,
}

/// The plan of the store behind `conn` at `now`, against `ends_at` when given.
pub fn window_plan(
    conn: &Connection,
    settings: &ImportSettings,
    ends_at: Option<i64>,
    now: i64,
) -> rusqlite::Result<WindowPlan> {
    let pending = plan(conn, settings)?;
    let exports = export_count(conn)?;
    let full_lanes = share_lanes(conn, settings, Share::Unskipped)?;
    let full = (exports > 1).then(|| Estimate::of(full_lanes.clone()));
    let window = ends_at.map(|ends_at| WindowFit {
        ends_at,
        from: now,
        still_to_import: Fit::of(pending.t_limit_secs, now, ends_at),
        full: full.as_ref().map(|f| Fit::of(f.t_limit_secs, now, ends_at)),
    });
    let history = history_saving(conn, settings, full_lanes)?;
    Ok(WindowPlan {
        pending,
        exports,
        full,
        window,
        history,
    })
}

/// The saving of the history cut-off over a full import (`full_lanes`), if it skipped any.
fn history_saving(
    conn: &Connection,
    settings: &ImportSettings,
    full_lanes: Vec<LanePlan>,
) -> rusqlite::Result<Option<HistorySaving>> {
    let skips = history_skips(conn)?;
    if skips.is_empty() {
        return Ok(None);
    }
    let mut reasons: Vec<String> = skips.iter().map(|h| h.reason()).collect();
    reasons.sort();
    reasons.dedup();
    let old = share_lanes(conn, settings, Share::TooOld)?;
    let with_old: Vec<LanePlan> = full_lanes
        .iter()
        .zip(&old)
        .map(|(f, o)| LanePlan {
            items: f.items + o.items,
            calls: f.calls + o.calls,
            secs: f.secs + o.secs,
            ..f.clone()
        })
        .collect();
    let (without, _, _) = bounds(&with_old);
    let (with, _, _) = bounds(&full_lanes);
    let lanes: Vec<LanePlan> = Kind::ALL
        .into_iter()
        .zip(old)
        .filter(|(k, _)| matches!(k, Kind::C2cMessage | Kind::GroupMessage))
        .map(|(_, l)| l)
        .collect();
    Ok(Some(HistorySaving {
        reasons,
        items: lanes.iter().map(|l| l.items).sum(),
        calls: lanes.iter().map(|l| l.calls).sum(),
        lanes,
        t_limit_without_cutoff_secs: without,
        t_limit_saved_secs: without - with,
    }))
}
