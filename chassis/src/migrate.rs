//! Runs refinery migrations over a sqlx connection. refinery has no sqlx driver, so this
//! module implements its async traits for one; each owner's history stays where refinery
//! puts it (a table name of the caller's choosing, schema-qualified when the owner has a
//! schema of its own).

use refinery_core::Runner;
use refinery_core::traits::r#async::{AsyncMigrate, AsyncQuery, AsyncTransaction};
use refinery_core::{Migration, Report};
use sqlx::{Connection, PgConnection, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::DatabaseUrl;

/// Why migrations did not complete.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot connect to {url} to migrate: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot take the role {role}: {source}")]
    Role { role: String, source: sqlx::Error },
    #[error(transparent)]
    Refinery(#[from] refinery_core::Error),
}

/// Applies `runner`'s pending migrations to the database at `url`, optionally as `role`
/// (the owner of the schema, so that what the migrations create belongs to it), and says
/// which ones it applied.
pub async fn run(
    url: &DatabaseUrl,
    runner: Runner,
    role: Option<&str>,
) -> Result<Report, MigrateError> {
    let connect_error = |source| MigrateError::Connect {
        url: url.redacted(),
        source,
    };
    let options = url.connect_options().map_err(connect_error)?;
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(connect_error)?;
    if let Some(role) = role {
        // Identifiers cannot be bound as parameters; the role name comes from our code.
        let set_role = format!("SET ROLE \"{}\"", role.replace('"', "\"\""));
        sqlx::Executor::execute(&mut conn, set_role.as_str())
            .await
            .map_err(|source| MigrateError::Role {
                role: role.to_owned(),
                source,
            })?;
    }
    let mut driver = SqlxDriver(conn);
    let report = runner.run_async(&mut driver).await?;
    for migration in report.applied_migrations() {
        tracing::info!(
            version = migration.version(),
            name = migration.name(),
            "migration applied"
        );
    }
    let _ = driver.0.close().await;
    Ok(report)
}

/// A sqlx connection that refinery can drive.
#[derive(Debug)]
struct SqlxDriver(PgConnection);

impl AsyncTransaction for SqlxDriver {
    type Error = sqlx::Error;

    async fn execute<'a, T: Iterator<Item = &'a str> + Send + 'a>(
        &'a mut self,
        queries: T,
    ) -> Result<usize, Self::Error> {
        let mut tx = self.0.begin().await?;
        let mut count = 0;
        for query in queries {
            sqlx::Executor::execute(&mut *tx, query).await?;
            count += 1;
        }
        tx.commit().await?;
        Ok(count)
    }
}

impl AsyncQuery<Vec<Migration>> for SqlxDriver {
    async fn query<'a>(&'a mut self, query: &'a str) -> Result<Vec<Migration>, Self::Error> {
        let rows = sqlx::query(query).fetch_all(&mut self.0).await?;
        rows.iter()
            .map(|row| {
                let applied_on: String = row.try_get("applied_on")?;
                let checksum: String = row.try_get("checksum")?;
                let corrupt = |what: &str| {
                    sqlx::Error::Decode(format!("refinery history: bad {what}").into())
                };
                Ok(Migration::applied(
                    row.try_get("version")?,
                    row.try_get("name")?,
                    OffsetDateTime::parse(&applied_on, &Rfc3339)
                        .map_err(|_| corrupt("applied_on"))?,
                    checksum.parse().map_err(|_| corrupt("checksum"))?,
                ))
            })
            .collect()
    }
}

impl AsyncMigrate for SqlxDriver {}
