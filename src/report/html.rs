//! The report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts and no
//! external resources, so it opens from a file anywhere. Every piece of text from the store is
//! escaped (record ids and error messages come from untrusted data).

use super::data::{ReportData, VerifyStatus};
use super::sections;
use super::svg::{self, BARS, KIND_COLOURS, TOTAL_COLOUR};
use super::table::{Align, Cell, Mark, Table};
use super::text::{duration, html as esc, pass_sentence, rate, shorten, time, took};
use std::fmt::Write;

/// Characters of a message shown in a table cell.
const CELL: usize = 240;

const STYLE: &str = "
:root { --fg: #1d2330; --muted: #5f6b7a; --line: #d9dee5; --bg: #ffffff; --band: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--band); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.muted { color: var(--muted); fill: var(--muted); }
section { background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 18px; margin: 16px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(122px, 1fr)); gap: 10px;
  background: none; border: none; padding: 0; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; white-space: nowrap; }
.card .v small { display: block; font-size: 12px; font-weight: 400; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.t { white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid var(--fg); }
table.kv th { width: 140px; background: none; }
table.wide th, table.wide td { padding: 4px 5px; font-size: 12px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; background: #e8ebf0; white-space: nowrap; }
.s-done, .s-finished { background: #dcf2dc; color: #1e6b1e; }
.s-failed, .s-not_run { background: #fbe0e0; color: #9b1c1c; }
.s-running, .s-unfinished { background: #dde8fb; color: #1d4f9b; }
.s-paused, .s-stopped { background: #fbefd5; color: #8a5a00; }
.s-skipped { background: #eceef1; color: #5f6b7a; }
ul.notes { margin: 0 0 12px; padding-left: 20px; }
svg.chart { display: block; width: 100%; height: auto; margin: 4px 0 8px; }
svg .grid { stroke: #e6e9ee; }
svg .axis { stroke: #8a94a3; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .label { font-size: 11px; fill: var(--fg); }
svg .value { font-size: 10px; fill: var(--muted); }
svg .track { fill: #eef1f5; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 12px; color: var(--muted);
  margin-bottom: 10px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  vertical-align: -2px; margin-right: 5px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
";

/// A CSS class for a state word (only known words; anything else gets a plain badge).
fn state_class(state: &str) -> &'static str {
    match state {
        "done" => "s-done",
        "finished" => "s-finished",
        "failed" | "fatal" => "s-failed",
        "not_run" => "s-not_run",
        "running" | "starting" | "reading the target back" => "s-running",
        "unfinished" => "s-unfinished",
        "paused" | "needs confirmation" => "s-paused",
        "stopped" | "stopping" => "s-stopped",
        "skipped" => "s-skipped",
        _ => "s-other",
    }
}

fn badge(state: &str) -> String {
    format!(
        r#"<span class="badge {}">{}</span>"#,
        state_class(state),
        esc(&state.replace('_', " "))
    )
}

/// Renders `r` as an HTML page.
pub(crate) fn render(r: &ReportData) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&mut s, r);
    s
}

fn write_all(s: &mut String, r: &ReportData) -> std::fmt::Result {
    write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Cutover run report — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&r.run.target)
    )?;
    writeln!(
        s,
        "<header><h1>Cutover run report</h1><p class=\"muted\">Read from the store <code>{}</code> at {}.</p></header>",
        esc(&r.store),
        time(Some(r.generated_at))
    )?;
    cards(s, r)?;
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
    throughput(s, r)?;
    write!(
        s,
        "<footer>cutover report · format version {}</footer>\n</main>\n</body>\n</html>\n",
        r.report_version
    )
}

fn cards(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let t = &r.totals;
    let import = r
        .steps
        .iter()
        .find(|st| st.name == crate::model::step::Step::Import.name());
    let verify = match r.verification.status {
        VerifyStatus::NotRun => "not run",
        VerifyStatus::Unfinished => "unfinished",
        VerifyStatus::Finished => "finished",
    };
    let cards = [
        ("run state", badge(&r.run.state)),
        (
            "imported",
            format!("{} <small>of {}</small>", t.imported, t.source),
        ),
        ("failed", t.failed.to_string()),
        ("invalid", t.invalid.to_string()),
        ("mismatched", t.mismatched.to_string()),
        ("verification", esc(verify)),
        (
            "import took",
            esc(&import.map_or("-".into(), |st| took(st.started_at, st.ended_at))),
        ),
    ];
    s.push_str("<section class=\"cards\">");
    for (k, v) in cards {
        write!(
            s,
            "<div class=\"card\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div></div>"
        )?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn run(s: &mut String, r: &ReportData) -> std::fmt::Result {
    s.push_str("<section><h2>Run</h2>");
    table(s, &sections::run(r))?;
    for e in &r.exports {
        write!(
            s,
            "<h3>Export {} <span class=\"muted\">staged {}</span></h3><p><code>{}</code> — taken at {}{}{}</p>",
            e.id,
            time(Some(e.staged_at)),
            esc(&e.root),
            time(Some(e.exported_at)),
            e.watermark
                .map_or(String::new(), |w| format!(", watermark {}", time(Some(w)))),
            e.delta_of
                .map_or(String::new(), |d| format!(", a delta of export {d}"))
        )?;
        table(s, &sections::files(e))?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn legend(s: &mut String, items: &[(&str, &str)]) {
    s.push_str("<div class=\"legend\">");
    for (label, colour) in items {
        let _ = write!(
            s,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            esc(label)
        );
    }
    s.push_str("</div>");
}

fn entities(s: &mut String, r: &ReportData) -> std::fmt::Result {
    s.push_str("<section><h2>Entities</h2>");
    let mut items: Vec<(&str, &str)> = BARS.to_vec();
    items.push(("source records", "#eef1f5"));
    legend(s, &items);
    s.push_str(&svg::entities(&r.entities));
    table(s, &sections::entities(r))?;
    s.push_str("<p class=\"muted\">Source counts every record of the export: invalid ones were refused at staging; the rest are imported, failed, skipped or pending. The read-back columns split imported.</p>");
    if !r.deletions.is_empty() {
        s.push_str("<h3>Deletions</h3>");
        table(s, &sections::deletions(r))?;
        s.push_str("<p class=\"muted\">What the deltas deleted in the old system (tombstones, keys gone from their key sets), applied after their upserts: deleted on the target, gone read back.</p>");
    }
    if let Some(note) = super::text::history_skips(&r.history_since) {
        write!(s, "<p class=\"muted\">{}</p>", esc(&note))?;
    }
    if let Some(note) = super::text::same_second(&r.same_second) {
        write!(s, "<p class=\"muted\">{}</p>", esc(&note))?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn failures(s: &mut String, r: &ReportData) -> std::fmt::Result {
    s.push_str("<section><h2>Errors by API and code</h2>");
    if r.failures.groups.is_empty() {
        s.push_str("<p>No failed items.</p></section>\n");
        return Ok(());
    }
    table(s, &sections::failures(r))?;
    writeln!(
        s,
        "<p>{} failed items in all.</p></section>",
        r.failures.total
    )
}

fn verification(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let v = &r.verification;
    let status = match v.status {
        VerifyStatus::NotRun => "not_run",
        VerifyStatus::Unfinished => "unfinished",
        VerifyStatus::Finished => "finished",
    };
    write!(
        s,
        "<section><h2>Verification {}</h2><ul class=\"notes\">",
        badge(status)
    )?;
    for n in &v.notes {
        write!(s, "<li>{}</li>", esc(n))?;
    }
    s.push_str("</ul>");
    if v.status == VerifyStatus::NotRun {
        s.push_str("</section>\n");
        return Ok(());
    }
    write!(s, "<p>{}</p>", esc(&pass_sentence(v)))?;
    if !v.sampled.is_empty() {
        table(s, &sections::sampled(v))?;
    }
    let t = &v.totals;
    write!(
        s,
        "<p>Missing <b>{}</b>, differing <b>{}</b>, extra <b>{}</b> ({} mismatched); unreadable {}, unchecked {}.</p>",
        t.missing,
        t.differs,
        t.extra,
        t.mismatched(),
        t.unreadable,
        t.unchecked
    )?;
    if !v.mismatches.is_empty() {
        write!(
            s,
            "<h3>First {} mismatches <span class=\"muted\">(at most {} are listed)</span></h3>",
            v.mismatches.len(),
            v.mismatches_limit
        )?;
        table(s, &sections::mismatches(v))?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn throughput(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let t = &r.throughput;
    s.push_str("<section><h2>Throughput</h2>");
    match (t.overall_items_per_sec, t.intervals.first(), t.intervals.last()) {
        (Some(overall), Some(first), Some(last)) => write!(
            s,
            "<p>Items settled (imported or failed) per second, from {} to {} ({}): <b>{}</b> items/s overall, {} at the peak.</p>",
            time(Some(first.from)),
            time(Some(last.to)),
            duration(last.to - first.from),
            rate(overall),
            rate(t.peak_items_per_sec)
        )?,
        _ => write!(
            s,
            "<p>No throughput samples to compare ({} found; the store takes one every {} s while an import runs).</p>",
            t.samples, t.sample_every_secs
        )?,
    }
    if let Some(caveat) = super::throughput::caveat(t) {
        write!(s, "<p class=\"muted\">{}</p>", esc(&caveat))?;
    }
    let mut items: Vec<(&str, &str)> = vec![("total", TOTAL_COLOUR)];
    items.extend(
        KIND_COLOURS
            .iter()
            .filter(|(k, _)| t.intervals.iter().any(|i| i.by_kind.contains_key(*k)))
            .copied(),
    );
    legend(s, &items);
    s.push_str(&svg::throughput(t));
    s.push_str("</section>\n");
    Ok(())
}

/// A section of one table under `heading`, or of the sentence `none` when it has no rows.
/// The media section, when the messages reference any.
fn media(s: &mut String, r: &ReportData) -> std::fmt::Result {
    let Some(m) = &r.media else { return Ok(()) };
    write!(
        s,
        "<section><h2>Media</h2><p>{}</p>",
        esc(&super::media::summary(m))
    )?;
    table(s, &super::media::hosts_table(m))?;
    let failed = super::media::failed_table(m);
    if !failed.rows.is_empty() {
        s.push_str("<p>Objects that could not be copied:</p>");
        table(s, &failed)?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn table_section(s: &mut String, heading: &str, t: &Table, none: &str) -> std::fmt::Result {
    write!(s, "<section><h2>{heading}</h2>")?;
    if t.rows.is_empty() {
        write!(s, "<p>{none}</p>")?;
    } else {
        table(s, t)?;
    }
    s.push_str("</section>\n");
    Ok(())
}

/// Writes `t` as an HTML table (in a scrolling `div` when it is wide), every cell escaped.
fn table(s: &mut String, t: &Table) -> std::fmt::Result {
    if t.scroll {
        s.push_str("<div class=\"scroll\">");
    }
    match t.class {
        Some(class) => write!(s, "<table class=\"{class}\">")?,
        None => s.push_str("<table>"),
    }
    if !t.keyed {
        s.push_str("<tr>");
        for c in t.columns {
            let class = if c.align == Align::Right {
                " class=\"n\""
            } else {
                ""
            };
            write!(s, "<th{class}>{}</th>", esc(c.name))?;
        }
        s.push_str("</tr>");
    }
    for row in &t.rows {
        s.push_str(if row.total {
            "<tr class=\"total\">"
        } else {
            "<tr>"
        });
        for (i, (cell, c)) in row.cells.iter().zip(t.columns).enumerate() {
            let tag = if t.keyed && i == 0 { "th" } else { "td" };
            let class = match c.align {
                Align::Left => "",
                Align::NoWrap => " class=\"t\"",
                Align::Right => " class=\"n\"",
            };
            write!(s, "<{tag}{class}>{}</{tag}>", cell_html(cell))?;
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    if t.scroll {
        s.push_str("</div>");
    }
    Ok(())
}

/// One cell's content, escaped and marked up.
fn cell_html(c: &Cell) -> String {
    let text = if c.long {
        shorten(&c.text, CELL)
    } else {
        c.text.clone()
    };
    match c.mark {
        Mark::Plain => esc(&text),
        Mark::Code => format!("<code>{}</code>", esc(&text)),
        Mark::State => badge(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, EVIL, TARGET};
    use super::*;

    #[test]
    fn a_whole_page_with_both_charts() {
        let page = render(&fixture::report());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(
            page.contains("<title>Cutover run report — https://adminapisgp.im.qcloud.com</title>")
        );
        assert_eq!(page.matches("<svg").count(), 2);
        assert!(page.contains("aria-label=\"items per second over time\""));
        assert!(page.contains("aria-label=\"items per entity kind\""));
        assert!(page.ends_with("</html>\n"));
        assert!(page.contains("group messages: 12 of 40 groups read back (sample 0.3)"));
        assert!(page.contains("<td class=\"n\">30001</td>"));
    }

    #[test]
    fn untrusted_text_is_escaped() {
        let page = render(&fixture::report());
        assert!(!page.contains(EVIL));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>lanes</b>"));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn no_external_resources() {
        let page = render(&fixture::report());
        let without_target = page.replace(TARGET, "");
        assert!(!without_target.contains("http://"));
        assert!(!without_target.contains("https://"));
        for attr in ["src=\"", "href=\"", "@import", "url("] {
            assert!(!page.contains(attr), "{attr} in the page");
        }
    }
}
