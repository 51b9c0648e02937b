//! Keys and transitions of the console.

use super::*;
use crate::model::step::{Step, StepState};
use crossterm::event::KeyEvent;

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn running() -> App {
    let mut app = App::default();
    app.snap.run = Some(RunState::Running);
    app
}

#[test]
fn p_pauses_only_a_running_import_and_r_resumes_only_a_paused_one() {
    let mut app = running();
    assert!(matches!(
        app.on_key(key('p'))[..],
        [Effect::Engine(Command::Pause { .. })]
    ));
    assert!(app.on_key(key('r')).is_empty(), "not paused yet");
    app.snap.run = Some(RunState::Paused {
        reason: "x".into(),
        budget: false,
    });
    assert!(matches!(
        app.on_key(key('r'))[..],
        [Effect::Engine(Command::Resume { .. })]
    ));
    assert!(app.on_key(key('p')).is_empty());
    assert!(app.notice.contains("not running"));
}

#[test]
fn quitting_a_running_run_asks_first_and_only_y_quits() {
    let mut app = running();
    assert!(app.on_key(key('q')).is_empty());
    assert_eq!(app.modal, Some(Modal::ConfirmQuit));
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(app.modal, None);
    app.on_key(key('q'));
    assert!(matches!(app.on_key(key('y'))[..], [Effect::Quit]));
    app.snap.finished = true;
    assert!(
        matches!(app.on_key(key('q'))[..], [Effect::Quit]),
        "nothing to lose once finished"
    );
}

fn asking_stop_service() -> Vec<StepView> {
    vec![
        StepView::new(Step::Preflight, StepState::done("")),
        StepView {
            step: Step::StopService,
            state: StepState::NeedsConfirmation {
                what: "POST http://old/stop".into(),
            },
            confirm: Some("POST http://old/stop".into()),
        },
        StepView::new(Step::Import, StepState::Waiting),
    ]
}

#[test]
fn a_risky_step_needs_a_deliberate_y_not_enter_twice() {
    let mut app = App::default();
    app.snap.steps = asking_stop_service();
    app.on_key(code(KeyCode::Enter));
    assert!(
        matches!(app.modal, Some(Modal::ConfirmStep { step: 1, .. })),
        "Enter anywhere on the Runbook opens the waiting step's dialog"
    );
    assert_eq!(app.selected, 1, "and the selection moves to it");
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    app.on_key(code(KeyCode::Enter));
    assert!(matches!(app.on_key(key('y'))[..], [Effect::Confirm(1)]));
}

#[test]
fn declining_closes_the_dialog_and_the_step_keeps_waiting() {
    for decline in [code(KeyCode::Esc), key('n'), code(KeyCode::Enter)] {
        let mut app = App::default();
        app.on_snapshot(Snapshot {
            steps: asking_stop_service(),
            ..Snapshot::default()
        });
        app.on_key(code(KeyCode::Enter));
        assert!(
            app.on_key(decline).is_empty(),
            "nothing is sent: the flow waits"
        );
        assert_eq!(app.modal, None);
        assert!(app.notice.contains("the step waits"), "{}", app.notice);
        assert!(!app.snap.finished, "the run has not ended");
        assert_eq!(app.asking().map(|(i, _)| i), Some(1), "still asking");
        // Asked again, it is confirmed.
        app.on_key(code(KeyCode::Enter));
        assert!(matches!(app.on_key(key('y'))[..], [Effect::Confirm(1)]));
    }
}

#[test]
fn the_selection_starts_on_and_comes_back_to_the_step_needing_confirmation() {
    let mut app = App::default();
    app.on_snapshot(Snapshot {
        steps: asking_stop_service(),
        ..Snapshot::default()
    });
    assert_eq!(app.selected, 1, "a new question takes the selection");
    app.on_key(key('j'));
    assert_eq!(app.selected, 2, "the operator may move away");
    app.on_snapshot(app.snap.clone());
    assert_eq!(app.selected, 2, "the same question does not take it back");
    app.on_key(key('2'));
    app.on_key(key('1'));
    assert_eq!(
        app.selected, 1,
        "back on the Runbook, the waiting step is selected"
    );
}

