//! The runbook of design.md as one flow over the engine, verification and sync: preflight,
//! the operator-confirmed hooks, the import, start sync, resume service and verify, with each
//! step's state kept in the store.

pub mod drive;
pub mod hooks;
pub mod runner;

pub use drive::{drive, Observer, RunExit};
pub use runner::{Preflight, RunOptions, Runner, Step};
