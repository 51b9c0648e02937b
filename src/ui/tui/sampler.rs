//! The figures that cost a store query or a file read, sampled off the UI loop: a task reads
//! them once a second (and at once when the screen asks for other rows) on the blocking pool,
//! and publishes the latest [`Snapshot`] on a `watch`. The frame tick only reads that.

use super::app::{Snapshot, ITEMS_PAGE};
use super::link::lock;
use super::log_tail::{tail, TAIL_BYTES};
use crate::engine::import::{ImportHandle, ImportSettings};
use crate::store::queries::{self, FailureFilter};
use crate::store::verify as stored;
use crate::store::{open_for_reading, Kind};
use crate::ui::progress::ProgressMeter;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the figures are read again.
pub(crate) const SAMPLE: Duration = Duration::from_secs(1);
/// Log lines kept for the Log screen.
const LOG_LINES: usize = 200;
/// Mismatches read for the Verify screen's drill-down.
const MISMATCHES: usize = 500;
/// Throughput points kept for the sparkline (one a second).
const THROUGHPUT_POINTS: usize = 120;

/// What the screen wants read besides the usual figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Request {
    /// Errors: the group drilled into, and where its page of items starts.
    pub(crate) drill: Option<(FailureFilter, usize)>,
    /// Verify: the kind whose mismatches are shown.
    pub(crate) verify_drill: Option<Kind>,
    /// The run has ended: read everything once more now.
    pub(crate) finished: bool,
    /// Preflight has staged the export: the plan (T_limit) can be read before the import
    /// starts, so the window's projected finish shows while the stop service step waits.
    pub(crate) staged: bool,
}

/// The sampling task: ask it with [`Sampling::want`], read it with [`Sampling::latest`].
pub(crate) struct Sampling {
    latest: watch::Receiver<Snapshot>,
    wanted: watch::Sender<Request>,
    task: JoinHandle<()>,
}

impl Sampling {
    /// Starts sampling the store at `store` and the log at `log`, with the import's figures
    /// once `import` holds its handle.
    pub(crate) fn start(
        store: PathBuf,
        log: PathBuf,
        settings: ImportSettings,
        import: Arc<Mutex<Option<ImportHandle>>>,
    ) -> Sampling {
        let (out, latest) = watch::channel(Snapshot::default());
        let (wanted, requests) = watch::channel(Request::default());
        let sampler = Sampler {
            store,
            log,
            settings,
            conn: None,
            meter: None,
            last: None,
            snap: Snapshot::default(),
            calls: Vec::new(),
            entities_due: None,
        };
        let task = tokio::spawn(sample_loop(sampler, requests, out, import));
        Sampling {
            latest,
            wanted,
            task,
        }
    }

    /// The latest figures.
    pub(crate) fn latest(&self) -> Snapshot {
        self.latest.borrow().clone()
    }

    /// Asks for `request`; read at once when it differs from the last one.
    pub(crate) fn want(&self, request: Request) {
        self.wanted.send_if_modified(|r| {
            let changed = *r != request;
            *r = request;
            changed
        });
    }
}

impl Drop for Sampling {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Samples every [`SAMPLE`] and on every new request, until the console lets go.
async fn sample_loop(
    mut sampler: Sampler,
    mut requests: watch::Receiver<Request>,
    out: watch::Sender<Snapshot>,
    import: Arc<Mutex<Option<ImportHandle>>>,
) {
    let mut every = tokio::time::interval(SAMPLE);
    loop {
        let ticked = tokio::select! {
            _ = every.tick() => true,
            changed = requests.changed() => {
                if changed.is_err() {
                    return;
                }
                false
            }
        };
        let request = requests.borrow_and_update().clone();
        let handle = lock(&import).clone();
        let progress = ticked || request.finished;
        let done = tokio::task::spawn_blocking(move || {
            sampler.sample(handle.as_ref(), &request, progress);
            sampler
        })
        .await;
        // A panic while sampling ends sampling; the screen keeps its last figures.
        let Ok(back) = done else { return };
        sampler = back;
        if out.send(sampler.snap.clone()).is_err() {
            return;
        }
    }
}

/// Reads the figures; owned by the sampling task, moved to the blocking pool to read.
struct Sampler {
    store: PathBuf,
    log: PathBuf,
    settings: ImportSettings,
    conn: Option<Connection>,
    meter: Option<ProgressMeter>,
    last: Option<Instant>,
    snap: Snapshot,
    /// Per lane: calls at the last sample.
    calls: Vec<u64>,
    /// When the per-kind counts are read again: a read that took long (a huge store with
    /// deletions to leave out) waits five times as long before the next, so the console never
    /// spends more than a fifth of a core on them.
    entities_due: Option<Instant>,
}

impl Sampler {
    /// Reads the store and the log; with `progress`, the import's rates too (once a second,
    /// so the sparkline has one point a second).
    fn sample(&mut self, handle: Option<&ImportHandle>, request: &Request, progress: bool) {
        if self.conn.is_none() {
            self.conn = open_for_reading(&self.store).ok();
        }
        if let Some(conn) = &self.conn {
            read_store(conn, &mut self.snap, request);
            let now = Instant::now();
            if self.entities_due.is_none_or(|due| now >= due) || request.finished {
                if let Ok(entities) = stored::entity_counts(conn) {
                    self.snap.entities = entities;
                }
                self.entities_due = Some(Instant::now() + now.elapsed() * 5);
            }
            if self.snap.t_limit_secs.is_none() && (handle.is_some() || request.staged) {
                let plan = crate::engine::plan::plan(conn, &self.settings).ok();
                self.snap.t_limit_secs = plan.as_ref().map(|p| p.t_limit_secs);
                self.snap.same_second = plan.map(|p| p.same_second).unwrap_or_default();
            }
        }
        if let (Some(h), true) = (handle, progress) {
            self.import_rates(h);
        }
        self.snap.log_tail = tail(&self.log, LOG_LINES, TAIL_BYTES);
    }

