//! The report as Markdown: headings, a few sentences and tables, readable as plain text too.

use super::data::{EntityRow, ReportData, VerifyStatus};
use super::text::{duration, md, or_dash, pass_sentence, rate, shorten, time, took};
use super::throughput::{caveat, coarsen, in_kind_order};
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
    steps(s, r)?;
    audit(s, r)?;
    entities(s, r)?;
    failures(s, r)?;
    verification(s, r)?;
    sync(s, r)?;
    throughput(s, r)
}

fn sync(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Two-way sync\n")?;
    let Some(f) = &r.sync else {
        return writeln!(s, "No sync event either way.\n");
    };
    writeln!(s, "| direction | received | applied | failed | dropped as echo | recovered | waiting | lag p50 | lag p99 |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for (label, d) in [("old → new", &f.old_to_new), ("new → old", &f.new_to_old)] {
        writeln!(s, "| {label} | {} |", d.cells().join(" | "))?;
    }
    writeln!(s)
}

fn run(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let run = &r.run;
    writeln!(s, "## Run\n")?;
    writeln!(s, "| | |\n|---|---|")?;
    writeln!(s, "| target | {} |", md(&run.target))?;
    writeln!(s, "| SDKAppID | {} |", run.sdkappid)?;
    writeln!(s, "| admin | {} |", md(&run.admin))?;
    writeln!(s, "| state | **{}** |", md(&run.state))?;
    writeln!(s, "| reason | {} |", md(or_dash(&run.reason)))?;
    writeln!(s, "| created | {} |", time(Some(run.created_at)))?;
    writeln!(s, "| updated | {} |\n", time(Some(run.updated_at)))?;
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
        writeln!(s, "| file | kind | records | invalid |\n|---|---|--:|--:|")?;
        for f in &e.files {
            writeln!(
                s,
                "| {} | {} | {} | {} |",
                md(&f.name),
                f.kind,
                f.records,
                f.invalid
            )?;
        }
        writeln!(s)?;
    }
    Ok(())
}

fn steps(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Runbook steps\n")?;
    if r.steps.is_empty() {
        return writeln!(s, "No step has run yet.\n");
    }
    writeln!(
        s,
        "| # | step | state | reason | started | ended | took |\n|--:|---|---|---|---|---|--:|"
    )?;
    for st in &r.steps {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            st.position,
            md(&st.name),
            md(&st.state),
            md(&shorten(or_dash(&st.reason), CELL)),
            time(st.started_at),
            time(st.ended_at),
            took(st.started_at, st.ended_at)
        )?;
    }
    writeln!(s)
}

fn audit(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Operator actions\n")?;
    if r.audit.is_empty() {
        return writeln!(s, "None recorded.\n");
    }
    writeln!(
        s,
        "| at | actor | action | detail | reason |\n|---|---|---|---|---|"
    )?;
    for a in &r.audit {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            time(Some(a.at)),
            md(&a.actor),
            md(&a.action),
            md(&shorten(or_dash(&a.detail), CELL)),
            md(&shorten(or_dash(&a.reason), CELL))
        )?;
    }
    writeln!(s)
}

fn entity_line(s: &mut String, e: &EntityRow, bold: bool) -> std::fmt::Result {
    let b = if bold { "**" } else { "" };
    writeln!(
        s,
        "| {b}{}{b} | {} | {} | {b}{}{b} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        e.stage,
        e.source,
        e.invalid,
        e.imported,
        e.failed,
        e.skipped,
        e.pending,
        e.verified,
        e.missing,
        e.differs,
        e.extra,
        e.unreadable,
        e.unchecked
    )
}

fn entities(s: &mut String, r: &ReportData) -> std::fmt::Result {
    writeln!(s, "## Entities\n")?;
    writeln!(
        s,
        "| stage | source | invalid | imported | failed | skipped | pending | verified | missing | differs | extra | unreadable | unchecked |"
    )?;
    writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for e in &r.entities {
        entity_line(s, e, false)?;
    }
    entity_line(s, &r.totals, true)?;
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
    writeln!(
        s,
        "| api | code | items | retryable | meaning | sample |\n|---|--:|--:|---|---|---|"
    )?;
    for g in &r.failures.groups {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            md(&g.api),
            g.code.map_or("-".to_string(), |c| c.to_string()),
            g.count,
            if g.retryable { "yes" } else { "no" },
            md(g.meaning.as_deref().unwrap_or("-")),
            md(&shorten(&g.sample, CELL))
        )?;
    }
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
        writeln!(s, "| stage | read back | in all |\n|---|--:|--:|")?;
        for u in &v.sampled {
            writeln!(
                s,
                "| {} | {} {} | {} |",
                md(&u.stage),
                u.read_back,
                u.unit,
                u.total
            )?;
        }
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
    writeln!(
        s,
        "| kind | record | what | detail | source |\n|---|---|---|---|---|"
    )?;
    for m in &v.mismatches {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            md(&m.kind),
            md(&m.record),
            md(&m.what),
            md(&shorten(or_dash(&m.detail), CELL)),
            md(or_dash(&m.source))
        )?;
    }
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
    let rows = coarsen(&t.intervals, THROUGHPUT_ROWS);
    if rows.len() < t.intervals.len() {
        writeln!(
            s,
            "{} intervals merged into {} rows.\n",
            t.intervals.len(),
            rows.len()
        )?;
    }
    writeln!(
        s,
        "| from | seconds | imported | failed | items/s | by kind (items/s) |\n|---|--:|--:|--:|--:|---|"
    )?;
    for i in &rows {
        let kinds: Vec<String> = in_kind_order(&i.by_kind)
            .into_iter()
            .map(|(k, v)| format!("{} {}", md(k), rate(v)))
            .collect();
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            time(Some(i.from)),
            i.to - i.from,
            i.imported,
            i.failed,
            rate(i.items_per_sec),
            or_dash(&kinds.join(", "))
        )?;
    }
    Ok(())
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
        assert!(text.contains("| **total** | 759 |"));
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
