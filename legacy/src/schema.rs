//! The shared schema's lifecycle: its migrations (one history for the whole database, as
//! a shared database has) and the seed data.

use kit::DatabaseUrl;
use kit::migrate::MigrateError;
use kit::scenario::{Applied, Scenario};
use sqlx::PgPool;

mod embedded {
    refinery::embed_migrations!("../migrations/legacy");
}

/// Brings the shared schema up to date; returns how many migrations were applied.
pub async fn migrate(url: &DatabaseUrl) -> Result<usize, MigrateError> {
    let report = kit::migrate::run(url, embedded::migrations::runner(), None).await?;
    Ok(report.applied_migrations().len())
}

/// Ships `scenario` as its owner's release on the shared schema. The shared login can
/// change any table: nothing stops a team from changing the one another team reads.
pub async fn ship(url: &DatabaseUrl, scenario: &Scenario) -> Result<Applied, sqlx::Error> {
    kit::scenario::apply(
        url,
        None,
        "schema_releases",
        scenario,
        scenario.legacy_sql,
        true,
    )
    .await
}

/// Inserts the seed customers and orders that are missing; running it again changes
/// nothing. Returns how many rows it inserted. The seed is written for the baseline
/// schema: once an owner has shipped a release (`scenario apply`), it inserts nothing, so
/// that restarting `legacy up` on a released database still starts.
pub async fn seed(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let released: Vec<String> =
        sqlx::query_scalar("SELECT scenario FROM schema_releases ORDER BY applied_at")
            .fetch_all(pool)
            .await?;
    if !released.is_empty() {
        tracing::info!(
            releases = %released.join(", "),
            "seed skipped: it is written for the baseline schema, and owners have shipped releases since"
        );
        return Ok(0);
    }
    let customers = kit::seed::customers();
    let orders = kit::seed::orders();
    let mut tx = pool.begin().await?;
    let inserted_customers = sqlx::query(
        "INSERT INTO customers (id, name, email, phone, status, created_at)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         ON CONFLICT DO NOTHING",
    )
    .bind(customers.iter().map(|c| c.id).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.name()).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.email.clone()).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.phone.clone()).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.status).collect::<Vec<_>>())
    .bind(customers.iter().map(|c| c.created_at).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let inserted_orders = sqlx::query(
        "INSERT INTO orders (id, customer_id, status, total, created_at)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::timestamptz[])
         ON CONFLICT DO NOTHING",
    )
    .bind(orders.iter().map(|o| o.id).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.customer_id).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.status).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.total).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.created_at).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Explicit ids leave the identity sequences behind; new rows must not collide.
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers)),
                setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted_customers + inserted_orders)
}
