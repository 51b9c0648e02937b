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

/// Runs `cutover sim`.
pub(crate) fn run(args: &SimArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(key) = SecretKey::from_env() else {
        anyhow::bail!(
            "{SECRET_KEY_ENV} is not set: the simulator signs and checks UserSigs with it"
        );
    };
    let mut config = match &args.config {
        Some(path) => SimConfig::load(path)?,
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
