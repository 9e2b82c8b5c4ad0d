//! `legacy check`: before any traffic, every SQL statement the two services run, prepared
//! against the live schema, and the ones the schema breaks, each explained. The breakage
//! was detectable, by someone who knew to look.
//!
//! The statements are each service's `db::statements`, built from the same functions and
//! consts its queries run (an owner's own queries go through its shape schema, which its
//! releases keep; the releases are read only to explain a break): the check cannot drift
//! from the code. Each statement is prepared with the
//! parameter types the code binds (not the ones Postgres would infer), then run once with
//! representative values inside a transaction that is rolled back, so that what only
//! execution shows (a CHECK constraint, row-level security, a trigger, a missing privilege)
//! shows too, with its SQLSTATE. Nothing is ever committed. It finds what fails; it cannot
//! find what is merely wrong.

#[cfg(test)]
mod coverage;
mod explain;
mod not_null;
mod report;

#[cfg(test)]
pub(crate) use coverage::assert_lists_every_query;
pub use report::{Break, Checked, Report};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chassis::DatabaseUrl;
use chassis::releases::Releases;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgTypeInfo};
use sqlx::{Arguments, Connection, Executor, PgConnection, PgPool};

use crate::{customers, orders};
use explain::{Fault, explain};

/// The application name the check's connections carry, as `pg_stat_activity` shows it.
pub const CHECK_APP: &str = "legacy-check";

/// How long the check waits for the database to answer a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One SQL statement a service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The service that runs it: `customers` or `orders`.
    pub service: &'static str,
    /// The `db.rs` function that runs it; `list (count)` is `list`'s second statement.
    pub name: &'static str,
    /// The text the function sends, for the current shape of the owner's table.
    pub sql: String,
    /// The other team's table it reaches into, as the statement names it; `None` when it
    /// touches only its own service's table.
    pub reaches_into: Option<&'static str>,
    /// What the function binds to `$1`, `$2`…, typed as the code binds it, with a value
    /// like the ones it binds.
    pub binds: Vec<Bind>,
}

/// One parameter as the code binds it: its Rust type decides the Postgres type, and the
/// value is a representative one (the seed's customer 1, a page of 20…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// An `i64`.
    Int8(i64),
    /// An `Option<i64>` that is `None`.
    NullInt8,
    /// A `&str` or `String`.
    Text(&'static str),
    /// An `Option<&str>` or `Option<String>` that is `None`.
    NullText,
    /// A `rust_decimal::Decimal`.
    Numeric(rust_decimal::Decimal),
    /// A `&[i64]` (a batch of ids).
    Int8s(&'static [i64]),
}

impl Bind {
    /// The Postgres type sqlx sends for it.
    pub fn pg_type(&self) -> &'static str {
        match self {
            Self::Int8(_) | Self::NullInt8 => "int8",
            Self::Text(_) | Self::NullText => "text",
            Self::Numeric(_) => "numeric",
            Self::Int8s(_) => "_int8",
        }
    }

    fn add_to(&self, args: &mut PgArguments) -> Result<(), sqlx::error::BoxDynError> {
        match self {
            Self::Int8(v) => args.add(*v),
            Self::NullInt8 => args.add(None::<i64>),
            Self::Text(v) => args.add(*v),
            Self::NullText => args.add(None::<&str>),
            Self::Numeric(v) => args.add(*v),
            Self::Int8s(v) => args.add(*v),
        }
    }
}

impl Statement {
    pub(crate) fn own(service: &'static str, name: &'static str, sql: String) -> Self {
        Self {
            service,
            name,
            sql,
            reaches_into: None,
            binds: Vec::new(),
        }
    }

    pub(crate) fn reaching_into(
        service: &'static str,
        name: &'static str,
        sql: &str,
        table: &'static str,
    ) -> Self {
        Self {
            service,
            name,
            sql: sql.to_owned(),
            reaches_into: Some(table),
            binds: Vec::new(),
        }
    }

    /// The statement with what its function binds.
    pub(crate) fn binding(mut self, binds: impl Into<Vec<Bind>>) -> Self {
        self.binds = binds.into();
        self
    }

    /// The other team: the owner of the table this statement reaches into.
    fn other_team(&self) -> &'static str {
        if self.service == customers::TEAM {
            orders::TEAM
        } else {
            customers::TEAM
        }
    }

    /// What the statement does to a table, as a verb.
    fn verb(&self) -> &'static str {
        let first = self.sql.split_whitespace().next().unwrap_or_default();
        match first.to_ascii_uppercase().as_str() {
            "INSERT" => "writes",
            "UPDATE" => "updates",
            "DELETE" => "deletes from",
            _ => "reads",
        }
    }
}

/// A legacy service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Customers,
    Orders,
}

impl Service {
    pub const BOTH: [Self; 2] = [Self::Customers, Self::Orders];

    /// The team that owns the service and its table, as `schema_releases` names it.
    pub fn team(self) -> &'static str {
        match self {
            Self::Customers => customers::TEAM,
            Self::Orders => orders::TEAM,
        }
    }

    fn releases(self, pool: PgPool) -> Releases {
        match self {
            Self::Customers => customers::releases(pool),
            Self::Orders => orders::releases(pool),
        }
    }

    fn statements(self) -> Vec<Statement> {
        match self {
            Self::Customers => customers::statements(),
            Self::Orders => orders::statements(),
        }
    }
}

/// Why the check could not run. Every message names the database without its password.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot connect to {url}: no answer within {}s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout { url: String },
    #[error(
        "{url} has no schema_releases table: it is not a migrated legacy database \
         (`legacy migrate` migrates one)"
    )]
    NotMigrated { url: String },
    #[error("the database at {url} failed during the check: {source}")]
    Database { url: String, source: sqlx::Error },
}

