//! Failed items to a file the operator can fix and feed back: JSON lines, or CSV.

use super::queries::{failures, FailureFilter, FailureRow};
use crate::tim::errors;
use rusqlite::Connection;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// Why the failed items could not be written out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FailuresExportError {
    /// They could not be read.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes the failed items matching `filter` to `path` (CSV when it ends in `.csv`, JSON lines
/// otherwise); returns how many.
pub(crate) fn export_failures(
    conn: &Connection,
    filter: &FailureFilter,
    path: &Path,
) -> Result<usize, FailuresExportError> {
    let rows = failures(conn, filter)?;
    let file = crate::private::create(path).map_err(|source| FailuresExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut w = std::io::BufWriter::new(file);
    let csv = path.extension().is_some_and(|e| e == "csv");
    let written = (|| {
        if csv {
            writeln!(
                w,
                "stage,record,file,line,api,code,meaning,info,attempts,retryable"
            )?;
        }
        for row in &rows {
            write_failure(&mut w, row, csv)?;
        }
        w.flush()
    })();
    written.map_err(|source| FailuresExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(rows.len())
}

fn write_failure(w: &mut dyn Write, row: &FailureRow, csv: bool) -> std::io::Result<()> {
    let meaning = row
        .code
        .map_or("", |c| errors::lookup_named(&row.api, c).meaning);
    if !csv {
        let mut v = serde_json::to_value(row).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("meaning".into(), json!(meaning));
        }
        return writeln!(w, "{v}");
    }
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    writeln!(
        w,
        "{},{},{},{},{},{},{},{},{},{}",
        row.kind.name(),
        q(&row.record),
        q(&row.file),
        row.line,
        row.api,
        row.code.map_or(String::new(), |c| c.to_string()),
        q(meaning),
        q(&row.info),
        row.attempts,
        row.retryable
    )
}