    /// Stage progress, the throughput sparkline and per-lane call rates since the last time.
    fn import_rates(&mut self, h: &ImportHandle) {
        let dt = self.last.map_or(0.0, |t| t.elapsed().as_secs_f64());
        self.last = Some(Instant::now());
        let committed = h.committed.borrow().clone();
        let meter = self
            .meter
            .get_or_insert_with(|| ProgressMeter::new(&committed));
        self.snap.stages = meter.sample(&committed);
        let rate: f64 = self.snap.stages.iter().map(|s| s.per_sec).sum();
        self.snap.throughput.push(rate.round() as u64);
        let keep = self.snap.throughput.len().saturating_sub(THROUGHPUT_POINTS);
        self.snap.throughput.drain(..keep);
        let calls: Vec<u64> = h.lanes().iter().map(|(_, f)| f.calls).collect();
        if dt > 0.0 && calls.len() == self.calls.len() {
            self.snap.lane_rates = calls
                .iter()
                .zip(&self.calls)
                .map(|(a, b)| a.saturating_sub(*b) as f64 / dt)
                .collect();
        }
        self.calls = calls;
    }
}

/// The committed figures: failure groups, the page of items asked for, the verification pass
/// and its mismatches, sync counts. A figure that cannot be read keeps its
/// last value (or is empty).
fn read_store(conn: &Connection, snap: &mut Snapshot, request: &Request) {
    if let Ok(groups) = queries::failure_groups(conn) {
        snap.errors = groups;
    }
    if let Ok(n) = crate::store::media::not_copied(conn) {
        snap.media_not_copied = n;
    }
    (snap.items, snap.items_offset, snap.items_total) = match &request.drill {
        Some((filter, offset)) => {
            let page = queries::failures_page(conn, filter, *offset as u64, ITEMS_PAGE as u64)
                .unwrap_or_default();
            let total = queries::failure_count(conn, filter).unwrap_or_default();
            (page, *offset, usize::try_from(total).unwrap_or(usize::MAX))
        }
        None => (Vec::new(), 0, 0),
    };
    snap.verify_pass = stored::pass(conn).ok().flatten();
    snap.sync = crate::store::sync::any(conn).ok().flatten();
    snap.mismatches = match request.verify_drill {
        Some(kind) => stored::mismatches(conn, Some(kind), MISMATCHES).unwrap_or_default(),
        None => Vec::new(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_file, resolve, Flags, EXAMPLE};
    use crate::tim::SecretKey;
    use std::io::Write;

    fn settings() -> ImportSettings {
        let file = parse_file(EXAMPLE, "runbook.toml").unwrap();
        let rb = resolve(&file, &Flags::default(), Some(SecretKey::new("k3y"))).unwrap();
        ImportSettings::from_runbook(&rb)
    }

    #[tokio::test]
    async fn the_latest_figures_are_published_and_read_again_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        crate::store::open_for_writing(&store).unwrap();
        let log = dir.path().join("s.log");
        std::fs::write(&log, "first\n").unwrap();
        let sampling = Sampling::start(store, log.clone(), settings(), Arc::default());
        let mut latest = sampling.latest.clone();
        let within = Duration::from_secs(30);
        let first = tokio::time::timeout(within, latest.wait_for(|s| s.log_tail == ["first"]));
        assert!(first.await.is_ok(), "the log tail was never published");
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(file, "second").unwrap();
        sampling.want(Request {
            drill: Some((FailureFilter::default(), 0)),
            ..Request::default()
        });
        let again = latest.wait_for(|s| s.log_tail.last().is_some_and(|l| l == "second"));
        assert!(tokio::time::timeout(within, again).await.is_ok());
        assert_eq!(
            sampling.latest().items_total,
            0,
            "an empty store has no failures"
        );
    }
}
