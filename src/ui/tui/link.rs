//! What the runbook flow hands the console while it runs: the question a risky step asks, and
//! the handles of the import, the verification and the relay. The flow writes through
//! [`Observer`]; the console reads and answers on its own loop.

use super::app::StepView;
use crate::engine::import::ImportHandle;
use crate::media::progress::MediaProgress;
use crate::model::step::{Step, StepState};
use crate::runbook::drive::Observer;
use crate::sync::relay::RelayHandle;
use crate::verify::Progress;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{oneshot, watch};

/// A step waiting for the operator: which, what confirming runs, and where the answer goes.
pub(crate) struct Question {
    /// The step's index.
    pub(crate) step: usize,
    /// What confirming it runs.
    pub(crate) what: String,
    /// The answer: true runs it.
    pub(crate) answer: oneshot::Sender<bool>,
}

/// A running verification: its progress, and how to stop it.
pub(crate) type VerifyHandle = (Arc<Progress>, Arc<watch::Sender<bool>>);

/// What the flow shares with the screen (clones share the same state).
#[derive(Clone, Default)]
pub(crate) struct Link {
    /// The question waiting for an answer, if any.
    pub(crate) question: Arc<Mutex<Option<Question>>>,
    /// The import, once started.
    pub(crate) import: Arc<Mutex<Option<ImportHandle>>>,
    /// The verification, once started.
    pub(crate) verify: Arc<Mutex<Option<VerifyHandle>>>,
    /// The relay, once started.
    pub(crate) relay: Arc<Mutex<Option<RelayHandle>>>,
    /// The media stage, once started.
    pub(crate) media: Arc<Mutex<Option<Arc<MediaProgress>>>>,
}

/// Locks `m`; a panic elsewhere while it was held leaves plain data that is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    /// The steps as shown: their published states, with the question on the step that asks.
    pub(crate) fn step_views(&self, states: &[StepState]) -> Vec<StepView> {
        let question = lock(&self.question);
        Step::ALL
            .into_iter()
            .map(|step| {
                let state = states.get(step.index()).cloned().unwrap_or_default();
                let mut view = StepView::new(step, state);
                view.confirm = question
                    .as_ref()
                    .filter(|q| q.step == step.index())
                    .map(|q| q.what.clone());
                view
            })
            .collect()
    }

    /// Answers the question of step `step`, if that is the one asked.
    pub(crate) fn answer(&self, step: usize, yes: bool) {
        let mut question = lock(&self.question);
        if question.as_ref().is_some_and(|q| q.step == step) {
            if let Some(q) = question.take() {
                // The flow may have ended meanwhile: nobody left to tell.
                let _ = q.answer.send(yes);
            }
        }
    }

    /// Declines whatever is asked (nobody is left to answer).
    pub(crate) fn decline(&self) {
        if let Some(q) = lock(&self.question).take() {
            let _ = q.answer.send(false);
        }
    }
}

impl Observer for Link {
    fn step(&mut self, _step: Step, _state: &StepState) -> std::io::Result<()> {
        // The console reads step states from the runner's step book, which published this.
        Ok(())
    }

    fn confirm(&mut self, step: Step, what: &str) -> oneshot::Receiver<bool> {
        let (answer, rx) = oneshot::channel();
        *lock(&self.question) = Some(Question {
            step: step.index(),
            what: what.to_string(),
            answer,
        });
        rx
    }

    fn import_started(&mut self, handle: &ImportHandle) {
        *lock(&self.import) = Some(handle.clone());
    }

    fn tick(&mut self, _handle: &ImportHandle) -> std::io::Result<()> {
        Ok(())
    }

    fn verify_started(&mut self, progress: &Arc<Progress>, stop: &Arc<watch::Sender<bool>>) {
        *lock(&self.verify) = Some((Arc::clone(progress), Arc::clone(stop)));
    }

    fn media_started(&mut self, progress: &Arc<MediaProgress>) {
        *lock(&self.media) = Some(Arc::clone(progress));
    }

    fn sync_started(&mut self, relay: RelayHandle) {
        *lock(&self.relay) = Some(relay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_shows_on_its_step_until_answered() {
        let mut link = Link::default();
        let mut rx = link.confirm(Step::ResumeService, "POST http://old/resume");
        let states = vec![StepState::Waiting; Step::ALL.len()];
        let views = link.step_views(&states);
        let asking: Vec<_> = views.iter().filter(|v| v.confirm.is_some()).collect();
        assert_eq!(asking.len(), 1);
        assert_eq!(asking[0].step, Step::ResumeService);
        // An answer for another step is not this question's.
        link.answer(Step::StopService.index(), true);
        assert!(rx.try_recv().is_err());
        link.answer(Step::ResumeService.index(), true);
        assert_eq!(rx.try_recv(), Ok(true));
        assert!(link.step_views(&states).iter().all(|v| v.confirm.is_none()));
    }
}
