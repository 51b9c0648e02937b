//! What the media stage has done, for the console and the headless lines: objects and bytes
//! committed to the store (never what is merely in flight), the rate and the time left.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The media stage's counters, shared with the front ends.
#[derive(Debug)]
pub struct MediaProgress {
    /// Objects of the rehosted hosts, in every state.
    pub objects: AtomicU64,
    /// Objects copied (earlier runs' included).
    pub copied: AtomicU64,
    /// Objects failed.
    pub failed: AtomicU64,
    /// Objects skipped by the operator.
    pub skipped: AtomicU64,
    /// Bytes copied by this stage.
    pub bytes: AtomicU64,
    /// Objects copied by this stage (what the rate goes by).
    pub copied_now: AtomicU64,
    /// The export's sizes of the objects still pending (a lower bound: images may have none).
    pub bytes_left_hint: AtomicU64,
    /// The stage is copying.
    pub running: AtomicBool,
    /// When this stage started copying.
    started: Mutex<Option<Instant>>,
    /// The last failure, for the operator.
    pub last_failure: Mutex<Option<String>>,
}

impl Default for MediaProgress {
    fn default() -> Self {
        Self {
            objects: AtomicU64::new(0),
            copied: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            copied_now: AtomicU64::new(0),
            bytes_left_hint: AtomicU64::new(0),
            running: AtomicBool::new(false),
            started: Mutex::new(None),
            last_failure: Mutex::new(None),
        }
    }
}

/// One reading of [`MediaProgress`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaFigures {
    /// Objects of the rehosted hosts.
    pub objects: u64,
    /// Copied.
    pub copied: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Bytes copied by this stage.
    pub bytes: u64,
    /// Objects per second copied by this stage.
    pub objects_per_sec: f64,
    /// Bytes per second copied by this stage.
    pub bytes_per_sec: f64,
    /// Time left at the current object rate, once there is one.
    pub eta: Option<Duration>,
    /// Still copying.
    pub running: bool,
    /// The last failure.
    pub last_failure: Option<String>,
}

impl MediaProgress {
    /// Marks the start of copying (the rate is measured from here).
    pub(crate) fn start(&self) {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.running.store(true, Ordering::Relaxed);
    }

    /// Reads the counters.
    pub fn figures(&self) -> MediaFigures {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let elapsed = self
            .started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        let (objects, copied, failed, skipped) = (
            get(&self.objects),
            get(&self.copied),
            get(&self.failed),
            get(&self.skipped),
        );
        let now = get(&self.copied_now);
        let bytes = get(&self.bytes);
        let rate = |n: u64| {
            if elapsed > 0.5 {
                n as f64 / elapsed
            } else {
                0.0
            }
        };
        let objects_per_sec = rate(now);
        let left = objects.saturating_sub(copied + failed + skipped);
        let eta =
            (objects_per_sec > 0.0).then(|| Duration::from_secs_f64(left as f64 / objects_per_sec));
        MediaFigures {
            objects,
            copied,
            failed,
            skipped,
            bytes,
            objects_per_sec,
            bytes_per_sec: rate(bytes),
            eta,
            running: self.running.load(Ordering::Relaxed),
            last_failure: self
                .last_failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// A byte count for people: `512 B`, `3.4 MB`, `1.2 GB` (decimal units, as transfer rates).
pub fn bytes_text(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_count_what_is_committed_and_bytes_read_for_people() {
        let p = MediaProgress::default();
        p.objects.store(10, Ordering::Relaxed);
        p.copied.store(4, Ordering::Relaxed);
        p.failed.store(1, Ordering::Relaxed);
        let f = p.figures();
        assert_eq!((f.objects, f.copied, f.failed, f.eta), (10, 4, 1, None));
        assert!(!f.running);
        assert_eq!(bytes_text(512.0), "512 B");
        assert_eq!(bytes_text(3_400_000.0), "3.4 MB");
    }
}
