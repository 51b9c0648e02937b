//! Per-stage progress from committed counts: totals, rates and ETAs, for any front end.

use crate::store::writer::Committed;
use crate::store::Kind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Weight of the newest interval in the rate's moving average.
const RATE_WEIGHT: f64 = 0.5;

/// One stage's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageLine {
    /// The stage's name.
    pub stage: &'static str,
    /// Items staged.
    pub total: u64,
    /// Imported.
    pub done: u64,
    /// Failed for good.
    pub failed: u64,
    /// Skipped by the operator, or at staging (`[import] history_since`).
    pub skipped: u64,
    /// Still to go.
    pub pending: u64,
    /// Items settled per second, recently.
    pub per_sec: f64,
    /// Seconds left at that rate, when it can be told.
    pub eta_secs: Option<f64>,
}

impl StageLine {
    /// Done, failed or skipped.
    pub(crate) fn settled(&self) -> u64 {
        self.done + self.failed + self.skipped
    }
}

/// Turns successive committed snapshots into stage lines with rates.
pub(crate) struct ProgressMeter {
    last: BTreeMap<Kind, u64>,
    at: Instant,
    rates: BTreeMap<Kind, f64>,
    /// When each stage last settled an item.
    moved: BTreeMap<Kind, Instant>,
}

/// A stage that has settled nothing for this long has no rate: its ETA is unknown rather than
/// a figure grown from a decaying average (one stuck group once showed "ETA 19071h03m").
const STALLED_AFTER: Duration = Duration::from_secs(15);
/// Below this many items per second the average is a leftover, not a rate.
const LEAST_RATE: f64 = 1e-3;

fn settled(c: &[u64; 4]) -> u64 {
    c[1] + c[2] + c[3]
}

impl ProgressMeter {
    /// A meter starting from `now`.
    pub(crate) fn new(now: &Committed) -> ProgressMeter {
        ProgressMeter::starting_at(now, Instant::now())
    }

    fn starting_at(now: &Committed, at: Instant) -> ProgressMeter {
        ProgressMeter {
            last: now.items.iter().map(|(k, c)| (*k, settled(c))).collect(),
            at,
            rates: BTreeMap::new(),
            moved: now.items.keys().map(|k| (*k, at)).collect(),
        }
    }

    /// The stage lines for `now`.
    pub(crate) fn sample(&mut self, now: &Committed) -> Vec<StageLine> {
        self.sample_at(now, Instant::now())
    }

    /// The stage lines for `now`, sampled at `at`.
    fn sample_at(&mut self, now: &Committed, at: Instant) -> Vec<StageLine> {
        let dt = at.saturating_duration_since(self.at).as_secs_f64();
        self.at = at;
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let c = now.items.get(&kind).copied().unwrap_or_default();
            let s = settled(&c);
            let before = self.last.insert(kind, s).unwrap_or(s);
            let moved = self.moved.entry(kind).or_insert(at);
            if s > before {
                *moved = at;
            }
            let stalled = at.saturating_duration_since(*moved) >= STALLED_AFTER;
            let rate = self.rates.entry(kind).or_insert(0.0);
            if dt > 0.0 {
                let instant = s.saturating_sub(before) as f64 / dt;
                *rate = if *rate == 0.0 {
                    instant
                } else {
                    *rate * (1.0 - RATE_WEIGHT) + instant * RATE_WEIGHT
                };
            }
            if stalled || *rate < LEAST_RATE {
                *rate = 0.0;
            }
            let total = c.iter().sum();
            if total == 0 {
                continue;
            }
            let eta = if c[0] == 0 {
                Some(0.0)
            } else if *rate > 0.0 {
                Some(c[0] as f64 / *rate)
            } else {
                None
            };
            out.push(StageLine {
                stage: kind.stage(),
                total,
                done: c[1],
                failed: c[2],
                skipped: c[3],
                pending: c[0],
                per_sec: *rate,
                eta_secs: eta,
            });
        }
        out
    }
}

