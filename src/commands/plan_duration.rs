//! `cutover plan`'s whole window: each part's expected time and how it was estimated, the
//! total, and, with `[window] ends_at`, when the window would end and its margin.

use crate::engine::plan_duration::WindowDuration;
use crate::timefmt::eta_text;
use std::io::Write;

/// Prints the whole window's parts, total and fit.
pub(super) fn print(d: &WindowDuration, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "\nthe whole window, part by part:")?;
    for p in &d.parts {
        writeln!(
            out,
            "  {:<15} {:>10}  {}",
            p.name,
            eta_text(Some(p.secs)),
            p.basis
        )?;
    }
    writeln!(
        out,
        "  {:<15} {:>10}",
        "total",
        eta_text(Some(d.total_secs))
    )?;
    if let Some(fit) = &d.fit {
        let verdict = if fit.fits {
            format!("fits, {} to spare", eta_text(Some(fit.margin_secs as f64)))
        } else {
            format!(
                "does NOT fit: over by {}",
                eta_text(Some(-fit.margin_secs as f64))
            )
        };
        writeln!(
            out,
            "  started now, the window ends its work at {}: {verdict}",
            crate::timefmt::utc(fit.finish_at)
        )?;
    } else {
        writeln!(
            out,
            "  (set [window] ends_at in the runbook to see whether it fits)"
        )?;
    }
    Ok(())
}
