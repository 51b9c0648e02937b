//! The runbook, the steps an operator walks through in order, as one flow over the engine,
//! verification and sync: preflight, the operator-confirmed hooks, the import, start sync,
//! resume service and verify, with each step's state kept in the store (the steps and what each
//! does: `cutover run` in docs/commands.md).

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
