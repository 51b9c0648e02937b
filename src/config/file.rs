//! The runbook file (TOML) as written: every section optional, so that flags can fill in.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunbookFile {
    /// Where to import into.
    pub target: TargetSection,
    /// The export.
    pub source: SourceSection,
    /// The progress store.
    pub store: StoreSection,
    /// `stop_service` and `resume_service`.
    pub hooks: BTreeMap<String, HookSection>,
    /// `[limits.API]`: each API's rate and batch size overrides, by command name.
    #[serde(rename = "limits")]
    pub api_quotas: BTreeMap<String, ApiQuotaSection>,
    /// In-flight bounds.
    pub concurrency: ConcurrencySection,
    /// When to pause.
    pub error_budget: ErrorBudgetSection,
    /// How items are imported.
    pub import: ImportSection,
    /// Read-back verification.
    pub verify: VerifySection,
    /// Two-way sync (absent: no sync).
    pub sync: Option<SyncSection>,
    /// `coexistence` (import, then two-way sync) or `forced_upgrade` (import, no sync).
    pub strategy: Option<String>,
    /// The maintenance window.
    pub window: WindowSection,
    /// What the Tencent app itself keeps.
    pub app: AppSection,
    /// The four facts of the migration guide's scenario table (absent: not stated).
    pub scenario: Option<ScenarioSection>,
}

/// `[scenario]`: the facts `cutover plan --scenario` asks for.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioSection {
    /// `third_party` or `self_built`.
    pub old_system: Option<String>,
    /// Accounts, profiles and friend lists are hosted in the old system.
    pub accounts_in_old_system: Option<bool>,
    /// The old system offers message routing callbacks.
    pub message_routing: Option<bool>,
    /// The old system offers richer callbacks.
    pub richer_callbacks: Option<bool>,
}

/// `[app]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AppSection {
    /// The app's roaming period in days: Tencent keeps one-to-one and group history this long
    /// (7 unless bought longer; 0: no limit).
    pub roaming_days: Option<i64>,
}

/// `[import]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ImportSection {
    /// Imported group messages update the members' conversation lists
    /// (`RecentContactFlag: 1` where the group type accepts it). Default true.
    pub update_conversations: Option<bool>,
    /// `shift` (default) or `refuse`: what happens to a group message that is not newer than
    /// the one before it in its group.
    pub same_second: Option<String>,
    /// Seconds a retryable error may keep failing one item (or one group's messages) before
    /// those items fail as retryable (default 600).
    pub max_retry_secs: Option<u64>,
    /// Messages sent before this are skipped at staging: a UTC date (`2026-11-01`), an
    /// RFC 3339 time, or `roaming` (the `[app] roaming_days` before staging).
    pub history_since: Option<String>,
}

/// `[window]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSection {
    /// When the window closes (RFC 3339, e.g. `2026-11-30T03:00:00+08:00`).
    pub ends_at: Option<String>,
}

/// `[target]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TargetSection {
    /// Region name or base URL.
    pub url: Option<String>,
    /// SDKAppID.
    pub sdkappid: Option<u64>,
    /// Admin identifier.
    pub admin: Option<String>,
}

/// `[source]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSection {
    /// The export directory.
    pub dir: Option<PathBuf>,
}

/// `[store]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// The SQLite file.
    pub path: Option<PathBuf>,
}

/// `[hooks.NAME]`: a shell command or an HTTP request.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HookSection {
    /// Shell command (success: exit status 0).
    pub command: Option<String>,
    /// HTTP URL.
    pub url: Option<String>,
    /// HTTP method (default POST).
    pub method: Option<String>,
    /// HTTP status meaning success (default 200).
    pub expect_status: Option<u16>,
    /// Text the HTTP answer must contain.
    pub expect_body: Option<String>,
    /// Seconds before the hook counts as failed.
    pub timeout_secs: Option<u64>,
    /// Names of environment variables a command hook is given besides PATH, HOME and LANG.
    pub env: Option<Vec<String>>,
}

/// `[limits.API]`: one API's quota, its rate and batch size.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiQuotaSection {
    /// Calls per second.
    pub rate: Option<u32>,
    /// Items per request.
    pub batch: Option<usize>,
}

/// `[concurrency]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ConcurrencySection {
    /// Fewest requests in flight per lane.
    pub min_in_flight: Option<usize>,
    /// Most requests in flight per lane.
    pub max_in_flight: Option<usize>,
}

/// `[error_budget]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorBudgetSection {
    /// Permanent failures with one API and code before pausing (0 = never).
    pub item_failures_per_code: Option<u64>,
    /// Transient failures in a row before pausing (0 = never).
    pub consecutive_transient: Option<u64>,
}

/// `[verify]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VerifySection {
    /// The fraction of groups and conversations whose members and messages are read back.
    pub sample: Option<f64>,
    /// The app's roaming retention in days: older messages cannot be read back (0: no limit).
    pub roaming_days: Option<i64>,
    /// The fraction (0 to 1) of what a pre-copy imported that is read back (default 0.01).
    pub precopy_sample: Option<f64>,
    /// Imported items read from the store per page and kind (default 4000).
    pub page_items: Option<usize>,
}

/// `[sync]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Where the receiver listens (callbacks, ingest, health); loopback by default.
    pub listen: Option<String>,
    /// The path Tencent's callbacks are posted to.
    pub callback_path: Option<String>,
    /// The old system's webhook for new → old events.
    pub old_webhook: Option<String>,
    /// Or a JSON Lines file new → old events are appended to.
    pub old_jsonl: Option<PathBuf>,
    /// A JSON Lines file of old → new events, followed as it grows.
    pub ingest_file: Option<PathBuf>,
    /// `importmsg` (SyncFromOldSystem 5) or `sendmsg` for old → new one-to-one messages.
    pub c2c_mode: Option<String>,
    /// The relay's own admin identifier (its changes' callbacks are echoes).
    pub relay_admin: Option<String>,
    /// Seconds a callback's RequestTime may be off from now.
    pub max_clock_skew_secs: Option<u64>,
    /// Seconds between reconciliation rounds (0: none).
    pub reconcile_secs: Option<u64>,
    /// Seconds an event may keep failing with retryable errors before it fails for good.
    pub max_retry_secs: Option<u64>,
    /// `hold` (its scope waits for an operator) or `skip` (its scope goes on).
    pub on_failure: Option<String>,
}
