//! Every screen of the console at 80×24 and 120×40, drawn from a fixed snapshot (fixed clock),
//! compared with the stored pictures. CI never writes snapshots (INSTA_UPDATE=no).
#![allow(clippy::unwrap_used)]

use cutover::engine::control::RunState;
use cutover::model::step::{Step, StepState};
use cutover::store::queries::{FailureFilter, FailureGroup, FailureRow};
use cutover::store::sync::DirectionCounts;
use cutover::store::verify::{EntityCounts, Mismatch, Pass};
use cutover::store::Kind;
use cutover::tim::lane::LaneFigures;
use cutover::ui::progress::StageLine;
use cutover::ui::tui::app::{App, Modal, Screen, ScreenState, Snapshot, StepView};
use cutover::ui::tui::view::draw;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn step(name: &str, state: &str, reason: &str, confirm: Option<&str>) -> StepView {
    StepView {
        step: Step::from_name(name).unwrap(),
        state: StepState::from_stored(state, reason).unwrap(),
        confirm: confirm.map(str::to_string),
    }
}

fn stage(stage: &'static str, total: u64, done: u64, failed: u64, per_sec: f64) -> StageLine {
    let pending = total - done - failed;
    StageLine {
        stage,
        total,
        done,
        failed,
        skipped: 0,
        pending,
        per_sec,
        eta_secs: if pending == 0 {
            Some(0.0)
        } else {
            Some(pending as f64 / per_sec.max(1.0))
        },
    }
}

fn lane(rate: u32, in_flight: usize, calls: u64, backoff: f64) -> LaneFigures {
    LaneFigures {
        rate,
        pace: rate * 97 / 100,
        in_flight,
        target_in_flight: 26,
        latency: 0.08,
        calls,
        rate_limited: u64::from(backoff > 0.0),
        backoff,
        backoff_code: (backoff > 0.0).then_some(60007),
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        elapsed_secs: 754,
        run: Some(RunState::Running),
        steps: vec![
            step(
                "preflight",
                "done",
                "staged 1490 items (15 invalid, skipped)",
                None,
            ),
            step("stop service", "done", "HTTP 200", None),
            step("import", "running", "", None),
            step("start sync", "waiting", "", None),
            step(
                "resume service",
                "needs confirmation",
                "",
                Some("POST http://old.example/resume"),
            ),
            step("verify", "waiting", "", None),
        ],
        stages: vec![
            stage("accounts", 50, 50, 0, 0.0),
            stage("profiles", 46, 40, 6, 0.0),
            stage("friends", 206, 150, 5, 40.0),
            stage("c2c messages", 500, 212, 0, 97.0),
            stage("groups", 32, 32, 0, 0.0),
            stage("group members", 256, 80, 0, 30.0),
            stage("group messages", 400, 210, 0, 60.0),
        ],
        lanes: vec![
            (Kind::Account, lane(100, 0, 1, 0.0)),
            (Kind::C2cMessage, lane(200, 9, 212, 0.0)),
            (Kind::GroupMessage, lane(200, 4, 41, 2.1)),
        ],
        errors: vec![
            FailureGroup {
                api: "portrait_set".into(),
                code: Some(40009),
                count: 6,
                retryable: false,
                sample: "tag".into(),
            },
            FailureGroup {
                api: "friend_import".into(),
                code: Some(30001),
                count: 5,
                retryable: false,
                sample: "tag".into(),
            },
        ],
        lane_rates: vec![0.0, 96.0, 58.0],
        items: Vec::new(),
        items_offset: 0,
        items_total: 0,
        throughput: vec![120, 300, 280, 260, 240, 250, 255, 180, 150, 160],
        t_limit_secs: Some(5.1),
        same_second: Default::default(),
        log_tail: vec![
            "2026-11-22T10:00:00Z  INFO run starts".into(),
            "2026-11-22T10:00:01Z  WARN call failed".into(),
        ],
        finished: false,
        entities: entities(),
        verify_pass: None,
        verify_progress: Vec::new(),
        mismatches: Vec::new(),
        sync: None,
        sync_running: None,
        window_end: None,
        now_secs: 1_764_400_000,
        rolled_back: None,
        media: None,
        media_not_copied: 0,
        alerts_failing: None,
    }
}

