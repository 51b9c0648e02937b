//! From file + flags + environment to one checked [`Runbook`].

use super::file::RunbookFile;
use super::sections::{
    api_quotas, check_strategy_has_sync, history_since, hooks, precopy_sample, roaming_days,
    same_second, scenario, strategy, sync_config, verify_config, window_end,
};
use crate::model::history::HistorySince;
use crate::tim::api::Api;
use crate::tim::{SecretKey, Target, SECRET_KEY_ENV};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The essentials as flags of `cutover run` (each overrides the file).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--source DIR`
    pub source: Option<PathBuf>,
    /// `--store FILE`
    pub store: Option<PathBuf>,
    /// `--target-url URL`
    pub target_url: Option<String>,
    /// `--sdkappid N`
    pub sdkappid: Option<u64>,
    /// `--admin ID`
    pub admin: Option<String>,
}

/// How a hook runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum HookKind {
    /// `sh -c COMMAND`; success is exit status 0.
    Command {
        /// The command line.
        command: String,
    },
    /// An HTTP request; success is `expect_status` (and `expect_body` in the answer).
    Http {
        /// URL.
        url: String,
        /// Method.
        method: String,
        /// Status meaning success.
        expect_status: u16,
        /// Text the answer must contain.
        expect_body: Option<String>,
    },
}

/// A configured hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookConfig {
    /// What runs.
    #[serde(flatten)]
    pub kind: HookKind,
    /// How long it may take.
    pub timeout: Duration,
    /// Environment variables a command is given besides PATH, HOME and LANG (by name; the
    /// values are read when it runs). Nothing else is passed: no key, no token.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

/// When the run pauses by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BudgetConfig {
    /// Permanent failures with one API and code before pausing (0 = never).
    pub(crate) item_failures_per_code: u64,
    /// Transient failures in a row before pausing (0 = never).
    pub(crate) consecutive_transient: u64,
}

/// The checked configuration of a run. The key is kept out of `Serialize` and `Debug`.
#[derive(Debug, Clone, Serialize)]
pub struct Runbook {
    /// Where to import into.
    #[serde(serialize_with = "target_text")]
    pub(crate) target: Target,
    /// SDKAppID.
    pub(crate) sdkappid: u64,
    /// Admin identifier.
    pub(crate) admin: String,
    /// The app secret key (redacted in Debug; never serialized).
    #[serde(skip)]
    pub(crate) key: SecretKey,
    /// The export directory.
    pub(crate) source: PathBuf,
    /// The progress store.
    pub(crate) store: PathBuf,
    /// `stop_service`, if configured.
    pub(crate) stop_service: Option<HookConfig>,
    /// `resume_service`, if configured.
    pub(crate) resume_service: Option<HookConfig>,
    /// Calls per second per API.
    pub(crate) rates: BTreeMap<Api, u32>,
    /// Items per request per API (where batching applies).
    pub(crate) batches: BTreeMap<Api, usize>,
    /// Fewest requests in flight per lane.
    pub(crate) min_in_flight: usize,
    /// Most requests in flight per lane.
    pub(crate) max_in_flight: usize,
    /// When to pause.
    pub(crate) budget: BudgetConfig,
    /// How long a retryable error may keep failing the same items before they fail as
    /// retryable and the run goes on (`[import] max_retry_secs`).
    pub(crate) max_retry_secs: u64,
    /// How to verify.
    pub(crate) verify: VerifyConfig,
    /// Two-way sync, when the runbook has a `[sync]` section.
    pub sync: Option<SyncConfig>,
    /// The cutover strategy.
    pub(crate) strategy: Strategy,
    /// When the maintenance window closes (unix seconds), if the runbook says.
    pub(crate) window_end: Option<i64>,
    /// What a window may delete (`[window] max_delete_share`, `delete_accounts`).
    pub(crate) deletions: Deletions,
    /// The guide's scenario facts (`[scenario]`), if the runbook states them.
    pub(crate) scenario: Option<crate::model::scenario::Facts>,
    /// A canary run: only the accounts listed in this file (`run --only accounts:FILE`).
    pub canary: Option<PathBuf>,
    /// Imported group messages update the members' conversation lists (`[import]
    /// update_conversations`, default true).
    pub(crate) update_conversations: bool,
    /// What staging does with a group message that is not newer than the one before it.
    pub(crate) same_second: SameSecond,
    /// The app's roaming period in days (`[app] roaming_days`, default 7; 0: no limit).
    pub(crate) roaming_days: i64,
    /// Messages older than this are skipped at staging (`[import] history_since`).
    pub(crate) history_since: Option<HistorySince>,
    /// The fraction of a pre-copy's imported items read back (`[verify] precopy_sample`,
    /// default 0.01).
    pub(crate) verify_precopy_sample: f64,
    /// The custom fields created in the app's console (`[app]`).
    pub(crate) console: crate::model::console::ConsoleSettings,
    /// Custom keys left out of the import (`[import] drop_custom`).
    pub(crate) drop_custom: crate::model::console::DropCustom,
    /// Media: what is rehosted, where, and what a message carries when a copy failed.
    pub(crate) media: super::media::MediaPolicy,
    /// The `/metrics` endpoint, when the runbook has `[metrics]`.
    pub metrics: Option<super::metrics::MetricsConfig>,
    /// Alerts to chat robots (`[alerts]`; no channel: off).
    pub(crate) alerts: super::alerts::AlertsConfig,
    /// How `--phase follow` paces its rounds (`[follow]`).
    pub follow: super::follow::FollowConfig,
}

