//! The orders service's SQL. Its own table is `orders`, and its queries of it go through
//! the view `orders_shape.orders` that each of its team's releases keeps in the shape these
//! queries expect (migrations/scenarios/*/legacy-shape.sql); the queries marked "reaches
//! into customers" depend
//! on the customers team's table, columns and status vocabulary, as they were when written;
//! or, reaching through the customers team's contract ([`Reach::Contract`]), on its view
//! `customers_api.customer_v1` and its functions for the status check and guest checkout.
//! Each query's text comes from one function or const, which [`statements`] lists too:
//! `legacy check` prepares exactly what runs.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

use chassis::http::page::Page;

use crate::Reach;
use crate::check::{Bind, Statement};

/// An order as the API shows it: with its customer's name and email.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub status: String,
    pub total: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// `null` when the customer was deleted.
    pub customer: Option<CustomerSummary>,
}

/// The customer fields an order view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerSummary {
    pub name: String,
    pub email: String,
}

#[derive(Debug, FromRow)]
struct OrderRow {
    id: i64,
    customer_id: Option<i64>,
    status: String,
    total: Decimal,
    created_at: OffsetDateTime,
    customer_name: Option<String>,
    customer_email: Option<String>,
}

impl From<OrderRow> for Order {
    fn from(row: OrderRow) -> Self {
        let customer = match (row.customer_name, row.customer_email) {
            (Some(name), Some(email)) => Some(CustomerSummary { name, email }),
            _ => None,
        };
        Self {
            id: row.id,
            customer_id: row.customer_id,
            status: row.status,
            total: row.total,
            created_at: row.created_at,
            customer,
        }
    }
}

/// Reaches into customers: the join that every order view is built on. Its orders half
/// is this team's shape, kept by its releases; its customers half is that table as it was when this was
/// written, and nobody tells this team when it changes. Through the contract, the join is
/// on the view the customers team keeps stable.
fn order_view(reach: Reach, joined: bool) -> String {
    let customers = reach.pick("customers", "customers_api.customer_v1");
    let (name, email, join) = if joined {
        (
            "c.name",
            "c.email",
            format!("LEFT JOIN {customers} c ON c.id = o.customer_id"),
        )
    } else {
        // The flow switched to the customers API (state 3): this team's table alone.
        ("NULL::text", "NULL::text", String::new())
    };
    format!(
        "SELECT o.id, o.customer_id, o.status, o.total, o.created_at,
        {name} AS customer_name, {email} AS customer_email
    FROM orders_shape.orders o {join}"
    )
}

/// Which orders a list shows.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub customer_id: Option<i64>,
    pub status: Option<String>,
}

/// Which orders a list shows, by `$1` (customer) and `$2` (status).
const FILTER: &str =
    "($1::bigint IS NULL OR o.customer_id = $1) AND ($2::text IS NULL OR o.status = $2)";

fn list_sql(reach: Reach, joined: bool) -> String {
    format!(
        "{} WHERE {FILTER} ORDER BY o.id LIMIT $3 OFFSET $4",
        order_view(reach, joined)
    )
}

fn count_sql() -> String {
    format!("SELECT count(*) FROM orders_shape.orders o WHERE {FILTER}")
}

#[tracing::instrument(skip(db))]
pub async fn list(
    db: &PgPool,
    filter: &OrderFilter,
    page: Page,
    joined: bool,
) -> sqlx::Result<(Vec<Order>, i64)> {
    let status = filter.status.as_deref();
    let rows: Vec<OrderRow> = sqlx::query_as(&list_sql(Reach::current(), joined))
        .bind(filter.customer_id)
        .bind(status)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(&count_sql())
        .bind(filter.customer_id)
        .bind(status)
        .fetch_one(db)
        .await?;
    Ok((rows.into_iter().map(Order::from).collect(), total))
}

fn find_sql(reach: Reach, joined: bool) -> String {
    format!("{} WHERE o.id = $1", order_view(reach, joined))
}

