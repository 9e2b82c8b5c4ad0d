//! The orders schema: who owns it, its own migration history (inside the schema), and
//! the seed data.

use kit::DatabaseUrl;
use kit::migrate::MigrateError;
use kit::ownership::Owner;
use kit::scenario::Releases;
use sqlx::PgPool;

use crate::shape::OrdersTable;

mod embedded {
    refinery::embed_migrations!("../../migrations/orders");
}

pub const SCHEMA: &str = "orders";
/// Owns the schema and runs its migrations; cannot log in.
pub const OWNER_ROLE: &str = "orders_owner";
/// The running service's login: DML on its own schema, nothing else.
pub const RUNTIME_ROLE: &str = "orders_svc";

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

/// Inserts the seed orders that are missing; returns how many it inserted. Written for
/// the table as the team's releases left it, so a restart after a release still seeds.
pub async fn seed(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let releases = Releases::new(pool.clone(), "orders.schema_releases", None);
    let t = OrdersTable::from_releases(&*releases.current().await?);
    let orders = kit::seed::orders();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO orders.orders (id, customer_id, status, total, created_at)
         SELECT id, customer_id, status, {}, created_at
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::timestamptz[])
              AS seed (id, customer_id, status, total, created_at)
         ON CONFLICT DO NOTHING",
        t.stored_total("total")
    ))
    .bind(orders.iter().map(|o| o.id).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.customer_id).collect::<Vec<_>>())
    .bind(
        orders
            .iter()
            .map(|o| t.stored(o.status))
            .collect::<Vec<_>>(),
    )
    .bind(orders.iter().map(|o| o.total).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.created_at).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('orders.orders', 'id'), (SELECT max(id) FROM orders.orders))",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted)
}