/// What staging does with a group message whose time is not greater than the previous one
/// in its group (`[import] same_second`). Tencent's import_group_msg requires each message to
/// be newer than the group's newest, so a burst sharing one second cannot go as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SameSecond {
    /// Send it one second after the previous one (cascading through a burst): nothing is lost
    /// and the order is kept; the store keeps both times.
    #[default]
    Shift,
    /// Report it as invalid at staging (it is not imported).
    Refuse,
}

impl Runbook {
    /// Why the runbook's strategy cannot be used in the scenario it states, if so.
    pub(crate) fn scenario_refusal(&self) -> Option<String> {
        let facts = self.scenario?;
        match self.strategy {
            Strategy::ForcedUpgrade => None,
            Strategy::Coexistence => crate::model::scenario::advise(facts).coexistence_refusal(),
        }
    }

    /// `coexistence · scenario 4`, for headers; just the strategy without `[scenario]`.
    pub(crate) fn strategy_line(&self) -> String {
        let strategy = match self.strategy {
            Strategy::Coexistence => "coexistence",
            Strategy::ForcedUpgrade => "forced upgrade",
        };
        match self.scenario {
            Some(facts) => format!(
                "{strategy} · {}",
                crate::model::scenario::advise(facts).label()
            ),
            None => format!("{strategy} · scenario not stated"),
        }
    }
}

/// The migration guide's two strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Import, then keep two-way sync while old and new apps live together.
    Coexistence,
    /// Import, no sync: the old app stops working.
    ForcedUpgrade,
}

/// How old → new one-to-one messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum C2cMode {
    /// `importmsg` with `SyncFromOldSystem` 5: counted as unread, no callback.
    Importmsg,
    /// `sendmsg` with `ForbidCallbackControl`: pushed like a live message.
    Sendmsg,
}

/// What becomes of a sync event's scope once the event has failed for good (its retries ran
/// out after `[sync] max_retry_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The event is held and its scope waits for an operator (`cutover skip|retry --stage
    /// sync`): the scope's order is kept.
    Hold,
    /// The event is failed and its scope goes on without it.
    Skip,
}

/// Where new → old events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OldSink {
    /// POSTed to the old system's webhook, one event per request, retried until it answers 2xx.
    Webhook(String),
    /// Appended to a JSON Lines file (flushed to disk before an event counts as delivered).
    Jsonl(PathBuf),
}

/// The checked `[sync]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncConfig {
    /// Where the receiver listens.
    pub listen: std::net::SocketAddr,
    /// The callback path.
    pub callback_path: String,
    /// Where new → old events go.
    pub sink: OldSink,
    /// A JSON Lines file of old → new events to follow.
    pub ingest_file: Option<PathBuf>,
    /// How old → new one-to-one messages are written.
    pub c2c_mode: C2cMode,
    /// The relay's own admin identifier.
    pub relay_admin: String,
    /// Seconds a callback's RequestTime may be off from now.
    pub max_clock_skew_secs: u64,
    /// Seconds between reconciliation rounds (0: none).
    pub reconcile_secs: u64,
    /// Seconds an event may keep failing with retryable errors before it fails for good.
    pub max_retry_secs: u64,
    /// What its scope does then.
    pub on_failure: OnFailure,
}

