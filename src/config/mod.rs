//! The runbook configuration: a TOML file (`cutover init` writes an annotated example), flags
//! that override it, and the secret key from the environment — resolved in one place, with
//! one precedence (flag, then file, then default), checked with every problem reported at once.

pub mod alerts;
mod app;
pub(crate) mod file;
pub mod follow;
pub mod media;
pub mod metrics;
mod resolve;
mod sections;

pub(crate) use resolve::AccountDeletions;
pub use resolve::{
    parse_file, resolve, BudgetConfig, C2cMode, Flags, HookConfig, HookKind, OldSink, OnFailure,
    Runbook, SameSecond, Strategy, SyncConfig, VerifyConfig, DEFAULT_MAX_RETRY_SECS,
    DEFAULT_PRECOPY_SAMPLE, DEFAULT_ROAMING_DAYS, DEFAULT_SYNC_MAX_RETRY_SECS,
};

/// The annotated example runbook written by `cutover init`.
pub(crate) const EXAMPLE: &str = include_str!("../../assets/runbook.toml");
