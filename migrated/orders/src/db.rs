//! The orders service's SQL: its own schemas, and nothing else. Customers are ids here.
//! Every query of orders goes through `orders_shape.orders`, the view that presents the
//! table in the shape this code expects (money a decimal, statuses the API's words); a
//! release of this team's replaces the view in the same transaction as its migration
//! (migrations/scenarios/*/migrated-shape.sql), so the SQL here never changes, and neither
//! does anything a client sees.

use chassis::http::page::Page;
use rust_decimal::Decimal;
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

/// An order as this service reads it, whatever its table looks like. Never sent as is:
/// the API has its own representation.
#[derive(Debug, Clone, FromRow)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub status: String,
    pub total: Decimal,
    pub created_at: OffsetDateTime,
}

/// The order columns, under the names and meanings the API has always used.
const COLUMNS: &str = "id, customer_id, status, total, created_at";

const FILTER: &str =
    "($1::bigint IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)";

#[tracing::instrument(skip(pool))]
pub async fn list(
    pool: &PgPool,
    customer_id: Option<i64>,
    status: Option<&str>,
    page: Page,
) -> sqlx::Result<(Vec<Order>, i64)> {
    let orders = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders_shape.orders WHERE {FILTER} ORDER BY id LIMIT $3 OFFSET $4"
    ))
    .bind(customer_id)
    .bind(status)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM orders_shape.orders WHERE {FILTER}"
    ))
    .bind(customer_id)
    .bind(status)
    .fetch_one(pool)
    .await?;
    Ok((orders, total))
}

#[tracing::instrument(skip(pool))]
pub async fn find(pool: &PgPool, id: i64) -> sqlx::Result<Option<Order>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders_shape.orders WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// An order as API v2 reads it: the amount in the currency it was paid in, and its value
/// booked in euros. Only a release that publishes v2 gives its shape
/// (`orders_shape.orders_v2`); before one, [`find_v2`] says so.
#[derive(Debug, Clone, FromRow)]
pub struct OrderV2 {
    pub id: i64,
    pub customer_id: i64,
    pub status: String,
    pub amount: Decimal,
    pub currency: String,
    pub total_eur: Decimal,
    pub created_at: OffsetDateTime,
}

/// Whether this database's release publishes API v2 (its shape has `orders_v2`).
#[derive(Debug)]
pub enum V2<T> {
    Published(T),
    NotPublished,
}

/// Order `id` as v2 reads it, or [`V2::NotPublished`] when no release has published v2:
/// the view is what a release adds, so its absence (42P01) is an answer, not a failure.
#[tracing::instrument(skip(pool))]
pub async fn find_v2(pool: &PgPool, id: i64) -> sqlx::Result<V2<Option<OrderV2>>> {
    let found = sqlx::query_as(
        "SELECT id, customer_id, status, amount, currency, total_eur, created_at
         FROM orders_shape.orders_v2 WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await;
    match found {
        Ok(order) => Ok(V2::Published(order)),
        Err(err) if chassis::db::sqlstate(&err).as_deref() == Some("42P01") => Ok(V2::NotPublished),
        Err(err) => Err(err),
    }
}

#[tracing::instrument(skip(conn))]
pub async fn insert(
    conn: &mut PgConnection,
    customer_id: i64,
    total: Decimal,
) -> sqlx::Result<Order> {
    // A new order is NEW in the API's words, whatever the table's word for it.
    sqlx::query_as(&format!(
        "INSERT INTO orders_shape.orders (customer_id, status, total) VALUES ($1, 'NEW', $2)
         RETURNING {COLUMNS}"
    ))
    .bind(customer_id)
    .bind(total)
    .fetch_one(conn)
    .await
}

/// Places an order and, given `(key, request_hash)`, remembers its idempotency key, in one
/// transaction. `None` when another request took the key first: nothing is written.
#[tracing::instrument(skip(pool))]
pub async fn place(
    pool: &PgPool,
    customer_id: i64,
    total: Decimal,
    key: Option<(String, String)>,
) -> sqlx::Result<Option<Order>> {
    let mut tx = pool.begin().await?;
    let order = insert(&mut tx, customer_id, total).await?;
    if let Some((key, request_hash)) = key
        && !remember_key(&mut tx, &key, &request_hash, order.id).await?
    {
        return Ok(None); // dropping `tx` rolls the order back
    }
    tx.commit().await?;
    Ok(Some(order))
}

/// The order an idempotency key already produced, with the hash of the request that used it.
#[tracing::instrument(skip(executor))]
pub async fn idempotent_order(
    executor: impl PgExecutor<'_>,
    key: &str,
) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as("SELECT request_hash, order_id FROM orders.idempotency_keys WHERE key = $1")
        .bind(key)
        .fetch_optional(executor)
        .await
}

/// Whether the key was free (and is now this order's).
#[tracing::instrument(skip(conn))]
async fn remember_key(
    conn: &mut PgConnection,
    key: &str,
    request_hash: &str,
    order_id: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO orders.idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(request_hash)
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The order's status, in the API's words, locked until the transaction ends.
#[tracing::instrument(skip(conn))]
pub async fn lock_status(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT status FROM orders_shape.orders WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Sets the API's `status` (one of `api::STATUSES`).
#[tracing::instrument(skip(conn))]
pub async fn set_status(conn: &mut PgConnection, id: i64, status: &str) -> sqlx::Result<Order> {
    sqlx::query_as(&format!(
        "UPDATE orders_shape.orders SET status = $2 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(status)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM orders_shape.orders WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// A customer's order figures, from this service's own table: which statuses are open and
/// which money counts is this team's knowledge, and stays here.
#[derive(Debug, Clone, FromRow)]
pub struct Stats {
    pub open_order_count: i64,
    pub lifetime_value: Decimal,
}

#[tracing::instrument(skip(pool))]
pub async fn stats(pool: &PgPool, customer_id: i64) -> sqlx::Result<Stats> {
    // A customer without orders has 0, as ever.
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('NEW', 'PAID')) AS open_order_count,
                COALESCE(sum(total) FILTER (WHERE status <> 'CANCELLED'), 0) AS lifetime_value
         FROM orders_shape.orders WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_one(pool)
    .await
}
