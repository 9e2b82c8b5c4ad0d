//! The customers service's SQL. The first queries touch its own table, through the view
//! `customers_shape.customers` that each of its team's releases keeps in the shape these
//! queries expect (migrations/scenarios/*/legacy-shape.sql); the last two reach into the
//! orders service's table and
//! depend on its columns and its status vocabulary, as they were when they were written;
//! or, reaching through the orders team's contract ([`Reach::Contract`]), on its view
//! `orders_api.order_v1`, which says which orders are open and which money counts.
//! Each query's text comes from one function or const, which [`statements`] lists too:
//! `legacy check` prepares exactly what runs.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

use chassis::http::page::Page;

use crate::Reach;
use crate::check::{Bind, Statement};

/// A customer as the API returns it, whatever the table looks like today.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a client may set on create; validated.
#[derive(Debug)]
pub struct NewCustomer {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// What a client may change; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: Option<&'static str>,
}

/// The customer columns, under the names the API has always used.
const COLUMNS: &str = "id, name, email, phone, status, created_at";

fn list_sql() -> String {
    format!("SELECT {COLUMNS} FROM customers_shape.customers ORDER BY id LIMIT $1 OFFSET $2")
}

const COUNT: &str = "SELECT count(*) FROM customers_shape.customers";

#[tracing::instrument(skip(db))]
pub async fn list(db: &PgPool, page: Page) -> sqlx::Result<(Vec<Customer>, i64)> {
    let customers = sqlx::query_as(&list_sql())
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(COUNT).fetch_one(db).await?;
    Ok((customers, total))
}

fn find_sql() -> String {
    format!("SELECT {COLUMNS} FROM customers_shape.customers WHERE id = $1")
}

#[tracing::instrument(skip(db))]
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as(&find_sql())
        .bind(id)
        .fetch_optional(db)
        .await
}

fn find_many_sql() -> String {
    format!("SELECT {COLUMNS} FROM customers_shape.customers WHERE id = ANY($1) ORDER BY id")
}

/// Several customers by id, for the `/v1` batch lookup; unknown ids are absent.
#[tracing::instrument(skip(db))]
pub async fn find_many(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<Customer>> {
    sqlx::query_as(&find_many_sql())
        .bind(ids)
        .fetch_all(db)
        .await
}

fn insert_sql() -> String {
    format!(
        "INSERT INTO customers_shape.customers (name, email, phone) VALUES ($1, $2, $3) \
         RETURNING {COLUMNS}"
    )
}

#[tracing::instrument(skip(db))]
pub async fn insert(db: impl PgExecutor<'_>, new: &NewCustomer) -> sqlx::Result<Customer> {
    sqlx::query_as(&insert_sql())
        .bind(&new.name)
        .bind(&new.email)
        .bind(&new.phone)
        .fetch_one(db)
        .await
}

fn update_sql() -> String {
    // A NULL parameter keeps the column.
    format!(
        "UPDATE customers_shape.customers SET name = COALESCE($2, name),
                email = COALESCE($3, email), phone = COALESCE($4, phone),
                status = COALESCE($5, status)
         WHERE id = $1
         RETURNING {COLUMNS}"
    )
}

#[tracing::instrument(skip(db))]
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    changes: &CustomerChanges,
) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as(&update_sql())
        .bind(id)
        .bind(&changes.name)
        .bind(&changes.email)
        .bind(&changes.phone)
        .bind(changes.status)
        .fetch_optional(db)
        .await
}

const LOCK: &str = "SELECT id FROM customers_shape.customers WHERE id = $1 FOR UPDATE";

/// Locks the customer row so that no order slips in between the guard and the delete.
#[tracing::instrument(skip(conn))]
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(LOCK)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

const DELETE: &str = "DELETE FROM customers_shape.customers WHERE id = $1";

