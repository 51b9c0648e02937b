//! The console's state and its `update`: keys in, effects out. No I/O here, so every key and
//! transition is tested without a terminal.

use crate::engine::control::{Command, RunState};
use crate::model::step::{Step, StepState};
use crate::store::queries::{FailureFilter, FailureGroup, FailureRow};
use crate::store::sync::DirectionCounts;
use crate::store::verify::{EntityCounts, Mismatch, Pass};
use crate::store::Kind;
use crate::tim::lane::LaneFigures;
use crate::ui::progress::StageLine;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Failed items are read from the store this many at a time (the page around the selection).
pub(crate) const ITEMS_PAGE: usize = 100;

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The runbook's steps.
    Runbook,
    /// Stages and lanes.
    Import,
    /// Failures by API and code.
    Errors,
    /// Per-entity counts.
    Verify,
    /// Two-way sync.
    Sync,
    /// The log file's tail.
    Log,
}

impl Screen {
    /// Every screen, in tab order.
    pub const ALL: [Screen; 6] = [
        Screen::Runbook,
        Screen::Import,
        Screen::Errors,
        Screen::Verify,
        Screen::Sync,
        Screen::Log,
    ];

    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Runbook => "Runbook",
            Screen::Import => "Import",
            Screen::Errors => "Errors",
            Screen::Verify => "Verify",
            Screen::Sync => "Sync",
            Screen::Log => "Log",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// One runbook step as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    /// Which step.
    pub step: Step,
    /// Its state, with the reason.
    pub state: StepState,
    /// What confirming it would run, while the flow waits for the operator's answer.
    pub confirm: Option<String>,
}

impl StepView {
    /// A step in `state`, not waiting for an answer.
    pub fn new(step: Step, state: StepState) -> StepView {
        StepView {
            step,
            state,
            confirm: None,
        }
    }
}

/// Everything the screens show, taken from committed store state and engine figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Seconds since the run started.
    pub elapsed_secs: u64,
    /// The import's state (None before the import starts).
    pub run: Option<RunState>,
    /// The steps.
    pub steps: Vec<StepView>,
    /// Per stage.
    pub stages: Vec<StageLine>,
    /// The failed items of the group drilled into: one page, from `items_offset` on.
    pub items: Vec<FailureRow>,
    /// Where `items` starts among the group's failed items.
    pub items_offset: usize,
    /// How many failed items the group drilled into has.
    pub items_total: usize,
    /// Per lane: calls per second used, recently.
    pub lane_rates: Vec<f64>,
    /// Per lane.
    pub lanes: Vec<(Kind, LaneFigures)>,
    /// Failures grouped by API and code.
    pub errors: Vec<FailureGroup>,
    /// Items settled per second, oldest first (for the sparkline).
    pub throughput: Vec<u64>,
    /// The import's T_limit, seconds.
    pub t_limit_secs: Option<f64>,
    /// Same-second group messages shifted (or refused) at staging.
    pub same_second: crate::store::order::Shifts,
    /// The last lines of the log file.
    pub log_tail: Vec<String>,
    /// The runbook has ended (every step settled).
    pub finished: bool,
    /// Per-entity counts, read-back results included (committed).
    pub entities: Vec<EntityCounts>,
    /// The verification pass, if one ever started.
    pub verify_pass: Option<Pass>,
    /// While verification runs: per kind, items read back and items to read.
    pub verify_progress: Vec<(Kind, u64, u64)>,
    /// The mismatches of the kind drilled into on the Verify screen (first page).
    pub mismatches: Vec<Mismatch>,
    /// Sync figures per direction (old → new, new → old), once any event came.
    pub sync: Option<[DirectionCounts; 2]>,
    /// The relay, while it runs: where it listens (or why it broke).
    pub sync_running: Option<String>,
    /// When the maintenance window closes (unix seconds), if the runbook says.
    pub window_end: Option<i64>,
    /// The wall clock of this snapshot (unix seconds).
    pub now_secs: i64,
    /// The run was rolled back from the console: what happened.
    pub rolled_back: Option<String>,
    /// The media stage, once it started: objects and bytes copied, rate, time left.
    pub media: Option<crate::media::progress::MediaFigures>,
    /// Media objects that failed or were skipped (listed by `cutover errors`).
    pub media_not_copied: u64,
    /// Alert channels whose last post failed: `name: why` (the log has every failure).
    pub alerts_failing: Option<String>,
}

