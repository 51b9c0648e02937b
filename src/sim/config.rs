//! The simulator's settings: limits, faults, callbacks, the app's console settings. Read from
//! a TOML file (`cutover sim --config FILE`); every field has the documented default.
//!
//! ```toml
//! lean = false                 # keep message hashes instead of bodies
//! [limits.import_group_msg]    # per API: calls/s (1-second window) and batch size
//! rate = 200
//! batch = 7
//! [faults.all]                 # every API …
//! seed = 42                    # replay: same seed, same requests → same faults (default 0)
//! latency_ms = 20
//! latency_spread_ms = 30
//! [faults.importmsg]           # … or one API (replaces `all` for it)
//! seed = 7
//! error_rate = 0.01
//! error_codes = [90992, 502]   # 502 (or any 4xx or 5xx) answers that HTTP status
//! no_answer_rate = 0.001       # applied, then the connection drops (or stalls)
//! bad_gateway_rate = 0.1       # applied, then HTTP 502 (a gateway lost the answer)
//! empty_answer_rate = 0.0      # applied, then HTTP 200 `{}` (not Tencent's answer)
//! group_ids = ["@TGS#_g1"]     # only requests for these groups (default: every request;
//!                              # the API's other requests then meet `all`)
//! repeat_cursor = false        # paging reads answer their first page again (a stuck cursor)
//! [callback]
//! url = "http://127.0.0.1:9000/im-callback"
//! token = "xxxxyyyy"           # or CUTOVER_CALLBACK_TOKEN
//! [app]                        # the console's settings, as a runbook's [app] declares them
//! profile_custom_tags = ["Hobby"]
//! friend_custom_tags = ["Close"]
//! [app.group_custom_fields]    # per group type: Private, Public, ChatRoom, Community
//! Public = ["Category"]
//! ```
//!
//! `cutover sim --config` also takes a runbook file, and then uses only its `[app]`.

use crate::model::console::GroupCustomFields;
use crate::tim::api::Api;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Store message keys and content hashes instead of bodies (for huge benchmarks).
    pub lean: bool,
    /// `[limits.API]`: each API's rate and batch size, by command name.
    #[serde(rename = "limits")]
    pub api_quotas: BTreeMap<String, ApiQuota>,
    /// Faults: `all`, or a command name.
    pub faults: BTreeMap<String, Faults>,
    /// Callbacks to the app's server.
    pub callback: CallbackConfig,
    /// What the app has configured in the console.
    pub app: AppSettings,
}

/// One API's quota: its rate and batch size.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiQuota {
    /// Calls per 1-second window (0 = unlimited).
    pub rate: Option<u32>,
    /// Items per request.
    pub batch: Option<usize>,
}

/// What to break, and how often.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Seed of the fault draws. Request `n` to an API (counted per API) draws from this seed,
    /// the API and `n`, so the same seed and the same requests meet the same faults, however
    /// concurrent requests interleave. Not given: the fixed seed 0, so an unseeded run replays
    /// too; change it to meet other faults.
    pub seed: u64,
    /// Added to every answer.
    pub latency_ms: u64,
    /// A further random 0..spread.
    pub latency_spread_ms: u64,
    /// Share of requests refused with one of `error_codes` (not applied).
    pub error_rate: f64,
    /// Codes to refuse with; a code from 400 to 599 answers that HTTP status instead.
    pub error_codes: Vec<i64>,
    /// Share of requests that are applied and then get no answer.
    pub no_answer_rate: f64,
    /// How the answer goes missing.
    pub no_answer: NoAnswer,
    /// How long a stalled answer hangs before the connection is dropped.
    pub stall_ms: u64,
    /// Share of requests that are applied and then answered HTTP 502, as a gateway does when
    /// it loses the service's answer (drawn after `no_answer_rate`).
    pub bad_gateway_rate: f64,
    /// Share of requests that are applied and then answered HTTP 200 `{}` (drawn last).
    pub empty_answer_rate: f64,
    /// Only requests for these `GroupId`s meet the faults (empty: every request).
    pub group_ids: Vec<String>,
    /// Paging reads ignore their cursor (`ReqMsgSeq`, `Next`) and answer the first page again:
    /// a target whose cursor does not move.
    pub repeat_cursor: bool,
}

/// How an applied request loses its answer.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoAnswer {
    /// The connection is closed without an HTTP answer (a reset, as the client sees it).
    #[default]
    Drop,
    /// Nothing comes back for `stall_ms` (past the client's timeout), then the cut.
    Stall,
    /// HTTP 502 with no envelope.
    BadGateway,
    /// HTTP 200 with the body `{}`.
    Empty,
}

/// Where callbacks go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallbackConfig {
    /// The app's callback URL (none: no callbacks).
    pub url: Option<String>,
    /// The callback-authentication token (adds `Sign` and `RequestTime`); the environment
    /// variable `CUTOVER_CALLBACK_TOKEN` takes precedence.
    pub token: Option<String>,
    /// Commands to fire (default: all seven).
    pub commands: Option<Vec<String>>,
}

