//! Starting the `/metrics` endpoint of `cutover run` and `cutover sync` when the runbook has
//! `[metrics]`, and saying where it is.

use crate::config::metrics::MetricsConfig;
use crate::metrics::server::{serve, MetricsServer};
use std::io::Write;
use std::path::Path;

/// Serves `/metrics` of `store` when `cfg` says where; the line that says so goes to `out`.
/// The endpoint stops when the returned server is dropped.
pub(crate) async fn start(
    cfg: Option<MetricsConfig>,
    store: &Path,
    window_end: Option<i64>,
    alerter: crate::alerts::Alerter,
    out: &mut dyn Write,
) -> anyhow::Result<Option<MetricsServer>> {
    let Some(cfg) = cfg else { return Ok(None) };
    let server = serve(&cfg, store.to_path_buf(), window_end, alerter).await?;
    // A closed stdout must not stop the run: the log has the address too.
    let _ = writeln!(out, "metrics: http://{}/metrics", server.addr);
    Ok(Some(server))
}
