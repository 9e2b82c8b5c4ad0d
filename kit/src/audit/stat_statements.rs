//! Evidence from `pg_stat_statements`: one row per (role, normalised statement) with its
//! call count. It tells services apart only by login role, so it fits a database where
//! each service has its own (the migrated pair); on a shared login every statement lands
//! on one role, and the audit reports that role as an unknown connection. Needs the
//! extension (`shared_preload_libraries = 'pg_stat_statements'`, then
//! `CREATE EXTENSION pg_stat_statements`) and a role that may read every role's text
//! (`pg_read_all_stats`).

use sqlx::{Connection, PgConnection};

use super::Observation;

/// Why the statistics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatStatementsError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error(
        "pg_stat_statements is not available in this database: add it to shared_preload_libraries, restart, and run CREATE EXTENSION pg_stat_statements"
    )]
    Missing(#[source] sqlx::Error),
    #[error("cannot read pg_stat_statements: {0}")]
    Query(#[source] sqlx::Error),
}

/// The statements of the current database, with the role that ran them.
const QUERY: &str = "SELECT r.rolname::text, s.query, s.calls
    FROM pg_stat_statements s
    JOIN pg_roles r ON r.oid = s.userid
    JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = current_database() AND s.query IS NOT NULL";

/// Reads the statistics of the database at `url`.
pub async fn collect(url: &str) -> Result<Vec<Observation>, StatStatementsError> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(StatStatementsError::Connect)?;
    let rows: Vec<(String, String, i64)> = sqlx::query_as(QUERY)
        .fetch_all(&mut conn)
        .await
        .map_err(|e| match e.as_database_error().and_then(|d| d.code()) {
            Some(code) if code == "42P01" => StatStatementsError::Missing(e),
            _ => StatStatementsError::Query(e),
        })?;
    let _ = conn.close().await;
    Ok(rows
        .into_iter()
        .map(|(role, text, calls)| Observation {
            role: Some(role),
            application_name: None,
            text,
            calls: u64::try_from(calls).unwrap_or_default(),
        })
        .collect())
}
