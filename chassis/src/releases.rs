//! An owner's releases: shipping one (its migration, the owner's adaptation and its record,
//! in one transaction, as the owner's role), and reading which releases a database has had.
//! The owner services never read that record: their queries go through the owner's shape
//! schema (views and functions presenting the shape the queries expect), which a release
//! replaces in the same transaction as its migration. Nothing here knows a service's tables
//! or the demonstrator's catalogue.

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::config::DatabaseUrl;

/// One owner-side release: what it is called, who ships it, its migration, and the owner's
/// adaptation to it.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    /// The release's id, recorded in the owner's release table.
    pub id: &'a str,
    /// The team that ships it, recorded where a release table is shared.
    pub owner: &'a str,
    /// The migration.
    pub sql: &'a str,
    /// The owner's new shape: SQL that creates, in the owner's shape schema, the views and
    /// functions that present the old shape over the new tables. `None` keeps the shape
    /// there is (a release the owner's queries do not notice).
    pub shape: Option<&'a str>,
}

/// Where a release is recorded and where its owner's shape lives.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The role the release runs as (the schema's owner); `None`: the connection's own.
    pub role: Option<&'a str>,
    /// The release table.
    pub releases: &'a str,
    /// Whether the release table records the owning team (a table that teams share).
    pub owner_column: bool,
    /// The owner's shape schema, emptied of views and functions before a new shape.
    pub shape_schema: &'a str,
    /// The role the owner's service runs as, granted DML on the new shape; `None` where
    /// the service logs in as the owner (one shared login).
    pub runtime_role: Option<&'a str>,
}

/// The roles, other than its owner, that hold a privilege on a view of the shape schema `$1`,
/// each quoted as an identifier.
const SHAPE_GRANTEES: &str = "SELECT DISTINCT quote_ident(a.grantee::regrole::text) \
     FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a \
     WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'v' \
     AND a.grantee <> c.relowner AND a.grantee <> 0";

/// Drops every view and function in `schema`, the owner's old shape: a migration may not
/// change a column a view reads (0A000), and the new shape is created whole.
fn drop_shape_sql(schema: &str) -> String {
    let schema = schema.replace('\'', "''");
    format!(
        "DO $$ DECLARE object text; BEGIN \
         FOR object IN SELECT c.oid::regclass::text FROM pg_class c \
         WHERE c.relnamespace = '{schema}'::regnamespace AND c.relkind = 'v' LOOP \
         EXECUTE format('DROP VIEW IF EXISTS %s CASCADE', object); END LOOP; \
         FOR object IN SELECT p.oid::regprocedure::text FROM pg_proc p \
         WHERE p.pronamespace = '{schema}'::regnamespace LOOP \
         EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', object); END LOOP; END $$"
    )
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Now,
    Already,
}

/// Ships `release` to `target`, in one transaction: drops the owner's old shape (when the
/// release brings a new one), runs the migration, creates the new shape, grants it to the
/// owner's runtime role, and records the release. A request sees the old tables and the old
/// shape, or the new tables and the new shape, never a mix. Applying a release twice does
/// nothing the second time.
pub async fn apply(
    url: &DatabaseUrl,
    target: Target<'_>,
    release: Release<'_>,
) -> Result<Applied, sqlx::Error> {
    let Target {
        role,
        releases,
        owner_column,
        shape_schema,
        runtime_role,
    } = target;
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
    // Whoever could use the old shape can use the new one: its runtime role, and any
    // login granted it since (a login per service on the road).
    let mut grantees: Vec<String> = Vec::new();
    if release.shape.is_some() {
        grantees = sqlx::query_scalar(SHAPE_GRANTEES)
            .bind(shape_schema)
            .fetch_all(&mut *tx)
            .await?;
        tx.execute(drop_shape_sql(shape_schema).as_str()).await?;
    }
    tx.execute(release.sql).await?;
    if let Some(shape) = release.shape {
        tx.execute(shape).await?;
        let runtime = runtime_role.map(|r| format!("\"{}\"", r.replace('"', "\"\"")));
        grantees.extend(runtime);
        grantees.sort();
        grantees.dedup();
        for grantee in grantees {
            let grant = format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {shape_schema} \
                 TO {grantee}"
            );
            tx.execute(grant.as_str()).await?;
        }
    }
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

/// The releases an owner's tables have had, read from its release table: for tools that
/// explain a schema (`legacy check`), never on a request path.
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
