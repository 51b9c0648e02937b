//! The phases of a cutover: everything in one window, or a pre-copy while the old system is
//! live followed by a window that imports only what changed since (a delta export).

use std::fmt;
use std::str::FromStr;

/// Which part of the cutover a run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The whole runbook on one export: stop, import, sync, resume, verify.
    #[default]
    Full,
    /// History copied while the old system is live: no hooks, no sync; the export's watermark
    /// is kept so a delta can follow it.
    Precopy,
    /// Inside the window: a delta export of what changed since the store's watermark, then
    /// the whole runbook with a window-sized verification.
    Window,
    /// On the store of a pre-copy, while the old system is live: rounds of "export what
    /// changed since the watermark, stage it, import it" until the operator confirms the stop;
    /// then a last round after the stop, sync, resume and a window-sized verification.
    Follow,
}

impl Phase {
    /// The word on the command line and in the store.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Full => "full",
            Phase::Precopy => "precopy",
            Phase::Window => "window",
            Phase::Follow => "follow",
        }
    }

    /// Whether this phase imports what changed since the store's watermark (and verifies
    /// window-sized: the delta whole, the pre-copy sampled).
    pub(crate) fn is_delta(self) -> bool {
        matches!(self, Phase::Window | Phase::Follow)
    }

    /// Whether this phase runs the stop/resume hooks and starts sync.
    pub(crate) fn touches_the_live_system(self) -> bool {
        self != Phase::Precopy
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Phase, String> {
        match s {
            "full" => Ok(Phase::Full),
            "precopy" | "pre-copy" => Ok(Phase::Precopy),
            "window" => Ok(Phase::Window),
            "follow" => Ok(Phase::Follow),
            other => Err(format!(
                "unknown phase {other:?}: give full, precopy, window or follow"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_read_back_from_their_names() {
        for p in [Phase::Full, Phase::Precopy, Phase::Window, Phase::Follow] {
            assert_eq!(p.name().parse::<Phase>(), Ok(p));
        }
        assert!("delta".parse::<Phase>().unwrap_err().contains("precopy"));
        assert!(!Phase::Precopy.touches_the_live_system());
    }
}
