//! A hand-built report for the renderers' tests: a finished import with failures, an
//! unfinished sampled verification pass, and a record id that tries to be markup.

use super::data::*;
use super::gather::{describe_pass, sum_rows};
use super::throughput::{derive, Sample};
use crate::store::verify::Pass;
use std::collections::BTreeMap;

/// The run's target in the fixture: the only URL a rendered report may contain.
pub(crate) const TARGET: &str = "https://adminapisgp.im.qcloud.com";

/// A record id that tries to inject a script.
pub(crate) const EVIL: &str = "<script>alert(1)</script>";

fn row(kind: &str, stage: &str, source: u64, imported: u64, failed: u64) -> EntityRow {
    EntityRow {
        kind: kind.into(),
        stage: stage.into(),
        source,
        imported,
        failed,
        verified: imported.saturating_sub(2),
        missing: 1,
        differs: 1,
        mismatched: 2,
        ..EntityRow::default()
    }
}

/// The fixture.
pub(crate) fn report() -> ReportData {
    let entities = vec![
        row("accounts", "accounts", 50, 50, 0),
        row("friends", "friends", 209, 201, 5),
        row("c2c_messages", "c2c messages", 500, 500, 0),
    ];
    let totals = sum_rows(&entities);
    let t0 = 1_732_000_000;
    let samples: Vec<Sample> = (1..=6)
        .flat_map(|i| {
            [
                Sample {
                    at: t0 + i * 5,
                    kind: "accounts".into(),
                    done: 50,
                    failed: 0,
                },
                Sample {
                    at: t0 + i * 5,
                    kind: "c2c_messages".into(),
                    done: (i as u64 * 90).min(500),
                    failed: 0,
                },
            ]
        })
        .collect();
    let pass = Pass {
        started_at: t0 + 60,
        ended_at: None,
        sample: 0.3,
        roaming_days: 7,
        sampled_units: BTreeMap::from([("group_messages".to_string(), (12, 40))]),
    };
    let mismatches = vec![
        MismatchRow {
            kind: "accounts".into(),
            record: EVIL.into(),
            what: "missing".into(),
            detail: "not on the target".into(),
            source: "accounts.jsonl:7".into(),
        },
        MismatchRow {
            kind: "friends".into(),
            record: "u1→u2".into(),
            what: "differs".into(),
            detail: "Remark: \"a|b\" on the target, \"ab\" in the export".into(),
            source: "friends.jsonl:3".into(),
        },
    ];
    let mismatch_totals = MismatchTotals {
        missing: 3,
        differs: 3,
        extra: 0,
        unreadable: 0,
        unchecked: 100,
    };
    let deletions = vec![row("friend_deletions", "friend deletions", 4, 4, 0)];
    ReportData {
        report_version: REPORT_VERSION,
        generated_at: t0 + 100,
        store: "/tmp/run.db".into(),
        run: RunInfo {
            target: TARGET.into(),
            sdkappid: 1_400_000_000,
            admin: "administrator".into(),
            state: "done".into(),
            reason: "5 items failed".into(),
            created_at: t0 - 10,
            updated_at: t0 + 40,
        },
        exports: vec![ExportInfo {
            id: 1,
            root: "/data/export".into(),
            exported_at: t0 - 3600,
            staged_at: t0 - 5,
            watermark: None,
            delta_of: None,
            files: vec![SourceFileInfo {
                kind: "accounts".into(),
                name: "accounts.jsonl".into(),
                records: 52,
                invalid: 2,
            }],
        }],
        steps: vec![
            StepInfo {
                name: "import".into(),
                position: 3,
                state: "done".into(),
                reason: "5 items failed".into(),
                started_at: Some(t0),
                ended_at: Some(t0 + 30),
            },
            StepInfo {
                name: "verify".into(),
                position: 6,
                state: "running".into(),
                reason: String::new(),
                started_at: Some(t0 + 60),
                ended_at: None,
            },
        ],
        audit: vec![AuditEntry {
            at: t0 + 12,
            actor: "operator".into(),
            action: "pause".into(),
            detail: String::new(),
            reason: "checking the <b>lanes</b>".into(),
        }],
        entities,
        totals,
        deletions,
        failures: Failures {
            total: 5,
            groups: vec![FailureGroupRow {
                api: "friend_import".into(),
                code: Some(30001),
                count: 5,
                retryable: false,
                meaning: Some("invalid parameter".into()),
                sample: "Err_SNS_FriendImport_Tag_Not_Exist <img src=x>".into(),
            }],
        },
        verification: describe_pass(Some(&pass), mismatch_totals, mismatches),
        throughput: derive(&samples, Some(t0)),
        sync: None,
        same_second: Default::default(),
        history_since: Vec::new(),
        media: None,
    }
}
