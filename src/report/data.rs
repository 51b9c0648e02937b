//! What a report holds: gathered once from the store ([`super::gather`]), rendered as Markdown,
//! JSON or HTML. The JSON rendering is this structure as it is, so every field here is part of
//! the documented shape (docs/report-json.md): rename or remove one only with a new
//! [`REPORT_VERSION`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the report's JSON shape.
pub(crate) const REPORT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The shape's version ([`REPORT_VERSION`]).
    pub(crate) report_version: u32,
    /// When the report was made (seconds since the epoch).
    pub(crate) generated_at: i64,
    /// The store it was read from.
    pub(crate) store: String,
    /// The run.
    pub(crate) run: RunInfo,
    /// The exports staged into the store, oldest first.
    pub(crate) exports: Vec<ExportInfo>,
    /// The runbook's steps, in runbook order.
    pub(crate) steps: Vec<StepInfo>,
    /// Operator (and engine) actions from the audit trail, oldest first.
    pub(crate) audit: Vec<AuditEntry>,
    /// Per-entity counts, in staging order.
    pub(crate) entities: Vec<EntityRow>,
    /// The sum of every entity row (`kind` and `stage` are `total`).
    pub(crate) totals: EntityRow,
    /// Per deletion stage a delta carried (tombstones or keys gone from its key sets), in the
    /// order they are applied: `source` counts the deletions, `imported` those done on the
    /// target ("deleted"), `verified` those read back gone, the mismatches those still there.
    #[serde(default)]
    pub(crate) deletions: Vec<EntityRow>,
    /// Failed items grouped by API and error code.
    pub(crate) failures: Failures,
    /// The read-back verification.
    pub(crate) verification: Verification,
    /// Items settled per second over the import.
    pub(crate) throughput: Throughput,
    /// Two-way sync, once any event came either way.
    #[serde(default)]
    pub(crate) sync: Option<SyncFigures>,
    /// Group messages sent later than their own time (same-second bursts) or refused for it.
    #[serde(default)]
    pub same_second: crate::store::order::Shifts,
    /// Messages skipped at staging for being older than `[import] history_since`, per kind
    /// and cut-off (they are in the entities' `skipped`).
    #[serde(default)]
    pub(crate) history_since: Vec<HistorySkipRow>,
    /// Media referenced by the messages, per host, and what became of it (absent: none).
    #[serde(default)]
    pub(crate) media: Option<super::media::MediaReport>,
}

/// Messages of one kind skipped at staging for one history cut-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HistorySkipRow {
    /// The kind's name (`c2c_messages`, `group_messages`).
    pub(crate) kind: String,
    /// The stage's name as shown to a person.
    pub(crate) stage: String,
    /// How many.
    pub(crate) items: u64,
    /// The cut-off (seconds since the epoch).
    pub(crate) cutoff: i64,
    /// `older than history_since 2026-11-01`.
    pub(crate) reason: String,
}

/// Two-way sync's figures per direction (see `cutover status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SyncFigures {
    /// Old system → Tencent IM.
    pub(crate) old_to_new: crate::store::sync::DirectionCounts,
    /// Tencent IM → old system.
    pub(crate) new_to_old: crate::store::sync::DirectionCounts,
}

/// The run's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunInfo {
    /// The target: a base URL or a region.
    pub(crate) target: String,
    /// The app's SDKAppID.
    pub(crate) sdkappid: u64,
    /// The admin identifier the run used.
    pub(crate) admin: String,
    /// The run's state (`running`, `paused`, `done`, …).
    pub(crate) state: String,
    /// Why it is in that state (may be empty).
    pub(crate) reason: String,
    /// When the store was bound to this run.
    pub(crate) created_at: i64,
    /// When the state last changed.
    pub(crate) updated_at: i64,
}

/// One staged export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExportInfo {
    /// Its number in the store.
    pub(crate) id: i64,
    /// The export directory.
    pub(crate) root: String,
    /// When the old system took it (from its manifest).
    pub(crate) exported_at: i64,
    /// When it was staged into the store.
    pub(crate) staged_at: i64,
    /// The manifest's watermark, if any.
    pub(crate) watermark: Option<i64>,
    /// The export this one is a delta of, if any.
    pub(crate) delta_of: Option<i64>,
    /// Its files.
    pub(crate) files: Vec<SourceFileInfo>,
}

/// One file of a staged export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourceFileInfo {
    /// The kind of its records (`accounts`, `c2c_messages`, …).
    pub(crate) kind: String,
    /// The file's name.
    pub(crate) name: String,
    /// Records read.
    pub(crate) records: u64,
    /// Records refused at staging.
    pub(crate) invalid: u64,
}

/// One runbook step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StepInfo {
    /// Its name.
    pub(crate) name: String,
    /// Its place in the runbook (1 first).
    pub(crate) position: i64,
    /// `running`, `done`, `failed`, `skipped`, …
    pub(crate) state: String,
    /// Why (may be empty).
    pub(crate) reason: String,
    /// When it first started, if it did.
    pub(crate) started_at: Option<i64>,
    /// When it ended, if it did.
    pub(crate) ended_at: Option<i64>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditEntry {
    /// When.
    pub(crate) at: i64,
    /// `operator`, `engine` or `cli`.
    pub(crate) actor: String,
    /// `pause`, `resume`, `retry`, `skip`, …
    pub(crate) action: String,
    /// What exactly.
    pub(crate) detail: String,
    /// Why.
    pub(crate) reason: String,
}

