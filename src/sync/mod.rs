//! Two-way sync during coexistence: events from the old system applied to Tencent IM, and
//! Tencent's callbacks delivered to the old system, each persisted before it is acknowledged.

pub mod apply;
pub mod callback;
pub mod convert;
pub mod elements;
pub mod ingest;
pub mod journal;
pub mod outbox;
pub mod reconcile;
pub mod relay;
pub mod server;
