//! `cutover export --from URL --map FILE --out DIR`: the database read into an export, then
//! what was written per kind and each problem with its source row.

use crate::cli::ExportArgs;
use crate::commands::Outcome;
use crate::export::url::PASSWORD_ENV;
use crate::export::{export, ExportOptions, ExportSummary, Mapping, SourceProblem, SourceUrl};
use crate::timefmt::{parse_date_or_time, utc};
use anyhow::Context;
use std::io::Write;

/// Unix seconds of a `--since`/`--until` value: an integer, a date or an RFC 3339 time.
pub(crate) fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .or_else(|| parse_date_or_time(text))
        .with_context(|| {
            format!(
                "{flag} {text:?}: expected unix seconds, a date (2026-11-01) or an RFC 3339 time"
            )
        })
}

/// Runs `cutover export`.
pub(crate) fn run(args: &ExportArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let url = SourceUrl::parse(&args.from, std::env::var(PASSWORD_ENV).ok())?;
    let mapping = Mapping::load(&args.map)?;
    let since = args
        .since
        .as_deref()
        .map(|t| parse_time("--since", t))
        .transpose()?;
    let until = match &args.until {
        Some(t) => parse_time("--until", t)?,
        None => crate::timefmt::now_secs(),
    };
    let opts = ExportOptions {
        gzip: args.gzip,
        force: args.force,
        ..ExportOptions::new(url, mapping, args.out.clone(), since, until)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut shown = Vec::new();
    let mut problems = 0u64;
    let mut stderr = std::io::stderr();
    let summary = runtime.block_on(export(&opts, &mut stderr, &mut |p| {
        problems += 1;
        if args.max_shown == 0 || shown.len() < args.max_shown {
            shown.push(p);
        }
    }))?;
    write_summary(&opts, &summary, &shown, problems, out)?;
    Ok(if summary.is_clean() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

fn write_summary(
    opts: &ExportOptions,
    summary: &ExportSummary,
    shown: &[SourceProblem],
    problems: u64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let m = &summary.manifest;
    write!(
        out,
        "wrote {} from {}",
        opts.out.display(),
        opts.url.display()
    )?;
    match m.delta_of {
        Some(since) => writeln!(
            out,
            ": a delta of what changed from {} to {} (delta_of {since}, watermark {})",
            utc(since),
            utc(opts.until),
            opts.until
        )?,
        None => writeln!(
            out,
            ": everything before {} (watermark {})",
            utc(opts.until),
            opts.until
        )?,
    }
    writeln!(out)?;
    // A delta writes tombstones for the rows marked deleted; a full export leaves them out.
    let deleted = if m.delta_of.is_some() {
        "tombstones"
    } else {
        "deleted, left out"
    };
    writeln!(
        out,
        "{:<24} {:>10} {:>12} {:>18} {:>10}",
        "file", "rows", "rows/s", deleted, "invalid"
    )?;
    for k in &summary.kinds {
        let rate = if k.secs > 0.0 {
            k.rows as f64 / k.secs
        } else {
            0.0
        };
        let invalid = summary
            .report
            .files
            .iter()
            .find(|f| f.file.starts_with(&k.kind.file_name()))
            .map_or(0, |f| f.invalid)
            + k.deleted.invalid;
        let deleted = k.deleted.tombstones + k.deleted.left_out;
        writeln!(
            out,
            "{:<24} {:>10} {:>12.0} {:>18} {:>10}",
            k.kind.file_name(),
            k.rows,
            rate,
            deleted,
            invalid
        )?;
    }
    write_key_sets(opts, summary, out)?;
    if !shown.is_empty() {
        writeln!(out)?;
        writeln!(out, "problems:")?;
        for p in shown {
            match &p.source_key {
                Some(key) => writeln!(out, "{} (source row {key})", p.problem)?,
                None => writeln!(out, "{}", p.problem)?,
            }
        }
        let hidden = problems.saturating_sub(shown.len() as u64);
        if hidden > 0 {
            writeln!(out, "… and {hidden} more (--max-shown 0 shows them all)")?;
        }
    }
    writeln!(out)?;
    let tombstones: u64 = summary.kinds.iter().map(|k| k.deleted.tombstones).sum();
    let of_which = if tombstones > 0 {
        format!(" ({tombstones} of them tombstones)")
    } else {
        String::new()
    };
    if summary.is_clean() {
        writeln!(
            out,
            "clean: {} records{of_which}, no problems",
            summary.records()
        )
    } else {
        writeln!(
            out,
            "{} problems in {} of {} records{of_which}; those records will be skipped at import",
            summary.problems(),
            summary.invalid(),
            summary.records()
        )
    }
}

/// The key sets written, or why there are none though the mapping has `[keys]`.
fn write_key_sets(
    opts: &ExportOptions,
    summary: &ExportSummary,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if opts.mapping.keys.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    if summary.manifest.delta_of.is_none() {
        return writeln!(
            out,
            "key sets: none written ([keys] is read by a delta export, --since, only)"
        );
    }
    writeln!(
        out,
        "key sets (each kind's whole current keys, to find rows deleted outright):"
    )?;
    for k in &summary.key_sets {
        writeln!(out, "{:<24} {:>10} keys", k.file, k.keys)?;
    }
    Ok(())
}
