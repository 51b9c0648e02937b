//! What a phase allows before anything is staged or called: a pre-copy needs a watermark for
//! its delta to follow, and a window's delta must follow the watermark of what the store
//! holds (the pre-copy, or the delta before it).

use super::error::RunbookError;
use crate::model::phase::Phase;
use crate::source::ExportDir;
use crate::store::phase;
use crate::timefmt;
use rusqlite::Connection;
use std::path::Path;

/// Refuses `export` for `phase` on the store at `store` (through `conn`) when the phase's
/// rules do not hold; an export the store already staged (a resumed run) always passes.
pub(crate) fn check_export(
    conn: &Connection,
    store: &Path,
    phase: Phase,
    export: &ExportDir,
    fingerprint: &str,
) -> Result<(), RunbookError> {
    if phase == Phase::Follow {
        return check_follow(conn, store, export, fingerprint);
    }
    if phase::export_with(conn, fingerprint)?.is_some() {
        return Ok(());
    }
    let manifest = export.root.join("manifest.json");
    let refuse = |why: String| Err(RunbookError::Phase(why));
    match phase {
        Phase::Full => Ok(()),
        Phase::Precopy if export.manifest.watermark.is_none() => refuse(format!(
            "a pre-copy needs a watermark: {} has none, so no delta could follow it \
             (the exporter writes \"watermark\": the newest change time it includes)",
            manifest.display()
        )),
        Phase::Precopy | Phase::Follow => Ok(()),
        Phase::Window => {
            let Some(delta_of) = export.manifest.delta_of else {
                return refuse(format!(
                    "a window imports a delta export: {} has no \"delta_of\" (the watermark of \
                     the export it follows)",
                    manifest.display()
                ));
            };
            match phase::newest_export(conn)? {
                None => refuse(format!(
                    "the store {} holds no pre-copy for this delta to follow: run \
                     `cutover run --phase precopy` with the full export first",
                    store.display()
                )),
                Some((_, held)) if held != Some(delta_of) => refuse(format!(
                    "the delta follows watermark {delta_of} ({}) but the store {} holds \
                     watermark {}: stage the deltas in order, each after the one it follows",
                    timefmt::utc(delta_of),
                    store.display(),
                    held.map_or("none".to_string(), |w| format!("{w} ({})", timefmt::utc(w)))
                )),
                Some(_) => Ok(()),
            }
        }
    }
}

/// A follow run goes on from a pre-copy: the store must hold one (with the watermark its
/// rounds follow), and the runbook's source must be the export that pre-copy staged.
fn check_follow(
    conn: &Connection,
    store: &Path,
    export: &ExportDir,
    fingerprint: &str,
) -> Result<(), RunbookError> {
    let refuse = |why: String| Err(RunbookError::Phase(why));
    if !phase::has_precopy(conn)? {
        return refuse(format!(
            "a follow run goes on from a pre-copy, and the store {} holds none: run `cutover \
             run --phase precopy` with the full export first",
            store.display()
        ));
    }
    if !matches!(phase::newest_export(conn)?, Some((_, Some(_)))) {
        return refuse(format!(
            "the store {}'s newest export has no watermark: a round could not know what \
             changed since",
            store.display()
        ));
    }
    if phase::export_with(conn, fingerprint)?.is_none() {
        return refuse(format!(
            "the runbook's source {} is not an export this store staged: give the pre-copy's \
             export as `source` (the rounds' exports are written beside the store)",
            export.root.display()
        ));
    }
    Ok(())
}
