//! Reads everything a report shows from the store, once. Only the store is read: no
//! environment, no network — the store never holds the secret key or a UserSig, so neither can
//! reach a report.

use super::data::{
    AuditEntry, EntityRow, ExportInfo, FailureGroupRow, Failures, MismatchRow, MismatchTotals,
    ReportData, RunInfo, SampledUnits, SourceFileInfo, StepInfo, Verification, VerifyStatus,
    REPORT_VERSION,
};
use super::throughput::{self, Sample};
use crate::model::step::{Step, StepState};
use crate::store::verify::{self, EntityCounts, Pass};
use crate::store::{audit, queries, run, samples, staged, Kind, StoreError};
use crate::tim::errors;
use crate::timefmt::now_secs;
use rusqlite::Connection;
use std::path::Path;

/// How many mismatches a report lists at most.
pub(crate) const MISMATCHES_SHOWN: usize = 50;

/// Gathers the report of the run in the store at `path`, opened as `conn`.
pub fn gather(conn: &Connection, path: &Path) -> Result<ReportData, StoreError> {
    let sql = |source| StoreError::Sql {
        path: path.to_path_buf(),
        source,
    };
    let run = run_info(conn)
        .map_err(sql)?
        .ok_or_else(|| StoreError::NoRun(path.to_path_buf()))?;
    let counts = verify::entity_counts(conn).map_err(sql)?;
    let is_deletion = |c: &&EntityCounts| c.kind.is_some_and(|k| k.deletes().is_some());
    let entities: Vec<EntityRow> = counts
        .iter()
        .filter(|c| !is_deletion(c))
        .map(entity_row)
        .collect();
    let deletions: Vec<EntityRow> = counts
        .iter()
        .filter(|c| is_deletion(c) && c.source > 0)
        .map(entity_row)
        .collect();
    let totals = sum_rows(&entities);
    // Mismatches count a deletion still there as much as a record missing.
    let everything = sum_rows(&[entities.clone(), deletions.clone()].concat());
    let steps = steps(conn).map_err(sql)?;
    let import_started = steps
        .iter()
        .find(|s| s.name == Step::Import.name())
        .and_then(|s| s.started_at);
    Ok(ReportData {
        report_version: REPORT_VERSION,
        generated_at: now_secs(),
        store: path.display().to_string(),
        run,
        exports: exports(conn).map_err(sql)?,
        audit: audit(conn).map_err(sql)?,
        failures: failures(conn).map_err(sql)?,
        verification: verification(conn, &everything).map_err(sql)?,
        throughput: throughput::derive(&samples(conn).map_err(sql)?, import_started),
        sync: sync_figures(conn).map_err(sql)?,
        same_second: crate::store::order::shifts(conn).map_err(sql)?,
        history_since: history_skips(conn).map_err(sql)?,
        media: super::media::gather(conn).map_err(sql)?,
        steps,
        entities,
        totals,
        deletions,
    })
}

/// Messages skipped at staging for `[import] history_since`.
fn history_skips(conn: &Connection) -> rusqlite::Result<Vec<super::data::HistorySkipRow>> {
    Ok(staged::history_skips(conn)?
        .into_iter()
        .map(|h| super::data::HistorySkipRow {
            kind: h.kind.name().to_string(),
            stage: h.kind.stage().to_string(),
            items: h.items,
            cutoff: h.cutoff,
            reason: h.reason(),
        })
        .collect())
}

/// Both directions' sync figures, when any event came.
fn sync_figures(conn: &Connection) -> rusqlite::Result<Option<super::data::SyncFigures>> {
    Ok(
        crate::store::sync::any(conn)?.map(|[old_to_new, new_to_old]| super::data::SyncFigures {
            old_to_new,
            new_to_old,
        }),
    )
}

fn run_info(conn: &Connection) -> rusqlite::Result<Option<RunInfo>> {
    Ok(run::get(conn)?.map(|r| RunInfo {
        target: r.target,
        sdkappid: r.sdkappid,
        admin: r.admin,
        state: r.state,
        reason: r.reason,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }))
}

fn kind_name(code: i64) -> String {
    Kind::from_code(code).map_or_else(|| format!("kind {code}"), |k| k.name().to_string())
}

