//! The service's rate limits: a fixed 1-second window per API (the spec leaves the algorithm
//! open; a fixed window is the strictest reading that a paced client still passes), and the
//! 40 messages/s per group of `send_group_msg`.

use crate::tim::api::Api;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Clone, Copy, Default)]
struct Window {
    second: u64,
    count: u32,
}

impl Window {
    /// Counts one call in `second`; false when that makes more than `limit`.
    fn admit(&mut self, second: u64, limit: u32) -> bool {
        if self.second != second {
            *self = Window { second, count: 0 };
        }
        if self.count >= limit {
            return false;
        }
        self.count += 1;
        true
    }
}

/// Per-API and per-group windows.
pub(crate) struct Limiter {
    start: Instant,
    apis: Mutex<Vec<Window>>,
    groups: Mutex<HashMap<String, Window>>,
    rejected: Mutex<Vec<u64>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Limiter {
    /// Empty windows.
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            apis: Mutex::new(vec![Window::default(); Api::ALL.len()]),
            groups: Mutex::new(HashMap::new()),
            rejected: Mutex::new(vec![0; Api::ALL.len()]),
        }
    }

    fn second(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    /// Counts a call to `api`; false when it is over `limit` in this second (0 = no limit).
    pub(crate) fn admit(&self, api: Api, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let second = self.second();
        let ok =
            self.apis.lock().unwrap_or_else(|p| p.into_inner())[api as usize].admit(second, limit);
        if !ok {
            self.rejected.lock().unwrap_or_else(|p| p.into_inner())[api as usize] += 1;
        }
        ok
    }

    /// Counts a message to `group`; false when over `limit` in this second.
    pub(crate) fn admit_group_msg(&self, group: &str, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let second = self.second();
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if groups.len() > 100_000 {
            groups.retain(|_, w| w.second == second);
        }
        groups
            .entry(group.to_string())
            .or_default()
            .admit(second, limit)
    }

    /// How many calls to `api` were refused with 60007 so far.
    #[cfg(test)]
    pub(crate) fn rejected(&self, api: Api) -> u64 {
        self.rejected.lock().unwrap_or_else(|p| p.into_inner())[api as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_refuses_until_the_next_second() {
        let mut w = Window::default();
        assert!((0..3).all(|_| w.admit(5, 3)));
        assert!(!w.admit(5, 3));
        assert!(w.admit(6, 3));
    }

    #[test]
    fn zero_means_unlimited() {
        let l = Limiter::new();
        assert!((0..10_000).all(|_| l.admit(Api::ImportMsg, 0)));
        assert_eq!(l.rejected(Api::ImportMsg), 0);
    }
}
