//! The runbook file (TOML) as written: every section optional, so that flags can fill in.

use crate::model::console::GroupCustomFields;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunbookFile {
    /// Where to import into.
    pub(crate) target: TargetSection,
    /// The export.
    pub(crate) source: SourceSection,
    /// The progress store.
    pub(crate) store: StoreSection,
    /// `stop_service` and `resume_service`.
    pub(crate) hooks: BTreeMap<String, HookSection>,
    /// `[limits.API]`: each API's rate and batch size overrides, by command name.
    #[serde(rename = "limits")]
    pub(crate) api_quotas: BTreeMap<String, ApiQuotaSection>,
    /// In-flight bounds.
    pub(crate) concurrency: ConcurrencySection,
    /// When to pause.
    pub(crate) error_budget: ErrorBudgetSection,
    /// How items are imported.
    pub(crate) import: ImportSection,
    /// Read-back verification.
    pub(crate) verify: VerifySection,
    /// Two-way sync (absent: no sync).
    pub(crate) sync: Option<SyncSection>,
    /// `coexistence` (import, then two-way sync) or `forced_upgrade` (import, no sync).
    pub(crate) strategy: Option<String>,
    /// The maintenance window.
    pub(crate) window: WindowSection,
    /// What the Tencent app itself keeps.
    pub(crate) app: AppSection,
    /// The four facts of the migration guide's scenario table (absent: not stated).
    pub(crate) scenario: Option<ScenarioSection>,
    /// Media: which hosts are copied into a bucket, and the bucket.
    pub(crate) media: super::media::MediaSection,
    /// The `/metrics` endpoint (absent: none).
    pub(crate) metrics: Option<super::metrics::MetricsSection>,
    /// Alerts to chat robots: thresholds and `[[alerts.channel]]`.
    pub(crate) alerts: super::alerts::AlertsSection,
    /// How `--phase follow` paces its rounds (absent: the defaults).
    pub(crate) follow: Option<super::follow::FollowSection>,
}

/// `[scenario]`: the facts `cutover plan --scenario` asks for.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ScenarioSection {
    /// `third_party` or `self_built`.
    pub(crate) old_system: Option<String>,
    /// Accounts, profiles and friend lists are hosted in the old system.
    pub(crate) accounts_in_old_system: Option<bool>,
    /// The old system offers message routing callbacks.
    pub(crate) message_routing: Option<bool>,
    /// The old system offers richer callbacks.
    pub(crate) richer_callbacks: Option<bool>,
}

/// `[app]`: what the Tencent app itself keeps, and the custom fields created in its console.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AppSection {
    /// The app's roaming period in days: Tencent keeps one-to-one and group history this long
    /// (7 unless bought longer; 0: no limit).
    pub(crate) roaming_days: Option<i64>,
    /// The `<Key>`s of the `Tag_Profile_Custom_<Key>` profile fields created in the console.
    pub(crate) profile_custom_tags: Vec<String>,
    /// The `<Key>`s of the `Tag_SNS_Custom_<Key>` friend fields created in the console.
    pub(crate) friend_custom_tags: Vec<String>,
    /// `[app.group_custom_fields]`: per group type, the group custom fields enabled.
    pub(crate) group_custom_fields: GroupCustomFields,
}

/// `[import]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ImportSection {
    /// Imported group messages update the members' conversation lists
    /// (`RecentContactFlag: 1` where the group type accepts it). Default true.
    pub(crate) update_conversations: Option<bool>,
    /// `shift` (default) or `refuse`: what happens to a group message that is not newer than
    /// the one before it in its group.
    pub(crate) same_second: Option<String>,
    /// Seconds a retryable error may keep failing one item (or one group's messages) before
    /// those items fail as retryable (default 600).
    pub(crate) max_retry_secs: Option<u64>,
    /// Messages sent before this are skipped at staging: a UTC date (`2026-11-01`), an
    /// RFC 3339 time, or `roaming` (the `[app] roaming_days` before staging).
    pub(crate) history_since: Option<String>,
    /// Custom keys left out of every request (`Tag_Profile_Custom_<Key>`,
    /// `Tag_SNS_Custom_<Key>`, `group:<Key>`): the rest of each record is imported.
    pub(crate) drop_custom: Vec<String>,
}

