//! What a report holds: gathered once from the store ([`super::gather`]), rendered as Markdown,
//! JSON or HTML. The JSON rendering is this structure as it is, so every field here is part of
//! the documented shape (docs/report-json.md): rename or remove one only with a new
//! [`REPORT_VERSION`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the report's JSON shape.
pub const REPORT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The shape's version ([`REPORT_VERSION`]).
    pub report_version: u32,
    /// When the report was made (seconds since the epoch).
    pub generated_at: i64,
    /// The store it was read from.
    pub store: String,
    /// The run.
    pub run: RunInfo,
    /// The exports staged into the store, oldest first.
    pub exports: Vec<ExportInfo>,
    /// The runbook's steps, in runbook order.
    pub steps: Vec<StepInfo>,
    /// Operator (and engine) actions from the audit trail, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Per-entity counts, in staging order.
    pub entities: Vec<EntityRow>,
    /// The sum of every entity row (`kind` and `stage` are `total`).
    pub totals: EntityRow,
    /// Failed items grouped by API and error code.
    pub failures: Failures,
    /// The read-back verification.
    pub verification: Verification,
    /// Items settled per second over the import.
    pub throughput: Throughput,
    /// Two-way sync, once any event came either way.
    #[serde(default)]
    pub sync: Option<SyncFigures>,
    /// Group messages sent later than their own time (same-second bursts) or refused for it.
    #[serde(default)]
    pub same_second: crate::store::order::Shifts,
    /// Messages skipped at staging for being older than `[import] history_since`, per kind
    /// and cut-off (they are in the entities' `skipped`).
    #[serde(default)]
    pub history_since: Vec<HistorySkipRow>,
}

/// Messages of one kind skipped at staging for one history cut-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySkipRow {
    /// The kind's name (`c2c_messages`, `group_messages`).
    pub kind: String,
    /// The stage's name as shown to a person.
    pub stage: String,
    /// How many.
    pub items: u64,
    /// The cut-off (seconds since the epoch).
    pub cutoff: i64,
    /// `older than history_since 2026-11-01`.
    pub reason: String,
}

/// Two-way sync's figures per direction (see `cutover status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncFigures {
    /// Old system → Tencent IM.
    pub old_to_new: crate::store::sync::DirectionCounts,
    /// Tencent IM → old system.
    pub new_to_old: crate::store::sync::DirectionCounts,
}

/// The run's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The target: a base URL or a region.
    pub target: String,
    /// The app's SDKAppID.
    pub sdkappid: u64,
    /// The admin identifier the run used.
    pub admin: String,
    /// The run's state (`running`, `paused`, `done`, …).
    pub state: String,
    /// Why it is in that state (may be empty).
    pub reason: String,
    /// When the store was bound to this run.
    pub created_at: i64,
    /// When the state last changed.
    pub updated_at: i64,
}

/// One staged export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportInfo {
    /// Its number in the store.
    pub id: i64,
    /// The export directory.
    pub root: String,
    /// When the old system took it (from its manifest).
    pub exported_at: i64,
    /// When it was staged into the store.
    pub staged_at: i64,
    /// The manifest's watermark, if any.
    pub watermark: Option<i64>,
    /// The export this one is a delta of, if any.
    pub delta_of: Option<i64>,
    /// Its files.
    pub files: Vec<SourceFileInfo>,
}

/// One file of a staged export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFileInfo {
    /// The kind of its records (`accounts`, `c2c_messages`, …).
    pub kind: String,
    /// The file's name.
    pub name: String,
    /// Records read.
    pub records: u64,
    /// Records refused at staging.
    pub invalid: u64,
}

/// One runbook step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInfo {
    /// Its name.
    pub name: String,
    /// Its place in the runbook (1 first).
    pub position: i64,
    /// `running`, `done`, `failed`, `skipped`, …
    pub state: String,
    /// Why (may be empty).
    pub reason: String,
    /// When it first started, if it did.
    pub started_at: Option<i64>,
    /// When it ended, if it did.
    pub ended_at: Option<i64>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: i64,
    /// `operator`, `engine` or `cli`.
    pub actor: String,
    /// `pause`, `resume`, `retry`, `skip`, …
    pub action: String,
    /// What exactly.
    pub detail: String,
    /// Why.
    pub reason: String,
}