fn exports(conn: &Connection) -> rusqlite::Result<Vec<ExportInfo>> {
    let exports = staged::exports(conn)?.into_iter().map(|e| ExportInfo {
        id: e.id,
        root: e.root,
        exported_at: e.exported_at,
        staged_at: e.staged_at,
        watermark: e.watermark,
        delta_of: e.delta_of,
        files: e
            .files
            .into_iter()
            .map(|f| SourceFileInfo {
                kind: kind_name(f.kind),
                name: f.name,
                records: f.records,
                invalid: f.invalid,
            })
            .collect(),
    });
    Ok(exports.collect())
}

/// The steps the run reached (a step never recorded is left out).
fn steps(conn: &Connection) -> rusqlite::Result<Vec<StepInfo>> {
    let stored = crate::store::steps::all(conn)?;
    Ok(stored
        .into_iter()
        .filter(|s| s.state != StepState::Waiting || s.started_at.is_some())
        .map(|s| StepInfo {
            name: s.step.name().to_string(),
            position: s.step.index() as i64 + 1,
            state: s.state.word().to_string(),
            reason: s.state.reason().to_string(),
            started_at: s.started_at,
            ended_at: s.ended_at,
        })
        .collect())
}

fn audit(conn: &Connection) -> rusqlite::Result<Vec<AuditEntry>> {
    let entries = audit::entries(conn)?.into_iter().map(|e| AuditEntry {
        at: e.at,
        actor: e.actor,
        action: e.action,
        detail: e.detail,
        reason: e.reason,
    });
    Ok(entries.collect())
}

fn entity_row(c: &EntityCounts) -> EntityRow {
    EntityRow {
        kind: c.kind.map_or("unknown", Kind::name).to_string(),
        stage: c.kind.map_or("unknown", Kind::stage).to_string(),
        source: c.source,
        invalid: c.invalid,
        imported: c.imported,
        failed: c.failed,
        skipped: c.skipped,
        pending: c.pending,
        verified: c.verified,
        missing: c.missing,
        differs: c.differs,
        unreadable: c.unreadable,
        unchecked: c.unchecked,
        extra: c.extra,
        mismatched: c.mismatched(),
    }
}

/// The sum of `rows`, named `total`.
pub(crate) fn sum_rows(rows: &[EntityRow]) -> EntityRow {
    let mut t = EntityRow {
        kind: "total".into(),
        stage: "total".into(),
        ..EntityRow::default()
    };
    for r in rows {
        t.source += r.source;
        t.invalid += r.invalid;
        t.imported += r.imported;
        t.failed += r.failed;
        t.skipped += r.skipped;
        t.pending += r.pending;
        t.verified += r.verified;
        t.missing += r.missing;
        t.differs += r.differs;
        t.unreadable += r.unreadable;
        t.unchecked += r.unchecked;
        t.extra += r.extra;
        t.mismatched += r.mismatched;
    }
    t
}

fn failures(conn: &Connection) -> rusqlite::Result<Failures> {
    let groups: Vec<FailureGroupRow> = queries::failure_groups(conn)?
        .into_iter()
        .map(|g| FailureGroupRow {
            meaning: g
                .code
                .map(|c| errors::lookup_named(&g.api, c).meaning.to_string()),
            api: g.api,
            code: g.code,
            count: g.count,
            retryable: g.retryable,
            sample: g.sample,
        })
        .collect();
    Ok(Failures {
        total: groups.iter().map(|g| g.count).sum(),
        groups,
    })
}

fn verification(conn: &Connection, totals: &EntityRow) -> rusqlite::Result<Verification> {
    let pass = verify::pass(conn)?;
    let mismatches = match pass {
        Some(_) => verify::mismatches(conn, None, MISMATCHES_SHOWN)?
            .into_iter()
            .map(|m| MismatchRow {
                kind: m.kind.name().to_string(),
                record: m.record,
                what: m.what.to_string(),
                detail: m.detail,
                source: m.source,
            })
            .collect(),
        None => Vec::new(),
    };
    let mismatch_totals = MismatchTotals {
        missing: totals.missing,
        differs: totals.differs,
        extra: totals.extra,
        unreadable: totals.unreadable,
        unchecked: totals.unchecked,
    };
    Ok(describe_pass(pass.as_ref(), mismatch_totals, mismatches))
}

/// What a unit of sampling is for a kind: a conversation, a group.
fn unit_of(kind: &str) -> &'static str {
    match kind {
        "c2c_messages" => "conversations",
        "group_members" | "group_messages" => "groups",
        _ => "units",
    }
}

fn stage_of(kind: &str) -> String {
    Kind::ALL
        .into_iter()
        .find(|k| k.name() == kind)
        .map_or_else(|| kind.to_string(), |k| k.stage().to_string())
}

