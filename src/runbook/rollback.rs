//! Backing out of the cutover, the same from `cutover rollback` and from the console: once the
//! import and the sync are stopped, the resume-service hook brings the old service back, and
//! the decision with its reason goes into the audit trail (and so the report), the run's state
//! (`rolled back`) and the resume-service step.

use super::book::{BookError, StepBook};
use super::hooks;
use crate::config::{HookConfig, Runbook};
use crate::model::step::{Step, StepState};
use crate::store::{audit, open_for_writing, run, StoreError};
use std::path::Path;

/// Why a rollback could not be completed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RollbackError {
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit row or the run's state cannot be written.
    #[error("the store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The resume-service step cannot be recorded.
    #[error(transparent)]
    Book(#[from] BookError),
    /// The resume-service hook failed (the decision is recorded; the old service is not
    /// confirmed back).
    #[error("the resume service hook failed: {0} (the decision is recorded; the old service is NOT confirmed back)")]
    Hook(String),
}

/// Exactly what a rollback does, for a confirmation.
pub(crate) fn describe(runbook: &Runbook) -> String {
    let resume = match &runbook.resume_service {
        Some(h) => format!("run the resume_service hook: {}", hooks::describe(h)),
        None => "no resume_service hook is configured: bring the old service back by hand".into(),
    };
    format!(
        "stop the import (requests in flight finish and are recorded) and the two-way sync; \
         then {resume}"
    )
}

/// Runs the resume-service hook (if any) once the run is stopped (`stopped` says how), and
/// records the rollback by `actor` with `reason`. Returns what was done, for a person.
pub(crate) async fn resume_and_record(
    store: &Path,
    steps: &StepBook,
    hook: Option<&HookConfig>,
    stopped: &str,
    actor: &str,
    reason: &str,
) -> Result<String, RollbackError> {
    let resumed = match hook {
        None => "no resume_service hook configured: bring the old service back by hand".to_string(),
        Some(h) => match hooks::run_hook(h).await {
            Ok(said) => format!("resume service: {said}"),
            Err(why) => {
                let conn = open_for_writing(store)?;
                let detail = format!("{stopped}; resume service FAILED: {why}");
                audit::record(&conn, actor, "rollback", &detail, reason)?;
                run::set_state(&conn, "rolled back", reason)?;
                return Err(RollbackError::Hook(why));
            }
        },
    };
    let detail = format!("{stopped}; {resumed}");
    let conn = open_for_writing(store)?;
    audit::record(&conn, actor, "rollback", &detail, reason)?;
    run::set_state(&conn, "rolled back", reason)?;
    let note = format!("rollback: {resumed}");
    let state = if hook.is_some() {
        StepState::done(note)
    } else {
        StepState::skipped(note)
    };
    steps.set(Step::ResumeService, state)?;
    Ok(detail)
}
