//! One function per screen (the Import screen drawn from its stage, lane and throughput parts);
//! each draws from the [`App`] alone.

use super::app::App;
use super::view::eta;
use crate::model::phase::Phase;
use crate::model::step::{Step, StepState};
use crate::tim::errors;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, TableState, Wrap};
use ratatui::Frame;

fn selected_style() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Reverses the row under the cursor.
pub(super) fn mark_selected(row: Row<'_>, index: usize, selected: usize) -> Row<'_> {
    if index == selected {
        row.style(selected_style())
    } else {
        row
    }
}

/// A bordered table with a bold header: the shape every screen uses.
pub(super) fn grid<'a>(
    rows: impl IntoIterator<Item = Row<'a>>,
    widths: &[Constraint],
    header: &[&'a str],
    title: impl Into<Line<'a>>,
) -> Table<'a> {
    Table::new(rows, widths.to_vec())
        .header(Row::new(header.to_vec()).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::new().borders(Borders::ALL).title(title))
}

fn state_color(state: &StepState) -> Color {
    match state {
        StepState::Done { .. } => Color::Green,
        StepState::Running { .. } => Color::Cyan,
        StepState::Failed { .. } => Color::Red,
        StepState::NeedsConfirmation { .. } | StepState::Stopped { .. } => Color::Yellow,
        StepState::Waiting | StepState::Skipped { .. } => Color::Gray,
    }
}

