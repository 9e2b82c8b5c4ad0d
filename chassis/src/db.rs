//! Connection pools and the reading of database errors. Every service connects through here
//! so that each connection carries the service's `application_name` (visible in
//! `pg_stat_activity`, which is how the walkthrough shows who touches what).

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool, Row};

use crate::config::DatabaseUrl;

/// How long a request waits for a pooled connection before it is answered with 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection idle longer than this is pinged before it is handed out.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The statement every connection runs when it goes back to the pool: true when it is not
/// inside a transaction. Over the simple protocol, a statement outside a transaction starts
/// its own at the instant the statement starts; inside one, the transaction began earlier,
/// or holds a write and so an id. Public so that statement counts (`kit bench`) can leave
/// it out: it is the pool's bookkeeping, not the service's work.
pub const RELEASE_CHECK_SQL: &str = "SELECT pg_current_xact_id_if_assigned() IS NULL \
     AND transaction_timestamp() = statement_timestamp()";

/// A pool for one service. Connections are opened on demand, so a service starts (and
/// answers 503) while its database is down, and recovers when it returns.
///
/// sqlx pings every connection it hands out by default (`test_before_acquire`): one more
/// round trip to Postgres per query, a fifth of the CPU samples of a busy service. Under
/// load a connection comes back within milliseconds and is as alive as it was; what the
/// ping is for is a connection that sat idle while the server restarted or a proxy cut it.
/// So only a connection idle for [`PING_AFTER_IDLE`] is pinged, and one that fails the ping
/// is closed and replaced before any query sees it. A connection that dies while busy
/// fails its query with an I/O error, which [`failure`] turns into a 503 for that one
/// request, and sqlx closes it; the idle timeout and maximum lifetime (sqlx's 10 and 30
/// minutes) retire the rest.
///
/// A connection handed back inside a transaction is closed, not kept: sqlx 0.8 returns one
/// when a `begin` is cancelled after its `BEGIN` was sent (launchbadge/sqlx#4393), and the
/// next borrower's writes would then run in that transaction, acknowledged and never
/// committed. Closing it makes the server roll the transaction back.
pub fn pool(url: &DatabaseUrl, application_name: &str) -> Result<PgPool, sqlx::Error> {
    let options = url.connect_options()?.application_name(application_name);
    Ok(PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_release(|conn, _| {
            Box::pin(async move {
                // sqlx only knows the transactions it finished starting; ask the server.
                let row = conn.fetch_one(RELEASE_CHECK_SQL).await?;
                let idle: bool = row.try_get(0)?;
                if !idle {
                    tracing::warn!("closing a pooled connection left inside a transaction");
                }
                Ok(idle)
            })
        })
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_AFTER_IDLE {
                    return Ok(true);
                }
                // A failed ping closes this connection; the pool opens another.
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
        .connect_lazy_with(options))
}

/// Runs a request's database work to its end, even if the request is cancelled first (its
/// client hung up): a transaction then commits or rolls back in full, never stops half-way
/// inside `begin` or `commit`. `E` is the service's error; a panic in `work` goes on as a
/// panic of the request.
pub async fn to_completion<T, E>(
    work: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<sqlx::Error> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        // Only a runtime that is shutting down cancels the task: the database is as good as
        // gone for this request.
        Err(_) => Err(sqlx::Error::PoolClosed.into()),
    }
}

/// What a failed query means for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The database cannot be reached or has no connection to spare: retry later.
    Unavailable,
    /// A constraint said no; its name tells which rule.
    Constraint(&'a str),
    /// Anything else: a bug or a schema that changed under the service.
    Other,
}

/// Sorts a database error into what a service can tell its client.
pub fn failure(err: &sqlx::Error) -> Failure<'_> {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Failure::Unavailable
        }
        sqlx::Error::Database(db) => match (db.code(), db.constraint()) {
            // 57P01..03: the server is shutting down or not accepting connections yet.
            (Some(code), _) if code.starts_with("57P") => Failure::Unavailable,
            (_, Some(name)) => Failure::Constraint(name),
            _ => Failure::Other,
        },
        _ => Failure::Other,
    }
}

/// The SQLSTATE of a database error, for logs and for tests that assert how a query broke.
pub fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}

/// `GET /health` for a service whose only dependency is its database: 200 when it
/// answers, a 503 problem when it does not.
pub async fn health(
    pool: &PgPool,
) -> Result<crate::http::Json<serde_json::Value>, crate::http::Problem> {
    match sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(pool)
        .await
    {
        Ok(_) => Ok(crate::http::Json(serde_json::json!({ "status": "ok" }))),
        Err(err) => {
            tracing::warn!(%err, "health check failed");
            Err(crate::http::Problem::database_unavailable())
        }
    }
}
