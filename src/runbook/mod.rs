//! The runbook of design.md as one flow over the engine, verification and sync: preflight,
//! the operator-confirmed hooks, the import, start sync, resume service and verify, with each
//! step's state kept in the store.

pub mod book;
pub mod drive;
pub mod error;
pub mod hooks;
pub mod phase;
pub mod rollback;
pub mod runner;

pub use crate::model::step::{Step, StepState};
pub use book::{BookError, StepBook, StepStates};
pub use drive::{drive, Observer, RunExit};
pub use error::RunbookError;
pub use runner::{Preflight, RunOptions, Runner};
