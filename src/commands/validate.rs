//! `cutover validate DIR`: the summary per file, then each problem as `FILE:LINE: …`.

use crate::cli::ValidateArgs;
use crate::commands::Outcome;
use crate::source::{validate_export_with, ExportDir, Problem, Valid, ValidationReport};
use crate::store::order::{Scratch, Shifts};
use crate::timefmt::utc;
use anyhow::Context;
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};

/// Collects problems: all of them to the problems file, the first few for the screen.
struct ProblemSink {
    shown: Vec<Problem>,
    max_shown: usize,
    file: Option<BufWriter<File>>,
    file_error: Option<io::Error>,
}

impl ProblemSink {
    fn take(&mut self, p: Problem) {
        if let Some(w) = &mut self.file {
            let written = serde_json::to_writer(&mut *w, &p)
                .map_err(io::Error::from)
                .and_then(|()| w.write_all(b"\n"));
            if let Err(e) = written {
                self.file_error.get_or_insert(e);
                self.file = None;
            }
        }
        if self.max_shown == 0 || self.shown.len() < self.max_shown {
            self.shown.push(p);
        }
    }
}

/// Runs `cutover validate`.
pub(crate) fn run(args: &ValidateArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let export = ExportDir::open(&args.dir)?;
    let declared = match &args.config {
        Some(path) => Some(super::custom_keys::declared(path)?),
        None => None,
    };
    let file = match &args.problems_out {
        Some(path) => Some(BufWriter::new(
            crate::private::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let mut sink = ProblemSink {
        shown: Vec::new(),
        max_shown: args.max_shown,
        file,
        file_error: None,
    };
    // Same-second group messages are counted over each whole group, however the file is
    // ordered: through a scratch store on disk, so the memory stays bounded.
    let scratch_dir = tempfile::tempdir().context("creating a scratch directory")?;
    let scratch = Scratch::open(&scratch_dir.path().join("validate.db"))?;
    let mut scratch_error = None;
    let report = validate_export_with(&export, &mut |p| sink.take(p), &mut |loc, record| {
        if let Valid::GroupMessage(m) = record {
            if let Err(e) = scratch.add(&m.group, m.sent_at, loc.line) {
                scratch_error.get_or_insert(e);
            }
        }
    })?;
    if let Some(e) = scratch_error {
        return Err(e.into());
    }
    let shifts = scratch.shifts()?;
    if let Some(mut w) = sink.file.take() {
        w.flush()
            .map_err(|e| sink.file_error.get_or_insert(e).kind())
            .ok();
    }
    if let (Some(e), Some(path)) = (sink.file_error, &args.problems_out) {
        return Err(anyhow::Error::new(e).context(format!("writing {}", path.display())));
    }
    let undeclared = match &declared {
        Some(d) => super::custom_keys::advice(&report.custom_keys, d),
        None => Vec::new(),
    };
    let media = super::media::MediaReport::new(&report.media, args.probe)?;
    if args.json {
        let keys = super::custom_keys::rows(&report.custom_keys, declared.as_ref());
        let extra = (&keys[..], &undeclared[..], media.json());
        write_json(&report, &sink.shown, &shifts, extra, out)?;
    } else {
        write_text(&report, &sink.shown, args, out)?;
        write_shifts(&shifts, out)?;
        super::custom_keys::write(&report.custom_keys, declared.as_ref(), out)?;
        media.write(out)?;
    }
    Ok(if report.is_clean() && undeclared.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a ValidationReport,
    totals: Totals,
    problems: &'a [Problem],
    problems_shown: usize,
    clean: bool,
    same_second: &'a Shifts,
    /// Each custom key with its records and, given a runbook, its status.
    custom_key_status: &'a [super::custom_keys::KeyRow],
    /// What to do about each key the runbook does not declare.
    undeclared_custom_keys: &'a [String],
    /// The media the valid messages reference, per host (and what `--probe` found).
    media: super::media::MediaJson<'a>,
}

#[derive(Serialize)]
struct Totals {
    records: u64,
    valid: u64,
    invalid: u64,
    problems: u64,
}

fn write_json(
    report: &ValidationReport,
    shown: &[Problem],
    shifts: &Shifts,
    (keys, undeclared, media): (
        &[super::custom_keys::KeyRow],
        &[String],
        super::media::MediaJson<'_>,
    ),
    out: &mut dyn Write,
) -> io::Result<()> {
    let json = JsonReport {
        report,
        totals: Totals {
            records: report.records(),
            valid: report.records() - report.invalid(),
            invalid: report.invalid(),
            problems: report.problems(),
        },
        problems: shown,
        problems_shown: shown.len(),
        clean: report.is_clean(),
        same_second: shifts,
        custom_key_status: keys,
        undeclared_custom_keys: undeclared,
        media,
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)
}

fn write_text(
    report: &ValidationReport,
    shown: &[Problem],
    args: &ValidateArgs,
    out: &mut dyn Write,
) -> io::Result<()> {
    let m = &report.manifest;
    write!(out, "export {}", report.export.display())?;
    if let Some(source) = &m.source {
        write!(out, " ({})", crate::model::parse::display_id(source))?;
    }
    writeln!(
        out,
        ", taken {}, format {} v{}",
        utc(m.exported_at),
        m.format,
        m.version
    )?;
    writeln!(out)?;
    write_file_table(report, out)?;
    let (records, invalid) = (report.records(), report.invalid());
    if !shown.is_empty() {
        writeln!(out)?;
        writeln!(out, "problems:")?;
        for p in shown {
            writeln!(out, "{p}")?;
        }
        let hidden = report.problems() - shown.len() as u64;
        if hidden > 0 {
            let hint = match &args.problems_out {
                Some(path) => format!("all are in {}", path.display()),
                None => "--problems-out FILE writes them all, --max-shown 0 shows them all".into(),
            };
            writeln!(out, "… and {hidden} more ({hint})")?;
        }
    }
    write_notes(report, out)?;
    writeln!(out)?;
    if report.is_clean() {
        writeln!(out, "clean: {records} records, no problems")
    } else {
        writeln!(
            out,
            "{} problems in {invalid} of {records} records; those records will be skipped at import",
            report.problems()
        )
    }
}

/// Per file: records, valid, invalid and the problems by rule; then the totals.
fn write_file_table(report: &ValidationReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>8}  problems by rule",
        "file", "records", "valid", "invalid"
    )?;
    for f in &report.files {
        if !f.present {
            writeln!(out, "{:<24} {:>10}", f.file, "absent")?;
            continue;
        }
        let rules: Vec<String> = f
            .problems_by_rule
            .iter()
            .map(|(rule, n)| format!("{rule} {n}"))
            .collect();
        writeln!(
            out,
            "{:<24} {:>10} {:>10} {:>8}  {}",
            f.file,
            f.records,
            f.valid,
            f.invalid,
            rules.join(", ")
        )?;
    }
    let (records, invalid) = (report.records(), report.invalid());
    writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>8}",
        "total",
        records,
        records - invalid,
        invalid
    )
}

