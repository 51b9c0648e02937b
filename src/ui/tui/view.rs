//! Drawing: a pure function of [`App`] — tabs, the screen, the status line (where the run is
//! and why), the help and dialog overlays.

use super::app::{App, Modal, Screen};
use super::{screens, verify_screen};
use crate::engine::control::RunState;
use crate::model::step::{Step, StepState};
use crate::timefmt::eta_text;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap};
use ratatui::Frame;

/// The smallest terminal the console draws in.
pub(crate) const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws the whole console.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!(
            "terminal too small: the console needs {}×{}, this one is {}×{}. Enlarge it; the run goes on.",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(frame, app, tabs);
    match app.screen() {
        Screen::Runbook => screens::runbook(frame, app, body),
        Screen::Import => screens::import(frame, app, body),
        Screen::Errors => screens::errors(frame, app, body),
        Screen::Verify => verify_screen::verify(frame, app, body),
        Screen::Sync => screens::sync(frame, app, body),
        Screen::Log => screens::log(frame, app, body),
    }
    frame.render_widget(Paragraph::new(status_line(app)), status);
    if app.help {
        draw_help(frame, area);
    }
    if let Some(modal) = &app.modal {
        draw_modal(frame, app, modal, area);
    }
}

fn draw_tabs(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let titles: Vec<String> = Screen::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {}", i + 1, s.title()))
        .collect();
    let selected = Screen::ALL
        .iter()
        .position(|s| *s == app.screen())
        .unwrap_or(0);
    let tabs = Tabs::new(titles)
        .select(selected)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .padding("", "")
        .divider(" │ ");
    let [left, right] =
        Layout::horizontal([Constraint::Min(1), Constraint::Length(16)]).areas(area);
    frame.render_widget(tabs, left);
    let clock = format!("{}  ? help", crate::timefmt::clock(app.snap.elapsed_secs));
    frame.render_widget(Paragraph::new(clock).right_aligned(), right);
}

/// What the status line leads with: the word, its colour, and why.
type Status = (String, Color, String);

/// The line that always says where the run is and why.
pub(crate) fn status_line(app: &App) -> Line<'static> {
    let (word, color, reason) = match &app.snap.run {
        None => outside_import(app),
        Some(state) => importing(app, state),
    };
    let mut spans = vec![Span::styled(
        format!(" {word} "),
        Style::new().fg(Color::Black).bg(color),
    )];
    if app.read_only {
        spans.push(Span::styled(
            " READ-ONLY ",
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
    }
    if !reason.is_empty() {
        spans.push(Span::raw(format!(" {reason}")));
    }
    spans.extend(items_and_notice(app));
    Line::from(spans)
}

/// Before or after the import: finished, syncing, waiting for a confirmation, verifying or
/// working on a step.
fn outside_import(app: &App) -> Status {
    let snap = &app.snap;
    if let Some(rolled) = &snap.rolled_back {
        return ("ROLLED BACK".into(), Color::Magenta, rolled.clone());
    }
    // Ended with steps not run (or stopped half-way): the runbook did not finish. The cause
    // is the first step that is not done or skipped.
    let not_run = snap.steps.iter().any(|s| {
        matches!(
            s.state,
            StepState::Waiting | StepState::Stopped { .. } | StepState::NeedsConfirmation { .. }
        )
    });
    let cause = snap.steps.iter().find(|s| !s.state.is_settled());
    if let (true, true, Some(s)) = (snap.finished, not_run, cause) {
        let color = match s.state {
            StepState::Failed { .. } => Color::Red,
            _ => Color::Yellow,
        };
        let why = match s.state.reason() {
            "" => format!("{}: {} (later steps not run)", s.step, s.state),
            reason => format!("{}: {reason}", s.step),
        };
        return ("STOPPED".into(), color, why);
    }
    if snap.finished && snap.sync_running.is_some() {
        let why = "the runbook is done; two-way sync runs until you quit (q)";
        return ("SYNCING".into(), Color::Green, why.into());
    }
    if snap.finished {
        return ("FINISHED".into(), Color::Green, String::new());
    }
    let asking = snap
        .steps
        .iter()
        .find(|s| matches!(s.state, StepState::NeedsConfirmation { .. }));
    if let Some(s) = asking {
        let why = format!("{} waits: Enter, then y (Runbook)", s.step);
        return ("CONFIRM".into(), Color::Yellow, why);
    }
    if let Some(media) = snap.media.as_ref().filter(|m| m.running) {
        return (
            "COPYING MEDIA".into(),
            Color::Cyan,
            crate::ui::progress::media_line(media),
        );
    }
    let verifying = snap
        .steps
        .iter()
        .any(|s| s.step == Step::Verify && matches!(s.state, StepState::Running { .. }));
    if verifying && !snap.verify_progress.is_empty() {
        let (done, total) = snap
            .verify_progress
            .iter()
            .fold((0, 0), |(d, t), (_, c, n)| (d + c, t + n));
        let why = format!("{done}/{total} imported items read back");
        return ("VERIFYING".into(), Color::Cyan, why);
    }
    ("WORKING".into(), Color::Cyan, current_step(app))
}

/// While the import runs: its state, or the back-off a lane is in.
fn importing(app: &App, state: &RunState) -> Status {
    let reason = || state.reason().to_string();
    match (state, backoff(app)) {
        (RunState::Running, Some(b)) => (b, Color::Yellow, String::new()),
        (RunState::Running, None) if app.snap.finished => {
            ("FINISHED".into(), Color::Green, String::new())
        }
        (RunState::Running, None) => ("RUNNING".into(), Color::Green, current_step(app)),
        (RunState::Paused { budget: true, .. }, _) => ("PAUSED".into(), Color::Red, reason()),
        (RunState::Paused { .. }, _) => ("PAUSED".into(), Color::Yellow, reason()),
        (RunState::Stopping { .. }, _) => ("STOPPING".into(), Color::Yellow, reason()),
        (RunState::Fatal { .. }, _) => ("FATAL".into(), Color::Red, reason()),
    }
}

/// `BACKOFF 60007 on importmsg 2.1 s` for the first lane backing off, if any.
fn backoff(app: &App) -> Option<String> {
    let (kind, f) = app.snap.lanes.iter().find(|(_, f)| f.backoff > 0.0)?;
    let code = f.backoff_code.map_or(String::new(), |c| format!("{c} "));
    Some(format!(
        "BACKOFF {code}on {} {:.1} s",
        kind.api().command(),
        f.backoff
    ))
}

/// Items settled of total and failed (once there are any), then the last key's notice.
fn items_and_notice(app: &App) -> Vec<Span<'static>> {
    let total: u64 = app.snap.stages.iter().map(|s| s.total).sum();
    let settled: u64 = app.snap.stages.iter().map(|s| s.settled()).sum();
    let failed: u64 = app.snap.stages.iter().map(|s| s.failed).sum();
    let mut spans = Vec::new();
    if total > 0 {
        spans.push(Span::raw(format!(
            " · {settled}/{total} items · failed {failed}"
        )));
    }
    if !app.notice.is_empty() {
        spans.push(Span::styled(
            format!(" · {}", app.notice),
            Style::new().add_modifier(Modifier::ITALIC),
        ));
    }
    if let Some(failed) = &app.snap.alerts_failing {
        spans.push(Span::styled(
            format!(" · ALERTS NOT DELIVERED: {failed}"),
            Style::new().fg(Color::Red),
        ));
    }
    spans
}

