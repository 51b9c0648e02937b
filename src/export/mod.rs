//! `cutover export`: reads the old system straight from its database (MySQL/MariaDB,
//! PostgreSQL, SQLite) and writes an export in the format `cutover validate` reads.
//!
//! The SQL this module runs against the SOURCE database is the user's: one query per kind
//! from the mapping file ([`mapping`]). It is not the console's own store, so it does not live
//! in `store/` (which holds every statement against the progress store); the layer check
//! exempts this module by name. The only statements of its own are the snapshot's (begin a
//! read-only REPEATABLE READ transaction) and, in [`example`], the ones that fill the example
//! schema for tests and benchmarks.
//!
//! Layer: uses `model`, `source` and `timefmt`; only `commands/` uses it (and the benchmarks'
//! binary, `cutover-bench`, through the public API).

pub(crate) mod cells;
mod check;
pub mod db;
pub mod example;
mod keys;
pub(crate) mod mapping;
mod run;
mod sink;
mod tombstone;
pub mod url;
mod write;

pub use mapping::{Mapping, TimeUnit};
pub use run::{export, ExportOptions, ExportSummary, SourceProblem};
pub use sink::{Deletions, KeySetSummary, KindSummary};
pub use url::SourceUrl;
pub(crate) use write::KEYS_DIR;

/// Why an export from a database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbExportError {
    /// The source URL is not one this command reads.
    #[error("source URL: {0}")]
    Url(String),
    /// The mapping file is unreadable or wrong.
    #[error("mapping {path}: {reason}")]
    Mapping {
        /// The mapping file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The database could not be reached or refused the login.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The driver's reason, without the password.
        reason: String,
    },
    /// A query of the mapping returned what its entry cannot use (its columns, a row).
    #[error("mapping {entry}: {reason}")]
    Entry {
        /// The entry: `[queries] friends`, `[keys] accounts`.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// A query (or the snapshot transaction) failed.
    #[error("{what}: {reason}")]
    Query {
        /// The kind whose query failed, or the step.
        what: String,
        /// The driver's reason, without the password.
        reason: String,
    },
    /// A file of the export could not be written or moved.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// The written export could not be read back by the validator.
    #[error("validating the written export: {0}")]
    Validate(#[from] crate::source::ExportDirError),
    /// The options cannot make an export.
    #[error("{0}")]
    Settings(String),
}

/// Names what was being done when an I/O error struck.
pub(crate) fn io_err(what: String) -> impl FnOnce(std::io::Error) -> DbExportError {
    move |source| DbExportError::Io { what, source }
}
