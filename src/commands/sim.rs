//! `cutover sim`: run the simulator until Ctrl-C, then optionally dump its state.

use crate::cli::SimArgs;
use crate::commands::Outcome;
use crate::sim::config::SimConfig;
use crate::sim::{start, SimOptions};
use crate::tim::{SecretKey, SECRET_KEY_ENV};
use anyhow::Context;
use std::io::Write;

/// The real service allows at most 10 admins per app.
const MAX_ADMINS: usize = 10;

/// The top-level tables only a runbook has: a file with one is a runbook, and the simulator
/// takes its `[app]`.
const RUNBOOK_ONLY: [&str; 8] = [
    "target", "source", "store", "hooks", "window", "import", "scenario", "strategy",
];

/// A simulator config, or a runbook whose `[app]` the simulated app takes (its custom
/// fields and roaming period: the simulator then behaves like the app the runbook describes).
fn load(path: &std::path::Path) -> anyhow::Result<SimConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    if !RUNBOOK_ONLY.iter().any(|k| table.contains_key(*k)) {
        return Ok(SimConfig::load(path)?);
    }
    let file = crate::config::parse_file(&text, &path.display().to_string())
        .map_err(anyhow::Error::msg)?;
    let mut config = SimConfig::default();
    let app = &file.app;
    config.app.profile_custom_tags = app.profile_custom_tags.clone();
    config.app.friend_custom_tags = app.friend_custom_tags.clone();
    config.app.group_custom_fields = app.group_custom_fields.clone();
    if let Some(days) = app.roaming_days {
        config.app.roaming_days = u32::try_from(days)
            .with_context(|| format!("[app] roaming_days = {days} in {}", path.display()))?;
    }
    Ok(config)
}

/// Runs `cutover sim`.
pub(crate) fn run(args: &SimArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(key) = SecretKey::from_env() else {
        anyhow::bail!(
            "{SECRET_KEY_ENV} is not set: the simulator signs and checks UserSigs with it"
        );
    };
    let mut config = match &args.config {
        Some(path) => load(path)?,
        None => SimConfig::default(),
    };
    config.lean |= args.lean;
    let mut admins = args.admins.clone();
    if admins.is_empty() {
        admins.push("administrator".into());
    }
    if admins.len() > MAX_ADMINS {
        anyhow::bail!("at most {MAX_ADMINS} admins, as the real service allows");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let handle = start(SimOptions {
            listen: args.listen,
            sdkappid: args.sdkappid,
            admins: admins.clone(),
            key,
            config,
        })
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
        writeln!(
            out,
            "simulating Tencent IM for SDKAppID {} at {} (admins: {}); Ctrl-C stops",
            args.sdkappid,
            handle.url(),
            admins.join(", ")
        )?;
        out.flush()?;
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        if let Some(path) = &args.dump_on_exit {
            let dump = handle.sim().dump();
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            serde_json::to_writer_pretty(std::io::BufWriter::new(file), &dump)
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(out, "state written to {}", path.display())?;
        }
        Ok(Outcome::Ok)
    })
}
