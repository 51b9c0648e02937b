//! The canonical records of the export format (export-format.md) and their per-record rules.

pub mod element;
pub mod fields;
pub mod group_id;
pub mod history;
pub mod limits;
pub mod parse;
mod parse_element;
pub mod phase;
pub mod problem;
pub mod records;
pub mod scenario;
pub mod step;
pub mod sync_event;

pub use element::Element;
pub use parse::{parse_line, ExportRecord, Parsed};
pub use problem::{FieldProblem, Rule};
pub use records::*;
