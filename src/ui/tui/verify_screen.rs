//! The Verify screen: per entity kind, what the export had, what was imported, and what the
//! read-back showed; Enter lists a kind's mismatches.

use super::app::App;
use super::screens::{grid, mark_selected};
use crate::store::Kind;
use crate::timefmt;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

/// The title: whether verification ran, is running, was sampled, or finished.
fn title(app: &App) -> String {
    let running: Vec<String> = app
        .snap
        .verify_progress
        .iter()
        .filter(|(_, checked, total)| checked < total)
        .map(|(k, checked, total)| format!("{} {checked}/{total}", k.stage()))
        .collect();
    match &app.snap.verify_pass {
        None => " verify — verification not run: counts are the import's ".into(),
        Some(p) if p.ended_at.is_none() && !running.is_empty() => {
            format!(" verify — reading back: {} ", running.join(" · "))
        }
        Some(p) if p.ended_at.is_none() => {
            " verify — the last pass did not finish: run verify again to carry on ".into()
        }
        Some(p) => {
            let when = p.ended_at.map_or_else(String::new, timefmt::utc);
            let sample = if p.sample < 1.0 {
                format!(" · sample {:.0} %", p.sample * 100.0)
            } else {
                String::new()
            };
            format!(" read back {when}{sample} · Enter: mismatches ")
        }
    }
}

/// Counts per kind, or the mismatches of one kind.
pub(crate) fn verify(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if let Some(kind) = app.verify_drill {
        mismatches(frame, app, area, kind);
        return;
    }
    let ran = app.snap.verify_pass.is_some();
    let rows = app.snap.entities.iter().enumerate().map(|(i, c)| {
        let bad = c.mismatched();
        let read = |n: u64| if ran { n.to_string() } else { "-".into() };
        let row = Row::new(vec![
            Cell::from(c.kind.map_or("", Kind::stage)),
            Cell::from(c.source.to_string()),
            Cell::from(c.invalid.to_string()),
            Cell::from(c.imported.to_string()),
            Cell::from(c.failed.to_string()),
            Cell::from(read(c.verified)).style(Style::new().fg(Color::Green)),
            Cell::from(read(bad)).style(if bad > 0 {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            }),
            Cell::from(read(c.unchecked + c.unreadable)),
        ]);
        mark_selected(row, i, app.selected)
    });
    let table = grid(
        rows,
        &[
            Constraint::Length(17),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Min(9),
        ],
        &[
            "kind",
            "source",
            "invalid",
            // Imported, or for a deletion kind, deleted.
            "done",
            "failed",
            "verified",
            "mismatched",
            "unchecked",
        ],
        title(app),
    );
    frame.render_widget(table, area);
}

fn mismatches(frame: &mut Frame<'_>, app: &App, area: Rect, kind: Kind) {
    // The detail (which field, expected and found) is what matters: the selected one is shown
    // whole below the list.
    let [list, detail] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    if let Some(m) = app.snap.mismatches.get(app.selected) {
        frame.render_widget(
            Paragraph::new(format!("{} {}: {}", m.record, m.what, m.detail))
                .wrap(Wrap { trim: true })
                .block(Block::new().borders(Borders::ALL).title(" selected ")),
            detail,
        );
    }
    let area = list;
    let rows = app.snap.mismatches.iter().enumerate().map(|(i, m)| {
        let row = Row::new(vec![
            Cell::from(m.record.clone()),
            Cell::from(m.what).style(Style::new().fg(Color::Red)),
            Cell::from(m.source.clone()),
            Cell::from(m.detail.clone()),
        ]);
        mark_selected(row, i, app.selected)
    });
    let title = if app.snap.mismatches.is_empty() {
        format!(" {} — no mismatches · Esc back ", kind.stage())
    } else {
        format!(" {} mismatches — Esc back ", kind.stage())
    };
    let table = grid(
        rows,
        &[
            Constraint::Length(20),
            Constraint::Length(8),
            Constraint::Length(18),
            Constraint::Min(10),
        ],
        &["record", "what", "source", "detail"],
        title,
    );
    frame.render_widget(table, area);
}
