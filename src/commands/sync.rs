//! `cutover sync`: the relay of the runbook's `[sync]` section on its own, until SIGINT or
//! SIGTERM (the coexistence period after the cutover).

use super::Outcome;
use crate::cli::SyncArgs;
use crate::sync::relay;
use crate::ui::headless::{follow_sync, Printer};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Runs `cutover sync`.
pub(crate) fn run(args: &SyncArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(config) = args.runbook.config.clone() else {
        anyhow::bail!("cutover sync needs --config FILE: the runbook with its [sync] section");
    };
    let rb = super::run::runbook(&args.runbook)?;
    let Some(cfg) = rb.sync.clone() else {
        anyhow::bail!(
            "{} has no [sync] section: nothing to run (see `cutover init` for an example)",
            config.display()
        );
    };
    let log = args.log.clone().unwrap_or_else(|| {
        let mut p = rb.store.clone().into_os_string();
        p.push(".sync.log");
        PathBuf::from(p)
    });
    let _guard = crate::logging::to_file(&log)?;
    // The store must exist and hold the run this relay belongs to.
    crate::store::open_for_reading(&rb.store)?;
    let _lock = super::store_lock::take(&rb.store, "sync")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let every = Duration::from_secs_f64(args.progress_secs.max(0.1));
    runtime.block_on(async {
        let alerter = crate::alerts::Alerter::start(&rb.alerts, &rb.store.display().to_string());
        let metrics = super::metrics::start(rb.metrics, &rb.store, None, alerter.clone(), out);
        let _metrics = metrics.await?;
        let relay = relay::start(&rb, &cfg).await?;
        let mut p = Printer::new(out, args.json);
        match relay.health(&cfg).await {
            Ok(what) => p.note(&format!("sync started: {what}"), serde_json::json!({}))?,
            Err(why) => {
                relay.stop().await?;
                p.note(&format!("sync cannot start: {why}"), serde_json::json!({}))?;
                return anyhow::Ok(Outcome::Exit(2));
            }
        }
        follow_sync(relay, &mut p, every, None, (&alerter, &rb.alerts)).await?;
        alerter.flush(Duration::from_secs(10)).await;
        anyhow::Ok(Outcome::Ok)
    })
}
