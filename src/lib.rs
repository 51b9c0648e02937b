//! cutover: a terminal console that moves a self-hosted IM onto Tencent Cloud IM.
//!
//! Layers, bottom to top, each using only those below it (`scripts/check-layers.sh` checks):
//!
//! - [`model`] (the export's records, their rules, the runbook's steps) and [`timefmt`];
//! - [`tim`] (speaking to Tencent IM: UserSig, the API table and wire bodies, the client, the
//!   paced lanes and retry loop) and [`source`] (reading, validating and generating exports);
//! - [`config`] (the runbook file, flags and key resolved into one checked runbook);
//! - [`store`] (the SQLite progress store; the only place with SQL);
//! - [`engine`] (the import), [`verify`] (read-back verification) and [`sync`] (the two-way
//!   relay): siblings, none uses another;
//! - [`media`] (media objects copied into a bucket: fetching them, the S3 client), their
//!   sibling too;
//! - [`alerts`] (alerts to chat robots: WeCom, DingTalk, Feishu, Slack, a webhook): uses
//!   [`config`] and [`timefmt`]; [`runbook`], [`ui`] and [`commands`] use it;
//! - [`runbook`] (the steps in order over those three);
//! - [`report`] (the run's record from its store);
//! - [`ui`] (the console and the headless lines);
//! - [`export`] (reading the old system's database into an export): uses [`model`],
//!   [`source`] and [`timefmt`]; only [`commands`] uses it;
//! - [`commands`] and [`cli`], which `main` runs.
//!
//! [`sim`], the Tencent IM simulator, stands beside them: it uses only [`model`] and [`tim`],
//! and only [`commands`] uses it. [`logging`] sends logs to a file.
//!
//! The benchmarks are a binary of their own, `cutover-bench` (src/bin/cutover-bench/), not a
//! module of this library: they use it only through its public API.

pub mod alerts;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod export;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod model;
pub mod private;
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
