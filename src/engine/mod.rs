//! The migration engine: runbook steps, lanes, rate limiting, batching, retries, the journal.

pub mod control;
pub mod execute;
pub mod import;
pub mod job;
pub mod lane;
pub mod records;
pub mod requests;
pub mod send;
pub mod work;