fn entities() -> Vec<EntityCounts> {
    let row = |kind, source, invalid, imported, failed| EntityCounts {
        kind: Some(kind),
        source,
        invalid,
        imported,
        failed,
        unchecked: imported,
        ..EntityCounts::default()
    };
    vec![
        row(Kind::Account, 52, 2, 50, 0),
        row(Kind::Profile, 47, 1, 40, 6),
        row(Kind::Friend, 209, 3, 150, 5),
        row(Kind::C2cMessage, 504, 4, 212, 0),
        row(Kind::Group, 33, 1, 32, 0),
        row(Kind::GroupMember, 258, 2, 80, 0),
        row(Kind::GroupMessage, 402, 2, 210, 0),
    ]
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn app_on(screen: Screen) -> App {
    App {
        screen: ScreenState(screen),
        snap: snapshot(),
        ..App::default()
    }
}

#[test]
fn every_screen_at_both_sizes() {
    for screen in Screen::ALL {
        for (w, h) in [(80, 24), (120, 40)] {
            let name = format!("{}_{w}x{h}", screen.title().to_lowercase());
            insta::assert_snapshot!(name, render(&app_on(screen), w, h));
        }
    }
}

#[test]
fn overlays_and_states() {
    let mut help = app_on(Screen::Import);
    help.help = true;
    insta::assert_snapshot!("help_80x24", render(&help, 80, 24));
    let mut quit = app_on(Screen::Runbook);
    quit.modal = Some(Modal::ConfirmQuit);
    insta::assert_snapshot!("confirm_quit_80x24", render(&quit, 80, 24));
    let mut confirm = app_on(Screen::Runbook);
    confirm.selected = 4;
    confirm.modal = Some(Modal::ConfirmStep {
        step: 4,
        what: "POST http://old.example/resume".into(),
    });
    insta::assert_snapshot!("confirm_step_80x24", render(&confirm, 80, 24));
    let mut paused = app_on(Screen::Import);
    paused.snap.run = Some(RunState::Paused {
        reason: "error budget — 50 × 90012 on importmsg".into(),
        budget: true,
    });
    paused.snap.lanes.clear();
    insta::assert_snapshot!("paused_budget_80x24", render(&paused, 80, 24));
    insta::assert_snapshot!("too_small_60x20", render(&app_on(Screen::Import), 60, 20));
    let mut drilled = app_on(Screen::Errors);
    drilled.drill = Some(FailureFilter {
        api: Some("friend_import".into()),
        code: Some(30001),
        kind: None,
    });
    drilled.snap.items = vec![FailureRow {
        kind: Kind::Friend,
        record: "u0000014→u0000010".into(),
        file: "friends.jsonl".into(),
        line: 8,
        api: "friend_import".into(),
        code: Some(30001),
        info: "tag Tag_SNS_Custom_Tag does not exist".into(),
        attempts: 1,
        retryable: false,
    }];
    insta::assert_snapshot!("errors_items_80x24", render(&drilled, 80, 24));

    // Verification finished with two mismatches, then drilled into groups.
    let mut verified = app_on(Screen::Verify);
    verified.snap.finished = true;
    verified.snap.run = None;
    for s in &mut verified.snap.steps {
        *s = StepView::new(s.step, StepState::done(""));
    }
    verified.snap.verify_pass = Some(Pass {
        started_at: 1_764_400_000,
        ended_at: Some(1_764_400_042),
        sample: 0.5,
        roaming_days: 7,
        sampled_units: Default::default(),
    });
    for c in &mut verified.snap.entities {
        c.verified = c.imported;
        c.unchecked = 0;
    }
    verified.snap.entities[4].verified -= 1;
    verified.snap.entities[4].differs = 1;
    verified.snap.entities[0].verified -= 1;
    verified.snap.entities[0].missing = 1;
    insta::assert_snapshot!("verify_done_80x24", render(&verified, 80, 24));
    verified.verify_drill = Some(Kind::Group);
    verified.snap.mismatches = vec![Mismatch {
        kind: Kind::Group,
        record: "g000001".into(),
        what: "differs",
        detail: r#"Name: expected "Run club 0", found "Renamed""#.into(),
        source: "groups.jsonl:1".into(),
    }];
    insta::assert_snapshot!("verify_mismatches_80x24", render(&verified, 80, 24));
    // While the pass runs.
    let mut verifying = app_on(Screen::Verify);
    verifying.snap.run = None;
    verifying.snap.steps[5].state = StepState::running("");
    verifying.snap.verify_pass = verified.snap.verify_pass.clone().map(|mut p| {
        p.ended_at = None;
        p
    });
    verifying.snap.verify_progress = vec![(Kind::Account, 50, 50), (Kind::C2cMessage, 120, 212)];
    insta::assert_snapshot!("verifying_80x24", render(&verifying, 80, 24));
    // Sync running with traffic both ways.
    let mut sync = app_on(Screen::Sync);
    sync.snap.sync_running = Some("relay on 127.0.0.1:8090".into());
    sync.snap.sync = Some([
        DirectionCounts {
            received: 1520,
            applied: 1514,
            failed: 1,
            dropped_as_echo: 0,
            recovered: 0,
            pending: 5,
            skipped: 0,
            held: 0,
            held_scopes: Vec::new(),
            lag_p50_ms: Some(18),
            lag_p99_ms: Some(140),
        },
        DirectionCounts {
            received: 3012,
            applied: 2990,
            failed: 0,
            dropped_as_echo: 12,
            recovered: 3,
            pending: 10,
            skipped: 0,
            held: 0,
            held_scopes: Vec::new(),
            lag_p50_ms: Some(9),
            lag_p99_ms: Some(61),
        },
    ]);
    insta::assert_snapshot!("sync_running_80x24", render(&sync, 80, 24));
    // The window closes before the projected finish.
    let mut late = app_on(Screen::Import);
    late.snap.window_end = Some(1_764_400_003);
    insta::assert_snapshot!("import_window_overrun_80x24", render(&late, 80, 24));
}

#[test]
fn the_import_screen_counts_same_second_shifts() {
    let mut app = app_on(Screen::Import);
    app.snap.same_second.shifted = 7;
    app.snap.same_second.largest_secs = 4;
    let text = render(&app, 120, 40);
    assert!(text.contains("7 same-second msgs shifted ≤4s"), "{text}");
}

/// A console started on a stop-service step that waits for the operator (the import not yet
/// started), as the app receives it: the selection is where the runtime would put it.
fn waiting_on_stop_service() -> App {
    let mut app = App {
        strategy: "coexistence · scenario 4".into(),
        rollback_plan: "stop the import (requests in flight finish and are recorded) and the \
                        two-way sync; then run the resume_service hook: POST \
                        http://old.example/resume, expecting HTTP 200 (timeout 10 s)"
            .into(),
        ..App::default()
    };
    let mut snap = snapshot();
    snap.run = None;
    // Before the import: no stage figures or lanes yet, only the plan's T_limit.
    snap.stages.clear();
    snap.lanes.clear();
    snap.steps = vec![
        step(
            "preflight",
            "done",
            "staged 1490 items (15 invalid, skipped)",
            None,
        ),
        step(
            "stop service",
            "needs confirmation",
            "POST http://old.example/stop",
            Some("POST http://old.example/stop"),
        ),
        step("import", "waiting", "", None),
        step("start sync", "waiting", "", None),
        step("resume service", "waiting", "", None),
        step("verify", "waiting", "", None),
    ];
    app.on_snapshot(snap);
    app
}

#[test]
fn confirmations_that_forgive_rollback_and_how_a_run_ends() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let press = |app: &mut App, code: KeyCode| {
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    };
    let app = waiting_on_stop_service();
    assert_eq!(app.selected, 1);
    insta::assert_snapshot!("waiting_step_selected_80x24", render(&app, 80, 24));

    let mut declined = waiting_on_stop_service();
    press(&mut declined, KeyCode::Enter);
    press(&mut declined, KeyCode::Char('n'));
    assert_eq!(declined.modal, None);
    insta::assert_snapshot!("declined_confirmation_80x24", render(&declined, 80, 24));

    let mut rollback = waiting_on_stop_service();
    press(&mut rollback, KeyCode::Char('B'));
    for c in "canary users cannot log in".chars() {
        press(&mut rollback, KeyCode::Char(c));
    }
    insta::assert_snapshot!("rollback_dialog_80x24", render(&rollback, 80, 24));

    let mut rolled = waiting_on_stop_service();
    rolled.snap.finished = true;
    rolled.snap.steps[1] = step(
        "stop service",
        "stopped",
        "stopped, waiting for confirmation: nothing ran",
        None,
    );
    rolled.snap.steps[4] = step(
        "resume service",
        "done",
        "rollback: resume service: HTTP 200",
        None,
    );
    rolled.snap.rolled_back = Some(
        "nothing was running; resume service: HTTP 200; reason: canary users cannot log in".into(),
    );
    insta::assert_snapshot!("rolled_back_80x24", render(&rolled, 80, 24));

    let mut stopped = waiting_on_stop_service();
    stopped.snap.finished = true;
    stopped.snap.steps[1] = step(
        "stop service",
        "stopped",
        "stopped, waiting for confirmation: nothing ran (POST http://old.example/stop)",
        None,
    );
    insta::assert_snapshot!("stopped_80x24", render(&stopped, 80, 24));
}

#[test]
fn the_runbook_header_sets_the_projected_finish_against_the_window() {
    let mut app = waiting_on_stop_service();
    app.snap.window_end = Some(app.snap.now_secs + 3600);
    insta::assert_snapshot!("runbook_window_fits_80x24", render(&app, 80, 24));
    app.snap.window_end = Some(app.snap.now_secs + 4);
    insta::assert_snapshot!("runbook_window_overrun_80x24", render(&app, 80, 24));
    // Once the import is done there is no finish to project.
    app.snap.steps[2] = step("import", "done", "", None);
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("0m04s left · the import is done"),
        "{screen}"
    );
}