/// Checks every statement of `services` against the database at `url`, each built for the
/// releases its owner has shipped there.
pub async fn run(url: &DatabaseUrl, services: &[Service]) -> Result<Report, CheckError> {
    let shown = url.redacted();
    let connect = |source| CheckError::Connect {
        url: shown.clone(),
        source,
    };
    let options = url
        .connect_options()
        .map_err(connect)?
        .application_name(CHECK_APP);
    // A connection of its own: a pool retries a refused connection until it times out,
    // and then says only that it timed out.
    let mut conn =
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(source)) => return Err(connect(source)),
            Err(_) => return Err(CheckError::ConnectTimeout { url: shown }),
        };
    let releases = read_releases(&options).await.map_err(|source| {
        if chassis::db::sqlstate(&source).as_deref() == Some("42P01") {
            CheckError::NotMigrated { url: shown.clone() }
        } else {
            CheckError::Database {
                url: shown.clone(),
                source,
            }
        }
    })?;
    let mut checked = Vec::new();
    for service in services {
        for statement in service.statements() {
            let broken = check(&mut conn, &statement, &releases)
                .await
                .map_err(|source| CheckError::Database {
                    url: shown.clone(),
                    source,
                })?;
            checked.push(Checked { statement, broken });
        }
    }
    // The check is done; a failure to say goodbye changes nothing in it.
    let _ = conn.close().await;
    Ok(Report { checked, releases })
}

/// Each team's releases, read as its service reads them: through a pool, with its query.
async fn read_releases(
    options: &PgConnectOptions,
) -> Result<BTreeMap<&'static str, BTreeSet<String>>, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_lazy_with(options.clone());
    let mut releases = BTreeMap::new();
    for service in Service::BOTH {
        let shipped = service.releases(pool.clone()).current().await;
        releases.insert(service.team(), BTreeSet::clone(&*shipped?));
    }
    pool.close().await;
    Ok(releases)
}

/// What the live schema does to one statement. An error is the database's, not the
/// statement's: the check cannot go on.
async fn check(
    conn: &mut PgConnection,
    statement: &Statement,
    releases: &BTreeMap<&'static str, BTreeSet<String>>,
) -> Result<Option<Break>, sqlx::Error> {
    let types: Vec<PgTypeInfo> = statement
        .binds
        .iter()
        .map(|b| PgTypeInfo::with_name(b.pg_type()))
        .collect();
    let prepared = (&mut *conn)
        .prepare_with(statement.sql.as_str(), &types)
        .await
        .map(|_| ());
    let fault = match database_fault(prepared)? {
        Some(fault) => fault,
        None => match not_null::missing_required_column(conn, &statement.sql).await? {
            Some((table, column)) => Fault {
                sqlstate: "23502".to_owned(),
                message: format!(
                    "null value in column \"{column}\" of relation \"{table}\" violates \
                     not-null constraint"
                ),
                missing: Some((table, column)),
            },
            None => match database_fault(execute_and_roll_back(conn, statement).await)? {
                Some(fault) => fault,
                None => return Ok(None),
            },
        },
    };
    Ok(Some(explain(statement, fault, releases)))
}

/// The statement's own failure, if the database reported one; any other error is the
/// check's.
fn database_fault(result: Result<(), sqlx::Error>) -> Result<Option<Fault>, sqlx::Error> {
    match result {
        Ok(()) => Ok(None),
        Err(sqlx::Error::Database(err)) => Ok(Some(Fault {
            sqlstate: err.code().map(|c| c.into_owned()).unwrap_or_default(),
            message: err.message().to_owned(),
            missing: None,
        })),
        Err(err) => Err(err),
    }
}

/// Runs `statement` once with its representative binds, in a transaction that is always
/// rolled back: constraints, triggers, row-level security and privileges answer, and
/// nothing stays.
async fn execute_and_roll_back(
    conn: &mut PgConnection,
    statement: &Statement,
) -> Result<(), sqlx::Error> {
    let mut args = PgArguments::default();
    for bind in &statement.binds {
        bind.add_to(&mut args).map_err(sqlx::Error::Encode)?;
    }
    let mut tx = conn.begin().await?;
    let ran = sqlx::query_with(statement.sql.as_str(), args)
        .fetch_all(&mut *tx)
        .await
        .map(|_| ());
    tx.rollback().await?;
    ran
}

/// The check as a service starts: a WARN line per broken statement, and the service starts
/// anyway (as a legacy service does; nobody reads the warnings).
pub async fn warn_at_startup(url: &DatabaseUrl, services: &[Service]) {
    match run(url, services).await {
        Ok(report) => {
            for (statement, broken) in report.broken() {
                tracing::warn!(
                    service = statement.service,
                    statement = statement.name,
                    sqlstate = %broken.sqlstate,
                    "broken by the live schema: {} {}",
                    broken.what,
                    broken.why
                );
            }
            if report.exit_code() == 0 {
                tracing::info!(
                    statements = report.checked.len(),
                    "every SQL statement prepares against the live schema"
                );
            }
        }
        Err(err) => tracing::warn!(%err, "could not check the SQL statements against the schema"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_know_which_team_they_reach_into() {
        let reaching: Vec<(&str, &str, &str)> = Service::BOTH
            .iter()
            .flat_map(|s| s.statements())
            .filter_map(|s| s.reaches_into.map(|t| (s.service, s.name, t)))
            .collect();
        assert_eq!(
            reaching,
            [
                ("customers", "order_stats", "orders"),
                ("customers", "open_order_count", "orders"),
                ("orders", "list", "customers"),
                ("orders", "find", "customers"),
                ("orders", "customer_status", "customers"),
                ("orders", "insert_guest_customer", "customers"),
            ]
        );
    }
}