/// Console settings of the simulated app.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppSettings {
    /// `Tag_Profile_Custom_<key>` fields created in the console (others: 40009).
    pub profile_custom_tags: Vec<String>,
    /// `Tag_SNS_Custom_<key>` fields created in the console (others: 30001).
    pub friend_custom_tags: Vec<String>,
    /// Group custom-data keys enabled in the console, per group type (others: 10004).
    pub group_custom_fields: GroupCustomFields,
    /// Most accounts the plan allows (trial plans: 100; 70398 beyond); none = unlimited.
    pub(crate) max_accounts: Option<usize>,
    /// Largest message, bytes of `MsgBody` JSON (12 KB CURRENT).
    pub(crate) max_message_bytes: usize,
    /// Messages per second one group accepts from `send_group_msg` (10023 beyond).
    pub group_msgs_per_sec: u32,
    /// Window in which a repeated group-message `Random` is dropped as a duplicate.
    pub random_dedupe_secs: i64,
    /// Largest group without a `MaxMemberCount` (the plan's cap).
    pub(crate) default_max_members: u64,
    /// Days messages stay readable by the read-back APIs (the roaming period: 7 by default,
    /// 30 or 90 on higher plans); 0 keeps them forever.
    pub roaming_days: u32,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            profile_custom_tags: Vec::new(),
            friend_custom_tags: Vec::new(),
            group_custom_fields: GroupCustomFields::default(),
            max_accounts: None,
            max_message_bytes: 12 * 1024,
            group_msgs_per_sec: 40,
            random_dedupe_secs: 300,
            default_max_members: 6000,
            roaming_days: 7,
        }
    }
}

/// A config file that cannot be used.
#[derive(Debug, Error)]
pub(crate) enum ConfigError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not the documented TOML.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Why (with line and column).
        message: String,
    },
}

impl SimConfig {
    /// Reads and checks a config file.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and checks TOML text; every problem is reported at once.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let config: SimConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        for name in config.api_quotas.keys() {
            if Api::from_command(name).is_none() {
                problems.push(format!("[limits.{name}]: no such API"));
            }
        }
        for (name, f) in &config.faults {
            if name != "all" && Api::from_command(name).is_none() {
                problems.push(format!("[faults.{name}]: no such API (or use `all`)"));
            }
            for (field, rate) in [
                ("error_rate", f.error_rate),
                ("no_answer_rate", f.no_answer_rate),
            ] {
                if !(0.0..=1.0).contains(&rate) {
                    problems.push(format!(
                        "[faults.{name}] {field} = {rate}: must be within 0..1"
                    ));
                }
            }
            if f.error_rate > 0.0 && f.error_codes.is_empty() {
                problems.push(format!("[faults.{name}] error_rate needs error_codes"));
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The rate limit of `api` (0 = unlimited).
    pub(crate) fn rate(&self, api: Api) -> u32 {
        self.api_quotas
            .get(api.command())
            .and_then(|l| l.rate)
            .unwrap_or_else(|| api.default_rate())
    }

    /// The batch limit of `api`.
    pub(crate) fn batch(&self, api: Api) -> Option<usize> {
        self.api_quotas
            .get(api.command())
            .and_then(|l| l.batch)
            .or_else(|| api.default_batch())
    }

    /// The faults that apply to `api`.
    pub(crate) fn faults(&self, api: Api) -> Option<&Faults> {
        self.faults
            .get(api.command())
            .or_else(|| self.faults.get("all"))
    }

    /// Lifts every rate limit (benchmarks of the console's own ceiling).
    pub fn unlimited(mut self) -> Self {
        for api in Api::ALL {
            self.api_quotas
                .entry(api.command().to_string())
                .or_default()
                .rate = Some(0);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_limits() {
        let c = SimConfig::default();
        assert_eq!(c.rate(Api::ImportMsg), 200);
        assert_eq!(c.batch(Api::ImportGroupMsg), Some(7));
        assert!(c.faults(Api::ImportMsg).is_none());
        assert_eq!(c.app.max_message_bytes, 12288);
    }

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("config.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! "))
            .skip_while(|l| !l.starts_with("```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("```"))
            .collect::<Vec<_>>()
            .join("\n");
        let c = SimConfig::parse(&text).unwrap();
        assert_eq!(c.batch(Api::ImportGroupMsg), Some(7));
        assert_eq!(c.faults(Api::ImportMsg).unwrap().error_codes, [90992, 502]);
        assert_eq!(c.faults(Api::SendMsg).unwrap().latency_ms, 20);
        assert_eq!(c.faults(Api::SendMsg).unwrap().seed, 42);
        assert_eq!(c.faults(Api::ImportMsg).unwrap().seed, 7);
        let public = crate::model::GroupType::Public;
        assert!(c.app.group_custom_fields.enabled(public, "Category"));
        assert!(SimConfig::parse("[app.group_custom_fields]\nWork = []\n").is_err());
    }

    #[test]
    fn every_problem_is_named() {
        let e = SimConfig::parse("[limits.importmsgs]\nrate = 1\n[faults.all]\nerror_rate = 2.0\n")
            .unwrap_err();
        assert!(e.contains("limits.importmsgs"), "{e}");
        assert!(e.contains("must be within 0..1"), "{e}");
        assert!(e.contains("needs error_codes"), "{e}");
        assert!(SimConfig::parse("lean = 3").is_err());
    }
}
