//! The window's deletions, before its import sends anything: a delta that would delete more
//! than `[window] max_delete_share` of a kind's imported records is refused (a broken query
//! must never empty the target), and accounts, whose deletion cannot be undone for months,
//! wait for their own confirmation (`--delete-accounts` headless) or are skipped by the
//! runbook (`[window] delete_accounts = "skip"`).

use super::drive::{change, Asking, Observer, RunExit, WAITING_FOR_CONFIRMATION};
use super::runner::Runner;
use super::RunbookError;
use crate::config::AccountDeletions;
use crate::model::step::{Step, StepState};
use crate::store::deletions::{self, DeletionShare};
use crate::store::Kind;

/// What the import may do about deletions.
pub(crate) enum Gate {
    /// Go, leaving these kinds pending (account deletions not confirmed).
    Go {
        /// Kinds held back.
        held: Vec<Kind>,
    },
    /// Refused before any call: the run ends with this exit.
    Refused(RunExit),
}

/// The words of a refusal for deleting too much of a kind.
pub(crate) fn too_much(share: &DeletionShare, max: f64) -> String {
    let record = share.kind.record();
    format!(
        "the delta deletes {} of the {} {} imported ({:.1} %), more than [window] \
         max_delete_share allows ({:.1} %): nothing was sent. Check the export's tombstones and \
         key sets (keys/{}.jsonl); if the deletions are meant, raise max_delete_share and run \
         again",
        share.pending,
        share.imported,
        record.stage(),
        share.share() * 100.0,
        max * 100.0,
        record.file().stem()
    )
}

/// Checks the pending deletions against the runbook, asking for the accounts' confirmation.
/// Without `asking` (a follow run's round), unconfirmed account deletions are held back,
/// pending, for the last round to ask.
pub(crate) async fn gate(
    runner: &Runner,
    obs: &mut dyn Observer,
    asking: Asking,
) -> Result<Gate, RunbookError> {
    let policy = runner.runbook.deletions;
    let mut conn = runner.conn()?;
    let shares = deletions::shares(&conn)?;
    if let Some(over) = shares.iter().find(|s| s.share() > policy.max_share) {
        let reason = too_much(over, policy.max_share);
        change(runner, obs, Step::Import, StepState::failed(reason))?;
        return Ok(Gate::Refused(RunExit::Fatal));
    }
    let Some(accounts) = shares.iter().find(|s| s.kind == Kind::AccountDeletion) else {
        return Ok(Gate::Go { held: Vec::new() });
    };
    let actor = "runbook";
    match (policy.accounts, policy.confirmed) {
        (AccountDeletions::Skip, _) => {
            let why = "[window] delete_accounts = \"skip\": the accounts stay on the target";
            deletions::skip_pending(&mut conn, Kind::AccountDeletion, actor, why)?;
            Ok(Gate::Go { held: Vec::new() })
        }
        (AccountDeletions::Confirm, true) => {
            let why = "confirmed up front with --delete-accounts";
            crate::store::audit::record(
                &conn,
                "operator",
                "delete accounts",
                &what(accounts),
                why,
            )?;
            Ok(Gate::Go { held: Vec::new() })
        }
        (AccountDeletions::Confirm, false) if asking == Asking::No => Ok(Gate::Go {
            held: vec![Kind::AccountDeletion],
        }),
        (AccountDeletions::Confirm, false) => {
            let what = what(accounts);
            if super::drive::ask(runner, obs, Step::Import, &what).await? {
                let why = "confirmed in the console";
                crate::store::audit::record(&conn, "operator", "delete accounts", &what, why)?;
                change(runner, obs, Step::Import, StepState::running(""))?;
                return Ok(Gate::Go { held: Vec::new() });
            }
            change(runner, obs, Step::Import, StepState::running(""))?;
            Ok(Gate::Go {
                held: vec![Kind::AccountDeletion],
            })
        }
    }
}

/// What confirming the account deletions does.
fn what(accounts: &DeletionShare) -> String {
    let n = accounts.pending;
    format!(
        "delete {n} {} on the target with account_delete after everything else: \
         irreversible, {} cannot be imported again for months",
        if n == 1 { "account" } else { "accounts" },
        if n == 1 {
            "its UserID"
        } else {
            "their UserIDs"
        }
    )
}

/// The import step's state when it ended with account deletions held back: stopped, waiting.
pub(crate) fn held_state(held: &[Kind]) -> Option<StepState> {
    (!held.is_empty()).then(|| {
        StepState::stopped(format!(
            "{WAITING_FOR_CONFIRMATION}: everything else is imported and deleted; the account \
             deletions wait (run again and confirm them in the console, or headless with \
             --delete-accounts; or set [window] delete_accounts = \"skip\")"
        ))
    })
}