/// A dialog on top of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    /// Run a risky step? Shows exactly what runs; `y` confirms, any other key closes the
    /// dialog and the step keeps waiting.
    ConfirmStep {
        /// The step's index.
        step: usize,
        /// What will run.
        what: String,
    },
    /// Quit while the run is going?
    ConfirmQuit,
    /// Roll back? Names exactly what happens; type the reason, Enter to roll back, Esc to
    /// cancel.
    Rollback {
        /// The reason typed so far.
        text: String,
    },
    /// Skip an error group: type the reason, Enter to skip, Esc to cancel.
    SkipReason {
        /// Which failures.
        filter: FailureFilter,
        /// The reason typed so far.
        text: String,
    },
}

/// What `update` asks the runtime to do.
#[derive(Debug)]
pub enum Effect {
    /// Send a command to the engine.
    Engine(Command),
    /// The operator confirmed the step at this index (declining sends nothing: it waits).
    Confirm(usize),
    /// Roll back (stop the import and sync, resume the old service) for this reason.
    Rollback(String),
    /// Write the failed items matching this filter to a file.
    Export(FailureFilter),
    /// Leave the console (the run stops cleanly if still going).
    Quit,
}

/// The console's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct App {
    /// The screen shown.
    pub screen: ScreenState,
    /// The figures.
    pub snap: Snapshot,
    /// The help overlay is open.
    pub help: bool,
    /// A dialog, if any.
    pub modal: Option<Modal>,
    /// The selected row on list screens.
    pub selected: usize,
    /// The Errors filter (`/`), and whether it is being typed.
    pub filter: String,
    /// The filter is being edited.
    pub editing_filter: bool,
    /// A one-line message for the operator (what the last key did).
    pub notice: String,
    /// Errors: the group whose items are shown (Enter), if any.
    pub drill: Option<FailureFilter>,
    /// Verify: the kind whose mismatches are shown (Enter), if any.
    pub verify_drill: Option<Kind>,
    /// The part of the cutover this run is.
    pub phase: crate::model::phase::Phase,
    /// The strategy and the guide's scenario (`coexistence · scenario 4`), for the Runbook
    /// header; empty: no header line.
    pub strategy: String,
    /// Exactly what a rollback does (stop what, the resume-service hook), for its dialog.
    pub rollback_plan: String,
    /// Attached over the control channel (`cutover attach`): `q` leaves, the run goes on.
    pub attached: bool,
    /// Another console controls the run: this one watches, its controls are refused.
    pub read_only: bool,
}

/// The current screen (a newtype so `App` can derive Default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenState(pub Screen);

impl Default for ScreenState {
    fn default() -> Self {
        ScreenState(Screen::Runbook)
    }
}

impl App {
    /// The screen shown.
    pub(crate) fn screen(&self) -> Screen {
        self.screen.0
    }

    /// The error groups the filter lets through.
    pub(crate) fn visible_errors(&self) -> Vec<&FailureGroup> {
        let f = self.filter.to_ascii_lowercase();
        self.snap
            .errors
            .iter()
            .filter(|g| {
                f.is_empty()
                    || g.api.contains(&f)
                    || g.code.is_some_and(|c| c.to_string().contains(&f))
                    || g.sample.to_ascii_lowercase().contains(&f)
            })
            .collect()
    }

    fn rows(&self) -> usize {
        match self.screen() {
            Screen::Runbook => self.snap.steps.len(),
            Screen::Errors if self.drill.is_some() => self
                .snap
                .items_total
                .max(self.snap.items_offset + self.snap.items.len()),
            Screen::Errors => self.visible_errors().len(),
            Screen::Verify if self.verify_drill.is_some() => self.snap.mismatches.len(),
            Screen::Verify => self.snap.entities.len(),
            _ => 0,
        }
    }

    /// Where the page of failed items to read starts: the page holding the selection.
    pub(crate) fn items_page_start(&self) -> usize {
        if self.drill.is_some() {
            self.selected / ITEMS_PAGE * ITEMS_PAGE
        } else {
            0
        }
    }

