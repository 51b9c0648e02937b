//! `[alerts]` and `[[alerts.channel]]`: the chat robots alerts go to, and the thresholds the
//! run's triggers read. A robot's URL carries its key and a signing secret is a secret, so the
//! runbook names only the environment variables holding them (`url_env`, `secret_env`); their
//! values are read when the alerts start, never kept in the runbook, the store or a log.
//!
//! Every channel written is used, so a variable it names that is not set is a problem when the
//! runbook is resolved (the run refuses to start rather than stay silent at 3 a.m.); a runbook
//! without channels names no variables and needs none.

use serde::{Deserialize, Serialize};

/// The most minutes `repeat_minutes` and `window_margin_minutes` take: a week.
const MAX_MINUTES: u64 = 7 * 24 * 60;

/// Minutes between repeats of an alert that still holds, unless `repeat_minutes` says.
const DEFAULT_REPEAT_MINUTES: u64 = 30;
/// Minutes before `[window] ends_at` a projected finish alerts, unless the runbook says.
const DEFAULT_WINDOW_MARGIN_MINUTES: u64 = 10;
/// Seconds of sync lag that alert, unless the runbook says.
const DEFAULT_SYNC_LAG_SECS: u64 = 60;
/// Sync events waiting that alert, unless the runbook says.
const DEFAULT_SYNC_BACKLOG: u64 = 1000;

/// `[alerts]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AlertsSection {
    /// Minutes between repeats of an alert that still holds (default 30).
    pub(crate) repeat_minutes: Option<u64>,
    /// Minutes before the window's end a projected finish alerts (default 10).
    pub(crate) window_margin_minutes: Option<u64>,
    /// Seconds of sync lag that alert (default 60).
    pub(crate) sync_lag_secs: Option<u64>,
    /// Sync events waiting that alert (default 1000).
    pub(crate) sync_backlog: Option<u64>,
    /// `[[alerts.channel]]`: the robots.
    pub(crate) channel: Vec<ChannelSection>,
}

/// `[[alerts.channel]]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ChannelSection {
    /// The channel's name in the console and the log.
    pub(crate) name: Option<String>,
    /// `wecom`, `dingtalk`, `feishu`, `slack` or `webhook`.
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    /// The environment variable holding the robot's URL (with its key).
    pub(crate) url_env: Option<String>,
    /// The environment variable holding the signing secret (dingtalk, feishu) or the bearer
    /// token (webhook).
    pub(crate) secret_env: Option<String>,
    /// This channel's minutes between repeats.
    pub(crate) repeat_minutes: Option<u64>,
}

/// The kind of robot a channel speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A WeCom (企业微信) group robot.
    Wecom,
    /// A DingTalk custom robot (signed when it has a secret).
    Dingtalk,
    /// A Feishu / Lark custom bot (signed when it has a secret).
    Feishu,
    /// A Slack incoming webhook.
    Slack,
    /// Any HTTP endpoint taking plain JSON (bearer token when it has a secret).
    Webhook,
}

impl ChannelKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Wecom,
        ChannelKind::Dingtalk,
        ChannelKind::Feishu,
        ChannelKind::Slack,
        ChannelKind::Webhook,
    ];

    /// The name written in the runbook.
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Wecom => "wecom",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Feishu => "feishu",
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<ChannelKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether `secret_env` means something for this kind.
    fn takes_secret(self) -> bool {
        matches!(
            self,
            ChannelKind::Dingtalk | ChannelKind::Feishu | ChannelKind::Webhook
        )
    }
}

/// One channel, resolved: the names of its variables, never their values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelConfig {
    /// The channel's name.
    pub name: String,
    /// Which robot.
    pub kind: ChannelKind,
    /// The environment variable holding its URL.
    pub url_env: String,
    /// The environment variable holding its secret or token, if any.
    pub secret_env: Option<String>,
    /// Minutes between repeats of an alert that still holds, on this channel.
    pub repeat_minutes: u64,
}

/// `[alerts]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertsConfig {
    /// Minutes between repeats of an alert that still holds (a channel may say otherwise).
    pub repeat_minutes: u64,
    /// Minutes before the window's end a projected finish alerts.
    pub window_margin_minutes: u64,
    /// Seconds of sync lag that alert.
    pub sync_lag_secs: u64,
    /// Sync events waiting that alert.
    pub sync_backlog: u64,
    /// The channels (none: alerts are off).
    pub channels: Vec<ChannelConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            repeat_minutes: DEFAULT_REPEAT_MINUTES,
            window_margin_minutes: DEFAULT_WINDOW_MARGIN_MINUTES,
            sync_lag_secs: DEFAULT_SYNC_LAG_SECS,
            sync_backlog: DEFAULT_SYNC_BACKLOG,
            channels: Vec::new(),
        }
    }
}

