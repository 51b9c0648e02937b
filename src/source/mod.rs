//! Reading the old system's export: streaming readers, the validator and the data generator.

mod crossref;
pub(crate) mod export_dir;
pub(crate) mod friend_lists;
pub mod gen;
pub(crate) mod media_inventory;
pub(crate) mod memory;
pub(crate) mod pipeline;
pub(crate) mod reader;
pub(crate) mod validate;

pub(crate) use crossref::hash as id_hash;
pub use export_dir::{ExportDir, ExportDirError, ExportFile};
pub use pipeline::Loc;
pub use validate::{
    validate_delta_with, validate_export, validate_export_with, validate_with_memory, FileSummary,
    Known, Problem, StreamValidator, Valid, ValidationReport,
};
