//! An owner's releases: shipping one (its migration and its record, in one transaction, as
//! the owner's role) and, inside the owner service, learning which releases its tables
//! have had. Nothing here knows a service's tables or the demonstrator's catalogue.

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::config::DatabaseUrl;

/// One owner-side release: what it is called, who ships it, and its migration.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    /// The release's id, recorded in the owner's release table.
    pub id: &'a str,
    /// The team that ships it, recorded where a release table is shared.
    pub owner: &'a str,
    /// The migration.
    pub sql: &'a str,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Now,
    Already,
}

/// Ships `release`: runs its migration and records it in `releases` (a table name; with
/// `owner_column`, the owning team is recorded too), in one transaction, as `role` if
/// given. Applying a release twice does nothing the second time.
pub async fn apply(
    url: &DatabaseUrl,
    role: Option<&str>,
    releases: &str,
    release: Release<'_>,
    owner_column: bool,
) -> Result<Applied, sqlx::Error> {
    let mut conn = PgConnection::connect_with(&url.connect_options()?).await?;
    let mut tx = conn.begin().await?;
    if let Some(role) = role {
        let set_role = format!("SET LOCAL ROLE \"{}\"", role.replace('"', "\"\""));
        tx.execute(set_role.as_str()).await?;
    }
    let lock = format!("LOCK TABLE {releases} IN EXCLUSIVE MODE");
    tx.execute(lock.as_str()).await?;
    let done: Option<String> = sqlx::query_scalar(&format!(
        "SELECT scenario FROM {releases} WHERE scenario = $1"
    ))
    .bind(release.id)
    .fetch_optional(&mut *tx)
    .await?;
    if done.is_some() {
        return Ok(Applied::Already);
    }
    tx.execute(release.sql).await?;
    let record = if owner_column {
        format!("INSERT INTO {releases} (scenario, owner) VALUES ($1, $2)")
    } else {
        format!("INSERT INTO {releases} (scenario) VALUES ($1)")
    };
    let mut insert = sqlx::query(&record).bind(release.id);
    if owner_column {
        insert = insert.bind(release.owner);
    }
    insert.execute(&mut *tx).await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(Applied::Now)
}

/// The releases an owner's tables have had, as the owner service sees them: read from its
/// release table each time the service asks, so a release is in force from the first
/// request after its transaction commits, with no restart and no reload period. A cached
/// copy would leave a window in which the owner runs its old SQL against its new schema,
/// and would make anyone who ships a release guess how long to wait; a lookup in a table of
/// a few rows costs less than either.
#[derive(Debug)]
pub struct Releases {
    pool: PgPool,
    query: String,
}

impl Releases {
    /// Releases recorded in `table`, optionally only those of `owner` (a shared table).
    pub fn new(pool: PgPool, table: &str, owner: Option<&str>) -> Self {
        let query = match owner {
            Some(owner) => format!(
                "SELECT scenario FROM {table} WHERE owner = '{}'",
                owner.replace('\'', "''")
            ),
            None => format!("SELECT scenario FROM {table}"),
        };
        Self { pool, query }
    }

    /// The set of applied scenario ids, as committed now.
    pub async fn current(&self) -> Result<Arc<BTreeSet<String>>, sqlx::Error> {
        let rows: Vec<String> = sqlx::query_scalar(&self.query)
            .fetch_all(&self.pool)
            .await?;
        Ok(Arc::new(rows.into_iter().collect()))
    }
}
