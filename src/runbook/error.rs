//! Why the runbook could not go on. A step that fails is a step state (recorded and shown);
//! these are the failures of the machinery around the steps.

use super::book::BookError;
use crate::engine::EngineError;
use crate::store::stage::StageError;
use crate::store::StoreError;
use crate::tim::client::BuildError;
use crate::verify::VerifyError;

/// Why a runbook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RunbookError {
    /// The Tencent IM client could not be set up.
    #[error(transparent)]
    Client(#[from] BuildError),
    /// A step change could not be recorded.
    #[error(transparent)]
    Book(#[from] BookError),
    /// The store cannot be opened or belongs to another run.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store refused a read or a write.
    #[error("the store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The export cannot be opened.
    #[error(transparent)]
    Export(#[from] crate::source::ExportDirError),
    /// The export could not be staged.
    #[error(transparent)]
    Stage(#[from] StageError),
    /// The runbook could not be recorded with the run.
    #[error("cannot record the runbook with the run: {0}")]
    Encode(#[from] serde_json::Error),
    /// The export does not fit the phase (a delta that does not follow the store's watermark,
    /// a pre-copy without a watermark).
    #[error("{0}")]
    Phase(String),
    /// The target refused the credentials, or does not speak Tencent IM.
    #[error("{0}")]
    Target(String),
    /// The export uses custom keys the app's console does not have.
    #[error("{0}")]
    CustomKeys(String),
    /// The export's media cannot go as `[media]` says (signed URLs kept by default, a bucket
    /// that refuses).
    #[error("{0}")]
    Media(String),
    /// A follow round could not read the old system's database.
    #[error("reading the old system's database: {0}")]
    Follow(#[from] crate::export::DbExportError),
    /// A staged record could not be read back from the export.
    #[error("{0}")]
    Records(String),
    /// The import could not be prepared or run.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The verification pass could not run.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The front end could not show what happened (a closed terminal, a full disk).
    #[error("the front end: {0}")]
    Front(#[from] std::io::Error),
}
