//! Why the import could not be prepared or run to its end (item failures are data, not
//! errors: they are rows in the store).

use crate::store::batch::WriterError;

/// Why the import could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store refused a read or a write.
    #[error("the store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The store's writer failed (the end of the run may not be recorded).
    #[error("the store's writer: {0}")]
    Writer(#[from] WriterError),
    /// A staged record could not be read back from the export.
    #[error("{0}")]
    Records(String),
    /// The canary account list cannot be used.
    #[error("{0}")]
    Canary(String),
}
