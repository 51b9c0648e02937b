//! Each report section's table, built once from the report's data and written by both the
//! HTML and the Markdown renderer.

use super::data::{EntityRow, ExportInfo, ReportData, Throughput, Verification};
use super::table::{Cell, Column, Row, Table};
use super::text::{or_dash, rate, time, took};
use super::throughput::{coarsen, in_kind_order};

/// The run's row, as keys and values.
pub(crate) fn run(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[Column::left(""), Column::left("")];
    let run = &r.run;
    let rows = [
        ("target", Cell::new(&run.target).code()),
        ("SDKAppID", Cell::new(run.sdkappid)),
        ("admin", Cell::new(&run.admin)),
        ("state", Cell::new(&run.state).state().strong(true)),
        ("reason", Cell::new(or_dash(&run.reason))),
        ("created", Cell::new(time(Some(run.created_at)))),
        ("updated", Cell::new(time(Some(run.updated_at)))),
    ];
    Table {
        keyed: true,
        class: Some("kv"),
        ..Table::new(
            COLUMNS,
            rows.into_iter()
                .map(|(k, v)| vec![Cell::new(k), v].into())
                .collect(),
        )
    }
}

/// The files of one staged export.
pub(crate) fn files(e: &ExportInfo) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("file"),
        Column::left("kind"),
        Column::right("records"),
        Column::right("invalid"),
    ];
    let rows = e.files.iter().map(|f| {
        vec![
            Cell::new(&f.name).code(),
            Cell::new(&f.kind),
            Cell::new(f.records),
            Cell::new(f.invalid),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// The runbook's steps.
pub(crate) fn steps(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[
        Column::right("#"),
        Column::nowrap("step"),
        Column::left("state"),
        Column::left("reason"),
        Column::nowrap("started"),
        Column::nowrap("ended"),
        Column::right("took"),
    ];
    let rows = r.steps.iter().map(|st| {
        vec![
            Cell::new(st.position),
            Cell::new(&st.name),
            Cell::new(&st.state).state(),
            Cell::new(or_dash(&st.reason)).long(),
            Cell::new(time(st.started_at)),
            Cell::new(time(st.ended_at)),
            Cell::new(took(st.started_at, st.ended_at)),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// The audit trail.
pub(crate) fn audit(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[
        Column::nowrap("at"),
        Column::left("actor"),
        Column::left("action"),
        Column::left("detail"),
        Column::left("reason"),
    ];
    let rows = r.audit.iter().map(|a| {
        vec![
            Cell::new(time(Some(a.at))),
            Cell::new(&a.actor),
            Cell::new(&a.action),
            Cell::new(or_dash(&a.detail)).long(),
            Cell::new(or_dash(&a.reason)).long(),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// Per-entity counts, with the totals as the last row.
pub(crate) fn entities(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[
        Column::nowrap("stage"),
        Column::right("source"),
        Column::right("invalid"),
        Column::right("imported"),
        Column::right("failed"),
        Column::right("skipped"),
        Column::right("pending"),
        Column::right("verified"),
        Column::right("missing"),
        Column::right("differs"),
        Column::right("extra"),
        Column::right("unreadable"),
        Column::right("unchecked"),
    ];
    let mut rows: Vec<Row> = r.entities.iter().map(|e| entity(e, false)).collect();
    rows.push(entity(&r.totals, true));
    Table {
        class: Some("wide"),
        ..Table::new(COLUMNS, rows).scrolled()
    }
}

/// The deletion stages a delta carried: the records deleted on the target, read back gone.
pub(crate) fn deletions(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[
        Column::nowrap("deletion"),
        Column::right("deletions"),
        Column::right("invalid"),
        Column::right("deleted"),
        Column::right("failed"),
        Column::right("skipped"),
        Column::right("pending"),
        Column::right("gone"),
        Column::right("still there"),
        Column::right("unreadable"),
        Column::right("unchecked"),
    ];
    let rows = r.deletions.iter().map(|e| {
        let figures = [
            e.source,
            e.invalid,
            e.imported,
            e.failed,
            e.skipped,
            e.pending,
            e.verified,
            e.missing + e.differs + e.extra,
            e.unreadable,
            e.unchecked,
        ];
        let mut cells = vec![Cell::new(&e.stage)];
        cells.extend(figures.into_iter().map(Cell::new));
        cells.into()
    });
    Table {
        class: Some("wide"),
        ..Table::new(COLUMNS, rows.collect()).scrolled()
    }
}

/// One entity row; the totals' stage and imported count are in bold.
fn entity(e: &EntityRow, total: bool) -> Row {
    let figures = [
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
        e.unchecked,
    ];
    let mut cells = vec![Cell::new(&e.stage).strong(total)];
    cells.extend(figures.into_iter().map(Cell::new));
    cells[3] = Cell::new(e.imported).strong(total);
    Row { cells, total }
}

/// Failed items by API and code.
pub(crate) fn failures(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("api"),
        Column::right("code"),
        Column::right("items"),
        Column::left("retryable"),
        Column::left("meaning"),
        Column::left("sample"),
    ];
    let rows = r.failures.groups.iter().map(|g| {
        vec![
            Cell::new(&g.api).code(),
            Cell::new(g.code.map_or("-".to_string(), |c| c.to_string())),
            Cell::new(g.count),
            Cell::new(if g.retryable { "yes" } else { "no" }),
            Cell::new(g.meaning.as_deref().unwrap_or("-")),
            Cell::new(&g.sample).code().long(),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// Units read back per sampled kind.
pub(crate) fn sampled(v: &Verification) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("stage"),
        Column::right("read back"),
        Column::right("in all"),
    ];
    let rows = v.sampled.iter().map(|u| {
        vec![
            Cell::new(&u.stage),
            Cell::new(format!("{} {}", u.read_back, u.unit)),
            Cell::new(u.total),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect())
}

/// The first mismatches.
pub(crate) fn mismatches(v: &Verification) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("kind"),
        Column::left("record"),
        Column::left("what"),
        Column::left("detail"),
        Column::left("source"),
    ];
    let rows = v.mismatches.iter().map(|m| {
        vec![
            Cell::new(&m.kind),
            Cell::new(&m.record).code(),
            Cell::new(&m.what),
            Cell::new(or_dash(&m.detail)).long(),
            Cell::new(or_dash(&m.source)).code(),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// Two-way sync's figures per direction (no rows before any sync event).
pub(crate) fn sync(r: &ReportData) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("direction"),
        Column::right("received"),
        Column::right("applied"),
        Column::right("failed"),
        Column::right("dropped as echo"),
        Column::right("recovered"),
        Column::right("waiting"),
        Column::right("lag p50"),
        Column::right("lag p99"),
    ];
    let rows = r
        .sync
        .iter()
        .flat_map(|f| [("old → new", &f.old_to_new), ("new → old", &f.new_to_old)]);
    let rows = rows.map(|(label, d)| {
        let mut cells = vec![Cell::new(label)];
        cells.extend(d.cells().into_iter().map(Cell::new));
        cells.into()
    });
    Table::new(COLUMNS, rows.collect())
}

/// Throughput per interval, merged into at most `max_rows` rows.
pub(crate) fn throughput(t: &Throughput, max_rows: usize) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("from"),
        Column::right("seconds"),
        Column::right("imported"),
        Column::right("failed"),
        Column::right("items/s"),
        Column::left("by kind (items/s)"),
    ];
    let rows = coarsen(&t.intervals, max_rows).into_iter().map(|i| {
        let kinds: Vec<String> = in_kind_order(&i.by_kind)
            .into_iter()
            .map(|(k, v)| format!("{k} {}", rate(v)))
            .collect();
        vec![
            Cell::new(time(Some(i.from))),
            Cell::new(i.to - i.from),
            Cell::new(i.imported),
            Cell::new(i.failed),
            Cell::new(rate(i.items_per_sec)),
            Cell::new(or_dash(&kinds.join(", "))),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect())
}
