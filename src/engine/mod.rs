//! The migration engine: runbook steps, lanes, rate limiting, batching, retries, the journal.

pub mod requests;
