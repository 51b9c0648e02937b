//! What the client's calls did, for `/metrics`: calls per API and outcome (`0`, a Tencent
//! error code, `http_502`, `timeout`, …) and each API's latency. Process-wide, as the calls of
//! every client of the process go to the same target and one endpoint shows them.

use super::api::Api;
use super::client::CallError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::sync::LazyLock;
use std::time::Duration;

/// The labels of one call count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The API's command (`importmsg`).
    pub api: String,
    /// The outcome: `0` for success, the error code, or what went wrong on the way.
    pub code: String,
}

/// The labels of one API's latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    /// The API's command.
    pub api: String,
}

/// The process's call figures (cheap to clone: the families are shared).
#[derive(Debug, Clone)]
pub struct CallStats {
    /// Calls per API and outcome.
    pub calls: Family<CallLabels, Counter>,
    /// Seconds from sending to the answer, per API.
    pub latency: Family<ApiLabels, Histogram, fn() -> Histogram>,
}

/// Latency buckets, seconds: Tencent answers in tens of milliseconds; a slow proxy, seconds.
fn latency_histogram() -> Histogram {
    Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

static STATS: LazyLock<CallStats> = LazyLock::new(|| CallStats {
    calls: Family::default(),
    latency: Family::new_with_constructor(latency_histogram),
});

/// The process's call figures.
pub fn stats() -> &'static CallStats {
    &STATS
}

/// Counts one call of `api` that ended with `outcome` after `took`.
pub(crate) fn record<T>(api: Api, outcome: &Result<T, CallError>, took: Duration) {
    let code = match outcome {
        Ok(_) => "0".to_string(),
        Err(e) => outcome_code(e),
    };
    let api = api.command().to_string();
    STATS
        .calls
        .get_or_create(&CallLabels {
            api: api.clone(),
            code,
        })
        .inc();
    STATS
        .latency
        .get_or_create(&ApiLabels { api })
        .observe(took.as_secs_f64());
}

/// An error's outcome label: Tencent's code, or the kind of failure on the way.
fn outcome_code(e: &CallError) -> String {
    match e {
        CallError::Api { code, .. } => code.to_string(),
        CallError::Http { status, .. } => format!("http_{status}"),
        CallError::Timeout { .. } => "timeout".into(),
        CallError::Connect { .. } => "connect".into(),
        CallError::Unreachable { .. } => "unreachable".into(),
        CallError::Dropped { .. } => "dropped".into(),
        _ => "protocol".into(),
    }
}
