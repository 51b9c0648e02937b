//! cutover: a terminal console that moves a self-hosted IM onto Tencent Cloud IM.
//!
//! Layers, each using only those before it: [`model`] (the export's records and rules),
//! [`source`] (reading, validating and generating exports), then the [`commands`] that
//! `main` runs.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod logging;
pub mod model;
pub mod report;
pub mod runbook;
pub mod sim;
pub mod source;
pub mod store;
pub mod sync;
pub mod tim;
pub mod timefmt;
pub mod ui;
pub mod verify;

pub use commands::{run, Outcome};
