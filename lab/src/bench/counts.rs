//! The deterministic companions of the timings: SQL statements per operation, read from
//! `pg_stat_statements` for one database at a time, which noise cannot move. The view is
//! read from a database of the bench's own, so that reading it is never counted.

use std::collections::BTreeMap;

use crate::databases::{Database, Databases, Template};

/// `pg_stat_statements`, as seen from the bench's own database.
#[derive(Debug)]
pub struct Statements {
    pool: sqlx::PgPool,
}

impl Statements {
    /// A database for reading the statistics, with the extension in it; `None` (and the
    /// reason on stderr) when the server does not preload `pg_stat_statements`.
    pub async fn open(databases: &Databases) -> (Option<Self>, Option<Database>) {
        let empty = Template::new("bench_stats", |_| async { Ok(()) });
        let opened = async {
            let database = databases.fresh(&empty).await?;
            let pool = chassis::db::pool(&database.url, "kit-bench-stats")?;
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&pool)
                .await?;
            // Fails here, not mid-run, when the library is not preloaded.
            sqlx::query("SELECT count(*) FROM pg_stat_statements")
                .execute(&pool)
                .await?;
            anyhow::Ok((Self { pool }, database))
        };
        match opened.await {
            Ok((statements, database)) => (Some(statements), Some(database)),
            Err(err) => {
                eprintln!("kit bench: SQL statement counts unavailable ({err:#})");
                (None, None)
            }
        }
    }

    /// Forgets what database `name` has run so far.
    pub async fn reset(&self, name: &str) -> anyhow::Result<()> {
        sqlx::query(
            "SELECT pg_stat_statements_reset(0, \
             (SELECT oid FROM pg_database WHERE datname = $1), 0)",
        )
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Statements database `name` ran since its last reset, per role (in the migrated
    /// pair, a role is a service). The pool's own check on every returned connection
    /// ([`chassis::db::RELEASE_CHECK_SQL`]) is left out: it runs after the response has
    /// gone, so whether the last one is counted yet would depend on timing, and it is the
    /// pool's bookkeeping, not the design's work.
    pub async fn count(&self, name: &str) -> anyhow::Result<BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT r.rolname::text, sum(s.calls)::bigint \
             FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid \
             WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = $1) \
               AND s.query <> $2 \
             GROUP BY r.rolname",
        )
        .bind(name)
        .bind(chassis::db::RELEASE_CHECK_SQL)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(role, calls)| (role, calls.max(0) as u64))
            .collect())
    }
}
