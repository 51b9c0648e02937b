//! The migration engine: runbook steps, lanes, rate limiting, batching, retries, the journal.

pub mod canary;
pub mod control;
pub mod execute;
pub mod hooks;
pub mod import;
pub mod job;
pub mod lane;
pub mod plan;
pub mod records;
pub mod requests;
pub mod runbook;
pub mod send;
pub mod work;
