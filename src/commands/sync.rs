//! `cutover sync`: the relay of the runbook's `[sync]` section on its own, until SIGINT or
//! SIGTERM (the coexistence period after the cutover).

use super::Outcome;
use crate::cli::{RunArgs, SyncArgs};
use crate::sync::relay;
use crate::ui::headless::{follow_sync, Printer};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Runs `cutover sync`.
pub fn run(args: &SyncArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let rb = super::run::runbook(&RunArgs {
        config: Some(args.config.clone()),
        source: args.source.clone(),
        store: args.store.clone(),
        target_url: args.target_url.clone(),
        sdkappid: args.sdkappid,
        admin: args.admin.clone(),
        headless: true,
        json: args.json,
        yes: false,
        reuse_store: false,
        progress_secs: args.progress_secs,
        log: args.log.clone(),
        only: None,
    })?;
    let Some(cfg) = rb.sync.clone() else {
        anyhow::bail!(
            "{} has no [sync] section: nothing to run (see `cutover init` for an example)",
            args.config.display()
        );
    };
    let log = args.log.clone().unwrap_or_else(|| {
        let mut p = rb.store.clone().into_os_string();
        p.push(".sync.log");
        PathBuf::from(p)
    });
    let _guard = crate::logging::to_file(&log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let every = Duration::from_secs_f64(args.progress_secs.max(0.1));
    runtime.block_on(async {
        // The store must exist and hold the run this relay belongs to.
        crate::store::open_for_reading(&rb.store)?;
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
        follow_sync(relay, &mut p, every, None).await?;
        anyhow::Ok(Outcome::Ok)
    })
}
