//! The legacy pair, started one way for the binary, the matrix and the tests: both
//! services on the same database, through the same login ([`start`]) or, on the road
//! (`kit road`), through a login each and reaching each other's data as the state says
//! ([`start_with`]).

use chassis::DatabaseUrl;
use chassis::releases::{Applied, Release};

use super::serving::{Listeners, Running, Serving};
use crate::databases::Template;
use crate::scenario::Scenario;

/// Brings the shared schema up to date and seeds it; returns (migrations applied, rows
/// inserted).
pub async fn build(url: &DatabaseUrl) -> anyhow::Result<(usize, u64)> {
    let applied = legacy::migrate(url).await?;
    let pool = chassis::db::pool(url, "shared-db-kit-seed")?;
    let inserted = crate::seed::write::legacy(&pool).await?;
    pool.close().await;
    Ok((applied, inserted))
}

/// The shared schema, migrated and seeded, as a template to copy.
pub fn template() -> Template {
    Template::new("legacy", |url| async move {
        build(&url).await?;
        Ok(())
    })
}

/// How each service logs in, and how it reaches the other's data.
#[derive(Debug, Clone)]
pub struct Logins {
    pub customers: DatabaseUrl,
    pub orders: DatabaseUrl,
    pub reach: legacy::Reach,
}

impl Logins {
    /// Both services on `database`'s credentials (the shared login), into the tables.
    pub fn shared(database: &DatabaseUrl) -> Self {
        Self {
            customers: database.clone(),
            orders: database.clone(),
            reach: legacy::Reach::Tables,
        }
    }
}

/// Serves customers and orders on `listeners`, both logged in with `database`'s
/// credentials (the shared login).
pub fn start(database: &DatabaseUrl, listeners: Listeners) -> anyhow::Result<Running> {
    start_with(&Logins::shared(database), listeners)
}

/// Serves customers and orders on `listeners`, each with its own login and reach.
pub fn start_with(logins: &Logins, listeners: Listeners) -> anyhow::Result<Running> {
    let customers = legacy::customers::router_reaching(
        chassis::db::pool(&logins.customers, legacy::CUSTOMERS_APP)?,
        logins.reach,
    );
    let orders = legacy::orders::router_reaching(
        chassis::db::pool(&logins.orders, legacy::ORDERS_APP)?,
        logins.reach,
    );
    Ok(Running {
        customers: Serving::spawn_with(listeners.customers, customers, listeners.limits)?,
        orders: Serving::spawn_with(listeners.orders, orders, listeners.limits)?,
    })
}

/// Ships `scenario` as its owner's release on the shared schema.
pub async fn ship(url: &DatabaseUrl, scenario: &Scenario) -> anyhow::Result<Applied> {
    Ok(legacy::ship(url, release(scenario)).await?)
}

fn release(scenario: &Scenario) -> Release<'_> {
    Release {
        id: scenario.id,
        owner: &scenario.owner,
        sql: scenario.legacy_sql,
        shape: scenario.legacy_shape,
    }
}
