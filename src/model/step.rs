//! The runbook's steps and the states a step can be in: pure data, persisted by the store,
//! changed only by the runbook, read by the console, the headless lines, `status` and the
//! report. No front end compares state words: they match on [`StepState`].

use serde::Serialize;
use std::fmt;

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Step {
    /// Validate and stage the export, check the credentials and the store.
    Preflight,
    /// Put the old IM into maintenance.
    StopService,
    /// The import lanes.
    Import,
    /// Two-way sync.
    StartSync,
    /// Bring the old IM back.
    ResumeService,
    /// Read the target back.
    Verify,
}

impl Step {
    /// Every step, in order.
    pub(crate) const ALL: [Step; 6] = [
        Step::Preflight,
        Step::StopService,
        Step::Import,
        Step::StartSync,
        Step::ResumeService,
        Step::Verify,
    ];

    /// The name stored and shown.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::StopService => "stop service",
            Step::Import => "import",
            Step::StartSync => "start sync",
            Step::ResumeService => "resume service",
            Step::Verify => "verify",
        }
    }

    /// The step of a stored name.
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Its place in the runbook, from 0.
    pub(crate) fn index(self) -> usize {
        match self {
            Step::Preflight => 0,
            Step::StopService => 1,
            Step::Import => 2,
            Step::StartSync => 3,
            Step::ResumeService => 4,
            Step::Verify => 5,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a step is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StepState {
    /// Not reached yet.
    #[default]
    Waiting,
    /// Under way; `what` says what it is doing (may be empty).
    Running {
        /// What it is doing.
        what: String,
    },
    /// A risky step waits for the operator; `what` is exactly what confirming it runs.
    NeedsConfirmation {
        /// The hook's command or request.
        what: String,
    },
    /// Finished; `note` sums it up (may be empty).
    Done {
        /// A summary.
        note: String,
    },
    /// Not run, on purpose.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Stopped before its end (cancelled, paused by the error budget, verification stopped);
    /// running again carries on.
    Stopped {
        /// Why, and what to do.
        reason: String,
    },
    /// Ended badly.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A stored state word that is none of ours (a store written by another version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown step state {0:?}")]
pub struct UnknownStepState(pub(crate) String);

impl StepState {
    /// Every state word, as stored.
    pub(crate) const WORDS: [&'static str; 7] = [
        "waiting",
        "running",
        "needs confirmation",
        "done",
        "skipped",
        "stopped",
        "failed",
    ];

    /// Running, saying what it does.
    pub fn running(what: impl Into<String>) -> StepState {
        StepState::Running { what: what.into() }
    }

    /// Done, with a summary.
    pub fn done(note: impl Into<String>) -> StepState {
        StepState::Done { note: note.into() }
    }

    /// Skipped, with the reason.
    pub(crate) fn skipped(reason: impl Into<String>) -> StepState {
        StepState::Skipped {
            reason: reason.into(),
        }
    }

    /// Stopped, with the reason.
    pub(crate) fn stopped(reason: impl Into<String>) -> StepState {
        StepState::Stopped {
            reason: reason.into(),
        }
    }

    /// Failed, with the reason.
    pub(crate) fn failed(reason: impl Into<String>) -> StepState {
        StepState::Failed {
            reason: reason.into(),
        }
    }

    /// The word stored and shown.
    pub fn word(&self) -> &'static str {
        match self {
            StepState::Waiting => Self::WORDS[0],
            StepState::Running { .. } => Self::WORDS[1],
            StepState::NeedsConfirmation { .. } => Self::WORDS[2],
            StepState::Done { .. } => Self::WORDS[3],
            StepState::Skipped { .. } => Self::WORDS[4],
            StepState::Stopped { .. } => Self::WORDS[5],
            StepState::Failed { .. } => Self::WORDS[6],
        }
    }

    /// The reason or note that goes with the state ("" when none).
    pub(crate) fn reason(&self) -> &str {
        match self {
            StepState::Waiting => "",
            StepState::Running { what } | StepState::NeedsConfirmation { what } => what,
            StepState::Done { note } => note,
            StepState::Skipped { reason }
            | StepState::Stopped { reason }
            | StepState::Failed { reason } => reason,
        }
    }

    /// The state of a stored word and reason.
    pub fn from_stored(word: &str, reason: &str) -> Result<StepState, UnknownStepState> {
        let reason = reason.to_string();
        Ok(match word {
            "waiting" => StepState::Waiting,
            "running" => StepState::Running { what: reason },
            "needs confirmation" => StepState::NeedsConfirmation { what: reason },
            "done" => StepState::Done { note: reason },
            "skipped" => StepState::Skipped { reason },
            "stopped" => StepState::Stopped { reason },
            "failed" => StepState::Failed { reason },
            other => return Err(UnknownStepState(other.to_string())),
        })
    }

    /// Done or skipped: nothing more to do for this step.
    pub(crate) fn is_settled(&self) -> bool {
        matches!(self, StepState::Done { .. } | StepState::Skipped { .. })
    }

    /// Started and not yet ended (the step's start time is kept, its end time cleared).
    pub(crate) fn is_open(&self) -> bool {
        matches!(
            self,
            StepState::Running { .. } | StepState::NeedsConfirmation { .. }
        )
    }

    /// Ended, one way or another (an end time is recorded).
    pub(crate) fn is_ended(&self) -> bool {
        matches!(
            self,
            StepState::Done { .. }
                | StepState::Skipped { .. }
                | StepState::Stopped { .. }
                | StepState::Failed { .. }
        )
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_stored_words() {
        let states = [
            StepState::Waiting,
            StepState::running("staging"),
            StepState::NeedsConfirmation {
                what: "sh -c stop".into(),
            },
            StepState::done("ok"),
            StepState::skipped("no hook"),
            StepState::stopped("cancelled"),
            StepState::failed("bad key"),
        ];
        for (state, word) in states.iter().zip(StepState::WORDS) {
            assert_eq!(state.word(), word);
            let back = StepState::from_stored(state.word(), state.reason());
            assert_eq!(back.as_ref(), Ok(state));
        }
        assert!(StepState::from_stored("fatal", "").is_err());
    }

    #[test]
    fn steps_know_their_place_and_name() {
        for (i, step) in Step::ALL.into_iter().enumerate() {
            assert_eq!(step.index(), i);
            assert_eq!(Step::from_name(step.name()), Some(step));
        }
    }
}
