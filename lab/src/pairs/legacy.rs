//! The legacy pair, started one way for the binary, the matrix and the tests: both
//! services on the same database through the same login.

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

/// Serves customers and orders on `listeners`, both logged in with `database`'s
/// credentials (the shared login).
pub fn start(database: &DatabaseUrl, listeners: Listeners) -> anyhow::Result<Running> {
    let customers = legacy::customers::router(chassis::db::pool(database, legacy::CUSTOMERS_APP)?);
    let orders = legacy::orders::router(chassis::db::pool(database, legacy::ORDERS_APP)?);
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
    }
}
