//! The customers service's SQL: its own schemas, and nothing else. Every query goes through
//! `customers_shape.customers`, the view that presents the table in the shape this code
//! expects; a release of this team's replaces the view in the same transaction as its
//! migration (migrations/scenarios/*/migrated-shape.sql), so the SQL here never changes,
//! and neither does anything a client sees.

use chassis::http::page::Page;
use sqlx::{FromRow, PgPool};
use time::OffsetDateTime;

/// A customer as this service reads it, whatever its table looks like. Never sent as is:
/// the API has its own representation.
#[derive(Debug, Clone, FromRow)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub version: i32,
}

#[derive(Debug)]
pub struct NewCustomer {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

#[derive(Debug, Default)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: Option<&'static str>,
}

/// The customer columns, under the names the API has always used.
const COLUMNS: &str = "id, name, email, phone, status, created_at, version";

#[tracing::instrument(skip(pool))]
pub async fn list(pool: &PgPool, page: Page) -> sqlx::Result<(Vec<Customer>, i64)> {
    let customers = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM customers_shape.customers ORDER BY id LIMIT $1 OFFSET $2"
    ))
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM customers_shape.customers")
        .fetch_one(pool)
        .await?;
    Ok((customers, total))
}

/// The customers among `ids` that exist, in id order: the batch lookup.
#[tracing::instrument(skip(pool))]
pub async fn by_ids(pool: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Customer>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM customers_shape.customers WHERE id = ANY($1) ORDER BY id"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

#[tracing::instrument(skip(pool))]
pub async fn find(pool: &PgPool, id: i64) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM customers_shape.customers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

#[tracing::instrument(skip(pool))]
pub async fn insert(pool: &PgPool, new: &NewCustomer) -> sqlx::Result<Customer> {
    sqlx::query_as(&format!(
        "INSERT INTO customers_shape.customers (name, email, phone) VALUES ($1, $2, $3)
         RETURNING {COLUMNS}"
    ))
    .bind(&new.name)
    .bind(&new.email)
    .bind(&new.phone)
    .fetch_one(pool)
    .await
}

/// Applies `changes` when the row is still at `expected_version` (if given). `None` when
/// there is no such customer, or it changed since the client read it (the caller tells which).
#[tracing::instrument(skip(pool))]
pub async fn update(
    pool: &PgPool,
    id: i64,
    changes: &CustomerChanges,
    expected_version: Option<i32>,
) -> sqlx::Result<Option<Customer>> {
    // A NULL parameter keeps the column.
    sqlx::query_as(&format!(
        "UPDATE customers_shape.customers SET name = COALESCE($2, name),
                email = COALESCE($3, email), phone = COALESCE($4, phone),
                status = COALESCE($5, status), version = version + 1
         WHERE id = $1 AND ($6::int IS NULL OR version = $6)
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&changes.name)
    .bind(&changes.email)
    .bind(&changes.phone)
    .bind(changes.status)
    .bind(expected_version)
    .fetch_optional(pool)
    .await
}

/// Deletes a customer, as the shape says a delete is (after `soft-delete`, a mark that
/// every read respects).
#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM customers_shape.customers WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}