fn current_step(app: &App) -> String {
    app.snap
        .steps
        .iter()
        .find(|s| s.state.is_open())
        .map_or(String::new(), |s| format!("{}: {}", s.step, s.state))
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab / 1-6", "switch screen"),
    ("↑ ↓ / j k", "move"),
    ("p", "pause the import (requests in flight finish)"),
    ("r", "resume the import"),
    (
        "Enter",
        "Runbook: confirm the waiting step (y runs it, any key waits)",
    ),
    (
        "B",
        "Runbook: roll back: stop import and sync, resume old (asks why)",
    ),
    ("Enter / Esc", "Errors: the items of a group / back"),
    ("Enter / Esc", "Verify: the mismatches of a kind / back"),
    ("R", "Errors: retry the selected group"),
    ("e", "Errors: export the failed items to a file"),
    ("s", "Errors: skip the selected group (asks why)"),
    ("/", "Errors: filter by API, code or text"),
    ("q / Ctrl-C", "quit (asks while running; the run is saved)"),
    ("?", "this help; any key closes it"),
];

fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:<22}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*v),
            ])
        })
        .collect();
    let r = centered(area, 72, HELP.len() as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title(" keys ")),
        r,
    );
}

fn draw_modal(frame: &mut Frame<'_>, app: &App, modal: &Modal, area: Rect) {
    let (title, text) = match modal {
        Modal::ConfirmStep { what, .. } => (
            " confirm ",
            format!("This will {what}.\n\nPress y to run it; any other key closes this and the step waits."),
        ),
        Modal::ConfirmQuit => (
            " quit? ",
            "The run is still going. Quitting finishes the requests in flight, records them and stops; everything is saved in the store and `cutover run` with the same store resumes.\n\nPress y to quit; any other key stays.".to_string(),
        ),
        Modal::Rollback { text } => (
            " roll back ",
            format!(
                "Roll back the cutover?{} This will {}.\n\nWhy (kept in the audit trail and the report): {text}▏\n\nEnter rolls back; Esc cancels.",
                if app.snap.finished { "" } else { " The run stops here." },
                app.rollback_plan
            ),
        ),
        Modal::SkipReason { filter, text } => (
            " skip ",
            format!("Skip {}?\nWhy (kept in the audit trail): {text}▏\n\nEnter skips; Esc cancels.", filter.describe()),
        ),
    };
    let height = if matches!(modal, Modal::Rollback { .. }) {
        13
    } else {
        9
    };
    let r = centered(area, 64, height);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(title)),
        r,
    );
}

/// `1m05s`, for screens.
pub(crate) fn eta(secs: Option<f64>) -> String {
    eta_text(secs)
}
