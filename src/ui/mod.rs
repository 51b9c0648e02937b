//! Front ends over the engine: the headless progress lines (the terminal UI comes later).

pub mod headless;
pub mod progress;
pub mod tui;
