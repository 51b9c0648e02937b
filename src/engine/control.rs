//! The run's state, the operator's commands, and the error budget that pauses a run by itself.

use super::decide::BudgetEffect;
use crate::config::BudgetConfig;
use crate::store::queries::FailureFilter;
use crate::store::writer::FailedItem;
use crate::store::Kind;
use serde::Serialize;
use std::collections::HashMap;

/// Where the run is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunState {
    /// Sending.
    Running,
    /// Not sending; requests in flight finish. `budget` when the error budget paused it.
    Paused {
        /// Why.
        reason: String,
        /// True when the error budget (not a person) paused it.
        budget: bool,
    },
    /// Finishing what is in flight, then stopping; the store keeps the rest for a resume.
    Stopping {
        /// Why.
        reason: String,
    },
    /// Nothing can work until a person fixes the setup.
    Fatal {
        /// Why.
        reason: String,
    },
}

impl RunState {
    /// The short word for the status line.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            RunState::Running => "RUNNING",
            RunState::Paused { .. } => "PAUSED",
            RunState::Stopping { .. } => "STOPPING",
            RunState::Fatal { .. } => "FATAL",
        }
    }

    /// The reason, if there is one.
    pub fn reason(&self) -> &str {
        match self {
            RunState::Running => "",
            RunState::Paused { reason, .. }
            | RunState::Stopping { reason }
            | RunState::Fatal { reason } => reason,
        }
    }

    /// True while lanes should take new work.
    pub fn is_running(&self) -> bool {
        matches!(self, RunState::Running)
    }

    /// True once lanes should stop for good.
    pub(crate) fn is_over(&self) -> bool {
        matches!(self, RunState::Stopping { .. } | RunState::Fatal { .. })
    }
}

/// What an operator (or a signal) asks of a running import. Each is written to the audit table.
#[derive(Debug)]
pub enum Command {
    /// Stop taking new work.
    Pause {
        /// Why.
        reason: String,
    },
    /// Take new work again.
    Resume {
        /// Why.
        reason: String,
    },
    /// Finish what is in flight and stop; the rest stays for a later resume.
    Cancel {
        /// Why.
        reason: String,
    },
    /// Send the matching failed items again.
    Retry {
        /// Which.
        filter: FailureFilter,
        /// Why.
        reason: String,
    },
    /// Give up on the matching failed items.
    Skip {
        /// Which.
        filter: FailureFilter,
        /// Why.
        reason: String,
    },
    /// Change a lane's calls per second.
    SetRate {
        /// The lane.
        kind: Kind,
        /// Calls per second.
        rate: u32,
        /// Why.
        reason: String,
    },
}

/// Counts failures against the configured budget.
#[derive(Debug)]
pub(crate) struct Budget {
    config: BudgetConfig,
    per_code: HashMap<(&'static str, Option<i64>), u64>,
    transient_in_a_row: u64,
}

impl Budget {
    /// An empty budget.
    pub(crate) fn new(config: BudgetConfig) -> Budget {
        Budget {
            config,
            per_code: HashMap::new(),
            transient_in_a_row: 0,
        }
    }

    /// Counts permanent failures; returns the reason to pause when one API and code has used
    /// up the budget.
    pub(crate) fn failed(&mut self, failed: &[FailedItem]) -> Option<String> {
        let limit = self.config.item_failures_per_code;
        let mut over = None;
        for f in failed {
            let n = self.per_code.entry((f.api, f.code)).or_default();
            *n += 1;
            if limit > 0 && *n == limit {
                let code = f.code.map_or("no code".to_string(), |c| c.to_string());
                over = Some(format!("error budget — {n} × {code} on {}", f.api));
            }
        }
        over
    }

    /// Counts a retryable failure; returns the reason to pause when too many came in a row.
    pub(crate) fn transient(&mut self, api: &str, what: &str) -> Option<String> {
        self.transient_in_a_row += 1;
        let limit = self.config.consecutive_transient;
        (limit > 0 && self.transient_in_a_row == limit).then(|| {
            format!(
                "error budget — {} retryable failures in a row (last: {api}: {what})",
                self.transient_in_a_row
            )
        })
    }

    /// Counts what one outcome does to the budget (`effect`, with the items that `failed`);
    /// returns the reason to pause when it is spent.
    pub(crate) fn count(&mut self, effect: &BudgetEffect, failed: &[FailedItem]) -> Option<String> {
        match effect {
            BudgetEffect::None => None,
            BudgetEffect::Answered => {
                self.succeeded();
                self.failed(failed)
            }
            BudgetEffect::Failed => self.failed(failed),
            BudgetEffect::Transient { api, what } => self.transient(api, what),
        }
    }

    /// A request succeeded: the streak of transient failures is over.
    pub(crate) fn succeeded(&mut self) {
        self.transient_in_a_row = 0;
    }

    /// The operator resumed after a budget pause: count afresh.
    pub(crate) fn reset(&mut self) {
        self.per_code.clear();
        self.transient_in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: i64) -> FailedItem {
        FailedItem {
            id: 0,
            api: "importmsg",
            code: Some(code),
            info: String::new(),
            retryable: false,
        }
    }

    #[test]
    fn the_budget_trips_once_per_code_and_resets() {
        let mut b = Budget::new(BudgetConfig {
            item_failures_per_code: 3,
            consecutive_transient: 2,
        });
        assert_eq!(b.failed(&[item(90012), item(90012)]), None);
        assert_eq!(b.failed(&[item(90001)]), None);
        let why = b.failed(&[item(90012)]).unwrap();
        assert_eq!(why, "error budget — 3 × 90012 on importmsg");
        assert_eq!(b.transient("importmsg", "timeout"), None);
        b.succeeded();
        assert_eq!(b.transient("importmsg", "timeout"), None);
        assert!(b.transient("importmsg", "timeout").is_some());
        b.reset();
        assert_eq!(b.failed(&[item(90012)]), None);
    }
}
