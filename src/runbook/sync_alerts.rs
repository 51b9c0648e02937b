//! The relay's alerts, checked on each of its progress ticks: sync lag or a backlog over the
//! `[alerts]` thresholds, events held (their scopes wait for an operator), the relay stopped by
//! a failure. Each resolves when it no longer holds.

use crate::alerts::{Alert, Alerter, Severity};
use crate::config::alerts::AlertsConfig;
use crate::store::sync::DirectionCounts;

/// Fires or resolves the relay's alerts for `counts` (old → new, new → old); `broken` is why
/// the relay stopped, if it did.
pub(crate) fn check(
    alerter: &Alerter,
    cfg: &AlertsConfig,
    store: &str,
    counts: &[DirectionCounts; 2],
    broken: Option<&str>,
) {
    let look = format!("\nrun: {store}\nlook closer: cutover status --store {store}");
    for (c, name) in counts.iter().zip(["old → new", "new → old"]) {
        let tag = if name.starts_with("old") {
            "old_to_new"
        } else {
            "new_to_old"
        };
        let lag_secs = c.lag_p99_ms.unwrap_or(0) / 1000;
        let key = format!("sync_lag_{tag}");
        if lag_secs > cfg.sync_lag_secs as i64 {
            alerter.fire(Alert {
                key,
                severity: Severity::Warning,
                title: format!("sync {name} lags {lag_secs} s"),
                body: format!("p99 lag {lag_secs} s, over {} s{look}", cfg.sync_lag_secs),
            });
        } else {
            alerter.resolve(&key);
        }
        let key = format!("sync_backlog_{tag}");
        if c.pending > cfg.sync_backlog {
            alerter.fire(Alert {
                key,
                severity: Severity::Warning,
                title: format!("sync {name}: {} events waiting", c.pending),
                body: format!(
                    "{} events waiting, over {}{look}",
                    c.pending, cfg.sync_backlog
                ),
            });
        } else {
            alerter.resolve(&key);
        }
        let key = format!("sync_held_{tag}");
        if c.held > 0 {
            alerter.fire(Alert {
                key,
                severity: Severity::Critical,
                title: format!("sync {name}: {} events held", c.held),
                body: format!(
                    "their scopes wait: {}; `cutover errors --store {store}` lists them, \
                     `cutover retry --stage sync` or `cutover skip --stage sync` releases them{look}",
                    c.held_scopes.join(", ")
                ),
            });
        } else {
            alerter.resolve(&key);
        }
    }
    match broken {
        Some(why) => alerter.fire(Alert {
            key: "relay_stopped".into(),
            severity: Severity::Critical,
            title: "the sync relay stopped".into(),
            body: format!("{why}{look}"),
        }),
        None => alerter.resolve("relay_stopped"),
    }
}