/// The counts of one entity kind (or of all, for the totals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntityRow {
    /// The kind's name (`accounts`, `c2c_messages`, …; `total` for the totals).
    pub(crate) kind: String,
    /// The stage's name as shown to a person (`c2c messages`).
    pub(crate) stage: String,
    /// Records in the export (valid and invalid).
    pub(crate) source: u64,
    /// Records refused at staging.
    pub(crate) invalid: u64,
    /// Items imported.
    pub(crate) imported: u64,
    /// Items failed for good.
    pub(crate) failed: u64,
    /// Items skipped by an operator, or at staging (`[import] history_since`).
    pub(crate) skipped: u64,
    /// Items not yet sent.
    pub(crate) pending: u64,
    /// Imported items read back as they should be.
    pub(crate) verified: u64,
    /// Imported items missing on the target.
    pub(crate) missing: u64,
    /// Imported items with a differing field.
    pub(crate) differs: u64,
    /// Imported items that cannot be read back (retention).
    pub(crate) unreadable: u64,
    /// Imported items not read back.
    pub(crate) unchecked: u64,
    /// Things on the target that the export does not have.
    pub(crate) extra: u64,
    /// `missing + differs + extra`.
    pub(crate) mismatched: u64,
}

/// Failed items by API and code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Failures {
    /// Failed items in all.
    pub(crate) total: u64,
    /// One group per API and code, most items first.
    pub(crate) groups: Vec<FailureGroupRow>,
}

/// Failed items of one API with one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailureGroupRow {
    /// The API's command name.
    pub(crate) api: String,
    /// The error code (`null`: the engine's own refusal).
    pub(crate) code: Option<i64>,
    /// Items.
    pub(crate) count: u64,
    /// Whether a retry can succeed.
    pub(crate) retryable: bool,
    /// What the code means (`null` without a code).
    pub(crate) meaning: Option<String>,
    /// One of the messages received, as received.
    pub(crate) sample: String,
}

/// Whether and how far verification ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VerifyStatus {
    /// No pass ever started.
    NotRun,
    /// A pass started and did not finish.
    Unfinished,
    /// A pass finished.
    Finished,
}

/// The read-back verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Verification {
    /// Whether it ran, and finished.
    pub(crate) status: VerifyStatus,
    /// When the pass started.
    pub(crate) started_at: Option<i64>,
    /// When it finished.
    pub(crate) ended_at: Option<i64>,
    /// The fraction of conversations and groups whose messages were read back.
    pub(crate) sample: Option<f64>,
    /// Messages older than this many days cannot be read back (0: no limit).
    pub(crate) roaming_days: Option<i64>,
    /// Per sampled kind: units read back of units in all.
    pub(crate) sampled: Vec<SampledUnits>,
    /// Plain sentences on what was and was not checked, for a person.
    pub(crate) notes: Vec<String>,
    /// Mismatch counts across every kind.
    pub(crate) totals: MismatchTotals,
    /// The first mismatches (at most `mismatches_limit`).
    pub(crate) mismatches: Vec<MismatchRow>,
    /// How many mismatches the report lists at most.
    pub(crate) mismatches_limit: usize,
}

/// Units of one kind read back when messages were sampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SampledUnits {
    /// The kind's name (`c2c_messages`, `group_members`, `group_messages`).
    pub(crate) kind: String,
    /// The stage's name as shown to a person (`group messages`).
    pub(crate) stage: String,
    /// What a unit is (`conversations`, `groups`).
    pub(crate) unit: String,
    /// Units read back.
    pub(crate) read_back: u64,
    /// Units in all.
    pub(crate) total: u64,
}

/// Mismatch counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MismatchTotals {
    /// Imported items missing on the target.
    pub(crate) missing: u64,
    /// Imported items with a differing field.
    pub(crate) differs: u64,
    /// Things on the target the export does not have.
    pub(crate) extra: u64,
    /// Imported items that cannot be read back.
    pub(crate) unreadable: u64,
    /// Imported items not read back.
    pub(crate) unchecked: u64,
}

impl MismatchTotals {
    /// Missing, differing and extra together.
    pub(crate) fn mismatched(&self) -> u64 {
        self.missing + self.differs + self.extra
    }
}

/// One mismatch found by the read-back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MismatchRow {
    /// The kind's name.
    pub(crate) kind: String,
    /// The record (`u0001`, `g1/u2`, a message id), or where an extra was found.
    pub(crate) record: String,
    /// `missing`, `differs` or `extra`.
    pub(crate) what: String,
    /// Which field and how, or what the extra is.
    pub(crate) detail: String,
    /// The source file and line (empty for extras).
    pub(crate) source: String,
}

/// Throughput over the import, from the store's samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Throughput {
    /// How often the store writer takes a sample during an import, in seconds.
    pub(crate) sample_every_secs: u64,
    /// Sample instants found in the store.
    pub(crate) samples: usize,
    /// Consecutive intervals between samples, oldest first.
    pub(crate) intervals: Vec<Interval>,
    /// The highest `items_per_sec` of any interval.
    pub(crate) peak_items_per_sec: f64,
    /// Items settled over all intervals divided by their seconds (`null` without intervals).
    pub(crate) overall_items_per_sec: Option<f64>,
}

/// Items settled between two samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Interval {
    /// Start (seconds since the epoch).
    pub(crate) from: i64,
    /// End.
    pub(crate) to: i64,
    /// Items imported in it.
    pub(crate) imported: u64,
    /// Items failed for good in it.
    pub(crate) failed: u64,
    /// `(imported + failed) / (to - from)`.
    pub(crate) items_per_sec: f64,
    /// The same per kind name, for kinds that settled anything in it.
    pub(crate) by_kind: BTreeMap<String, f64>,
}
