//! Why a front end could not run its flow to the end. How the run itself ended (complete,
//! failures, cancelled) is a [`RunExit`](crate::runbook::drive::RunExit), not an error.
//!
//! Every variant passes its cause on unchanged, so the operator reads the same words the
//! part that failed wrote.

use crate::runbook::RunbookError;
use crate::sync::SyncError;

/// Why the console or the headless front end stopped.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The runbook's machinery failed (a step that fails is a step state, not this).
    #[error(transparent)]
    Runbook(#[from] RunbookError),
    /// The sync relay could not be followed or stopped.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The output could not be written (a closed pipe, a full disk).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The terminal could not be put into the console's mode.
    #[error(transparent)]
    Terminal(std::io::Error),
}
