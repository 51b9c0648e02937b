//! `[follow]`: how `cutover run --phase follow` paces its rounds against the live old system.

use serde::{Deserialize, Serialize};

/// `[follow]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FollowSection {
    /// Seconds from one round's start to the next (0: back to back).
    pub(crate) every_secs: Option<u64>,
    /// Seconds before the watermark each round reads again, for rows whose change time was
    /// set before a transaction that committed after the previous round read.
    pub(crate) reread_secs: Option<u64>,
    /// Seconds between two reads of the `[keys]` key sets during the follow.
    pub(crate) key_sets_every_secs: Option<u64>,
}

/// `[follow]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FollowConfig {
    /// Seconds from one round's start to the next (0: back to back, with a 1 s pause).
    pub every_secs: u64,
    /// Seconds before the watermark each round reads again.
    pub reread_secs: u64,
    /// Seconds between two reads of the `[keys]` key sets while live (the last round always
    /// reads them): rows deleted outright stay on the target at most this long.
    pub key_sets_every_secs: u64,
}

impl Default for FollowConfig {
    fn default() -> FollowConfig {
        FollowConfig {
            every_secs: 10,
            reread_secs: 30,
            key_sets_every_secs: 300,
        }
    }
}

/// The longest pause or re-read the runbook may ask for: a day.
const MAX_SECS: u64 = 86_400;

/// Resolves `[follow]` (absent: the defaults), adding what is wrong to `problems`.
pub(super) fn follow_config(
    section: Option<&FollowSection>,
    problems: &mut Vec<String>,
) -> FollowConfig {
    let d = FollowConfig::default();
    let Some(s) = section else { return d };
    let mut read = |name: &str, v: Option<u64>, default: u64| match v {
        Some(v) if v > MAX_SECS => {
            problems.push(format!(
                "[follow] {name} = {v} is more than a day ({MAX_SECS} s)"
            ));
            default
        }
        Some(v) => v,
        None => default,
    };
    FollowConfig {
        every_secs: read("every_secs", s.every_secs, d.every_secs),
        reread_secs: read("reread_secs", s.reread_secs, d.reread_secs),
        key_sets_every_secs: read(
            "key_sets_every_secs",
            s.key_sets_every_secs,
            d.key_sets_every_secs,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_a_too_long_pause_is_named() {
        let mut problems = Vec::new();
        assert_eq!(follow_config(None, &mut problems), FollowConfig::default());
        let s = FollowSection {
            every_secs: Some(0),
            reread_secs: Some(100_000),
            key_sets_every_secs: None,
        };
        let cfg = follow_config(Some(&s), &mut problems);
        assert_eq!(cfg.every_secs, 0);
        assert_eq!(cfg.reread_secs, 30);
        assert!(
            problems[0].contains("[follow] reread_secs = 100000"),
            "{problems:?}"
        );
    }
}
