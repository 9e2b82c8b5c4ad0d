//! The customers schema: who owns it, its own migration history (inside the schema), and
//! the seed data.

use kit::DatabaseUrl;
use kit::migrate::MigrateError;
use kit::ownership::Owner;
use kit::scenario::Releases;
use sqlx::PgPool;

use crate::shape::CustomersTable;

mod embedded {
    refinery::embed_migrations!("../../migrations/customers");
}

pub const SCHEMA: &str = "customers";
/// Owns the schema and runs its migrations; cannot log in.
pub const OWNER_ROLE: &str = "customers_owner";
/// The running service's login: DML on its own schema, nothing else.
pub const RUNTIME_ROLE: &str = "customers_svc";

/// The service's place in the database.
pub fn owner(runtime_password: &str) -> Owner {
    Owner {
        schema: SCHEMA,
        owner_role: OWNER_ROLE,
        runtime_role: RUNTIME_ROLE,
        runtime_password: runtime_password.to_owned(),
    }
}

/// Applies the schema's pending migrations as its owner; returns how many it applied.
pub async fn migrate(admin: &DatabaseUrl) -> Result<usize, MigrateError> {
    kit::ownership::migrate(admin, SCHEMA, OWNER_ROLE, embedded::migrations::runner()).await
}

/// Inserts the seed customers that are missing; returns how many it inserted. Written for
/// the table as the team's releases left it, so a restart after a release still seeds.
pub async fn seed(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let releases = Releases::new(pool.clone(), "customers.schema_releases", None);
    let t = CustomersTable::from_releases(&*releases.current().await?);
    let (columns, values) = t.insert("name", "email", "phone");
    let customers = kit::seed::customers();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO {} (id, {columns}, status, created_at)
         SELECT id, {values}, status, created_at
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
              AS seed (id, name, email, phone, status, created_at)
         ON CONFLICT DO NOTHING",
        t.table
    ))
    .bind(customers.iter().map(|c| c.id).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.name()).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.email.clone()).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.phone.clone()).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.status).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.created_at).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), (SELECT max(id) FROM {0}))",
        t.table
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted)
}
