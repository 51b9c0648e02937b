//! The drivers: each runs a list of queries inside one read-only snapshot transaction and
//! hands every row, as it arrives, to a [`RowSink`].
//!
//! MySQL/MariaDB through `mysql_async` (a streamed binary result set), PostgreSQL through
//! `tokio-postgres` (a portal fetched in pages: a server-side cursor), SQLite through the
//! project's `rusqlite` (a stepped statement). Memory holds one row (a page for PostgreSQL).

mod mysql;
mod postgres;
mod sqlite;

use super::cells::Cell;
use super::mapping::{translate, Param, TimeUnit};
use super::url::{Engine, SourceUrl};
use super::DbExportError;

/// A parameter's value, in the mapping's time unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// An integer (unix seconds or milliseconds).
    Int(i64),
    /// A timestamp, given as unix seconds.
    Time(i64),
}

impl Bound {
    /// `secs` in `unit`.
    pub(crate) fn at(secs: i64, unit: TimeUnit) -> Self {
        match unit {
            TimeUnit::Seconds => Bound::Int(secs),
            TimeUnit::Millis => Bound::Int(secs.saturating_mul(1000)),
            TimeUnit::Timestamp => Bound::Time(secs),
        }
    }
}

/// One query to run: a name for messages, the driver's SQL and its parameter values.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// What the query reads (the kind), for progress and errors.
    pub(crate) what: String,
    /// The SQL with the driver's placeholders.
    pub(crate) sql: String,
    /// The value of each placeholder, in order.
    pub(crate) params: Vec<Bound>,
}

impl Job {
    /// The job of mapping query `sql` for `engine`, with `since` and `until` bound.
    pub(crate) fn new(what: &str, sql: &str, engine: Engine, since: Bound, until: Bound) -> Self {
        let (sql, names) = translate(sql, engine);
        let params = names
            .into_iter()
            .map(|p| match p {
                Param::Since => since,
                Param::Until => until,
            })
            .collect();
        Self {
            what: what.to_string(),
            sql,
            params,
        }
    }
}

/// Where rows go, in the order the queries run.
pub(crate) trait RowSink {
    /// Job `job` starts; its result columns are `names`.
    fn columns(&mut self, job: usize, names: &[String]) -> Result<(), DbExportError>;
    /// One row of job `job`.
    fn row(&mut self, job: usize, cells: Vec<Cell>) -> Result<(), DbExportError>;
    /// Job `job` has no more rows.
    fn done(&mut self, job: usize) -> Result<(), DbExportError>;
}

/// Runs `jobs` in order in one read-only snapshot of the database at `url`.
pub(crate) async fn run_jobs(
    url: &SourceUrl,
    jobs: &[Job],
    sink: &mut dyn RowSink,
) -> Result<(), DbExportError> {
    match url.engine {
        Engine::MySql => mysql::run(url, jobs, sink).await,
        Engine::Postgres => postgres::run(url, jobs, sink).await,
        Engine::Sqlite => sqlite::run(url, jobs, sink),
    }
}

/// Runs statements that change the database at `url` (the example's schema and rows, for
/// tests and benchmarks), in order, each batch in one call.
pub async fn execute(url: &SourceUrl, batches: &[String]) -> Result<(), DbExportError> {
    match url.engine {
        Engine::MySql => mysql::execute(url, batches).await,
        Engine::Postgres => postgres::execute(url, batches).await,
        Engine::Sqlite => sqlite::execute(url, batches),
    }
}
