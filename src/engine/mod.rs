//! The migration engine: runbook steps, lanes, rate limiting, batching, retries, the journal.

pub mod job;
pub mod requests;
pub mod work;