/// Removes the customer, as the shape says a delete is (after `soft-delete`, a mark on the
/// row: audits keep it).
#[tracing::instrument(skip(conn))]
pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query(DELETE).bind(id).execute(conn).await?;
    Ok(())
}

/// A customer's order figures, read straight from the orders service's table (or, on the
/// road's state 3, from its API).
#[derive(Debug, Clone, PartialEq, FromRow, serde::Deserialize)]
pub struct OrderStats {
    pub open_order_count: i64,
    pub lifetime_value: Decimal,
}

/// Reaches into `orders`: which statuses count as open, and which money counts, is the
/// orders team's knowledge, copied here.
const ORDER_STATS: &str =
    "SELECT count(*) FILTER (WHERE status IN ('NEW', 'PAID')) AS open_order_count,
                COALESCE(sum(total) FILTER (WHERE status <> 'CANCELLED'), 0) AS lifetime_value
         FROM orders WHERE customer_id = $1";

/// The same figures through the orders team's contract: its words for open and counted.
const ORDER_STATS_CONTRACT: &str = "SELECT count(*) FILTER (WHERE is_open) AS open_order_count,
                COALESCE(sum(counted_total), 0) AS lifetime_value
         FROM orders_api.order_v1 WHERE customer_id = $1";

#[tracing::instrument(skip(db))]
pub async fn order_stats(db: impl PgExecutor<'_>, customer_id: i64) -> sqlx::Result<OrderStats> {
    sqlx::query_as(Reach::current().pick(ORDER_STATS, ORDER_STATS_CONTRACT))
        .bind(customer_id)
        .fetch_one(db)
        .await
}

/// Reaches into `orders` for the delete guard.
const OPEN_ORDER_COUNT: &str =
    "SELECT count(*) FROM orders WHERE customer_id = $1 AND status IN ('NEW', 'PAID')";

/// The delete guard through the orders team's contract.
const OPEN_ORDER_COUNT_CONTRACT: &str =
    "SELECT count(*) FROM orders_api.order_v1 WHERE customer_id = $1 AND is_open";

#[tracing::instrument(skip(conn))]
pub async fn open_order_count(conn: &mut PgConnection, customer_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(Reach::current().pick(OPEN_ORDER_COUNT, OPEN_ORDER_COUNT_CONTRACT))
        .bind(customer_id)
        .fetch_one(conn)
        .await
}

/// Every statement above, as this service runs it, reaching the orders team's data as
/// `reach` says.
pub fn statements(reach: Reach) -> Vec<Statement> {
    use Bind::{Int8, Int8s, NullText, Text};
    let own = |name, sql| Statement::own("customers", name, sql);
    let orders = |name, sql: &str| Statement::reaching_into("customers", name, sql, "orders");
    vec![
        own("list", list_sql()).binding([Int8(20), Int8(0)]),
        own("list (count)", COUNT.to_owned()),
        own("find", find_sql()).binding([Int8(1)]),
        own("find_many", find_many_sql()).binding([Int8s(&[1, 2])]),
        own("insert", insert_sql()).binding([
            Text("Check Customer"),
            Text("legacy-check@example.invalid"),
            NullText,
        ]),
        own("update", update_sql()).binding([Int8(1), NullText, NullText, NullText, NullText]),
        own("lock", LOCK.to_owned()).binding([Int8(1)]),
        // No row: the code deletes only a customer it found without orders.
        own("delete", DELETE.to_owned()).binding([Int8(0)]),
        orders("order_stats", reach.pick(ORDER_STATS, ORDER_STATS_CONTRACT)).binding([Int8(1)]),
        orders(
            "open_order_count",
            reach.pick(OPEN_ORDER_COUNT, OPEN_ORDER_COUNT_CONTRACT),
        )
        .binding([Int8(1)]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_in_this_file_is_a_statement_the_check_prepares() {
        for reach in Reach::BOTH {
            crate::check::assert_lists_every_query(include_str!("db.rs"), &statements(reach));
        }
    }
}
