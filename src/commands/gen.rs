//! `cutover gen --out DIR --seed S …`: writes a synthetic export, then what it wrote.

use crate::cli::GenArgs;
use crate::commands::Outcome;
use crate::source::gen::{generate, GenConfig, GenStats, CUSTOM_KEYS_APP};
use std::io::{self, Write};

/// The generator config the command line asks for.
pub(crate) fn config(args: &GenArgs) -> GenConfig {
    GenConfig {
        seed: args.seed,
        accounts: args.accounts,
        friends_per_account: args.friends_per_account,
        c2c_messages: args.c2c_messages,
        groups: args.groups,
        members_per_group: args.members_per_group,
        group_messages: args.group_messages,
        bad_ratio: args.bad_ratio,
        gzip: args.gzip,
        force: args.force,
        exported_at: args.exported_at,
        custom_keys: args.custom_keys,
    }
}

/// Runs `cutover gen`.
pub(crate) fn run(args: &GenArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let cfg = config(args);
    let stats = generate(&cfg, &args.out)?;
    write_summary(&cfg, &stats, out)?;
    Ok(Outcome::Ok)
}

fn write_summary(cfg: &GenConfig, stats: &GenStats, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "wrote {} (seed {}{})",
        stats.dir.display(),
        cfg.seed,
        if cfg.gzip { ", gzip" } else { "" }
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>12} {:>8} {:>14}",
        "file", "records", "bad", "bytes"
    )?;
    for f in &stats.files {
        writeln!(
            out,
            "{:<24} {:>12} {:>8} {:>14}",
            f.file, f.records, f.bad, f.bytes
        )?;
    }
    writeln!(
        out,
        "{:<24} {:>12} {:>8} {:>14}",
        "total",
        stats.records(),
        stats.bad(),
        stats.bytes()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "took {:.2} s, {:.0} records/s",
        stats.elapsed.as_secs_f64(),
        stats.records_per_sec()
    )?;
    writeln!(out)?;
    if cfg.custom_keys {
        writeln!(
            out,
            "The export uses custom keys: create them in the Tencent console and declare them in \
             the runbook (the same lines make `cutover sim --config FILE` enable them):\n"
        )?;
        write!(out, "{CUSTOM_KEYS_APP}")
    } else {
        writeln!(
            out,
            "No custom keys (a fresh Tencent app has none); --custom-keys adds some."
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn gen_writes_a_summary_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("export");
        let argv = |extra: &[&str]| {
            let mut v = vec![
                "cutover",
                "gen",
                "--out",
                out_dir.to_str().unwrap(),
                "--seed",
                "9",
            ];
            v.extend_from_slice(&["--accounts", "50", "--c2c-messages", "30", "--groups", "3"]);
            v.extend_from_slice(&["--group-messages", "20"]);
            v.extend_from_slice(extra);
            Cli::try_parse_from(v).unwrap()
        };
        let mut out = Vec::new();
        crate::commands::run(argv(&[]), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("c2c_messages.jsonl"), "{text}");
        assert!(text.contains("records/s"), "{text}");
        assert!(text.contains("No custom keys"), "{text}");
        let dir2 = tempfile::tempdir().unwrap();
        let mut keyed = Vec::new();
        let argv2 = [
            "cutover",
            "gen",
            "--out",
            dir2.path().to_str().unwrap(),
            "--seed",
            "1",
            "--accounts",
            "40",
            "--custom-keys",
        ];
        crate::commands::run(Cli::try_parse_from(argv2).unwrap(), &mut keyed).unwrap();
        let keyed = String::from_utf8(keyed).unwrap();
        assert!(
            keyed.contains("profile_custom_tags = [\"Hobby\", \"Vip\"]"),
            "{keyed}"
        );
        assert!(crate::commands::run(argv(&[]), &mut Vec::new()).is_err());
        crate::commands::run(argv(&["--force", "--gzip"]), &mut Vec::new()).unwrap();
        assert!(out_dir.join("groups.jsonl.gz").exists());
    }
}