    fn running(&self) -> bool {
        !self.snap.finished
    }

    /// Handles one key.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.ask_quit();
        }
        if let Some(modal) = self.modal.take() {
            return self.on_modal_key(modal, key);
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        if self.editing_filter {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.editing_filter = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.selected = 0;
            return Vec::new();
        }
        self.notice.clear();
        match key.code {
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('q') => return self.ask_quit(),
            KeyCode::Tab => self.go(Screen::ALL[(self.screen().index() + 1) % Screen::ALL.len()]),
            KeyCode::BackTab => self
                .go(Screen::ALL
                    [(self.screen().index() + Screen::ALL.len() - 1) % Screen::ALL.len()]),
            KeyCode::Char(c @ '1'..='6') => {
                let i = c as usize - '1' as usize;
                self.go(Screen::ALL[i]);
            }
            KeyCode::Down | KeyCode::Char('j') if self.selected + 1 < self.rows() => {
                self.selected += 1;
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('p') => return self.pause(),
            KeyCode::Char('r') => return self.resume(),
            KeyCode::Char('/') if self.screen() == Screen::Errors => self.editing_filter = true,
            KeyCode::Enter => return self.enter(),
            KeyCode::Esc | KeyCode::Backspace
                if self.drill.is_some() || self.verify_drill.is_some() =>
            {
                self.drill = None;
                self.verify_drill = None;
                self.selected = 0;
            }
            KeyCode::Char('B') if self.screen() == Screen::Runbook => self.ask_rollback(),
            KeyCode::Char('R') if self.screen() == Screen::Errors => return self.retry_selected(),
            KeyCode::Char('s') if self.screen() == Screen::Errors => self.skip_selected(),
            KeyCode::Char('e') if self.screen() == Screen::Errors => {
                let filter = self.drill.clone().unwrap_or_default();
                return vec![Effect::Export(filter)];
            }
            _ => {}
        }
        Vec::new()
    }

    fn go(&mut self, screen: Screen) {
        self.screen = ScreenState(screen);
        // Back on the Runbook, the selection is on the step waiting for confirmation.
        self.selected = match (screen, self.asking()) {
            (Screen::Runbook, Some((step, _))) => step,
            _ => 0,
        };
        self.drill = None;
        self.verify_drill = None;
    }

    fn ask_quit(&mut self) -> Vec<Effect> {
        if self.running() && !self.attached {
            self.modal = Some(Modal::ConfirmQuit);
            Vec::new()
        } else {
            vec![Effect::Quit]
        }
    }

    fn ask_rollback(&mut self) {
        if self.snap.rolled_back.is_some() {
            self.notice = "already rolled back".into();
        } else {
            self.modal = Some(Modal::Rollback {
                text: String::new(),
            });
        }
    }

    fn pause(&mut self) -> Vec<Effect> {
        match &self.snap.run {
            Some(RunState::Running) => {
                self.notice = "pausing: requests in flight finish, no new ones start".into();
                vec![Effect::Engine(Command::Pause {
                    reason: "operator pressed p".into(),
                })]
            }
            _ => {
                self.notice = "nothing to pause: the import is not running".into();
                Vec::new()
            }
        }
    }

    fn resume(&mut self) -> Vec<Effect> {
        match &self.snap.run {
            Some(RunState::Paused { .. }) => {
                self.notice = "resuming".into();
                vec![Effect::Engine(Command::Resume {
                    reason: "operator pressed r".into(),
                })]
            }
            _ => {
                self.notice = "nothing to resume: the import is not paused".into();
                Vec::new()
            }
        }
    }

    fn enter(&mut self) -> Vec<Effect> {
        if self.screen() == Screen::Verify && self.verify_drill.is_none() {
            if let Some(kind) = self.snap.entities.get(self.selected).and_then(|c| c.kind) {
                self.verify_drill = Some(kind);
                self.selected = 0;
            }
            return Vec::new();
        }
        if self.screen() == Screen::Errors && self.drill.is_none() {
            if let Some(filter) = self.selected_filter() {
                self.drill = Some(filter);
                self.selected = 0;
            }
            return Vec::new();
        }
        if self.screen() != Screen::Runbook {
            return Vec::new();
        }
        // Enter confirms the step that asks, wherever the selection is: it moves there.
        match self.asking() {
            Some((step, what)) => {
                self.selected = step;
                self.modal = Some(Modal::ConfirmStep { step, what });
            }
            None => self.notice = "no step is waiting for confirmation".into(),
        }
        Vec::new()
    }

    /// The step waiting for the operator's confirmation, and what confirming it runs.
    pub(crate) fn asking(&self) -> Option<(usize, String)> {
        self.snap
            .steps
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.confirm.clone().map(|what| (i, what)))
    }

    fn selected_filter(&self) -> Option<FailureFilter> {
        if let Some(drill) = &self.drill {
            return Some(drill.clone());
        }
        let g = self.visible_errors().get(self.selected).copied()?;
        Some(FailureFilter {
            api: Some(g.api.clone()),
            code: g.code,
            kind: None,
        })
    }

    fn retry_selected(&mut self) -> Vec<Effect> {
        let Some(filter) = self.selected_filter() else {
            return Vec::new();
        };
        self.notice = format!("retrying {}", filter.describe());
        vec![Effect::Engine(Command::Retry {
            filter,
            reason: "operator retried from the Errors screen".into(),
        })]
    }

    fn skip_selected(&mut self) {
        if let Some(filter) = self.selected_filter() {
            self.modal = Some(Modal::SkipReason {
                filter,
                text: String::new(),
            });
        }
    }

    fn on_modal_key(&mut self, modal: Modal, key: KeyEvent) -> Vec<Effect> {
        match modal {
            Modal::ConfirmStep { step, .. } => {
                // Only a deliberate `y` runs a risky step; Enter (a second press) does not.
                // Any other key only closes the dialog: the step and the run keep waiting.
                if key.code == KeyCode::Char('y') {
                    self.notice = "confirmed".into();
                    vec![Effect::Confirm(step)]
                } else {
                    self.notice = "not confirmed: the step waits".into();
                    Vec::new()
                }
            }
            Modal::ConfirmQuit => {
                if key.code == KeyCode::Char('y') {
                    vec![Effect::Quit]
                } else {
                    Vec::new()
                }
            }
            Modal::Rollback { mut text } => match key.code {
                KeyCode::Esc => {
                    self.notice = "rollback cancelled: nothing changed".into();
                    Vec::new()
                }
                KeyCode::Enter if !text.trim().is_empty() => {
                    self.notice = "rolling back: stopping the import and the sync".into();
                    vec![Effect::Rollback(text.trim().to_string())]
                }
                _ => {
                    edit_line(&mut text, key.code);
                    self.modal = Some(Modal::Rollback { text });
                    Vec::new()
                }
            },
            Modal::SkipReason { filter, mut text } => match key.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter if !text.trim().is_empty() => {
                    self.notice = format!("skipped {}", filter.describe());
                    vec![Effect::Engine(Command::Skip {
                        filter,
                        reason: text,
                    })]
                }
                KeyCode::Backspace => {
                    text.pop();
                    self.modal = Some(Modal::SkipReason { filter, text });
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    self.modal = Some(Modal::SkipReason { filter, text });
                    Vec::new()
                }
                _ => {
                    self.modal = Some(Modal::SkipReason { filter, text });
                    Vec::new()
                }
            },
        }
    }

    /// New figures arrived.
    pub fn on_snapshot(&mut self, snap: Snapshot) {
        let asking = |s: &Snapshot| s.steps.iter().position(|v| v.confirm.is_some());
        let newly = asking(&snap).filter(|i| asking(&self.snap) != Some(*i));
        self.snap = snap;
        // A step that starts waiting for the operator gets the selection, ready for Enter.
        if let (Some(i), Screen::Runbook, None) = (newly, self.screen(), &self.modal) {
            self.selected = i;
        }
        let rows = self.rows();
        if self.selected >= rows {
            self.selected = rows.saturating_sub(1);
        }
    }
}

/// A one-line input: a character is typed, Backspace takes the last one back.
fn edit_line(text: &mut String, code: KeyCode) {
    match code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) => text.push(c),
        _ => {}
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
