//! The report as Markdown: headings, a few sentences and tables, readable as plain text too.

use super::data::{ReportData, VerifyStatus};
use super::sections;
use super::table::{Align, Cell, Table};
use super::text::{duration, md, pass_sentence, rate, shorten, time};
use super::throughput::caveat;
use std::fmt::Write;

/// Rows of the throughput table at most (longer imports are shown in merged intervals).
const THROUGHPUT_ROWS: usize = 40;
/// Characters of a message shown in a table cell.
const CELL: usize = 160;

/// Renders `r` as Markdown.
pub fn render(r: &ReportData) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&mut s, r);
    s
}

fn write_all(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "# Cutover run report\n")?;
    writeln!(
        s,
        "Read from the store `{}` at {}.\n",
        r.store.replace('`', "'"),
        time(Some(r.generated_at))
    )?;
    run(s, r)?;
    let steps = sections::steps(r);
    table_section(s, "Runbook steps", &steps, "No step has run yet.")?;
    table_section(s, "Operator actions", &sections::audit(r), "None recorded.")?;
    entities(s, r)?;
    failures(s, r)?;
    verification(s, r)?;
    media(s, r)?;
    let sync = sections::sync(r);
    table_section(s, "Two-way sync", &sync, "No sync event either way.")?;
    throughput(s, r)
}

/// The media section, when the messages reference any.
fn media(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let Some(m) = &r.media else { return Ok(()) };
    writeln!(s, "## Media\n\n{}\n", super::media::summary(m))?;
    table(s, &super::media::hosts_table(m))?;
    writeln!(s)?;
    let failed = super::media::failed_table(m);
    if !failed.rows.is_empty() {
        writeln!(s, "Objects that could not be copied:\n")?;
        table(s, &failed)?;
        writeln!(s)?;
    }
    Ok(())
}

fn run(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Run\n")?;
    table(s, &sections::run(r))?;
    writeln!(s)?;
    for e in &r.exports {
        writeln!(
            s,
            "Export {} staged at {}: `{}`, taken at {}{}{}.\n",
            e.id,
            time(Some(e.staged_at)),
            e.root.replace('`', "'"),
            time(Some(e.exported_at)),
            e.watermark
                .map_or(String::new(), |w| format!(", watermark {}", time(Some(w)))),
            e.delta_of
                .map_or(String::new(), |d| format!(", a delta of export {d}")),
        )?;
        table(s, &sections::files(e))?;
        writeln!(s)?;
    }
    Ok(())
}

fn entities(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Entities\n")?;
    table(s, &sections::entities(r))?;
    if !r.deletions.is_empty() {
        writeln!(s, "\n### Deletions\n")?;
        table(s, &sections::deletions(r))?;
        writeln!(
            s,
            "\nWhat the deltas deleted in the old system (tombstones, keys gone from their key \
             sets), applied after their upserts: `deleted` on the target, `gone` read back.\n"
        )?;
    }
    writeln!(
        s,
        "\n`source` counts every record of the export: `invalid` were refused at staging; the \
         rest are imported, failed, skipped or pending. The read-back columns split `imported`.\n"
    )?;
    if let Some(note) = super::text::history_skips(&r.history_since) {
        writeln!(s, "{note}\n")?;
    }
    match super::text::same_second(&r.same_second) {
        Some(note) => writeln!(s, "{note}\n"),
        None => Ok(()),
    }
}

fn failures(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Errors by API and code\n")?;
    if r.failures.groups.is_empty() {
        return writeln!(s, "No failed items.\n");
    }
    table(s, &sections::failures(r))?;
    writeln!(s, "\n{} failed items in all.\n", r.failures.total)
}

fn verification(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let v = &r.verification;
    writeln!(s, "## Verification\n")?;
    for n in &v.notes {
        writeln!(s, "- {}", md(n))?;
    }
    writeln!(s)?;
    if v.status == VerifyStatus::NotRun {
        return Ok(());
    }
    writeln!(s, "{}\n", md(&pass_sentence(v)))?;
    if !v.sampled.is_empty() {
        table(s, &sections::sampled(v))?;
        writeln!(s)?;
    }
    let t = &v.totals;
    writeln!(
        s,
        "Missing {}, differing {}, extra {} ({} mismatched); unreadable {}, unchecked {}.\n",
        t.missing,
        t.differs,
        t.extra,
        t.mismatched(),
        t.unreadable,
        t.unchecked
    )?;
    if v.mismatches.is_empty() {
        return Ok(());
    }
    writeln!(
        s,
        "First {} mismatches (at most {} are listed):\n",
        v.mismatches.len(),
        v.mismatches_limit
    )?;
    table(s, &sections::mismatches(v))?;
    writeln!(s)
}