/// The verification section from the pass (if any) and the counts: the plain sentences say
/// whether it ran, whether it finished, and what a sample left out.
pub(crate) fn describe_pass(
    pass: Option<&Pass>,
    totals: MismatchTotals,
    mismatches: Vec<MismatchRow>,
) -> Verification {
    let Some(p) = pass else {
        return Verification {
            status: VerifyStatus::NotRun,
            started_at: None,
            ended_at: None,
            sample: None,
            roaming_days: None,
            sampled: Vec::new(),
            notes: vec![
                "verification not run: nothing was read back from the target, so the imported \
                 counts are what the target answered, not what a read-back showed"
                    .into(),
            ],
            totals,
            mismatches,
            mismatches_limit: MISMATCHES_SHOWN,
        };
    };
    let sampled: Vec<SampledUnits> = p
        .sampled_units
        .iter()
        .map(|(kind, &(read_back, total))| SampledUnits {
            unit: unit_of(kind).to_string(),
            stage: stage_of(kind),
            kind: kind.clone(),
            read_back,
            total,
        })
        .collect();
    let notes = pass_notes(p, &sampled, &totals);
    Verification {
        status: if p.ended_at.is_some() {
            VerifyStatus::Finished
        } else {
            VerifyStatus::Unfinished
        },
        started_at: Some(p.started_at),
        ended_at: p.ended_at,
        sample: Some(p.sample),
        roaming_days: Some(p.roaming_days),
        sampled,
        notes,
        totals,
        mismatches,
        mismatches_limit: MISMATCHES_SHOWN,
    }
}

/// What a reader must know to read a pass's figures: unfinished, sampled (and how much of
/// each sampled kind was read), the roaming limit, or that nothing was amiss.
fn pass_notes(p: &Pass, sampled: &[SampledUnits], totals: &MismatchTotals) -> Vec<String> {
    let mut notes = Vec::new();
    if p.ended_at.is_none() {
        notes.push(format!(
            "the verification pass started at {} did not finish: items it did not reach are \
             counted unchecked",
            crate::timefmt::utc(p.started_at)
        ));
    }
    if p.sample < 1.0 {
        notes.push(format!(
            "messages were sampled (sample {}): only the sampled conversations and groups were \
             read back",
            p.sample
        ));
        for s in sampled {
            notes.push(format!(
                "{}: {} of {} {} read back (sample {})",
                s.stage, s.read_back, s.total, s.unit, p.sample
            ));
        }
    }
    if p.roaming_days > 0 {
        notes.push(format!(
            "messages older than {} days cannot be read back (the app's roaming period): they \
             are counted unreadable",
            p.roaming_days
        ));
    }
    if p.ended_at.is_some() && totals.mismatched() == 0 {
        notes.push("the read-back found no missing, differing or extra records".into());
    }
    notes
}

fn samples(conn: &Connection) -> rusqlite::Result<Vec<Sample>> {
    let samples = samples::all(conn)?.into_iter().map(|s| Sample {
        at: s.at,
        kind: kind_name(s.kind),
        done: s.done,
        failed: s.failed,
    });
    Ok(samples.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pass(sample: f64, ended: Option<i64>) -> Pass {
        Pass {
            started_at: 1_732_000_000,
            ended_at: ended,
            sample,
            roaming_days: 0,
            sampled_units: BTreeMap::from([("group_messages".to_string(), (12, 40))]),
        }
    }

    #[test]
    fn the_notes_say_plainly_what_was_and_was_not_checked() {
        let v = describe_pass(None, MismatchTotals::default(), Vec::new());
        assert_eq!(v.status, VerifyStatus::NotRun);
        assert!(v.notes[0].starts_with("verification not run"));

        let v = describe_pass(
            Some(&pass(0.3, None)),
            MismatchTotals::default(),
            Vec::new(),
        );
        assert_eq!(v.status, VerifyStatus::Unfinished);
        assert!(v.notes[0].contains("did not finish"), "{:?}", v.notes);
        assert!(v
            .notes
            .iter()
            .any(|n| n == "group messages: 12 of 40 groups read back (sample 0.3)"));

        let v = describe_pass(
            Some(&pass(1.0, Some(1_732_000_100))),
            MismatchTotals::default(),
            Vec::new(),
        );
        assert_eq!(v.status, VerifyStatus::Finished);
        assert!(!v.notes.iter().any(|n| n.contains("sample")));
    }
}