#[tracing::instrument(skip(db))]
pub async fn find(db: impl PgExecutor<'_>, id: i64, joined: bool) -> sqlx::Result<Option<Order>> {
    let row: Option<OrderRow> = sqlx::query_as(&find_sql(Reach::current(), joined))
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(Order::from))
}

/// Reaches into customers: is there such a customer, and may they order?
/// Locks the row so that the customer cannot be deleted or suspended mid-order.
const CUSTOMER_STATUS: &str = "SELECT status FROM customers WHERE id = $1 FOR SHARE";

/// The same through the contract: the function locks the row with the owner's rights, and
/// gives no status (no row here) for a customer that does not exist.
const CUSTOMER_STATUS_CONTRACT: &str =
    "SELECT status FROM customers_api.customer_status_v1($1) AS status WHERE status IS NOT NULL";

#[tracing::instrument(skip(conn))]
pub async fn customer_status(
    conn: &mut PgConnection,
    customer_id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(Reach::current().pick(CUSTOMER_STATUS, CUSTOMER_STATUS_CONTRACT))
        .bind(customer_id)
        .fetch_optional(conn)
        .await
}

/// Reaches into customers, and writes: guest checkout registers the buyer itself.
const INSERT_GUEST_CUSTOMER: &str =
    "INSERT INTO customers (name, email, phone) VALUES ($1, $2, $3) RETURNING id";

/// The same through the contract: the customers team's function does the insert.
const INSERT_GUEST_CUSTOMER_CONTRACT: &str = "SELECT customers_api.register_guest_v1($1, $2, $3)";

#[tracing::instrument(skip(conn))]
pub async fn insert_guest_customer(
    conn: &mut PgConnection,
    name: &str,
    email: &str,
    phone: Option<&str>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(Reach::current().pick(INSERT_GUEST_CUSTOMER, INSERT_GUEST_CUSTOMER_CONTRACT))
        .bind(name)
        .bind(email)
        .bind(phone)
        .fetch_one(conn)
        .await
}

const INSERT: &str =
    "INSERT INTO orders_shape.orders (customer_id, status, total) VALUES ($1, $2, $3) RETURNING id";

/// A new order is `NEW`.
#[tracing::instrument(skip(conn))]
pub async fn insert(
    conn: &mut PgConnection,
    customer_id: i64,
    total: Decimal,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(INSERT)
        .bind(customer_id)
        .bind("NEW")
        .bind(total)
        .fetch_one(conn)
        .await
}

const LOCK_STATUS: &str = "SELECT status FROM orders_shape.orders WHERE id = $1 FOR UPDATE";

/// The order's status, locked for a transition.
#[tracing::instrument(skip(conn))]
pub async fn lock_status(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(LOCK_STATUS)
        .bind(id)
        .fetch_optional(conn)
        .await
}

const SET_STATUS: &str = "UPDATE orders_shape.orders SET status = $2 WHERE id = $1";

/// Sets one of the API's statuses.
#[tracing::instrument(skip(conn))]
pub async fn set_status(conn: &mut PgConnection, id: i64, status: &str) -> sqlx::Result<()> {
    sqlx::query(SET_STATUS)
        .bind(id)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

/// A customer's order figures, as this team counts them, for its `/v1` API: which orders
/// are open and which money counts is said here, in this team's shape.
const STATS: &str =
    "SELECT count(*) FILTER (WHERE o.status IN ('NEW', 'PAID')) AS open_order_count,
        COALESCE(sum(o.total) FILTER (WHERE o.status <> 'CANCELLED'), 0) AS lifetime_value
    FROM orders_shape.orders o WHERE o.customer_id = $1";

/// A customer's open-order count and lifetime value.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct OrderStats {
    pub open_order_count: i64,
    pub lifetime_value: Decimal,
}

#[tracing::instrument(skip(db))]
pub async fn stats(db: impl PgExecutor<'_>, customer_id: i64) -> sqlx::Result<OrderStats> {
    sqlx::query_as(STATS).bind(customer_id).fetch_one(db).await
}

