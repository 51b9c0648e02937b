//! From file + flags + environment to one checked [`Runbook`].

use super::file::{HookSection, RunbookFile};
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
}

/// When the run pauses by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BudgetConfig {
    /// Permanent failures with one API and code before pausing (0 = never).
    pub item_failures_per_code: u64,
    /// Transient failures in a row before pausing (0 = never).
    pub consecutive_transient: u64,
}

/// The checked configuration of a run. The key is kept out of `Serialize` and `Debug`.
#[derive(Debug, Clone, Serialize)]
pub struct Runbook {
    /// Where to import into.
    #[serde(serialize_with = "target_text")]
    pub target: Target,
    /// SDKAppID.
    pub sdkappid: u64,
    /// Admin identifier.
    pub admin: String,
    /// The app secret key (redacted in Debug; never serialized).
    #[serde(skip)]
    pub key: SecretKey,
    /// The export directory.
    pub source: PathBuf,
    /// The progress store.
    pub store: PathBuf,
    /// `stop_service`, if configured.
    pub stop_service: Option<HookConfig>,
    /// `resume_service`, if configured.
    pub resume_service: Option<HookConfig>,
    /// Calls per second per API.
    pub rates: BTreeMap<Api, u32>,
    /// Items per request per API (where batching applies).
    pub batches: BTreeMap<Api, usize>,
    /// Fewest requests in flight per lane.
    pub min_in_flight: usize,
    /// Most requests in flight per lane.
    pub max_in_flight: usize,
    /// When to pause.
    pub budget: BudgetConfig,
    /// How long a retryable error may keep failing the same items before they fail as
    /// retryable and the run goes on (`[import] max_retry_secs`).
    pub max_retry_secs: u64,
    /// How to verify.
    pub verify: VerifyConfig,
    /// Two-way sync, when the runbook has a `[sync]` section.
    pub sync: Option<SyncConfig>,
    /// The cutover strategy.
    pub strategy: Strategy,
    /// When the maintenance window closes (unix seconds), if the runbook says.
    pub window_end: Option<i64>,
    /// A canary run: only the accounts listed in this file (`run --only accounts:FILE`).
    pub canary: Option<PathBuf>,
    /// Imported group messages update the members' conversation lists (`[import]
    /// update_conversations`, default true).
    pub update_conversations: bool,
    /// What staging does with a group message that is not newer than the one before it.
    pub same_second: SameSecond,
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
}

/// Checks the `[sync]` section.
fn sync_config(
    section: &crate::config::file::SyncSection,
    problems: &mut Vec<String>,
) -> Option<SyncConfig> {
    let listen_text = section
        .listen
        .clone()
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let listen = match listen_text.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            problems.push(format!(
                "[sync] listen {listen_text:?} is not an address like 127.0.0.1:8090"
            ));
            None
        }
    };
    let callback_path = section
        .callback_path
        .clone()
        .unwrap_or_else(|| "/tim/callback".into());
    if !callback_path.starts_with('/') {
        problems.push(format!(
            "[sync] callback_path {callback_path:?} must start with /"
        ));
    }
    let sink = match (&section.old_webhook, &section.old_jsonl) {
        (Some(_), Some(_)) => {
            problems.push("[sync] has both old_webhook and old_jsonl: give one".into());
            None
        }
        (None, None) => {
            problems.push(
                "[sync] needs old_webhook (a URL) or old_jsonl (a file) for new → old events"
                    .into(),
            );
            None
        }
        (Some(url), None) => {
            let lower = url.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                Some(OldSink::Webhook(url.clone()))
            } else {
                problems.push(format!("[sync] old_webhook {url:?} is not http(s)"));
                None
            }
        }
        (None, Some(path)) => Some(OldSink::Jsonl(path.clone())),
    };
    let c2c_mode = match section.c2c_mode.as_deref().unwrap_or("importmsg") {
        "importmsg" => C2cMode::Importmsg,
        "sendmsg" => C2cMode::Sendmsg,
        other => {
            problems.push(format!(
                "[sync] c2c_mode {other:?} is not importmsg or sendmsg"
            ));
            C2cMode::Importmsg
        }
    };
    let relay_admin = section
        .relay_admin
        .clone()
        .unwrap_or_else(|| "cutover_sync".into());
    if relay_admin.trim().is_empty() {
        problems.push("[sync] relay_admin is empty".into());
    }
    Some(SyncConfig {
        listen: listen?,
        callback_path,
        sink: sink?,
        ingest_file: section.ingest_file.clone(),
        c2c_mode,
        relay_admin,
        max_clock_skew_secs: section.max_clock_skew_secs.unwrap_or(300),
        reconcile_secs: section.reconcile_secs.unwrap_or(30),
    })
}

