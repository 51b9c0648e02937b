//! The migration engine: runbook steps, lanes, rate limiting, batching, retries, the journal.

pub mod canary;
pub mod control;
pub mod execute;
pub mod import;
pub mod job;
pub mod kinds;
pub mod limits;
pub mod plan;
pub mod send;
pub mod work;