const DELETE: &str = "DELETE FROM orders_shape.orders WHERE id = $1";

/// Deletes the order; false when there was none.
#[tracing::instrument(skip(db))]
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query(DELETE).bind(id).execute(db).await?;
    Ok(result.rows_affected() > 0)
}

/// Serialises the requests that carry one Idempotency-Key, until the transaction ends: the
/// second waits, then finds the key the first stored.
const LOCK_KEY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

pub async fn lock_key(conn: &mut PgConnection, key: &str) -> sqlx::Result<()> {
    sqlx::query(LOCK_KEY).bind(key).execute(conn).await?;
    Ok(())
}

const IDEMPOTENT_ORDER: &str = "SELECT request_hash, order_id FROM idempotency_keys WHERE key = $1";

/// The request a key was first used for, and the order it placed.
pub async fn idempotent_order(
    conn: &mut PgConnection,
    key: &str,
) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(IDEMPOTENT_ORDER)
        .bind(key)
        .fetch_optional(conn)
        .await
}

const REMEMBER_KEY: &str =
    "INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)";

pub async fn remember_key(
    conn: &mut PgConnection,
    key: &str,
    request_hash: &str,
    order_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(REMEMBER_KEY)
        .bind(key)
        .bind(request_hash)
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every statement above, as this service runs it, reaching the customers team's data as
/// `reach` says.
pub fn statements(reach: Reach) -> Vec<Statement> {
    use Bind::{Int8, NullText, Numeric, Text};
    let own = |name, sql| Statement::own("orders", name, sql);
    let customers = |name, sql: &str| Statement::reaching_into("orders", name, sql, "customers");
    let filter = [Int8(1), NullText];
    vec![
        customers("list", &list_sql(reach, true)).binding([Int8(1), NullText, Int8(20), Int8(0)]),
        own("list (count)", count_sql()).binding(filter),
        customers("find", &find_sql(reach, true)).binding([Int8(1)]),
        own("stats", STATS.to_owned()).binding([Int8(1)]),
        customers(
            "customer_status",
            reach.pick(CUSTOMER_STATUS, CUSTOMER_STATUS_CONTRACT),
        )
        .binding([Int8(1)]),
        customers(
            "insert_guest_customer",
            reach.pick(INSERT_GUEST_CUSTOMER, INSERT_GUEST_CUSTOMER_CONTRACT),
        )
        .binding([
            Text("Check Guest"),
            Text("legacy-check-guest@example.invalid"),
            NullText,
        ]),
        own("insert", INSERT.to_owned()).binding([
            Int8(1),
            Text("NEW"),
            Numeric(Decimal::new(4250, 2)),
        ]),
        own("lock_status", LOCK_STATUS.to_owned()).binding([Int8(1)]),
        own("set_status", SET_STATUS.to_owned()).binding([Int8(1), Text("PAID")]),
        own("delete", DELETE.to_owned()).binding([Int8(0)]),
        own("lock_key", LOCK_KEY.to_owned()).binding([Text("check-key")]),
        own("idempotent_order", IDEMPOTENT_ORDER.to_owned()).binding([Text("check-key")]),
        own("remember_key", REMEMBER_KEY.to_owned()).binding([
            Text("check-key"),
            Text("1:42.50"),
            Int8(0),
        ]),
    ]
}

/// The order view's own-table variants, in place of [`statements`]' joins once the flow
/// that shows an order's customer is switched to the customers API (the road's state 3).
pub fn api_statements() -> Vec<Statement> {
    use Bind::{Int8, NullText};
    let own = |name, sql| Statement::own("orders", name, sql);
    vec![
        own("list (own)", list_sql(Reach::Tables, false)).binding([
            Int8(1),
            NullText,
            Int8(20),
            Int8(0),
        ]),
        own("find (own)", find_sql(Reach::Tables, false)).binding([Int8(1)]),
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