/// `[window]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WindowSection {
    /// When the window closes (RFC 3339, e.g. `2026-11-30T03:00:00+08:00`).
    pub(crate) ends_at: Option<String>,
    /// The most a delta may delete of a kind's imported records, as a share (default 0.01).
    pub(crate) max_delete_share: Option<f64>,
    /// `confirm` (default: the window asks before deleting accounts) or `skip`.
    pub(crate) delete_accounts: Option<String>,
}

/// `[target]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TargetSection {
    /// Region name or base URL.
    pub(crate) url: Option<String>,
    /// SDKAppID.
    pub(crate) sdkappid: Option<u64>,
    /// Admin identifier.
    pub(crate) admin: Option<String>,
}

/// `[source]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SourceSection {
    /// The export directory.
    pub(crate) dir: Option<PathBuf>,
}

/// `[store]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StoreSection {
    /// The SQLite file.
    pub(crate) path: Option<PathBuf>,
}

/// `[hooks.NAME]`: a shell command or an HTTP request.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HookSection {
    /// Shell command (success: exit status 0).
    pub(crate) command: Option<String>,
    /// HTTP URL.
    pub(crate) url: Option<String>,
    /// HTTP method (default POST).
    pub(crate) method: Option<String>,
    /// HTTP status meaning success (default 200).
    pub(crate) expect_status: Option<u16>,
    /// Text the HTTP answer must contain.
    pub(crate) expect_body: Option<String>,
    /// Seconds before the hook counts as failed.
    pub(crate) timeout_secs: Option<u64>,
    /// Names of environment variables a command hook is given besides PATH, HOME and LANG.
    pub(crate) env: Option<Vec<String>>,
}

/// `[limits.API]`: one API's quota, its rate and batch size.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ApiQuotaSection {
    /// Calls per second.
    pub(crate) rate: Option<u32>,
    /// Items per request.
    pub(crate) batch: Option<usize>,
}

/// `[concurrency]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ConcurrencySection {
    /// Fewest requests in flight per lane.
    pub(crate) min_in_flight: Option<usize>,
    /// Most requests in flight per lane.
    pub(crate) max_in_flight: Option<usize>,
}

/// `[error_budget]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ErrorBudgetSection {
    /// Permanent failures with one API and code before pausing (0 = never).
    pub(crate) item_failures_per_code: Option<u64>,
    /// Transient failures in a row before pausing (0 = never).
    pub(crate) consecutive_transient: Option<u64>,
}

/// `[verify]`
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct VerifySection {
    /// The fraction of groups and conversations whose members and messages are read back.
    pub(crate) sample: Option<f64>,
    /// The app's roaming retention in days: older messages cannot be read back (0: no limit).
    pub(crate) roaming_days: Option<i64>,
    /// The fraction (0 to 1) of what a pre-copy imported that is read back (default 0.01).
    pub(crate) precopy_sample: Option<f64>,
    /// Imported items read from the store per page and kind (default 4000).
    pub(crate) page_items: Option<usize>,
}

/// `[sync]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SyncSection {
    /// Where the receiver listens (callbacks, ingest, health); loopback by default.
    pub(crate) listen: Option<String>,
    /// The path Tencent's callbacks are posted to.
    pub(crate) callback_path: Option<String>,
    /// The old system's webhook for new → old events.
    pub(crate) old_webhook: Option<String>,
    /// Or a JSON Lines file new → old events are appended to.
    pub(crate) old_jsonl: Option<PathBuf>,
    /// A JSON Lines file of old → new events, followed as it grows.
    pub(crate) ingest_file: Option<PathBuf>,
    /// `importmsg` (SyncFromOldSystem 5) or `sendmsg` for old → new one-to-one messages.
    pub(crate) c2c_mode: Option<String>,
    /// The relay's own admin identifier (its changes' callbacks are echoes).
    pub(crate) relay_admin: Option<String>,
    /// Seconds a callback's RequestTime may be off from now.
    pub(crate) max_clock_skew_secs: Option<u64>,
    /// Seconds between reconciliation rounds (0: none).
    pub(crate) reconcile_secs: Option<u64>,
    /// Seconds an event may keep failing with retryable errors before it fails for good.
    pub(crate) max_retry_secs: Option<u64>,
    /// `hold` (its scope waits for an operator) or `skip` (its scope goes on).
    pub(crate) on_failure: Option<String>,
}
