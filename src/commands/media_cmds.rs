//! The media objects of a run in the companion commands: `cutover errors` lists those that
//! could not be copied, `cutover retry --stage media` / `skip --stage media` move them.

use crate::store::audit;
use crate::store::media::{self, MediaState};
use rusqlite::Connection;
use std::io::Write;

/// Failed or skipped media objects shown at most, one per line.
const SHOWN: usize = 20;

/// Lists the media objects that could not be copied (nothing when there are none).
pub(crate) fn print_failures(conn: &Connection, out: &mut dyn Write) -> anyhow::Result<()> {
    let failures = media::failures(conn)?;
    if failures.is_empty() {
        return Ok(());
    }
    let failed = failures
        .iter()
        .filter(|f| f.state == MediaState::Failed)
        .count();
    writeln!(
        out,
        "{failed} media objects failed, {} skipped (messages carry `[media] on_unreachable`):",
        failures.len() - failed
    )?;
    for f in failures.iter().take(SHOWN) {
        let state = match f.state {
            MediaState::Skipped => "skipped",
            _ if f.retryable => "failed, retry can help",
            _ => "failed",
        };
        writeln!(
            out,
            "  {}:{} {} {} ({} messages, {} attempts, {state}): {}",
            f.file,
            f.line,
            f.elem,
            crate::model::media::shown_url(&f.url),
            f.refs,
            f.attempts,
            f.reason
        )?;
    }
    if failures.len() > SHOWN {
        writeln!(out, "  … and {} more", failures.len() - SHOWN)?;
    }
    writeln!(
        out,
        "`cutover retry --stage media` copies the failed ones at the next run; `cutover skip --stage media --reason …` gives them up"
    )?;
    Ok(())
}

/// Moves the failed media objects to pending (retry) or skipped; how many, recorded in the
/// audit trail.
pub(crate) fn move_failed(
    conn: &Connection,
    retry: bool,
    action: &str,
    reason: &str,
) -> anyhow::Result<u64> {
    let tx = conn.unchecked_transaction()?;
    let n = if retry {
        media::retry_failed(&tx)?
    } else {
        media::skip_failed(&tx)?
    };
    audit::record(
        &tx,
        "cli",
        action,
        &format!("failed media objects ({n})"),
        reason,
    )?;
    tx.commit()?;
    Ok(n)
}