/// How the read-back verification reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VerifyConfig {
    /// The fraction (0, 1] of groups and conversations whose members and messages are read
    /// back; accounts, profiles, friends and groups are always read back whole.
    pub(crate) sample: f64,
    /// Messages older than this many days cannot be read back (Tencent's roaming retention,
    /// 7 days unless the app pays for more); 0 = no limit.
    pub(crate) roaming_days: i64,
    /// Imported items read from the store per page and kind (the rest of a page's last group
    /// or conversation comes with it): what memory holds of the work at a time.
    pub(crate) page_items: usize,
}

fn target_text<S: serde::Serializer>(t: &Target, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.base())
}

/// How long a sync event may keep failing with retryable errors by default: one hour.
pub const DEFAULT_SYNC_MAX_RETRY_SECS: u64 = 3600;

/// Tencent's roaming period unless the app bought a longer one, in days.
pub const DEFAULT_ROAMING_DAYS: i64 = 7;

/// Imported items a verification pass reads from the store per page and kind by default.
pub(crate) const DEFAULT_VERIFY_PAGE_ITEMS: usize = 4000;

/// The share of a pre-copy read back by default: one item in a hundred.
pub const DEFAULT_PRECOPY_SAMPLE: f64 = 0.01;

/// How long a retryable error may keep failing the same items by default: ten minutes.
pub const DEFAULT_MAX_RETRY_SECS: u64 = 600;

/// Resolves `file` (may be empty), `flags` and the key (`key`, normally from
/// [`SecretKey::from_env`]) into a runbook, or every problem found, one per line.
pub fn resolve(
    file: &RunbookFile,
    flags: &Flags,
    key: Option<SecretKey>,
) -> Result<Runbook, Vec<String>> {
    let mut problems = Vec::new();
    let required = Required::gather(file, flags, &mut problems);
    let target = required
        .url
        .as_deref()
        .and_then(|u| match Target::parse(u) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        });
    if let Some(admin) = &required.admin {
        if admin.is_empty() || admin.len() > 32 {
            problems.push("the admin identifier must be 1 to 32 bytes".into());
        }
    }
    if key.is_none() {
        problems.push(format!("{SECRET_KEY_ENV} is not set: export the app's secret key (it is never read from a file or flag)"));
    }
    let (stop_service, resume_service) = hooks(file, &mut problems);
    let (rates, batches) = api_quotas(file, &mut problems);
    let min_in_flight = file.concurrency.min_in_flight.unwrap_or(1);
    let max_in_flight = file.concurrency.max_in_flight.unwrap_or(64);
    if min_in_flight == 0 || min_in_flight > max_in_flight {
        problems.push(format!("[concurrency] needs 1 <= min_in_flight <= max_in_flight (got {min_in_flight} and {max_in_flight})"));
    }
    let budget = BudgetConfig {
        item_failures_per_code: file.error_budget.item_failures_per_code.unwrap_or(50),
        consecutive_transient: file.error_budget.consecutive_transient.unwrap_or(200),
    };
    let verify = verify_config(file, &mut problems);
    let verify_precopy_sample = precopy_sample(file, &mut problems);
    let roaming_days = roaming_days(file, &mut problems);
    let console = super::app::console(file, &mut problems);
    let drop_custom = super::app::drop_custom(file, &console, &mut problems);
    let history_since = history_since(file, roaming_days, &mut problems);
    let media = super::media::media_policy(&file.media, &mut problems);
    let metrics = super::metrics::metrics_config(file.metrics.as_ref(), &mut problems);
    let alerts = super::alerts::alerts_config(&file.alerts, &mut problems);
    let follow = super::follow::follow_config(file.follow.as_ref(), &mut problems);
    let sync = file
        .sync
        .as_ref()
        .and_then(|s| sync_config(s, &mut problems));
    let strategy = strategy(file, &mut problems);
    let window_end = window_end(file, &mut problems);
    let deletions = deletions(file, &mut problems);
    let scenario = scenario(file, &mut problems);
    check_strategy_has_sync(file, strategy, &mut problems);
    let same_second = same_second(file, &mut problems);
    let max_retry_secs = file.import.max_retry_secs.unwrap_or(DEFAULT_MAX_RETRY_SECS);
    if max_retry_secs == 0 {
        problems.push("[import] max_retry_secs must be at least 1".into());
    }
    let Required {
        sdkappid,
        admin,
        source,
        store,
        ..
    } = required;
    match (target, sdkappid, admin, key, source, store) {
        (Some(target), Some(app), Some(admin), Some(key), Some(source), Some(store))
            if problems.is_empty() =>
        {
            Ok(Runbook {
                target,
                sdkappid: app.parse().unwrap_or_default(), // it came from a u64 above
                admin,
                key,
                source: PathBuf::from(source),
                store: PathBuf::from(store),
                stop_service,
                resume_service,
                rates,
                batches,
                min_in_flight,
                max_in_flight,
                budget,
                max_retry_secs,
                verify,
                sync,
                strategy,
                window_end,
                deletions,
                scenario,
                canary: None,
                update_conversations: file.import.update_conversations.unwrap_or(true),
                same_second,
                roaming_days,
                history_since,
                verify_precopy_sample,
                console,
                drop_custom,
                media,
                metrics,
                alerts,
                follow,
            })
        }
        _ => Err(problems),
    }
}

