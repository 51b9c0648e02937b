//! Two-way sync during coexistence, run by the [`relay`]: the old system's events (POSTed to
//! the ingest endpoint of [`server`] or read by [`follow`] from a file, checked by [`ingest`])
//! applied to Tencent IM by [`apply`] through the requests of [`convert`] (a recall's message
//! found by [`locate`], the relay's writes remembered by [`ledger`] keys); Tencent's callbacks
//! (checked and translated by [`callback`], elements by [`elements`]) and the messages
//! [`reconcile`] finds delivered to the old system by the [`outbox`]. Every event is persisted
//! through the [`journal`] before it is acknowledged. Why a part stops is a [`SyncError`].

mod answer;
pub mod apply;
pub(crate) mod callback;
pub mod convert;
pub(crate) mod elements;
pub(crate) mod error;
pub(crate) mod follow;
pub(crate) mod ingest;
pub mod journal;
pub(crate) mod ledger;
pub(crate) mod locate;
pub(crate) mod outbox;
pub(crate) mod readback;
pub(crate) mod reconcile;
pub mod relay;
pub(crate) mod retry;
pub(crate) mod server;

pub use error::SyncError;
