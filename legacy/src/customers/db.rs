//! The customers service's SQL. The first queries touch its own table and are built from
//! its current shape (`shape.rs`); the last two reach into the orders service's table and
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

use super::shape::CustomersTable;
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

fn list_sql(t: &CustomersTable) -> String {
    let (columns, table, live) = (t.columns(), t.table, t.live());
    format!("SELECT {columns} FROM {table} WHERE {live} ORDER BY id LIMIT $1 OFFSET $2")
}

fn count_sql(t: &CustomersTable) -> String {
    let (table, live) = (t.table, t.live());
    format!("SELECT count(*) FROM {table} WHERE {live}")
}

#[tracing::instrument(skip(db))]
pub async fn list(
    db: &PgPool,
    t: &CustomersTable,
    page: Page,
) -> sqlx::Result<(Vec<Customer>, i64)> {
    let customers = sqlx::query_as(&list_sql(t))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(&count_sql(t)).fetch_one(db).await?;
    Ok((customers, total))
}

fn find_sql(t: &CustomersTable) -> String {
    let (columns, table, live) = (t.columns(), t.table, t.live());
    format!("SELECT {columns} FROM {table} WHERE id = $1 AND {live}")
}

#[tracing::instrument(skip(db))]
pub async fn find(
    db: impl PgExecutor<'_>,
    t: &CustomersTable,
    id: i64,
) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as(&find_sql(t))
        .bind(id)
        .fetch_optional(db)
        .await
}

fn find_many_sql(t: &CustomersTable) -> String {
    let (columns, table, live) = (t.columns(), t.table, t.live());
    format!("SELECT {columns} FROM {table} WHERE id = ANY($1) AND {live} ORDER BY id")
}

/// Several customers by id, for the `/v1` batch lookup; unknown ids are absent.
#[tracing::instrument(skip(db))]
pub async fn find_many(
    db: impl PgExecutor<'_>,
    t: &CustomersTable,
    ids: &[i64],
) -> sqlx::Result<Vec<Customer>> {
    sqlx::query_as(&find_many_sql(t))
        .bind(ids)
        .fetch_all(db)
        .await
}

fn insert_sql(t: &CustomersTable) -> String {
    let ((columns, values), table) = (t.insert(), t.table);
    format!(
        "INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {}",
        t.columns()
    )
}

#[tracing::instrument(skip(db))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    t: &CustomersTable,
    new: &NewCustomer,
) -> sqlx::Result<Customer> {
    sqlx::query_as(&insert_sql(t))
        .bind(&new.name)
        .bind(&new.email)
        .bind(&new.phone)
        .fetch_one(db)
        .await
}

fn update_sql(t: &CustomersTable) -> String {
    // A NULL parameter keeps the column: the name's value expressions are NULL for it too.
    let name: Vec<String> = t
        .name_values("$2")
        .into_iter()
        .map(|(column, value)| format!("{column} = COALESCE({value}, {column})"))
        .collect();
    let (name, email, table, live) = (name.join(", "), t.email, t.table, t.live());
    format!(
        "UPDATE {table} SET {name}, {email} = COALESCE($3, {email}),
                phone = COALESCE($4, phone), status = COALESCE($5, status)
         WHERE id = $1 AND {live}
         RETURNING {}",
        t.columns()
    )
}

#[tracing::instrument(skip(db))]
pub async fn update(
    db: impl PgExecutor<'_>,
    t: &CustomersTable,
    id: i64,
    changes: &CustomerChanges,
) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as(&update_sql(t))
        .bind(id)
        .bind(&changes.name)
        .bind(&changes.email)
        .bind(&changes.phone)
        .bind(changes.status)
        .fetch_optional(db)
        .await
}

fn lock_sql(t: &CustomersTable) -> String {
    let (table, live) = (t.table, t.live());
    format!("SELECT id FROM {table} WHERE id = $1 AND {live} FOR UPDATE")
}

/// Locks the customer row so that no order slips in between the guard and the delete.
#[tracing::instrument(skip(conn))]
pub async fn lock(conn: &mut PgConnection, t: &CustomersTable, id: i64) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(&lock_sql(t))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

fn delete_sql(t: &CustomersTable) -> String {
    let table = t.table;
    if t.soft_delete {
        format!("UPDATE {table} SET deleted_at = now() WHERE id = $1")
    } else {
        format!("DELETE FROM {table} WHERE id = $1")
    }
}

/// Removes the customer or, after `soft-delete`, only marks the row: audits keep it.
#[tracing::instrument(skip(conn))]
pub async fn delete(conn: &mut PgConnection, t: &CustomersTable, id: i64) -> sqlx::Result<()> {
    sqlx::query(&delete_sql(t)).bind(id).execute(conn).await?;
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

/// Every statement above, as this service runs it on a table of shape `t`, reaching the
/// orders team's data as `reach` says.
pub fn statements(t: &CustomersTable, reach: Reach) -> Vec<Statement> {
    use Bind::{Int8, Int8s, NullText, Text};
    let own = |name, sql| Statement::own("customers", name, sql);
    let orders = |name, sql: &str| Statement::reaching_into("customers", name, sql, "orders");
    vec![
        own("list", list_sql(t)).binding([Int8(20), Int8(0)]),
        own("list (count)", count_sql(t)),
        own("find", find_sql(t)).binding([Int8(1)]),
        own("find_many", find_many_sql(t)).binding([Int8s(&[1, 2])]),
        own("insert", insert_sql(t)).binding([
            Text("Check Customer"),
            Text("legacy-check@example.invalid"),
            NullText,
        ]),
        own("update", update_sql(t)).binding([Int8(1), NullText, NullText, NullText, NullText]),
        own("lock", lock_sql(t)).binding([Int8(1)]),
        // No row: the code deletes only a customer it found without orders.
        own("delete", delete_sql(t)).binding([Int8(0)]),
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
            crate::check::assert_lists_every_query(include_str!("db.rs"), &|releases| {
                statements(&CustomersTable::from_releases(releases), reach)
            });
        }
    }
}