#[test]
fn rollback_asks_why_and_goes_only_with_a_reason() {
    let mut app = running();
    app.on_key(key('2'));
    app.on_key(key('B'));
    assert_eq!(app.modal, None, "B is a Runbook screen key");
    app.on_key(key('1'));
    app.on_key(key('B'));
    assert_eq!(
        app.modal,
        Some(Modal::Rollback {
            text: String::new()
        })
    );
    assert!(app.on_key(code(KeyCode::Enter)).is_empty(), "no reason yet");
    for c in "the winxx".chars() {
        app.on_key(key(c));
    }
    app.on_key(code(KeyCode::Backspace));
    app.on_key(code(KeyCode::Backspace));
    for c in "dow ran out".chars() {
        app.on_key(key(c));
    }
    assert_eq!(
        app.modal,
        Some(Modal::Rollback {
            text: "the window ran out".into()
        })
    );
    assert!(matches!(
        &app.on_key(code(KeyCode::Enter))[..],
        [Effect::Rollback(r)] if r == "the window ran out"
    ));
    assert_eq!(app.modal, None);
    // Esc cancels without a word sent.
    app.on_key(key('B'));
    app.on_key(key('x'));
    assert!(app.on_key(code(KeyCode::Esc)).is_empty());
    assert_eq!(app.modal, None);
    assert!(app.notice.contains("cancelled"), "{}", app.notice);
}

#[test]
fn the_status_line_says_stopped_or_rolled_back_not_finished() {
    let text = |app: &App| {
        crate::ui::tui::view::status_line(app)
            .spans
            .iter()
            .map(|s| s.content.to_string())
            .collect::<String>()
    };
    let mut app = App::default();
    app.snap.finished = true;
    app.snap.steps = vec![
        StepView::new(Step::Preflight, StepState::done("")),
        StepView::new(
            Step::StopService,
            StepState::stopped("stopped, waiting for confirmation: nothing ran"),
        ),
        StepView::new(Step::Import, StepState::Waiting),
    ];
    let line = text(&app);
    assert!(line.starts_with(" STOPPED "), "{line}");
    assert!(
        line.contains("stop service: stopped, waiting for confirmation"),
        "{line}"
    );
    app.snap.rolled_back = Some("stopped the import from the console".into());
    assert!(text(&app).starts_with(" ROLLED BACK "), "{}", text(&app));
    app.snap.rolled_back = None;
    app.snap.steps = vec![StepView::new(Step::Preflight, StepState::done(""))];
    assert!(text(&app).starts_with(" FINISHED "), "{}", text(&app));
}

#[test]
fn screens_switch_by_tab_and_number_and_help_closes_on_any_key() {
    let mut app = App::default();
    app.on_key(code(KeyCode::Tab));
    assert_eq!(app.screen(), Screen::Import);
    app.on_key(code(KeyCode::BackTab));
    app.on_key(code(KeyCode::BackTab));
    assert_eq!(app.screen(), Screen::Log);
    app.on_key(key('3'));
    assert_eq!(app.screen(), Screen::Errors);
    app.on_key(key('?'));
    assert!(app.help);
    app.on_key(key('1'));
    assert!(!app.help);
    assert_eq!(app.screen(), Screen::Errors, "the key only closed the help");
}

fn group(api: &str, code: i64, count: u64) -> FailureGroup {
    FailureGroup {
        api: api.into(),
        code: Some(code),
        count,
        retryable: false,
        sample: "no".into(),
    }
}