/// The Runbook header: the strategy and scenario, then (with `[window] ends_at`) the time
/// left in the window and the projected finish — red when it will not fit.
pub(crate) fn runbook_header(app: &App) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if !app.strategy.is_empty() {
        lines.push(Line::styled(
            format!(" strategy: {}", app.strategy),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(end) = app.snap.window_end {
        lines.push(window_line(app, end));
    }
    lines
}

/// `window ends 08:06:40 UTC, 1h00m left · finish 07:06:46: fits, 59m54s to spare`.
fn window_line(app: &App, end: i64) -> Line<'static> {
    let now = app.snap.now_secs;
    // `07:06:45` of `2025-11-29 07:06:45 UTC`.
    let time = |t: i64| {
        crate::timefmt::utc(t)
            .chars()
            .skip(11)
            .take(8)
            .collect::<String>()
    };
    let left = match end - now {
        l if l > 0 => format!("{} left", eta(Some(l as f64))),
        _ => "CLOSED".to_string(),
    };
    let mut spans = vec![Span::raw(format!(" window ends {} UTC, {left}", time(end)))];
    let imported = app
        .snap
        .steps
        .iter()
        .any(|s| s.step == Step::Import && s.state.is_settled());
    if imported {
        spans.push(Span::raw(" · the import is done"));
        return Line::from(spans);
    }
    // The import's ETA once it has a rate; before that, the plan's T_limit.
    let remaining = app
        .snap
        .stages
        .iter()
        .filter_map(|s| s.eta_secs)
        .reduce(f64::max)
        .or(app.snap.t_limit_secs)
        .filter(|e| e.is_finite());
    if let Some(eta_secs) = remaining {
        let finish = now + eta_secs.round() as i64;
        let gap = eta(Some((finish - end).abs() as f64));
        let (verdict, style) = if finish > end {
            (
                format!("OVER by {gap}"),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            )
        } else {
            (
                format!("fits, {gap} to spare"),
                Style::new().fg(Color::Green),
            )
        };
        spans.push(Span::styled(
            format!(" · finish {}: {verdict}", time(finish)),
            style,
        ));
    }
    Line::from(spans)
}

/// The runbook's steps with their state and reason, under the header (if any).
pub(crate) fn runbook(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let header = runbook_header(app);
    let [head, area] =
        Layout::vertical([Constraint::Length(header.len() as u16), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(header), head);
    let rows = app.snap.steps.iter().enumerate().map(|(i, s)| {
        // A mark as well as the reversed row, so the selection reads without colour.
        let mark = if i == app.selected { "›" } else { " " };
        let row = Row::new(vec![
            Cell::from(format!("{mark}{}", i + 1)),
            Cell::from(s.step.name()),
            Cell::from(s.state.word()).style(Style::new().fg(state_color(&s.state))),
            Cell::from(s.state.reason().to_string()),
        ]);
        mark_selected(row, i, app.selected)
    });
    let table = grid(
        rows,
        &[
            Constraint::Length(3),
            Constraint::Length(15),
            Constraint::Length(19),
            Constraint::Min(10),
        ],
        &["#", "step", "state", "reason"],
        match app.phase {
            Phase::Full => " runbook — Enter confirms a waiting step · B roll back ",
            Phase::Precopy => " runbook · PRE-COPY: the old system stays live, no hooks, no sync ",
            Phase::Window => " runbook · WINDOW: the delta only — Enter confirms · B roll back ",
            Phase::Follow => {
                " runbook · FOLLOW: rounds until Enter confirms the stop · B roll back "
            }
        },
    );
    frame.render_widget(table, area);
}

/// Stages, lanes, throughput and the ETA against T_limit.
pub(crate) fn import(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let [stages_area, lanes_area, spark_area] = Layout::vertical([
        Constraint::Length(app.snap.stages.len().max(1) as u16 + 3),
        Constraint::Min(4),
        Constraint::Length(4),
    ])
    .areas(area);
    frame.render_widget(stage_table(app), stages_area);
    frame.render_widget(lane_table(app), lanes_area);
    frame.render_widget(throughput(app), spark_area);
}

/// Per stage: a progress bar, settled of total, rate, ETA and failures; the media stage
/// first, once it has objects (its name carries the bytes copied).
fn stage_table(app: &App) -> Table<'static> {
    let media = app.snap.media.as_ref().filter(|m| m.objects > 0).map(|m| {
        let name = format!(
            "media {}",
            crate::media::progress::bytes_text(m.bytes as f64)
        );
        let eta_secs = m.eta.map(|d| d.as_secs_f64());
        let settled = m.copied + m.failed + m.skipped;
        stage_row(
            name,
            settled,
            m.objects,
            m.objects_per_sec,
            eta_secs,
            m.failed,
        )
    });
    let stages = app.snap.stages.iter().map(|s| {
        let name = s.stage.to_string();
        stage_row(name, s.settled(), s.total, s.per_sec, s.eta_secs, s.failed)
    });
    let stage_rows = media.into_iter().chain(stages);
    grid(
        stage_rows,
        &[
            Constraint::Length(17),
            Constraint::Length(17),
            Constraint::Length(14),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(7),
        ],
        &["stage", "", "settled", "rate", "ETA", "failed"],
        " stages ",
    )
}

/// One stage's row: its name, a bar of settled of total, the rate, the ETA and failures.
fn stage_row(
    name: String,
    settled: u64,
    total: u64,
    per_sec: f64,
    eta_secs: Option<f64>,
    failed: u64,
) -> Row<'static> {
    let pct = if total == 0 {
        100.0
    } else {
        settled as f64 * 100.0 / total as f64
    };
    let width = 16usize;
    let filled = ((pct / 100.0) * width as f64).round() as usize;
    let bar = format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(width - filled.min(width))
    );
    Row::new(vec![
        Cell::from(name),
        Cell::from(bar),
        Cell::from(format!("{settled}/{total}")),
        Cell::from(format!("{per_sec:.0}/s")),
        Cell::from(eta(eta_secs)),
        Cell::from(failed.to_string()).style(if failed > 0 {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        }),
    ])
}

