//! One check per section of the runbook file: hooks, limits, verification, sync, strategy,
//! window and import options, each turning what was written into a setting or a problem.

use super::file::{HookSection, RunbookFile};
use super::resolve::*;
use crate::model::history::HistorySince;
use crate::tim::api::Api;
use std::collections::BTreeMap;
use std::time::Duration;

/// Checks the `[sync]` section.
pub(super) fn sync_config(
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
    let on_failure = match section.on_failure.as_deref().unwrap_or("hold") {
        "hold" => OnFailure::Hold,
        "skip" => OnFailure::Skip,
        other => {
            problems.push(format!("[sync] on_failure {other:?} is not hold or skip"));
            OnFailure::Hold
        }
    };
    if section.max_retry_secs == Some(0) {
        problems.push("[sync] max_retry_secs must be at least 1".into());
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
        max_retry_secs: section
            .max_retry_secs
            .unwrap_or(DEFAULT_SYNC_MAX_RETRY_SECS),
        on_failure,
    })
}

const HOOKS: [&str; 2] = ["stop_service", "resume_service"];

pub(super) fn hook(name: &str, h: &HookSection, problems: &mut Vec<String>) -> Option<HookConfig> {
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
                env: h.env.clone().unwrap_or_default(),
            })
        }
        (None, Some(url)) => {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                problems.push(format!("[hooks.{name}] url {url:?} is not http(s)"));
            }
            if h.env.is_some() {
                problems.push(format!("[hooks.{name}] env applies to command hooks only"));
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
                env: Vec::new(),
            })
        }
    }
}

/// `[import] same_second`: shift (the default) or refuse.
pub(super) fn same_second(file: &RunbookFile, problems: &mut Vec<String>) -> SameSecond {
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

/// The stop and resume hooks; a `[hooks.*]` section of another name is a problem.
pub(super) fn hooks(
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
pub(super) fn api_quotas(
    file: &RunbookFile,
    problems: &mut Vec<String>,
) -> (BTreeMap<Api, u32>, BTreeMap<Api, usize>) {
    let mut rates: BTreeMap<Api, u32> = Api::ALL.iter().map(|a| (*a, a.default_rate())).collect();
    let mut batches: BTreeMap<Api, usize> = Api::ALL
        .iter()
        .filter_map(|a| a.default_batch().map(|b| (*a, b)))
        .collect();
    for (name, quota) in &file.api_quotas {
        let Some(api) = Api::from_command(name) else {
            problems.push(format!("[limits.{name}]: no such API"));
            continue;
        };
        if let Some(rate) = quota.rate {
            if rate == 0 {
                problems.push(format!("[limits.{name}] rate must be at least 1 call/s"));
            }
            rates.insert(api, rate);
        }
        if let Some(batch) = quota.batch {
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

/// The `[verify]` section with its defaults, checked. Its `roaming_days` defaults to
/// `[app] roaming_days`; both given and different is a problem (one app, one period).
pub(super) fn verify_config(file: &RunbookFile, problems: &mut Vec<String>) -> VerifyConfig {
    let app_days = file.app.roaming_days;
    if let (Some(v), Some(a)) = (file.verify.roaming_days, app_days) {
        if v != a {
            problems.push(format!(
                "[verify] roaming_days ({v}) and [app] roaming_days ({a}) differ: the app has \
                 one roaming period, set it once in [app] roaming_days"
            ));
        }
    }
    let verify = VerifyConfig {
        sample: file.verify.sample.unwrap_or(1.0),
        roaming_days: file
            .verify
            .roaming_days
            .or(app_days)
            .unwrap_or(DEFAULT_ROAMING_DAYS),
        page_items: file.verify.page_items.unwrap_or(DEFAULT_VERIFY_PAGE_ITEMS),
    };
    if verify.page_items == 0 {
        problems.push("[verify] page_items must be 1 or more (default 4000)".to_string());
    }
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

/// `[verify] precopy_sample`: the fraction (0 to 1) of a pre-copy's items read back.
pub(super) fn precopy_sample(file: &RunbookFile, problems: &mut Vec<String>) -> f64 {
    let sample = file.verify.precopy_sample.unwrap_or(DEFAULT_PRECOPY_SAMPLE);
    if !(0.0..=1.0).contains(&sample) {
        problems.push(format!(
            "[verify] precopy_sample must be a fraction from 0 to 1, like 0.01 for 1% (got {sample})"
        ));
    }
    sample
}

/// `[app] roaming_days`, checked (0: no limit).
pub(super) fn roaming_days(file: &RunbookFile, problems: &mut Vec<String>) -> i64 {
    let days = file.app.roaming_days.unwrap_or(DEFAULT_ROAMING_DAYS);
    if days < 0 {
        problems.push(format!(
            "[app] roaming_days must be 0 (no limit) or more (got {days})"
        ));
    }
    days
}

/// `[import] history_since`: a UTC date, an RFC 3339 time or `roaming`.
pub(super) fn history_since(
    file: &RunbookFile,
    roaming_days: i64,
    problems: &mut Vec<String>,
) -> Option<HistorySince> {
    let text = file.import.history_since.as_deref()?;
    if text.trim().eq_ignore_ascii_case("roaming") {
        return Some(HistorySince::Roaming { days: roaming_days });
    }
    match crate::timefmt::parse_date_or_time(text) {
        Some(t) => Some(HistorySince::At(t)),
        None => {
            problems.push(format!(
                "[import] history_since {text:?} is not a date like \"2026-11-01\" (UTC), an \
                 RFC 3339 time like \"2026-11-01T00:00:00+08:00\", or \"roaming\" (the last \
                 [app] roaming_days days)"
            ));
            None
        }
    }
}

/// The strategy as written; unwritten, coexistence when there is a `[sync]` section.
pub(super) fn strategy(file: &RunbookFile, problems: &mut Vec<String>) -> Strategy {
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
pub(super) fn window_end(file: &RunbookFile, problems: &mut Vec<String>) -> Option<i64> {
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
pub(super) fn check_strategy_has_sync(
    file: &RunbookFile,
    strategy: Strategy,
    problems: &mut Vec<String>,
) {
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

/// The `[scenario]` facts, when the section is there; every fact must be given.
pub(super) fn scenario(
    file: &RunbookFile,
    problems: &mut Vec<String>,
) -> Option<crate::model::scenario::Facts> {
    use crate::model::scenario::{Facts, OldSystem};
    let s = file.scenario.as_ref()?;
    let old_system = match s.old_system.as_deref().map(OldSystem::parse) {
        Some(Some(old)) => Some(old),
        Some(None) => {
            problems.push("[scenario] old_system must be third_party or self_built".into());
            None
        }
        None => None,
    };
    let missing: Vec<&str> = [
        ("old_system", s.old_system.is_none()),
        ("accounts_in_old_system", s.accounts_in_old_system.is_none()),
        ("message_routing", s.message_routing.is_none()),
        ("richer_callbacks", s.richer_callbacks.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "[scenario] needs all four facts; missing: {}",
            missing.join(", ")
        ));
    }
    Some(Facts {
        old_system: old_system?,
        accounts_in_old_system: s.accounts_in_old_system?,
        message_routing: s.message_routing?,
        richer_callbacks: s.richer_callbacks?,
    })
}