/// The projected finish against the window's end: a short text, and whether it overruns.
/// `None` without a window or an estimate.
pub(crate) fn window_note(
    window_end: Option<i64>,
    eta_secs: Option<f64>,
    now: i64,
) -> Option<(String, bool)> {
    let end = window_end?;
    let eta = eta_secs.filter(|e| e.is_finite())?;
    let finish = now + eta.round() as i64;
    let time = |t: i64| crate::timefmt::utc(t).chars().skip(11).collect::<String>();
    let gap = crate::timefmt::eta_text(Some((finish - end).abs() as f64));
    Some(if finish > end {
        (
            format!(
                "WINDOW OVERRUN: finishes {}, {gap} after the window ({})",
                time(finish),
                time(end)
            ),
            true,
        )
    } else {
        (
            format!(
                "finishes {}, {gap} before the window closes ({})",
                time(finish),
                time(end)
            ),
            false,
        )
    })
}

/// The media stage in one line: `120/300 objects copied · 35.2 MB at 4.1 MB/s · ETA 42 s ·
/// 2 failed (last: GET …: HTTP 404 Not Found)`.
pub(crate) fn media_line(f: &crate::media::progress::MediaFigures) -> String {
    use crate::media::progress::bytes_text;
    let mut line = format!(
        "{}/{} media objects copied · {} at {}/s",
        f.copied,
        f.objects,
        bytes_text(f.bytes as f64),
        bytes_text(f.bytes_per_sec)
    );
    if let Some(eta) = f.eta {
        line.push_str(&format!(" · ETA {} s", eta.as_secs()));
    }
    if f.failed > 0 {
        line.push_str(&format!(" · {} failed", f.failed));
        if let Some(last) = &f.last_failure {
            line.push_str(&format!(" (last: {last})"));
        }
    }
    line
}

#[cfg(test)]
mod window_tests {
    use super::window_note;

    #[test]
    fn the_projected_finish_is_set_against_the_window() {
        let now = 1_732_000_000; // 07:06:40 UTC
        let (text, over) = window_note(Some(now + 3600), Some(600.0), now).unwrap();
        assert!(!over);
        assert_eq!(
            text,
            "finishes 07:16:40 UTC, 50m00s before the window closes (08:06:40 UTC)"
        );
        let (text, over) = window_note(Some(now + 60), Some(600.0), now).unwrap();
        assert!(over);
        assert!(
            text.starts_with("WINDOW OVERRUN: finishes 07:16:40 UTC, 9m00s after the window"),
            "{text}"
        );
        assert_eq!(window_note(None, Some(1.0), now), None);
        assert_eq!(window_note(Some(now), None, now), None);
    }
}

#[cfg(test)]
mod meter_tests {
    use super::*;

    fn committed(pending: u64, done: u64) -> Committed {
        let mut c = Committed::default();
        c.items.insert(Kind::GroupMessage, [pending, done, 0, 0]);
        c
    }

    #[test]
    fn a_stage_that_stops_moving_has_an_unknown_eta() {
        let t0 = Instant::now();
        let mut meter = ProgressMeter::starting_at(&committed(100, 0), t0);
        let moving = meter.sample_at(&committed(90, 10), t0 + Duration::from_secs(1));
        assert!(moving[0].eta_secs.is_some_and(|e| e > 0.0 && e.is_finite()));
        // Nothing more settles: the decaying average must not turn into a huge figure.
        let mut line = moving;
        for s in 2..40 {
            line = meter.sample_at(&committed(90, 10), t0 + Duration::from_secs(s));
        }
        assert_eq!(line[0].eta_secs, None);
        assert_eq!(line[0].per_sec, 0.0);
        assert_eq!(crate::timefmt::eta_text(line[0].eta_secs), "unknown");
        // It moves again: a figure again.
        let again = meter.sample_at(&committed(80, 20), t0 + Duration::from_secs(41));
        assert!(again[0].eta_secs.is_some_and(|e| e.is_finite()));
    }
}