#[test]
fn errors_filter_retry_and_skip_with_a_reason() {
    let mut app = running();
    app.snap.errors = vec![
        group("friend_import", 30001, 5),
        group("importmsg", 90012, 2),
    ];
    app.on_key(key('3'));
    app.on_key(key('/'));
    for c in "msg".chars() {
        app.on_key(key(c));
    }
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.visible_errors().len(), 1);
    match &app.on_key(key('R'))[..] {
        [Effect::Engine(Command::Retry { filter, .. })] => {
            assert_eq!(
                (filter.api.as_deref(), filter.code),
                (Some("importmsg"), Some(90012))
            )
        }
        other => panic!("{other:?}"),
    }
    app.on_key(key('s'));
    assert!(
        app.on_key(code(KeyCode::Enter)).is_empty(),
        "a reason is required"
    );
    assert!(matches!(app.modal, Some(Modal::SkipReason { .. })));
    for c in "spam".chars() {
        app.on_key(key(c));
    }
    match &app.on_key(code(KeyCode::Enter))[..] {
        [Effect::Engine(Command::Skip { reason, .. })] => assert_eq!(reason, "spam"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn enter_drills_into_a_group_and_esc_comes_back() {
    let mut app = running();
    app.snap.errors = vec![
        group("friend_import", 30001, 5),
        group("importmsg", 90012, 2),
    ];
    app.on_key(key('3'));
    app.on_key(key('j'));
    app.on_key(code(KeyCode::Enter));
    let drill = app.drill.clone().unwrap();
    assert_eq!(
        (drill.api.as_deref(), drill.code),
        (Some("importmsg"), Some(90012))
    );
    match &app.on_key(key('e'))[..] {
        [Effect::Export(filter)] => assert_eq!(filter, &drill),
        other => panic!("{other:?}"),
    }
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.drill, None);
    assert!(
        matches!(app.on_key(key('e'))[..], [Effect::Export(ref f)] if *f == FailureFilter::default())
    );
}

#[test]
fn enter_on_verify_lists_the_selected_kinds_mismatches_and_esc_goes_back() {
    let mut app = running();
    app.on_key(key('4'));
    assert_eq!(app.screen(), Screen::Verify);
    app.on_snapshot(Snapshot {
        entities: Kind::ALL
            .into_iter()
            .map(|k| EntityCounts {
                kind: Some(k),
                ..EntityCounts::default()
            })
            .collect(),
        ..app.snap.clone()
    });
    app.on_key(key('j'));
    app.on_key(key('j'));
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.verify_drill, Some(Kind::Friend));
    assert_eq!(app.selected, 0);
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.verify_drill, None);
    app.on_key(code(KeyCode::Enter));
    app.on_key(key('1'));
    assert_eq!(app.verify_drill, None, "leaving the screen leaves the list");
}

#[test]
fn the_selection_moves_through_every_failed_item_a_page_at_a_time() {
    let mut app = running();
    app.on_key(key('3'));
    app.drill = Some(FailureFilter::default());
    let row = |i: usize| FailureRow {
        kind: Kind::Account,
        record: format!("u{i}"),
        file: "accounts.jsonl".into(),
        line: i as u64,
        api: "multiaccount_import".into(),
        code: Some(70402),
        info: "bad".into(),
        attempts: 1,
        retryable: false,
    };
    // The first page of a group of 250.
    app.on_snapshot(Snapshot {
        items: (0..ITEMS_PAGE).map(row).collect(),
        items_offset: 0,
        items_total: 250,
        ..app.snap.clone()
    });
    for _ in 0..ITEMS_PAGE {
        app.on_key(key('j'));
    }
    assert_eq!(app.selected, ITEMS_PAGE, "past the page read so far");
    assert_eq!(
        app.items_page_start(),
        ITEMS_PAGE,
        "the next page is asked for"
    );
    for _ in 0..300 {
        app.on_key(key('j'));
    }
    assert_eq!(app.selected, 249, "no further than the group's last item");
    assert_eq!(app.items_page_start(), 2 * ITEMS_PAGE);
    // The group shrank (items retried): the selection follows.
    app.on_snapshot(Snapshot {
        items: (0..10).map(row).collect(),
        items_offset: 0,
        items_total: 10,
        ..app.snap.clone()
    });
    assert_eq!((app.selected, app.items_page_start()), (9, 0));
}
