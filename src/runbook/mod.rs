//! The runbook, the steps an operator walks through in order, as one flow over the engine,
//! verification and sync: preflight, the operator-confirmed hooks, the import, start sync,
//! resume service and verify, with each step's state kept in the store (the steps and what each
//! does: `cutover run` in docs/commands.md).

pub(crate) mod alerting;
pub(crate) mod book;
mod custom_keys;
pub(crate) mod deletions;
pub mod drive;
pub(crate) mod error;
pub mod follow;
pub mod hooks;
mod media;
mod media_preflight;
pub(crate) mod phase;
pub(crate) mod rollback;
pub mod runner;
pub(crate) mod sync_alerts;
pub mod target_checks;

pub(crate) use error::RunbookError;
