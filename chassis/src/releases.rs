//! An owner's releases: shipping one (its migration and its record, in one transaction, as
//! the owner's role) and, inside the owner service, learning which releases its tables
//! have had. Nothing here knows a service's tables or the demonstrator's catalogue.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

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
/// release table and re-read at most every second, so a release shipped while the service
/// runs is picked up without a restart (the "reload").
#[derive(Debug)]
pub struct Releases {
    pool: PgPool,
    query: String,
    cached: RwLock<Option<(Instant, Arc<BTreeSet<String>>)>>,
}

/// How long a read of the release table is trusted.
pub const RELOAD_AFTER: Duration = Duration::from_secs(1);

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
        Self {
            pool,
            query,
            cached: RwLock::new(None),
        }
    }

    /// The current set of applied scenario ids.
    pub async fn current(&self) -> Result<Arc<BTreeSet<String>>, sqlx::Error> {
        if let Ok(guard) = self.cached.read()
            && let Some((read_at, releases)) = guard.as_ref()
            && read_at.elapsed() < RELOAD_AFTER
        {
            return Ok(releases.clone());
        }
        let rows: Vec<String> = sqlx::query_scalar(&self.query)
            .fetch_all(&self.pool)
            .await?;
        let releases = Arc::new(rows.into_iter().collect::<BTreeSet<_>>());
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some((Instant::now(), releases.clone()));
        }
        Ok(releases)
    }
}