/// Per lane: calls per second used of the limit, in flight, latency, calls, back-off.
fn lane_table(app: &App) -> Table<'static> {
    // A deletion lane shows only when its stage has items (a delta carried deletions).
    let shown = |k: &crate::store::Kind, calls: u64| {
        k.deletes().is_none() || calls > 0 || app.snap.stages.iter().any(|s| s.stage == k.stage())
    };
    let lanes = app.snap.lanes.iter().enumerate();
    let lane_rows = lanes
        .filter(|(_, (k, f))| shown(k, f.calls))
        .map(|(i, (k, f))| {
            let used = app.snap.lane_rates.get(i).copied().unwrap_or(0.0);
            let backoff = if f.backoff > 0.0 {
                format!(
                    "{:.1}s {}",
                    f.backoff,
                    f.backoff_code.map_or(String::new(), |c| c.to_string())
                )
            } else {
                "-".into()
            };
            Row::new(vec![
                Cell::from(k.api().command()),
                Cell::from(format!("{used:.0}/{}", f.rate)),
                Cell::from(format!("{}/{}", f.in_flight, f.target_in_flight)),
                Cell::from(format!("{:.0} ms", f.latency * 1000.0)),
                Cell::from(f.calls.to_string()),
                Cell::from(f.rate_limited.to_string()),
                Cell::from(backoff),
            ])
        });
    grid(
        lane_rows,
        &[
            Constraint::Length(20),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Min(11),
        ],
        &[
            "lane",
            "used/limit",
            "in flight",
            "latency",
            "calls",
            "limited",
            "backoff",
        ],
        " lanes (calls/s) ",
    )
}

/// Items settled per second, titled with the ETA, T_limit and the maintenance window.
fn throughput(app: &App) -> Sparkline<'_> {
    let remaining = app
        .snap
        .stages
        .iter()
        .filter_map(|s| s.eta_secs)
        .fold(0.0, f64::max);
    let title = match app.snap.t_limit_secs {
        Some(t) => format!(
            " items/s · ETA {} · T_limit {} ",
            eta(Some(remaining)),
            eta(Some(t))
        ),
        None => format!(" items/s · ETA {} ", eta(Some(remaining))),
    };
    let shifts = &app.snap.same_second;
    let title = match shifts.shifted {
        0 => title,
        n => format!(
            "{title}· {n} same-second msgs shifted ≤{}s ",
            shifts.largest_secs
        ),
    };
    let mut block = Block::new().borders(Borders::ALL).title(title);
    if let Some((text, over)) =
        crate::ui::progress::window_note(app.snap.window_end, Some(remaining), app.snap.now_secs)
    {
        let style = if over {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        block = block.title_bottom(Line::styled(format!(" {text} "), style));
    }
    Sparkline::default()
        .data(&app.snap.throughput)
        .style(Style::new().fg(Color::Cyan))
        .block(block)
}