/// The counts of one entity kind (or of all, for the totals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRow {
    /// The kind's name (`accounts`, `c2c_messages`, …; `total` for the totals).
    pub kind: String,
    /// The stage's name as shown to a person (`c2c messages`).
    pub stage: String,
    /// Records in the export (valid and invalid).
    pub source: u64,
    /// Records refused at staging.
    pub invalid: u64,
    /// Items imported.
    pub imported: u64,
    /// Items failed for good.
    pub failed: u64,
    /// Items skipped by an operator, or at staging (`[import] history_since`).
    pub skipped: u64,
    /// Items not yet sent.
    pub pending: u64,
    /// Imported items read back as they should be.
    pub verified: u64,
    /// Imported items missing on the target.
    pub missing: u64,
    /// Imported items with a differing field.
    pub differs: u64,
    /// Imported items that cannot be read back (retention).
    pub unreadable: u64,
    /// Imported items not read back.
    pub unchecked: u64,
    /// Things on the target that the export does not have.
    pub extra: u64,
    /// `missing + differs + extra`.
    pub mismatched: u64,
}

/// Failed items by API and code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    /// Failed items in all.
    pub total: u64,
    /// One group per API and code, most items first.
    pub groups: Vec<FailureGroupRow>,
}

/// Failed items of one API with one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureGroupRow {
    /// The API's command name.
    pub api: String,
    /// The error code (`null`: the engine's own refusal).
    pub code: Option<i64>,
    /// Items.
    pub count: u64,
    /// Whether a retry can succeed.
    pub retryable: bool,
    /// What the code means (`null` without a code).
    pub meaning: Option<String>,
    /// One of the messages received, as received.
    pub sample: String,
}

/// Whether and how far verification ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    /// No pass ever started.
    NotRun,
    /// A pass started and did not finish.
    Unfinished,
    /// A pass finished.
    Finished,
}

/// The read-back verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Whether it ran, and finished.
    pub status: VerifyStatus,
    /// When the pass started.
    pub started_at: Option<i64>,
    /// When it finished.
    pub ended_at: Option<i64>,
    /// The fraction of conversations and groups whose messages were read back.
    pub sample: Option<f64>,
    /// Messages older than this many days cannot be read back (0: no limit).
    pub roaming_days: Option<i64>,
    /// Per sampled kind: units read back of units in all.
    pub sampled: Vec<SampledUnits>,
    /// Plain sentences on what was and was not checked, for a person.
    pub notes: Vec<String>,
    /// Mismatch counts across every kind.
    pub totals: MismatchTotals,
    /// The first mismatches (at most `mismatches_limit`).
    pub mismatches: Vec<MismatchRow>,
    /// How many mismatches the report lists at most.
    pub mismatches_limit: usize,
}

/// Units of one kind read back when messages were sampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledUnits {
    /// The kind's name (`c2c_messages`, `group_members`, `group_messages`).
    pub kind: String,
    /// The stage's name as shown to a person (`group messages`).
    pub stage: String,
    /// What a unit is (`conversations`, `groups`).
    pub unit: String,
    /// Units read back.
    pub read_back: u64,
    /// Units in all.
    pub total: u64,
}

/// Mismatch counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MismatchTotals {
    /// Imported items missing on the target.
    pub missing: u64,
    /// Imported items with a differing field.
    pub differs: u64,
    /// Things on the target the export does not have.
    pub extra: u64,
    /// Imported items that cannot be read back.
    pub unreadable: u64,
    /// Imported items not read back.
    pub unchecked: u64,
}

impl MismatchTotals {
    /// Missing, differing and extra together.
    pub fn mismatched(&self) -> u64 {
        self.missing + self.differs + self.extra
    }
}

/// One mismatch found by the read-back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MismatchRow {
    /// The kind's name.
    pub kind: String,
    /// The record (`u0001`, `g1/u2`, a message id), or where an extra was found.
    pub record: String,
    /// `missing`, `differs` or `extra`.
    pub what: String,
    /// Which field and how, or what the extra is.
    pub detail: String,
    /// The source file and line (empty for extras).
    pub source: String,
}

/// Throughput over the import, from the store's samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// How often the store writer takes a sample during an import, in seconds.
    pub sample_every_secs: u64,
    /// Sample instants found in the store.
    pub samples: usize,
    /// Consecutive intervals between samples, oldest first.
    pub intervals: Vec<Interval>,
    /// The highest `items_per_sec` of any interval.
    pub peak_items_per_sec: f64,
    /// Items settled over all intervals divided by their seconds (`null` without intervals).
    pub overall_items_per_sec: Option<f64>,
}

/// Items settled between two samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start (seconds since the epoch).
    pub from: i64,
    /// End.
    pub to: i64,
    /// Items imported in it.
    pub imported: u64,
    /// Items failed for good in it.
    pub failed: u64,
    /// `(imported + failed) / (to - from)`.
    pub items_per_sec: f64,
    /// The same per kind name, for kinds that settled anything in it.
    pub by_kind: BTreeMap<String, f64>,
}
