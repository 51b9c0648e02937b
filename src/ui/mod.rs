//! Front ends over the runbook flow: the headless progress lines, and the interactive console
//! ([`tui`]); [`progress`] turns committed counts into per-stage rates and ETAs for both.

pub mod headless;
pub mod progress;
pub mod tui;