/// Resolves `[alerts]`, reading only whether the variables it names are set.
pub(super) fn alerts_config(section: &AlertsSection, problems: &mut Vec<String>) -> AlertsConfig {
    resolve_with(section, &|name| std::env::var_os(name).is_some(), problems)
}

/// Resolves `[alerts]`; `is_set` says whether an environment variable is set.
fn resolve_with(
    section: &AlertsSection,
    is_set: &dyn Fn(&str) -> bool,
    problems: &mut Vec<String>,
) -> AlertsConfig {
    let d = AlertsConfig::default();
    let repeat_minutes = section.repeat_minutes.unwrap_or(d.repeat_minutes);
    if repeat_minutes == 0 || repeat_minutes > MAX_MINUTES {
        problems.push(format!(
            "[alerts] repeat_minutes must be 1 to {MAX_MINUTES} (a week)"
        ));
    }
    let mut channels: Vec<ChannelConfig> = Vec::new();
    for (i, c) in section.channel.iter().enumerate() {
        if let Some(ch) = channel(i, c, repeat_minutes, is_set, problems) {
            if channels.iter().any(|o| o.name == ch.name) {
                problems.push(format!(
                    "[[alerts.channel]] #{}: name = \"{}\" is used twice",
                    i + 1,
                    ch.name
                ));
            }
            channels.push(ch);
        }
    }
    AlertsConfig {
        repeat_minutes,
        window_margin_minutes: section
            .window_margin_minutes
            .unwrap_or(d.window_margin_minutes)
            .min(MAX_MINUTES),
        sync_lag_secs: section.sync_lag_secs.unwrap_or(d.sync_lag_secs),
        sync_backlog: section.sync_backlog.unwrap_or(d.sync_backlog),
        channels,
    }
}

/// One `[[alerts.channel]]` (the `i`-th, from 0), or `None` with its problems pushed.
fn channel(
    i: usize,
    c: &ChannelSection,
    default_repeat: u64,
    is_set: &dyn Fn(&str) -> bool,
    problems: &mut Vec<String>,
) -> Option<ChannelConfig> {
    let before = problems.len();
    let at = format!("[[alerts.channel]] #{}", i + 1);
    let name = match c.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            problems.push(format!(
                "{at}: name is missing (the name shown in the console and the log)"
            ));
            String::new()
        }
    };
    let at = if name.is_empty() {
        at
    } else {
        format!("{at} \"{name}\"")
    };
    let kind = match c.kind.as_deref() {
        None => {
            problems.push(format!(
                "{at}: type is missing: use wecom, dingtalk, feishu, slack or webhook"
            ));
            None
        }
        Some(k) => ChannelKind::from_name(k).or_else(|| {
            problems.push(format!(
                "{at}: type = \"{k}\": use wecom, dingtalk, feishu, slack or webhook"
            ));
            None
        }),
    };
    let url_env = env_name(&at, "url_env", c.url_env.as_deref(), true, is_set, problems);
    let secret_env = env_name(
        &at,
        "secret_env",
        c.secret_env.as_deref(),
        false,
        is_set,
        problems,
    );
    if let (Some(k), Some(_)) = (kind, &c.secret_env) {
        if !k.takes_secret() {
            problems.push(format!(
                "{at}: secret_env means nothing to a {} robot (its URL is its secret): remove it",
                k.name()
            ));
        }
    }
    let repeat_minutes = c.repeat_minutes.unwrap_or(default_repeat);
    if c.repeat_minutes.is_some_and(|m| m == 0 || m > MAX_MINUTES) {
        problems.push(format!(
            "{at}: repeat_minutes must be 1 to {MAX_MINUTES} (a week)"
        ));
    }
    match (kind, url_env) {
        (Some(kind), Some(url_env)) if problems.len() == before => Some(ChannelConfig {
            name,
            kind,
            url_env,
            secret_env,
            repeat_minutes,
        }),
        _ => None,
    }
}