/// The items of one error group: the page read from the store, scrolled to the selection.
fn error_items(frame: &mut Frame<'_>, app: &App, area: Rect, what: String) {
    let offset = app.snap.items_offset;
    let rows = app.snap.items.iter().enumerate().map(|(i, f)| {
        let row = Row::new(vec![
            Cell::from(f.record.clone()),
            Cell::from(format!("{}:{}", f.file, f.line)),
            Cell::from(f.attempts.to_string()),
            Cell::from(f.info.clone()),
        ]);
        mark_selected(row, offset + i, app.selected)
    });
    let table = grid(
        rows,
        &[
            Constraint::Length(22),
            Constraint::Length(22),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
        &["record", "source", "attempts", "last message"],
        format!(" {what} — Esc back · R retry · s skip · e export "),
    );
    // The table scrolls so the selected row (if on this page) stays in sight.
    let on_page = app.selected.checked_sub(offset);
    let mut state = TableState::new().with_selected(on_page);
    frame.render_stateful_widget(table, area, &mut state);
}

/// Failures grouped by API and code.
pub(crate) fn errors(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if let Some(drill) = &app.drill {
        error_items(frame, app, area, drill.describe());
        return;
    }
    let visible = app.visible_errors();
    let rows = visible.iter().enumerate().map(|(i, g)| {
        let meaning = g.code.map_or(g.sample.as_str(), |c| {
            errors::lookup_named(&g.api, c).meaning
        });
        let row = Row::new(vec![
            Cell::from(g.api.clone()),
            Cell::from(g.code.map_or("-".into(), |c| c.to_string())),
            Cell::from(g.count.to_string()),
            Cell::from(if g.retryable { "yes" } else { "no" }),
            Cell::from(meaning.to_string()),
        ]);
        mark_selected(row, i, app.selected)
    });
    let filter = if app.editing_filter || !app.filter.is_empty() {
        format!(
            " filter: {}{} ",
            app.filter,
            if app.editing_filter { "▏" } else { "" }
        )
    } else {
        String::new()
    };
    let table = grid(
        rows,
        &[
            Constraint::Length(20),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
        &["api", "code", "items", "retry", "meaning"],
        format!(
            " errors — R retry · s skip · / filter{filter}{}",
            media_note(app)
        ),
    );
    if visible.is_empty() {
        let text = if app.snap.errors.is_empty() {
            format!("no failed items{}", media_note(app))
        } else {
            "no failures match the filter".to_string()
        };
        frame.render_widget(
            Paragraph::new(text).block(Block::new().borders(Borders::ALL).title(" errors ")),
            area,
        );
    } else {
        frame.render_widget(table, area);
    }
}

/// The media objects not copied, which this screen does not list: where they are.
fn media_note(app: &App) -> String {
    match app.snap.media_not_copied {
        0 => String::new(),
        n => format!(" · {n} media objects not copied: `cutover errors` lists them "),
    }
}

/// Sync is not in this version; the screen says so.
pub(crate) fn sync(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let step = app
        .snap
        .steps
        .iter()
        .find(|s| s.step == Step::StartSync)
        .map(|s| &s.state);
    let Some(c) = &app.snap.sync else {
        let text = match (&app.snap.sync_running, step) {
            (Some(r), _) => format!("Sync is running ({r}); no event has come either way yet."),
            (None, Some(StepState::Skipped { reason })) => format!("Sync not started: {reason}."),
            (None, Some(StepState::Failed { reason })) => {
                format!("Sync failed to start: {reason}")
            }
            _ => "Sync not started yet: the runbook starts it after the import.".into(),
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(Block::new().borders(Borders::ALL).title(" sync ")),
            area,
        );
        return;
    };
    let rows = [("old → new", &c[0]), ("new → old", &c[1])].map(|(label, d)| {
        let cells = d.cells();
        let failed = if d.failed > 0 {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        Row::new(
            std::iter::once(Cell::from(label)).chain(
                cells
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| Cell::from(v).style(if i == 2 { failed } else { Style::new() })),
            ),
        )
    });
    let mut title = match &app.snap.sync_running {
        Some(r) => format!(" sync — {r} "),
        None => " sync — not running (figures from the store) ".into(),
    };
    for (label, d) in [("old → new", &c[0]), ("new → old", &c[1])] {
        if d.held > 0 {
            let scopes = d.held_scopes.join(", ").replace('\u{1f}', "→");
            title.push_str(&format!("· {label}: {} held, waiting: {scopes} ", d.held));
        }
    }
    let table = grid(
        rows,
        &[
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Min(7),
        ],
        &[
            "",
            "received",
            "applied",
            "failed",
            "echo",
            "recovered",
            "waiting",
            "lag p50",
            "lag p99",
        ],
        title,
    );
    frame.render_widget(table, area);
}

/// The log file's tail.
pub(crate) fn log(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let start = app.snap.log_tail.len().saturating_sub(height);
    let lines: Vec<Line<'_>> = app.snap.log_tail[start..]
        .iter()
        .map(|l| Line::from(l.as_str()))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title(" log ")),
        area,
    );
}
