//! `[import] history_since`: how far back message history is imported. Tencent keeps
//! one-to-one and group history only for the app's roaming period (7 days unless bought
//! longer), so older messages may be left out at staging rather than imported.

use serde::Serialize;

/// The cut-off as the runbook gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistorySince {
    /// A fixed time (unix seconds): messages sent before it are skipped.
    At(i64),
    /// The app's roaming period in days, counted back from the moment of staging; 0 means the
    /// period has no limit, so nothing is skipped.
    Roaming {
        /// `[app] roaming_days`.
        days: i64,
    },
}

impl HistorySince {
    /// The cut-off (unix seconds) for staging at `now`; `None`: nothing is skipped.
    pub(crate) fn cutoff(self, now: i64) -> Option<i64> {
        match self {
            HistorySince::At(t) => Some(t),
            HistorySince::Roaming { days } if days > 0 => {
                Some(now.saturating_sub(days.saturating_mul(86_400)))
            }
            HistorySince::Roaming { .. } => None,
        }
    }
}

/// Why a message older than `cutoff` was not imported, as the status and the report say it:
/// `older than history_since 2026-11-01` (a date when the cut-off is a UTC midnight).
pub(crate) fn skip_reason(cutoff: i64) -> String {
    format!(
        "older than history_since {}",
        crate::timefmt::date_or_time(cutoff)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roaming_counts_back_from_staging_and_zero_keeps_everything() {
        let now = 1_800_000_000;
        assert_eq!(
            HistorySince::Roaming { days: 7 }.cutoff(now),
            Some(now - 7 * 86_400)
        );
        assert_eq!(HistorySince::Roaming { days: 0 }.cutoff(now), None);
        assert_eq!(HistorySince::At(5).cutoff(now), Some(5));
        assert_eq!(
            skip_reason(1_793_491_200),
            "older than history_since 2026-11-01"
        );
    }
}