/// How the read-back verification reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VerifyConfig {
    /// The fraction (0, 1] of groups and conversations whose members and messages are read
    /// back; accounts, profiles, friends and groups are always read back whole.
    pub sample: f64,
    /// Messages older than this many days cannot be read back (Tencent's roaming retention,
    /// 7 days unless the app pays for more); 0 = no limit.
    pub roaming_days: i64,
}

fn target_text<S: serde::Serializer>(t: &Target, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.base())
}

/// How long a retryable error may keep failing the same items by default: ten minutes.
pub const DEFAULT_MAX_RETRY_SECS: u64 = 600;

const HOOKS: [&str; 2] = ["stop_service", "resume_service"];

fn hook(name: &str, h: &HookSection, problems: &mut Vec<String>) -> Option<HookConfig> {
    let timeout = Duration::from_secs(h.timeout_secs.unwrap_or(60));
    if h.timeout_secs == Some(0) {
        problems.push(format!("[hooks.{name}] timeout_secs must be at least 1"));
    }
    let http_only = h.method.is_some() || h.expect_status.is_some() || h.expect_body.is_some();
    match (&h.command, &h.url) {
        (Some(_), Some(_)) => {
            problems.push(format!("[hooks.{name}] has both command and url: give one"));
            None
        }
        (None, None) => {
            problems.push(format!("[hooks.{name}] needs a command or a url"));
            None
        }
        (Some(command), None) => {
            if http_only {
                problems.push(format!(
                    "[hooks.{name}] method/expect_status/expect_body apply to url hooks only"
                ));
            }
            if command.trim().is_empty() {
                problems.push(format!("[hooks.{name}] command is empty"));
            }
            Some(HookConfig {
                kind: HookKind::Command {
                    command: command.clone(),
                },
                timeout,
            })
        }
        (None, Some(url)) => {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                problems.push(format!("[hooks.{name}] url {url:?} is not http(s)"));
            }
            let method = h
                .method
                .clone()
                .unwrap_or_else(|| "POST".into())
                .to_ascii_uppercase();
            let known = ["get", "post", "put", "patch", "delete"];
            if !known.contains(&method.to_ascii_lowercase().as_str()) {
                problems.push(format!(
                    "[hooks.{name}] method {method:?} is not an HTTP method"
                ));
            }
            Some(HookConfig {
                kind: HookKind::Http {
                    url: url.clone(),
                    method,
                    expect_status: h.expect_status.unwrap_or(200),
                    expect_body: h.expect_body.clone(),
                },
                timeout,
            })
        }
    }
}

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
    let (rates, batches) = limits(file, &mut problems);
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
    let sync = file
        .sync
        .as_ref()
        .and_then(|s| sync_config(s, &mut problems));
    let strategy = strategy(file, &mut problems);
    let window_end = window_end(file, &mut problems);
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
                canary: None,
                update_conversations: file.import.update_conversations.unwrap_or(true),
                same_second,
            })
        }
        _ => Err(problems),
    }
}