/// The variable named by `field`: a valid name (letters, digits, `_`) that is set.
fn env_name(
    at: &str,
    field: &str,
    value: Option<&str>,
    required: bool,
    is_set: &dyn Fn(&str) -> bool,
    problems: &mut Vec<String>,
) -> Option<String> {
    let Some(v) = value else {
        if required {
            problems.push(format!(
                "{at}: {field} is missing: name the environment variable that holds the robot's URL"
            ));
        }
        return None;
    };
    let valid = !v.is_empty()
        && !v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        problems.push(format!(
            "{at}: {field} is not an environment variable's name (letters, digits, _): \
             name the variable; the value itself never goes in the runbook (not quoted here)"
        ));
        return None;
    }
    if !is_set(v) {
        problems.push(format!(
            "{at}: {field} names {v}, which is not set: export it"
        ));
        return None;
    }
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AlertsSection {
        #[derive(Deserialize)]
        struct F {
            alerts: AlertsSection,
        }
        toml::from_str::<F>(text).unwrap().alerts
    }

    fn resolve(text: &str, set: &[&str]) -> (AlertsConfig, Vec<String>) {
        let mut problems = Vec::new();
        let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
        let cfg = resolve_with(&parse(text), &|n| set.iter().any(|s| s == n), &mut problems);
        (cfg, problems)
    }

    #[test]
    fn defaults_and_a_channel_of_each_kind() {
        let (cfg, problems) = resolve(
            r#"[alerts]
repeat_minutes = 15
[[alerts.channel]]
name = "ops"
type = "dingtalk"
url_env = "DT_URL"
secret_env = "DT_SECRET"
repeat_minutes = 5
[[alerts.channel]]
name = "chat"
type = "wecom"
url_env = "WECOM_URL"
"#,
            &["DT_URL", "DT_SECRET", "WECOM_URL"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cfg.repeat_minutes, 15);
        assert_eq!(cfg.window_margin_minutes, 10);
        assert_eq!(cfg.sync_lag_secs, 60);
        assert_eq!(cfg.sync_backlog, 1000);
        assert_eq!(cfg.channels.len(), 2);
        assert_eq!(cfg.channels[0].kind, ChannelKind::Dingtalk);
        assert_eq!(cfg.channels[0].secret_env.as_deref(), Some("DT_SECRET"));
        assert_eq!(cfg.channels[0].repeat_minutes, 5);
        assert_eq!(cfg.channels[1].repeat_minutes, 15);
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn every_problem_names_its_field() {
        let (cfg, problems) = resolve(
            r#"[alerts]
repeat_minutes = 0
[[alerts.channel]]
type = "teams"
url_env = "https://qyapi.weixin.qq.com/x?key=1"
[[alerts.channel]]
name = "a"
type = "slack"
url_env = "SLACK_URL"
secret_env = "S"
[[alerts.channel]]
name = "b"
type = "feishu"
url_env = "UNSET_URL"
[[alerts.channel]]
name = "c"
type = "webhook"
"#,
            &["SLACK_URL", "S"],
        );
        assert!(cfg.channels.is_empty());
        let all = problems.join("\n");
        for needle in [
            "[alerts] repeat_minutes must be 1 to 10080",
            "#1: name is missing",
            "#1: type = \"teams\"",
            "#1: url_env is not an environment variable's name",
            "the value itself never goes in the runbook",
            "#2 \"a\": secret_env means nothing to a slack robot",
            "#3 \"b\": url_env names UNSET_URL, which is not set",
            "#4 \"c\": url_env is missing",
        ] {
            assert!(all.contains(needle), "{needle:?} not in:\n{all}");
        }
        // A URL written where a variable's name belongs carries its key: never quoted back.
        assert!(!all.contains("qyapi"), "{all}");
        assert_eq!(problems.len(), 7, "{all}");
    }

    #[test]
    fn the_examples_alerts_uncommented_resolve() {
        let mut on = false;
        let mut text = String::new();
        for line in crate::config::EXAMPLE.lines() {
            on |= line == "# [alerts]";
            if let Some(code) = line.strip_prefix("# ").filter(|_| on) {
                let toml_line = code.starts_with('[') || code.contains(" = ");
                if toml_line {
                    text.push_str(code);
                    text.push('\n');
                }
            }
        }
        let (cfg, problems) = resolve(
            &text,
            &[
                "CUTOVER_DINGTALK_URL",
                "CUTOVER_DINGTALK_SECRET",
                "CUTOVER_WECOM_URL",
            ],
        );
        assert!(problems.is_empty(), "{problems:?}\n{text}");
        let kinds: Vec<ChannelKind> = cfg.channels.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![ChannelKind::Dingtalk, ChannelKind::Wecom]);
        assert_eq!(cfg.channels[0].repeat_minutes, 60);
    }

    #[test]
    fn a_name_used_twice_is_a_problem() {
        let (_, problems) = resolve(
            r#"[[alerts.channel]]
name = "x"
type = "slack"
url_env = "A"
[[alerts.channel]]
name = "x"
type = "slack"
url_env = "A"
"#,
            &["A"],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("used twice"));
    }
}
