//! The canonical records of the export format (export-format.md) and their per-record rules.

pub mod console;
pub(crate) mod element;
pub(crate) mod fields;
pub mod group_id;
pub mod history;
pub(crate) mod limits;
pub mod media;
pub(crate) mod parse;
mod parse_element;
pub mod phase;
pub(crate) mod problem;
pub(crate) mod records;
pub(crate) mod scenario;
pub mod step;
pub mod sync_event;
pub(crate) mod tombstone;

pub(crate) use element::Element;
pub use parse::{parse_line, ExportRecord, Parsed};
pub use problem::{FieldProblem, Rule};
pub use records::*;
pub use tombstone::Tombstone;
