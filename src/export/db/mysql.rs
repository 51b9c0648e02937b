//! MySQL and MariaDB through `mysql_async`: one connection, one
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` at REPEATABLE READ, each query a
//! prepared statement whose binary result set is read row by row from the socket. TLS through
//! rustls (webpki roots) with `?require_ssl=true` in the URL.

use super::{Bound, Job, RowSink};
use crate::export::cells::{sql_time_text, Cell};
use crate::export::url::SourceUrl;
use crate::export::DbExportError;
use crate::timefmt::parse_rfc3339;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, IsolationLevel, Opts, OptsBuilder, Params, TxOpts, Value};

async fn connect(url: &SourceUrl) -> Result<Conn, DbExportError> {
    let opts = Opts::from_url(url.raw()).map_err(|e| url.connect_error(e))?;
    let mut builder = OptsBuilder::from_opts(opts);
    if let Some(p) = url.password() {
        builder = builder.pass(Some(p));
    }
    Conn::new(builder).await.map_err(|e| url.connect_error(e))
}

/// Runs `jobs` in one read-only consistent snapshot.
pub(crate) async fn run(
    url: &SourceUrl,
    jobs: &[Job],
    sink: &mut dyn RowSink,
) -> Result<(), DbExportError> {
    let mut conn = connect(url).await?;
    let mut opts = TxOpts::new();
    opts.with_consistent_snapshot(true)
        .with_isolation_level(IsolationLevel::RepeatableRead)
        .with_readonly(true);
    let mut tx = conn
        .start_transaction(opts)
        .await
        .map_err(|e| url.query_error("starting the read-only snapshot", e))?;
    for (i, job) in jobs.iter().enumerate() {
        let params = Params::Positional(job.params.iter().map(|b| bound(*b)).collect());
        let mut result = tx
            .exec_iter(job.sql.as_str(), params)
            .await
            .map_err(|e| url.query_error(&job.what, e))?;
        let columns = result.columns().unwrap_or_else(|| Vec::new().into());
        let names: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
        let json: Vec<bool> = columns
            .iter()
            .map(|c| c.column_type() == ColumnType::MYSQL_TYPE_JSON)
            .collect();
        sink.columns(i, &names)?;
        let mut failed = None;
        result
            .for_each(|row| {
                if failed.is_some() {
                    return;
                }
                // `Row::unwrap` is mysql_async's name for taking the row's values; it cannot panic.
                let cells = row
                    .unwrap()
                    .into_iter()
                    .zip(&json)
                    .map(|(v, is_json)| cell(v, *is_json))
                    .collect();
                if let Err(e) = sink.row(i, cells) {
                    failed = Some(e);
                }
            })
            .await
            .map_err(|e| url.query_error(&job.what, e))?;
        if let Some(e) = failed {
            return Err(e);
        }
        sink.done(i)?;
    }
    tx.rollback()
        .await
        .map_err(|e| url.query_error("ending the snapshot", e))?;
    conn.disconnect().await.ok();
    Ok(())
}

/// Runs each batch of statements (several may be separated by `;`).
pub(crate) async fn execute(url: &SourceUrl, batches: &[String]) -> Result<(), DbExportError> {
    let mut conn = connect(url).await?;
    for batch in batches {
        conn.query_drop(batch.as_str())
            .await
            .map_err(|e| url.query_error("executing", e))?;
    }
    conn.disconnect().await.ok();
    Ok(())
}

fn bound(b: Bound) -> Value {
    match b {
        Bound::Int(i) => Value::Int(i),
        Bound::Time(secs) => Value::Bytes(sql_time_text(secs).into_bytes()),
    }
}

fn cell(v: Value, is_json: bool) -> Cell {
    match v {
        Value::NULL => Cell::Null,
        Value::Bytes(b) if is_json => match serde_json::from_slice(&b) {
            Ok(j) => Cell::Json(j),
            Err(_) => Cell::Bytes(b),
        },
        Value::Bytes(b) => Cell::Bytes(b),
        Value::Int(i) => Cell::Int(i),
        Value::UInt(u) => Cell::UInt(u),
        Value::Float(f) => Cell::Float(f64::from(f)),
        Value::Double(f) => Cell::Float(f),
        Value::Date(y, mo, d, h, mi, s, _) => {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            parse_rfc3339(&text).map_or(Cell::Text(text), Cell::Time)
        }
        Value::Time(neg, days, h, m, s, _) => {
            let sign = if neg { "-" } else { "" };
            let hours = u64::from(days) * 24 + u64::from(h);
            Cell::Text(format!("{sign}{hours:02}:{m:02}:{s:02}"))
        }
    }
}
