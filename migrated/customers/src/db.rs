//! The customers service's SQL: its own schema, and nothing else. Every query is built from
//! the table's current shape (`shape.rs`), so a release of this team's changes the SQL here
//! and nothing a client sees.

use chassis::http::page::Page;
use sqlx::{FromRow, PgPool};
use time::OffsetDateTime;

use crate::shape::CustomersTable;

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

#[tracing::instrument(skip(pool))]
pub async fn list(
    pool: &PgPool,
    t: &CustomersTable,
    page: Page,
) -> sqlx::Result<(Vec<Customer>, i64)> {
    let (columns, table, live) = (t.columns(), t.table, t.live());
    let customers = sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE {live} ORDER BY id LIMIT $1 OFFSET $2"
    ))
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {live}"))
        .fetch_one(pool)
        .await?;
    Ok((customers, total))
}

/// The customers among `ids` that exist, in id order: the batch lookup.
#[tracing::instrument(skip(pool))]
pub async fn by_ids(pool: &PgPool, t: &CustomersTable, ids: &[i64]) -> sqlx::Result<Vec<Customer>> {
    sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE id = ANY($1) AND {} ORDER BY id",
        t.columns(),
        t.table,
        t.live()
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

#[tracing::instrument(skip(pool))]
pub async fn find(pool: &PgPool, t: &CustomersTable, id: i64) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE id = $1 AND {}",
        t.columns(),
        t.table,
        t.live()
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

#[tracing::instrument(skip(pool))]
pub async fn insert(
    pool: &PgPool,
    t: &CustomersTable,
    new: &NewCustomer,
) -> sqlx::Result<Customer> {
    let (columns, values) = t.insert("$1", "$2", "$3");
    sqlx::query_as(&format!(
        "INSERT INTO {} ({columns}) VALUES ({values}) RETURNING {}",
        t.table,
        t.columns()
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
    t: &CustomersTable,
    id: i64,
    changes: &CustomerChanges,
    expected_version: Option<i32>,
) -> sqlx::Result<Option<Customer>> {
    // A NULL parameter keeps the column: the value expressions are NULL for a NULL name too.
    let name = t
        .name_values("$2")
        .into_iter()
        .map(|(column, value)| format!("{column} = COALESCE({value}, {column})"))
        .collect::<Vec<_>>()
        .join(", ");
    let email = t.email;
    sqlx::query_as(&format!(
        "UPDATE {} SET {name}, {email} = COALESCE($3, {email}),
                phone = COALESCE($4, phone), status = COALESCE($5, status), version = version + 1
         WHERE id = $1 AND {} AND ($6::int IS NULL OR version = $6)
         RETURNING {}",
        t.table,
        t.live(),
        t.columns()
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

/// Deletes a customer; after `soft-delete`, marks it deleted, which every read respects.
#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, t: &CustomersTable, id: i64) -> sqlx::Result<bool> {
    let sql = if t.soft_delete {
        format!(
            "UPDATE {} SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
            t.table
        )
    } else {
        format!("DELETE FROM {} WHERE id = $1", t.table)
    };
    let result = sqlx::query(&sql).bind(id).execute(pool).await?;
    Ok(result.rows_affected() > 0)
}