fn throughput(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let t = &r.throughput;
    writeln!(s, "## Throughput\n")?;
    let Some(overall) = t.overall_items_per_sec else {
        return writeln!(
            s,
            "No throughput samples to compare ({} found; the store takes one every {} s while \
             an import runs).",
            t.samples, t.sample_every_secs
        );
    };
    let span = t.intervals.first().zip(t.intervals.last());
    if let Some((first, last)) = span {
        writeln!(
            s,
            "Items settled (imported or failed) per second, from {} to {} ({}): {} items/s \
             overall, {} at the peak.\n",
            time(Some(first.from)),
            time(Some(last.to)),
            duration(last.to - first.from),
            rate(overall),
            rate(t.peak_items_per_sec)
        )?;
    }
    if let Some(caveat) = caveat(t) {
        writeln!(s, "{caveat}\n")?;
    }
    let rows = sections::throughput(t, THROUGHPUT_ROWS);
    if rows.rows.len() < t.intervals.len() {
        writeln!(
            s,
            "{} intervals merged into {} rows.\n",
            t.intervals.len(),
            rows.rows.len()
        )?;
    }
    table(s, &rows)
}

/// A section of one table under `heading`, or of the sentence `none` when it has no rows.
fn table_section(s: &mut String, heading: &str, t: &Table, none: &str) -> std::fmt::Result {
    writeln!(s, "## {heading}\n")?;
    if t.rows.is_empty() {
        writeln!(s, "{none}\n")
    } else {
        table(s, t)?;
        writeln!(s)
    }
}

/// Writes `t` as a Markdown table, every cell escaped and on one line.
fn table(s: &mut String, t: &Table) -> std::fmt::Result {
    s.push('|');
    for c in t.columns {
        match c.name {
            "" => s.push_str(" |"),
            name => write!(s, " {name} |")?,
        }
    }
    s.push_str("\n|");
    for c in t.columns {
        s.push_str(if c.align == Align::Right {
            "--:|"
        } else {
            "---|"
        });
    }
    s.push('\n');
    for row in &t.rows {
        s.push('|');
        for cell in &row.cells {
            write!(s, " {} |", cell_md(cell))?;
        }
        s.push('\n');
    }
    Ok(())
}

/// One cell's text, escaped, shortened when long, in bold when strong.
fn cell_md(c: &Cell) -> String {
    let text = md(&if c.long {
        shorten(&c.text, CELL)
    } else {
        c.text.clone()
    });
    if c.strong {
        format!("**{text}**")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, EVIL};
    use super::*;

    #[test]
    fn has_every_section_and_its_tables() {
        let text = render(&fixture::report());
        for heading in [
            "# Cutover run report",
            "## Run",
            "## Runbook steps",
            "## Operator actions",
            "## Entities",
            "## Errors by API and code",
            "## Verification",
            "## Throughput",
        ] {
            assert!(text.contains(heading), "{heading} missing:\n{text}");
        }
        assert!(text.contains("| stage | source | invalid | imported | failed |"));
        assert!(text.contains("| c2c messages | 500 | 0 | 500 | 0 |"));
        assert!(
            text.contains("| **total** | 759 |"),
            "deletions are not in the totals"
        );
        assert!(text.contains("### Deletions"));
        assert!(text.contains("| deletion | deletions | invalid | deleted |"));
        assert!(text.contains("| friend deletions | 4 | 0 | 4 | 0 |"));
        assert!(text.contains("| friend_import | 30001 | 5 | no | invalid parameter |"));
        assert!(text.contains("group messages: 12 of 40 groups read back (sample 0.3)"));
        assert!(text.contains("did not finish"));
        assert!(text.contains("| import | done | 5 items failed |"));
        assert!(text.contains("| from | seconds | imported | failed | items/s |"));
    }

    #[test]
    fn untrusted_text_cannot_break_a_table_or_become_html() {
        let text = render(&fixture::report());
        assert!(!text.contains(EVIL));
        assert!(text.contains("\\<script\\>alert(1)\\</script\\>"));
        assert!(text.contains("Remark: \"a\\|b\""));
        assert!(text.contains("\\<img src=x\\>"));
    }
}