/// What a window does with accounts a delta deleted: they cannot be imported again for months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AccountDeletions {
    /// Ask the operator (the console), or need `--delete-accounts` (headless).
    Confirm,
    /// Never delete them: they stay on the target, skipped with the reason.
    Skip,
}

/// What a window may delete.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Deletions {
    /// The most of a kind's imported records a delta may delete (a broken query must never
    /// empty the target): more is refused before any call.
    pub(crate) max_share: f64,
    /// Accounts: ask, or skip.
    pub(crate) accounts: AccountDeletions,
    /// The operator confirmed account deletions up front (`--delete-accounts`).
    pub(crate) confirmed: bool,
}

impl Default for Deletions {
    fn default() -> Self {
        Deletions {
            max_share: 0.01,
            accounts: AccountDeletions::Confirm,
            confirmed: false,
        }
    }
}

fn deletions(file: &RunbookFile, problems: &mut Vec<String>) -> Deletions {
    let mut out = Deletions::default();
    if let Some(share) = file.window.max_delete_share {
        if (0.0..=1.0).contains(&share) {
            out.max_share = share;
        } else {
            problems.push(format!(
                "[window] max_delete_share = {share}: give a share between 0 and 1 (0.01 is 1 %)"
            ));
        }
    }
    match file.window.delete_accounts.as_deref() {
        None | Some("confirm") => {}
        Some("skip") => out.accounts = AccountDeletions::Skip,
        Some(other) => problems.push(format!(
            "[window] delete_accounts = {other:?}: use \"confirm\" or \"skip\""
        )),
    }
    out
}

/// The settings a run cannot do without, flag first, then file; each one missing is a problem.
struct Required {
    url: Option<String>,
    sdkappid: Option<String>,
    admin: Option<String>,
    source: Option<String>,
    store: Option<String>,
}

impl Required {
    fn gather(file: &RunbookFile, flags: &Flags, problems: &mut Vec<String>) -> Self {
        let mut need = |value: Option<String>, what: &str, flag: &str, file_key: &str| {
            if value.is_none() {
                problems.push(format!(
                    "{what} is missing: give {flag} or set {file_key} in the runbook"
                ));
            }
            value
        };
        Required {
            url: need(
                flags.target_url.clone().or_else(|| file.target.url.clone()),
                "the target",
                "--target-url",
                "[target] url",
            ),
            sdkappid: need(
                flags
                    .sdkappid
                    .or(file.target.sdkappid)
                    .map(|v| v.to_string()),
                "the SDKAppID",
                "--sdkappid",
                "[target] sdkappid",
            ),
            admin: need(
                flags.admin.clone().or_else(|| file.target.admin.clone()),
                "the admin identifier",
                "--admin",
                "[target] admin",
            ),
            source: need(
                flags
                    .source
                    .clone()
                    .or_else(|| file.source.dir.clone())
                    .map(|p| p.display().to_string()),
                "the export directory",
                "--source",
                "[source] dir",
            ),
            store: need(
                flags
                    .store
                    .clone()
                    .or_else(|| file.store.path.clone())
                    .map(|p| p.display().to_string()),
                "the store",
                "--store",
                "[store] path",
            ),
        }
    }
}

/// Parses the file text, naming the file in the error.
pub fn parse_file(text: &str, name: &str) -> Result<RunbookFile, String> {
    toml::from_str(text).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
