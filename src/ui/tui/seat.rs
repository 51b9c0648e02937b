//! One console on a run: the local terminal's, or one attached over the control channel. Each
//! has its own screen state ([`App`]) and its own sampler (its drill-downs read what it shows);
//! what is live in the run process (steps, the import's state, lanes, verification, relay) is
//! laid over every console's figures alike ([`Live`]).

use super::app::{App, Snapshot, StepView};
use super::control::server::PeerOut;
use super::sampler::{Request, Sampling};
use super::view::draw;
use crate::engine::control::RunState;
use crate::store::Kind;
use crate::tim::lane::LaneFigures;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// What the run process knows now, the same for every console.
#[derive(Debug, Clone, Default)]
pub(crate) struct Live {
    pub(crate) elapsed_secs: u64,
    pub(crate) steps: Vec<StepView>,
    pub(crate) run: Option<RunState>,
    pub(crate) lanes: Vec<(Kind, LaneFigures)>,
    pub(crate) finished: bool,
    pub(crate) window_end: Option<i64>,
    pub(crate) now_secs: i64,
    pub(crate) rolled_back: Option<String>,
    pub(crate) sync_running: Option<String>,
    pub(crate) verify_progress: Vec<(Kind, u64, u64)>,
    pub(crate) media: Option<crate::media::progress::MediaFigures>,
    pub(crate) alerts_failing: Option<String>,
}

impl Live {
    /// Lays the live figures over sampled ones.
    fn over(&self, mut snap: Snapshot) -> Snapshot {
        snap.elapsed_secs = self.elapsed_secs;
        snap.steps = self.steps.clone();
        snap.run = self.run.clone();
        snap.lanes = self.lanes.clone();
        snap.finished = self.finished;
        snap.window_end = self.window_end;
        snap.now_secs = self.now_secs;
        snap.rolled_back = self.rolled_back.clone();
        snap.sync_running = self.sync_running.clone();
        snap.verify_progress = self.verify_progress.clone();
        snap.media = self.media.clone();
        snap.alerts_failing = self.alerts_failing.clone();
        snap
    }
}

/// A console's screen state and sampler.
pub(crate) struct Seat {
    pub(crate) app: App,
    pub(crate) sampling: Sampling,
}

impl Seat {
    /// What this console wants the sampler to read.
    pub(crate) fn request(&self, finished: bool, staged: bool) -> Request {
        Request {
            drill: self
                .app
                .drill
                .clone()
                .map(|f| (f, self.app.items_page_start())),
            verify_drill: self.app.verify_drill,
            finished,
            staged,
        }
    }

    /// The latest figures into the screen state.
    pub(crate) fn refresh(&mut self, live: &Live) {
        let snap = live.over(self.sampling.latest());
        self.app.on_snapshot(snap);
    }
}

/// A console attached over the control channel: drawn off-screen, the frame handed to it.
pub(crate) struct Remote {
    pub(crate) id: u64,
    pub(crate) seat: Seat,
    terminal: Terminal<TestBackend>,
    pub(crate) out: PeerOut,
}

impl Remote {
    /// A console of `cols`×`rows` whose frames go to `out`.
    pub(crate) fn new(id: u64, seat: Seat, cols: u16, rows: u16, out: PeerOut) -> Remote {
        let backend = TestBackend::new(cols.max(1), rows.max(1));
        // A test backend's calls cannot fail (its error type is Infallible).
        let terminal = match Terminal::new(backend) {
            Ok(t) => t,
            Err(never) => match never {},
        };
        Remote {
            id,
            seat,
            terminal,
            out,
        }
    }

    /// The console's terminal changed size.
    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        self.terminal.backend_mut().resize(cols.max(1), rows.max(1));
        let _ = self.terminal.clear();
    }

    /// Draws the screen and hands it over (if it changed).
    pub(crate) fn draw(&mut self) {
        let app = &self.seat.app;
        let Ok(_) = self.terminal.draw(|f| draw(f, app));
        self.out.show(self.terminal.backend().buffer());
    }
}
