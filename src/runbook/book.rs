//! The one place a runbook step changes state: persisted to the store first, then published
//! on a `watch` that the console and anyone else in the process can follow.

use crate::model::step::{Step, StepState};
use crate::store::steps;
use crate::store::{open_for_writing, StoreError};
use crate::timefmt::now_secs;
use std::path::{Path, PathBuf};
use tokio::sync::watch;

/// Every step's state, in runbook order.
pub(crate) type StepStates = Vec<StepState>;

/// Why a step change could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The step rows cannot be read or written.
    #[error("the store's runbook steps: {0}")]
    Steps(#[from] rusqlite::Error),
}

/// The steps of one run, as stored and as published.
pub struct StepBook {
    store: PathBuf,
    tx: watch::Sender<StepStates>,
}

impl StepBook {
    /// The book of the store at `store` (created if missing), with what earlier sessions left.
    pub(crate) fn open(store: &Path) -> Result<StepBook, BookError> {
        let conn = open_for_writing(store)?;
        let states = steps::all(&conn)?.into_iter().map(|s| s.state).collect();
        Ok(StepBook {
            store: store.to_path_buf(),
            tx: watch::channel(states).0,
        })
    }

    /// Changes `step` to `state`: persists it, then publishes it.
    pub(crate) fn set(&self, step: Step, state: StepState) -> Result<(), BookError> {
        let conn = open_for_writing(&self.store)?;
        steps::record(&conn, step, &state, now_secs())?;
        tracing::info!(
            step = step.name(),
            state = state.word(),
            reason = state.reason(),
            "step"
        );
        self.tx.send_modify(|states| {
            if let Some(s) = states.get_mut(step.index()) {
                *s = state;
            }
        });
        Ok(())
    }

    /// The state of `step` now.
    pub fn get(&self, step: Step) -> StepState {
        self.tx
            .borrow()
            .get(step.index())
            .cloned()
            .unwrap_or_default()
    }

    /// Follows every change.
    pub(crate) fn watch(&self) -> watch::Receiver<StepStates> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_stored_before_it_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        let book = StepBook::open(&store).unwrap();
        let mut seen = book.watch();
        book.set(Step::Import, StepState::running("lanes")).unwrap();
        assert!(seen.has_changed().unwrap());
        let published = seen.borrow_and_update()[Step::Import.index()].clone();
        assert_eq!(published, StepState::running("lanes"));
        let conn = crate::store::open_for_reading(&store).unwrap();
        assert_eq!(
            steps::state_of(&conn, Step::Import).unwrap(),
            Some(published)
        );
        // A new session starts from what the store holds.
        let again = StepBook::open(&store).unwrap();
        assert_eq!(again.get(Step::Import), StepState::running("lanes"));
        assert_eq!(again.get(Step::Verify), StepState::Waiting);
    }
}
