//! The deterministic seed data both pairs start from: the same customers and orders, in the
//! same ids, every run, and [`write`], which puts them into each pair's baseline tables.

use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime, macros::datetime};

/// How many customers the seed holds.
pub const CUSTOMERS: i64 = 120;
/// How many orders the seed holds.
pub const ORDERS: i64 = 1_200;
/// The last customers have no orders at all, so that deleting one succeeds at baseline.
pub const CUSTOMERS_WITHOUT_ORDERS: i64 = 10;

const GIVEN: [&str; 12] = [
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia",
    "Niklaus", "Sophie",
];
const FAMILY: [&str; 10] = [
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson",
    "Perlman",
];
/// The order statuses in seed order; each appears many times.
pub const ORDER_STATUSES: [&str; 4] = ["NEW", "PAID", "SHIPPED", "CANCELLED"];

/// A seed customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: i64,
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub email: String,
    pub phone: Option<String>,
    /// `active` or `suspended`.
    pub status: &'static str,
    pub created_at: OffsetDateTime,
}

impl Customer {
    /// The full name, as the baseline schema stores it.
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// A seed order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    /// One of [`ORDER_STATUSES`].
    pub status: &'static str,
    /// The order total in money, two decimals.
    pub total: Decimal,
    pub created_at: OffsetDateTime,
}

const EPOCH: OffsetDateTime = datetime!(2025-01-01 09:00 UTC);

/// The seed customers, ids 1..=CUSTOMERS. Every tenth is suspended; every seventh has no phone.
pub fn customers() -> Vec<Customer> {
    (1..=CUSTOMERS)
        .map(|id| {
            let i = id as usize;
            let given_name = GIVEN[i % GIVEN.len()];
            let family_name = FAMILY[(i / GIVEN.len()) % FAMILY.len()];
            Customer {
                id,
                given_name,
                family_name,
                email: format!(
                    "{}.{}.{id}@example.com",
                    given_name.to_lowercase(),
                    family_name.to_lowercase()
                ),
                phone: (id % 7 != 0).then(|| format!("+44 20 7946 {:04}", id * 37 % 10_000)),
                status: if id % 10 == 0 { "suspended" } else { "active" },
                created_at: EPOCH + Duration::days(id),
            }
        })
        .collect()
}

/// The seed orders, ids 1..=ORDERS, spread over every customer but the last
/// [`CUSTOMERS_WITHOUT_ORDERS`], cycling through every status.
pub fn orders() -> Vec<Order> {
    let with_orders = CUSTOMERS - CUSTOMERS_WITHOUT_ORDERS;
    (1..=ORDERS)
        .map(|id| Order {
            id,
            customer_id: 1 + (id * 7) % with_orders,
            // Shifted once per round over the customers, so each customer sees every status.
            status: ORDER_STATUSES[((id + id / with_orders) % 4) as usize],
            total: Decimal::new(500 + (id * 7_919) % 49_500, 2),
            created_at: EPOCH + Duration::days(CUSTOMERS) + Duration::hours(id),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_same_every_time() {
        assert_eq!(customers(), customers());
        assert_eq!(orders(), orders());
    }

    #[test]
    fn has_unique_emails_and_every_status() {
        let customers = customers();
        let emails: std::collections::HashSet<_> = customers.iter().map(|c| &c.email).collect();
        assert_eq!(emails.len(), customers.len());
        assert!(customers.iter().any(|c| c.status == "suspended"));
        let orders = orders();
        for status in ORDER_STATUSES {
            assert!(orders.iter().filter(|o| o.status == status).count() >= 250);
        }
    }

    #[test]
    fn references_only_existing_customers_and_leaves_some_without_orders() {
        let orders = orders();
        assert!(
            orders
                .iter()
                .all(|o| (1..=CUSTOMERS).contains(&o.customer_id))
        );
        let last = CUSTOMERS - CUSTOMERS_WITHOUT_ORDERS;
        assert!(orders.iter().all(|o| o.customer_id <= last));
        assert!((1..=last).all(|c| orders.iter().any(|o| o.customer_id == c)));
    }
}

/// Writing the seed into each pair's baseline tables, as an admin. The seed is written for
/// the baseline schema: once an owner has shipped a release, it inserts nothing, so that a
/// pair restarted on a released database still starts.
pub mod write {
    use sqlx::PgPool;

    use super::{customers, orders};

    async fn released(pool: &PgPool, table: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(&format!("SELECT scenario FROM {table}"))
            .fetch_all(pool)
            .await
    }

    fn skipped(released: &[String]) -> bool {
        if released.is_empty() {
            return false;
        }
        tracing::info!(
            releases = %released.join(", "),
            "seed skipped: it is written for the baseline schema, and owners have shipped releases since"
        );
        true
    }

    /// The legacy shared schema: customers and orders. Returns how many rows it inserted;
    /// running it again changes nothing.
    pub async fn legacy(pool: &PgPool) -> Result<u64, sqlx::Error> {
        if skipped(&released(pool, "schema_releases").await?) {
            return Ok(0);
        }
        let mut tx = pool.begin().await?;
        let inserted = insert_customers(&mut tx, "customers").await?
            + insert_orders(&mut tx, "orders").await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// The migrated pair: schema `customers` and schema `orders`, each seeded unless its
    /// owner has shipped a release.
    pub async fn migrated(pool: &PgPool) -> Result<u64, sqlx::Error> {
        let mut inserted = 0;
        for (releases, table, insert) in [
            (
                "customers.schema_releases",
                "customers.customers",
                Table::Customers,
            ),
            ("orders.schema_releases", "orders.orders", Table::Orders),
        ] {
            if skipped(&released(pool, releases).await?) {
                continue;
            }
            let mut tx = pool.begin().await?;
            inserted += match insert {
                Table::Customers => insert_customers(&mut tx, table).await?,
                Table::Orders => insert_orders(&mut tx, table).await?,
            };
            tx.commit().await?;
        }
        Ok(inserted)
    }

    enum Table {
        Customers,
        Orders,
    }

    async fn insert_customers(
        tx: &mut sqlx::PgConnection,
        table: &str,
    ) -> Result<u64, sqlx::Error> {
        let customers = customers();
        let inserted = sqlx::query(&format!(
            "INSERT INTO {table} (id, name, email, phone, status, created_at)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
             ON CONFLICT DO NOTHING"
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
        resync_identity(tx, table).await?;
        Ok(inserted)
    }

    async fn insert_orders(tx: &mut sqlx::PgConnection, table: &str) -> Result<u64, sqlx::Error> {
        let orders = orders();
        let inserted = sqlx::query(&format!(
            "INSERT INTO {table} (id, customer_id, status, total, created_at)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::timestamptz[])
             ON CONFLICT DO NOTHING"
        ))
        .bind(orders.iter().map(|o| o.id).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.customer_id).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.status).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.total).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.created_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        resync_identity(tx, table).await?;
        Ok(inserted)
    }

    /// Explicit ids leave the identity sequence behind; new rows must not collide.
    async fn resync_identity(tx: &mut sqlx::PgConnection, table: &str) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        ))
        .execute(tx)
        .await?;
        Ok(())
    }
}
