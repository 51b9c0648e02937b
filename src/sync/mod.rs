//! Two-way sync during coexistence, run by the [`relay`]: the old system's events (POSTed to
//! the ingest endpoint of [`server`] or read by [`follow`] from a file, checked by [`ingest`])
//! applied to Tencent IM by [`apply`] through the requests of [`convert`]; Tencent's callbacks
//! (checked and translated by [`callback`], elements by [`elements`]) and the messages
//! [`reconcile`] finds delivered to the old system by the [`outbox`]. Every event is persisted
//! through the [`journal`] before it is acknowledged. Why a part stops is a [`SyncError`].

pub mod apply;
pub mod callback;
pub mod convert;
pub mod elements;
pub mod error;
pub mod follow;
pub mod ingest;
pub mod journal;
pub mod outbox;
pub mod readback;
pub mod reconcile;
pub mod relay;
pub mod retry;
pub mod server;

pub use error::SyncError;
