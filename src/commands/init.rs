//! `cutover init`: write the annotated example runbook.

use crate::cli::InitArgs;
use crate::commands::Outcome;
use anyhow::Context;
use std::io::Write;

/// Writes [`crate::config::EXAMPLE`] to `--out`, never over an existing file without `--force`.
pub(crate) fn run(args: &InitArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.out.exists() && !args.force {
        anyhow::bail!(
            "{} already exists: pass --force to replace it, or --out to write elsewhere",
            args.out.display()
        );
    }
    std::fs::write(&args.out, crate::config::EXAMPLE)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    writeln!(
        out,
        "wrote {}: fill in [target], [source] and the hooks; the key goes in CUTOVER_SECRET_KEY",
        args.out.display()
    )?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn writes_once_then_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("rb.toml");
        let mut out = Vec::new();
        run(
            &InitArgs {
                out: path.clone(),
                force: false,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            crate::config::EXAMPLE
        );
        std::fs::write(&path, "mine").unwrap();
        let e = run(
            &InitArgs {
                out: path.clone(),
                force: false,
            },
            &mut out,
        )
        .unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        run(
            &InitArgs {
                out: path.clone(),
                force: true,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            crate::config::EXAMPLE
        );
    }
}