/// What a delta deletes: its tombstones per file, and its key sets (`keys/`), whose absent
/// keys are deleted at staging.
fn deletion_notes(report: &ValidationReport) -> Vec<String> {
    let mut notes: Vec<String> = report
        .files
        .iter()
        .filter(|f| f.tombstones > 0)
        .map(|f| {
            let s = if f.tombstones == 1 { "" } else { "s" };
            format!(
                "{}: {} tombstone{s} (deleted in the old system)",
                f.file, f.tombstones
            )
        })
        .collect();
    let keys = report.export.join("keys");
    for file in crate::source::ExportFile::ALL {
        let path = keys.join(format!("{}.jsonl", file.stem()));
        // Counted a line at a time: a key set can hold millions of keys.
        let Ok(opened) = std::fs::File::open(&path) else {
            continue;
        };
        let lines = io::BufRead::split(io::BufReader::new(opened), b'\n');
        let n = lines
            .map_while(Result::ok)
            .filter(|l| !l.is_empty())
            .count();
        notes.push(format!(
            "keys/{}.jsonl: the old system's whole key set of {} ({n} keys): what was imported \
             before and is not in it is deleted in the window",
            file.stem(),
            file.stem()
        ));
    }
    notes
}

/// The unknown fields each file had (ignored, not problems), when there were any.
fn write_notes(report: &ValidationReport, out: &mut dyn Write) -> io::Result<()> {
    let notes: Vec<String> = report
        .files
        .iter()
        .filter(|f| !f.unknown_fields.is_empty())
        .map(|f| {
            let names: Vec<String> = f
                .unknown_fields
                .iter()
                .map(|n| crate::model::parse::display_id(n))
                .collect();
            format!("{}: unknown fields ignored: {}", f.file, names.join(", "))
        })
        .collect();
    let notes = notes.into_iter().chain(deletion_notes(report));
    let notes: Vec<String> = notes.collect();
    if !notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "notes:")?;
        for n in notes {
            writeln!(out, "  {n}")?;
        }
    }
    Ok(())
}

/// What the import will do with group messages that share a second with the one before them
/// in their group (Tencent imports one only if it is newer than the group's newest).
fn write_shifts(s: &Shifts, out: &mut dyn Write) -> io::Result<()> {
    if s.shifted == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "same-second group messages: {} will be sent up to {} s after their own time, one second \
         after the message before them, to keep the export's order ([import] same_second = \
         \"shift\", the default); with \"refuse\" {} would be invalid instead",
        s.shifted, s.largest_secs, s.refused
    )
}
