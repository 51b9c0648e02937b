//! One lane per API: its own limiter at the configured rate, and as many requests in flight
//! as that rate needs at the latency it observes.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The share of a documented limit the lane paces at: requests leave evenly spaced, but
/// scheduling and the network can bunch them on arrival; this margin keeps bunched arrivals
/// inside the server's one-second window (60007 costs a whole round trip and a backoff).
pub(crate) const PACE_SHARE: f64 = 0.97;
/// Weight of the newest latency in the moving average.
const EWMA_WEIGHT: f64 = 0.2;

/// A lane's live figures, shared with the UI and the headless lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LaneFigures {
    /// Calls per second allowed (the configured limit).
    pub rate: u32,
    /// Calls per second the lane paces at.
    pub pace: u32,
    /// Requests in flight now.
    pub in_flight: usize,
    /// How many it currently aims for.
    pub target_in_flight: usize,
    /// Average latency, seconds.
    pub latency: f64,
    /// Calls made in this run.
    pub calls: u64,
    /// Rate-limit answers (60007, 10006…) received in this run.
    pub rate_limited: u64,
    /// Seconds of backoff left now (0 when none).
    pub backoff: f64,
    /// The code that caused the current backoff.
    pub backoff_code: Option<i64>,
}

/// A lane's pacing and accounting.
pub struct Lane {
    limiter: RwLock<Arc<DefaultDirectRateLimiter>>,
    figures: Mutex<LaneFigures>,
    backoff_until: Mutex<Option<Instant>>,
    min_in_flight: usize,
    max_in_flight: usize,
}

fn limiter(pace: u32) -> Arc<DefaultDirectRateLimiter> {
    // burst 1: requests leave evenly spaced instead of a second's worth at once.
    let per_second = NonZeroU32::new(pace.max(1)).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::direct(
        Quota::per_second(per_second).allow_burst(NonZeroU32::MIN),
    ))
}

/// The pace for a documented `rate`.
pub(crate) fn pace_for(rate: u32) -> u32 {
    ((f64::from(rate) * PACE_SHARE).floor() as u32).max(1)
}

impl Lane {
    /// A lane allowed `rate` calls per second, with between `min` and `max` in flight.
    pub(crate) fn new(rate: u32, min: usize, max: usize) -> Lane {
        let pace = pace_for(rate);
        Lane {
            limiter: RwLock::new(limiter(pace)),
            figures: Mutex::new(LaneFigures {
                rate,
                pace,
                target_in_flight: min.max(1),
                ..LaneFigures::default()
            }),
            backoff_until: Mutex::new(None),
            min_in_flight: min.max(1),
            max_in_flight: max.max(min.max(1)),
        }
    }

    /// Waits until the limiter lets one call go.
    pub(crate) async fn permit(&self) {
        let limiter = match self.limiter.read() {
            Ok(l) => Arc::clone(&l),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        limiter.until_ready().await;
    }

    /// Changes the rate (operator command).
    pub(crate) fn set_rate(&self, rate: u32) {
        let pace = pace_for(rate);
        if let Ok(mut l) = self.limiter.write() {
            *l = limiter(pace);
        }
        self.update(|f| {
            f.rate = rate;
            f.pace = pace;
        });
    }

    fn update(&self, change: impl FnOnce(&mut LaneFigures)) {
        if let Ok(mut f) = self.figures.lock() {
            change(&mut f);
        }
    }

    /// A snapshot of the figures.
    pub(crate) fn figures(&self) -> LaneFigures {
        let mut f = self.figures.lock().map(|f| f.clone()).unwrap_or_default();
        if let Some(left) = self.backoff_left() {
            f.backoff = left.as_secs_f64();
        } else {
            f.backoff = 0.0;
            f.backoff_code = None;
        }
        f
    }

    /// How many requests the lane should keep in flight: enough to fill its pace at the
    /// observed latency, with a quarter more for jitter.
    pub(crate) fn target_in_flight(&self) -> usize {
        self.figures
            .lock()
            .map(|f| f.target_in_flight)
            .unwrap_or(self.min_in_flight)
    }

    /// A request left.
    pub(crate) fn started(&self) {
        self.update(|f| {
            f.in_flight += 1;
            f.calls += 1;
        });
    }

    /// A request came back after `latency`.
    pub(crate) fn finished(&self, latency: Duration) {
        let (min, max) = (self.min_in_flight, self.max_in_flight);
        self.update(|f| {
            f.in_flight = f.in_flight.saturating_sub(1);
            let l = latency.as_secs_f64();
            f.latency = if f.latency == 0.0 {
                l
            } else {
                f.latency * (1.0 - EWMA_WEIGHT) + l * EWMA_WEIGHT
            };
            let needed = (f64::from(f.pace) * f.latency * 1.25).ceil() as usize + 1;
            f.target_in_flight = needed.clamp(min, max);
        });
    }

    /// The server said slow down: no new call for `wait`.
    pub(crate) fn back_off(&self, wait: Duration, code: Option<i64>) {
        if let Ok(mut until) = self.backoff_until.lock() {
            let end = Instant::now() + wait;
            if until.is_none_or(|u| u < end) {
                *until = Some(end);
            }
        }
        self.update(|f| {
            f.rate_limited += 1;
            f.backoff_code = code;
        });
    }

    /// Time left in the current backoff.
    pub(crate) fn backoff_left(&self) -> Option<Duration> {
        let until = self.backoff_until.lock().ok().and_then(|u| *u)?;
        until.checked_duration_since(Instant::now())
    }
}

/// The first retry delay, doubled per failed attempt up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The one backoff rule, for anything that failed `attempt + 1` times in a row (a request, a
/// sync event, an old system that does not answer): how long to wait before trying again.
/// 0.5 s doubling per attempt up to 30 s, drawn from the upper half of that, so what failed
/// together does not retry together, at the cap too.
pub(crate) fn retry_delay(attempt: u32) -> Duration {
    let full = FIRST_RETRY
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_RETRY);
    let half = full / 2;
    half + half.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_follows_latency_within_bounds() {
        let lane = Lane::new(200, 1, 64);
        assert_eq!(lane.figures().pace, 194);
        lane.started();
        lane.finished(Duration::from_millis(100));
        assert_eq!(lane.target_in_flight(), 26);
        for _ in 0..50 {
            lane.started();
            lane.finished(Duration::from_secs(2));
        }
        assert_eq!(lane.target_in_flight(), 64);
    }

    #[test]
    fn retry_delays_grow_and_are_capped() {
        assert!(retry_delay(0) <= Duration::from_millis(750));
        assert!(retry_delay(3) >= Duration::from_secs(2));
        assert!(retry_delay(40) <= Duration::from_secs(30));
    }

    #[test]
    fn retries_back_off_from_half_a_second_to_thirty() {
        for (attempt, full) in [(0, 0.5), (1, 1.0), (2, 2.0), (6, 30.0), (39, 30.0)] {
            let d = retry_delay(attempt).as_secs_f64();
            assert!(d >= full / 2.0 && d <= full, "{attempt}: {d}");
        }
    }

    #[tokio::test]
    async fn requests_leave_evenly_spaced() {
        let lane = Lane::new(100, 1, 4);
        let start = Instant::now();
        for _ in 0..11 {
            lane.permit().await;
        }
        // Ten gaps of ~10.3 ms; a burst would take ~0.
        assert!(start.elapsed() >= Duration::from_millis(95));
    }
}
