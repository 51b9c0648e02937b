//! The sync's share of `status`, `errors`, `retry` and `skip`: per-direction figures, failed
//! events, and moving them back to pending or to skipped (`--stage sync`).

use crate::model::sync_event::Direction;
use crate::store::audit;
use crate::store::sync::{any, EventState};
use crate::store::sync_queue::{failed_events, held_scopes, move_failed};
use crate::ui::headless::ms;
use rusqlite::Connection;
use std::io::Write;

/// The sync lines of `cutover status`.
pub(crate) fn print_status(conn: &Connection, out: &mut dyn Write) -> anyhow::Result<()> {
    let Some(c) = any(conn)? else {
        writeln!(out, "sync: no event yet")?;
        return Ok(());
    };
    for (d, f) in Direction::ALL.iter().zip(&c) {
        writeln!(
            out,
            "sync {}: {} received, {} applied, {} failed, {} held, {} dropped as echo, {} recovered by reconciliation, {} waiting, lag p50 {} p99 {}",
            d.label(),
            f.received,
            f.applied,
            f.failed,
            f.held,
            f.dropped_as_echo,
            f.recovered,
            f.pending,
            ms(f.lag_p50_ms),
            ms(f.lag_p99_ms)
        )?;
        for (scope, n) in held_scopes(conn, *d)?.iter().take(10) {
            writeln!(
                out,
                "  held scope {}: {n} events wait (`cutover skip|retry --stage sync`)",
                scope.replace('\u{1f}', "→")
            )?;
        }
    }
    Ok(())
}

/// The failed sync events of `cutover errors` (the first 50).
pub(crate) fn print_failures(conn: &Connection, out: &mut dyn Write) -> anyhow::Result<()> {
    let failed = failed_events(conn, 50)?;
    if failed.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nsync events failed (`cutover retry --stage sync` sends them again; held ones keep their scope waiting until retried or skipped):"
    )?;
    for f in &failed {
        let code = f.code.map_or("-".to_string(), |c| c.to_string());
        writeln!(
            out,
            "  {}{} {} {} {} {code}: {} ({} attempts)",
            if f.held { "HELD " } else { "" },
            f.direction.label(),
            f.kind,
            f.event_id,
            f.api,
            f.info,
            f.attempts
        )?;
    }
    Ok(())
}

/// `retry`/`skip --stage sync`: failed and held events back to pending, or skipped (with the
/// pending ones still failing); audited.
pub(crate) fn move_failed_events(
    conn: &Connection,
    to: EventState,
    action: &str,
    reason: &str,
) -> anyhow::Result<usize> {
    let tx = conn.unchecked_transaction()?;
    let n = move_failed(&tx, to)?;
    let detail = format!("failed sync events ({n})");
    audit::record(&tx, "cli", action, &detail, reason)?;
    tx.commit()?;
    Ok(n)
}