/// `[import] same_second`: shift (the default) or refuse.
fn same_second(file: &RunbookFile, problems: &mut Vec<String>) -> SameSecond {
    match file.import.same_second.as_deref() {
        None | Some("shift") => SameSecond::Shift,
        Some("refuse") => SameSecond::Refuse,
        Some(other) => {
            problems.push(format!(
                "[import] same_second {other:?} is not shift or refuse"
            ));
            SameSecond::Shift
        }
    }
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

/// The stop and resume hooks; a `[hooks.*]` section of another name is a problem.
fn hooks(
    file: &RunbookFile,
    problems: &mut Vec<String>,
) -> (Option<HookConfig>, Option<HookConfig>) {
    for name in file.hooks.keys() {
        if !HOOKS.contains(&name.as_str()) {
            problems.push(format!(
                "[hooks.{name}] is not a hook: use stop_service or resume_service"
            ));
        }
    }
    let stop_service = file
        .hooks
        .get("stop_service")
        .and_then(|h| hook("stop_service", h, problems));
    let resume_service = file
        .hooks
        .get("resume_service")
        .and_then(|h| hook("resume_service", h, problems));
    (stop_service, resume_service)
}

/// Each API's rate and batch size: the documented defaults with the `[limits.*]` overrides.
fn limits(
    file: &RunbookFile,
    problems: &mut Vec<String>,
) -> (BTreeMap<Api, u32>, BTreeMap<Api, usize>) {
    let mut rates: BTreeMap<Api, u32> = Api::ALL.iter().map(|a| (*a, a.default_rate())).collect();
    let mut batches: BTreeMap<Api, usize> = Api::ALL
        .iter()
        .filter_map(|a| a.default_batch().map(|b| (*a, b)))
        .collect();
    for (name, limit) in &file.limits {
        let Some(api) = Api::from_command(name) else {
            problems.push(format!("[limits.{name}]: no such API"));
            continue;
        };
        if let Some(rate) = limit.rate {
            if rate == 0 {
                problems.push(format!("[limits.{name}] rate must be at least 1 call/s"));
            }
            rates.insert(api, rate);
        }
        if let Some(batch) = limit.batch {
            match api.default_batch() {
                None => problems.push(format!(
                    "[limits.{name}] takes one item per request: batch does not apply"
                )),
                Some(_) if batch == 0 => {
                    problems.push(format!("[limits.{name}] batch must be at least 1"))
                }
                Some(_) => {
                    batches.insert(api, batch);
                }
            }
        }
    }
    (rates, batches)
}

/// The `[verify]` section with its defaults, checked.
fn verify_config(file: &RunbookFile, problems: &mut Vec<String>) -> VerifyConfig {
    let verify = VerifyConfig {
        sample: file.verify.sample.unwrap_or(1.0),
        roaming_days: file.verify.roaming_days.unwrap_or(7),
    };
    if !(verify.sample > 0.0 && verify.sample <= 1.0) {
        problems.push(format!(
            "[verify] sample must be more than 0 and at most 1 (got {})",
            verify.sample
        ));
    }
    if verify.roaming_days < 0 {
        problems.push(format!(
            "[verify] roaming_days must be 0 (no limit) or more (got {})",
            verify.roaming_days
        ));
    }
    verify
}

/// The strategy as written; unwritten, coexistence when there is a `[sync]` section.
fn strategy(file: &RunbookFile, problems: &mut Vec<String>) -> Strategy {
    match file.strategy.as_deref() {
        None if file.sync.is_some() => Strategy::Coexistence,
        None | Some("forced_upgrade") => Strategy::ForcedUpgrade,
        Some("coexistence") => Strategy::Coexistence,
        Some(other) => {
            problems.push(format!(
                "strategy {other:?} is not coexistence or forced_upgrade"
            ));
            Strategy::ForcedUpgrade
        }
    }
}

/// The `[window] ends_at` time, when given and readable.
fn window_end(file: &RunbookFile, problems: &mut Vec<String>) -> Option<i64> {
    file.window.ends_at.as_deref().and_then(|text| {
        let t = crate::timefmt::parse_rfc3339(text);
        if t.is_none() {
            problems.push(format!(
                "[window] ends_at {text:?} is not an RFC 3339 time like 2026-11-30T03:00:00+08:00"
            ));
        }
        t
    })
}

/// Coexistence needs a `[sync]` section; a forced upgrade chosen in writing must not have one.
fn check_strategy_has_sync(file: &RunbookFile, strategy: Strategy, problems: &mut Vec<String>) {
    match (strategy, file.sync.is_some()) {
        (Strategy::Coexistence, false) => problems.push(
            "strategy coexistence needs a [sync] section: old and new apps must see each other's messages".into(),
        ),
        (Strategy::ForcedUpgrade, true) if file.strategy.is_some() => problems.push(
            "strategy forced_upgrade has no sync: remove the [sync] section or choose coexistence".into(),
        ),
        _ => {}
    }
}

/// Parses the file text, naming the file in the error.
pub fn parse_file(text: &str, name: &str) -> Result<RunbookFile, String> {
    toml::from_str(text).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
