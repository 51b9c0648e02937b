//! SQLite through the project's `rusqlite`: the file opened read-only, one deferred
//! transaction (a consistent snapshot from its first read), each statement stepped row by row.

use super::{Bound, Job, RowSink};
use crate::export::cells::{sql_time_text, Cell};
use crate::export::url::SourceUrl;
use crate::export::DbExportError;
use rusqlite::types::ValueRef;
use rusqlite::{params_from_iter, Connection, OpenFlags};

fn open(url: &SourceUrl, flags: OpenFlags) -> Result<Connection, DbExportError> {
    let path = url
        .sqlite_path()
        .ok_or_else(|| DbExportError::Url("not a sqlite:// URL".into()))?;
    if flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) && !path.exists() {
        return Err(url.connect_error(format!("{} does not exist", path.display())));
    }
    let conn = Connection::open_with_flags(&path, flags).map_err(|e| url.connect_error(e))?;
    // A live old system writes while a follow round reads: wait out its write locks.
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| url.connect_error(e))?;
    Ok(conn)
}

/// Runs `jobs` in one read transaction of the file.
pub(crate) fn run(
    url: &SourceUrl,
    jobs: &[Job],
    sink: &mut dyn RowSink,
) -> Result<(), DbExportError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = open(url, flags)?;
    let tx = conn
        .unchecked_transaction()
        .map_err(|e| url.query_error("starting the read transaction", e))?;
    for (i, job) in jobs.iter().enumerate() {
        let err = |e: rusqlite::Error| url.query_error(&job.what, e);
        let mut stmt = tx.prepare(&job.sql).map_err(err)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        sink.columns(i, &names)?;
        let values = job.params.iter().map(|b| match *b {
            Bound::Int(i) => rusqlite::types::Value::Integer(i),
            Bound::Time(s) => rusqlite::types::Value::Text(sql_time_text(s)),
        });
        let mut rows = stmt.query(params_from_iter(values)).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let mut cells = Vec::with_capacity(names.len());
            for c in 0..names.len() {
                cells.push(match row.get_ref(c).map_err(err)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(i) => Cell::Int(i),
                    ValueRef::Real(f) => Cell::Float(f),
                    ValueRef::Text(t) => Cell::Bytes(t.to_vec()),
                    ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                });
            }
            sink.row(i, cells)?;
        }
        sink.done(i)?;
    }
    tx.rollback()
        .map_err(|e| url.query_error("ending the read transaction", e))
}

/// Runs each batch of statements, creating the file when missing.
pub(crate) fn execute(url: &SourceUrl, batches: &[String]) -> Result<(), DbExportError> {
    let conn = open(url, OpenFlags::default())?;
    for batch in batches {
        conn.execute_batch(batch)
            .map_err(|e| url.query_error("executing", e))?;
    }
    Ok(())
}
