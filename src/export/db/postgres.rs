//! PostgreSQL through `tokio-postgres`: one `REPEATABLE READ, READ ONLY` transaction; each
//! query is bound to a portal (a server-side cursor) and fetched a page at a time. TLS through
//! rustls with the system's root certificates: tried first by default (`sslmode=prefer`),
//! required with `?sslmode=require`.

use super::{Bound, Job, RowSink};
use crate::export::cells::{sql_time_text, Cell};
use crate::export::url::SourceUrl;
use crate::export::DbExportError;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, IsolationLevel, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Rows fetched from the portal at a time: memory holds one page.
const PAGE_ROWS: i32 = 1000;

async fn connect(url: &SourceUrl) -> Result<Client, DbExportError> {
    let mut config = Config::from_str(url.raw()).map_err(|e| url.connect_error(e))?;
    if let Some(p) = url.password() {
        config.password(p);
    }
    let (client, connection) = config
        .connect(tls().map_err(|e| url.connect_error(e))?)
        .await
        .map_err(|e| url.connect_error(e))?;
    // The connection task ends when the client is dropped; its error, if any, shows up as
    // the failure of the query in flight.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A TLS connector trusting the system's root certificates (aws-lc-rs, as the rest of the
/// project's rustls).
fn tls() -> Result<MakeRustlsConnect, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable certificates are skipped: a server signed by them fails its handshake,
    // naming the certificate problem.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Runs `jobs` in one read-only REPEATABLE READ transaction.
pub(crate) async fn run(
    url: &SourceUrl,
    jobs: &[Job],
    sink: &mut dyn RowSink,
) -> Result<(), DbExportError> {
    let mut client = connect(url).await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| url.query_error("starting the read-only snapshot", e))?;
    for (i, job) in jobs.iter().enumerate() {
        let stmt = tx
            .prepare(&job.sql)
            .await
            .map_err(|e| url.query_error(&job.what, e))?;
        let params = bind_values(job, stmt.params()).map_err(|e| url.query_error(&job.what, e))?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let portal = tx
            .bind(&stmt, &refs)
            .await
            .map_err(|e| url.query_error(&job.what, e))?;
        let names: Vec<String> = stmt
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
        sink.columns(i, &names)?;
        loop {
            let page = tx
                .query_portal(&portal, PAGE_ROWS)
                .await
                .map_err(|e| url.query_error(&job.what, e))?;
            if page.is_empty() {
                break;
            }
            for row in page {
                let cells =
                    cells(&row, &names, &types).map_err(|e| url.query_error(&job.what, e))?;
                sink.row(i, cells)?;
            }
        }
        sink.done(i)?;
    }
    tx.rollback()
        .await
        .map_err(|e| url.query_error("ending the snapshot", e))?;
    Ok(())
}

/// Runs each batch of statements (several may be separated by `;`).
pub(crate) async fn execute(url: &SourceUrl, batches: &[String]) -> Result<(), DbExportError> {
    let client = connect(url).await?;
    for batch in batches {
        client
            .batch_execute(batch)
            .await
            .map_err(|e| url.query_error("executing", e))?;
    }
    Ok(())
}

type Value = Box<dyn ToSql + Sync>;

/// Each parameter as the type the server inferred for its placeholder.
fn bind_values(job: &Job, types: &[Type]) -> Result<Vec<Value>, String> {
    job.params
        .iter()
        .zip(types)
        .map(|(b, t)| -> Result<Value, String> {
            Ok(match (*b, t) {
                (Bound::Int(i), &Type::INT4) => Box::new(
                    i32::try_from(i).map_err(|_| format!("{i} does not fit the int4 parameter"))?,
                ),
                (Bound::Int(i), &Type::FLOAT8) => Box::new(i as f64),
                (Bound::Int(i), &Type::TEXT | &Type::VARCHAR) => Box::new(i.to_string()),
                (Bound::Int(i), _) => Box::new(i),
                (Bound::Time(s), &Type::TEXT | &Type::VARCHAR) => Box::new(sql_time_text(s)),
                (Bound::Time(s), _) => Box::new(system_time(s)),
            })
        })
        .collect()
}

fn system_time(secs: i64) -> SystemTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Before 1970: round toward the past, as the other units do.
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    }
}

fn cells(row: &Row, names: &[String], types: &[Type]) -> Result<Vec<Cell>, String> {
    let mut out = Vec::with_capacity(types.len());
    for (i, t) in types.iter().enumerate() {
        let bad = |e: tokio_postgres::Error| format!("column {}: {e}", names[i]);
        let c = match *t {
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(Cell::Bool),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|v| Cell::Int(v.into())),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|v| Cell::Int(v.into())),
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(bad)?
                .map(Cell::Int),
            Type::OID => row
                .try_get::<_, Option<u32>>(i)
                .map_err(bad)?
                .map(|v| Cell::Int(v.into())),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(bad)?
                .map(|v| Cell::Float(v.into())),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(i)
                .map_err(bad)?
                .map(Cell::Float),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Cell::Text),
            Type::JSON | Type::JSONB => row
                .try_get::<_, Option<serde_json::Value>>(i)
                .map_err(bad)?
                .map(Cell::Json),
            Type::TIMESTAMP | Type::TIMESTAMPTZ => row
                .try_get::<_, Option<SystemTime>>(i)
                .map_err(bad)?
                .map(|t| Cell::Time(unix_secs(t))),
            ref other => {
                return Err(format!(
                    "column {} has type {other}, which the export does not read: cast it in \
                     the query (::text, ::bigint, ::jsonb)",
                    names[i]
                ))
            }
        };
        out.push(c.unwrap_or(Cell::Null));
    }
    Ok(out)
}
