//! `cutover verify`: the verify step alone, against the target the store's run was for.

use super::Outcome;
use crate::cli::VerifyArgs;
use crate::config::{resolve, Flags, Runbook};
use crate::runbook::runner::{RunOptions, Runner};
use crate::store::verify::{entity_counts, mismatches};
use crate::store::{open_for_reading, run, staged, StoreError};
use crate::tim::SecretKey;
use crate::ui::headless;
use anyhow::Context;
use std::io::Write;
use std::time::Duration;

/// Mismatches listed after a text run (the report and `--json` have more).
const LISTED: usize = 20;

/// The runbook to verify with: the store's target and export, overridden by flags.
fn runbook(args: &VerifyArgs) -> anyhow::Result<Runbook> {
    let conn = open_for_reading(&args.store)?;
    let Some(run::RunRow {
        target,
        sdkappid,
        admin,
        ..
    }) = run::get(&conn)?
    else {
        return Err(StoreError::NoRun(args.store.clone()).into());
    };
    let root = staged::first_root(&conn)?;
    let file = super::run::load_file(args.config.as_deref())?;
    let flags = Flags {
        source: root.map(Into::into),
        store: Some(args.store.clone()),
        target_url: Some(args.target_url.clone().unwrap_or(target)),
        sdkappid: Some(args.sdkappid.unwrap_or(sdkappid)),
        admin: Some(args.admin.clone().unwrap_or(admin)),
    };
    let mut rb = resolve(&file, &flags, SecretKey::from_env())
        .map_err(|problems| anyhow::anyhow!("cannot verify:\n  - {}", problems.join("\n  - ")))?;
    if let Some(sample) = args.sample {
        anyhow::ensure!(
            sample > 0.0 && sample <= 1.0,
            "--sample must be more than 0 and at most 1 (got {sample})"
        );
        rb.verify.sample = sample;
    }
    if let Some(days) = args.roaming_days {
        rb.verify.roaming_days = days;
    }
    Ok(rb)
}

/// Runs `cutover verify`.
pub(crate) fn run(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let rb = runbook(args)?;
    let mut log = rb.store.clone().into_os_string();
    log.push(".log");
    let _guard = crate::logging::to_file(std::path::Path::new(&log))?;
    let _lock = super::store_lock::take(&rb.store, "verify")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = rb.store.clone();
    let every = Duration::from_secs_f64(args.progress_secs.max(0.1));
    let exit = runtime.block_on(async {
        let runner = Runner::new(
            rb,
            RunOptions {
                yes: false,
                reuse_store: true,
                phase: None,
            },
        )?;
        headless::verify(&runner, out, args.json, every).await
    })?;
    let conn = open_for_reading(&store)?;
    let counts = entity_counts(&conn)?;
    let listed = mismatches(&conn, None, if args.json { 1000 } else { LISTED })?;
    if args.json {
        let line = serde_json::json!({"event": "verified", "exit": exit as u8,
            "counts": counts, "mismatches": listed});
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "\n{:<17} {:>8} {:>8} {:>9} {:>8} {:>9} {:>8} {:>8} {:>10}",
            "kind",
            "source",
            "invalid",
            "done",
            "failed",
            "verified",
            "missing",
            "differs",
            "unchecked"
        )?;
        for c in &counts {
            writeln!(
                out,
                "{:<17} {:>8} {:>8} {:>9} {:>8} {:>9} {:>8} {:>8} {:>10}",
                c.kind.map_or("", |k| k.stage()),
                c.source,
                c.invalid,
                c.imported,
                c.failed,
                c.verified,
                c.missing,
                c.differs,
                c.unchecked + c.unreadable
            )?;
        }
        if counts
            .iter()
            .any(|c| c.kind.is_some_and(|k| k.deletes().is_some()))
        {
            writeln!(
                out,
                "deletions: done = deleted on the target, verified = read back gone, \
                 differs = still there"
            )?;
        }
        for m in &listed {
            writeln!(
                out,
                "  {} {} {}: {} {}",
                m.kind.stage(),
                m.record,
                m.what,
                m.detail,
                m.source
            )?;
        }
    }
    Ok(Outcome::Exit(exit as u8))
}
