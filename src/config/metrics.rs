//! `[metrics]`: where the run and the relay serve their OpenMetrics `/metrics` endpoint.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// `[metrics]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MetricsSection {
    /// `127.0.0.1:9464` (loopback unless said otherwise: the figures name the run's target).
    pub(crate) listen: Option<String>,
}

/// `[metrics]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricsConfig {
    /// Where `/metrics` is served.
    pub listen: SocketAddr,
}

/// Resolves `[metrics]` (absent: no endpoint), adding what is wrong to `problems`.
pub(super) fn metrics_config(
    section: Option<&MetricsSection>,
    problems: &mut Vec<String>,
) -> Option<MetricsConfig> {
    let text = section?.listen.as_deref().unwrap_or("127.0.0.1:9464");
    match text.parse() {
        Ok(listen) => Some(MetricsConfig { listen }),
        Err(_) => {
            problems.push(format!(
                "[metrics] listen = \"{text}\" is not an address and port (e.g. 127.0.0.1:9464)"
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_defaults_to_loopback_and_a_bad_one_is_named() {
        let mut problems = Vec::new();
        let section = MetricsSection::default();
        let cfg = metrics_config(Some(&section), &mut problems).unwrap();
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(metrics_config(None, &mut problems), None);
        let bad = MetricsSection {
            listen: Some("9464".into()),
        };
        assert_eq!(metrics_config(Some(&bad), &mut problems), None);
        assert!(
            problems[0].contains("[metrics] listen = \"9464\""),
            "{problems:?}"
        );
    }
}
