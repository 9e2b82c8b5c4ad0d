//! The legacy pair, started one way for the binary, the matrix and the tests: both
//! services on the same database, through the same login ([`start`]) or, on the road
//! (`kit road`), through a login each and reaching each other's data as the state says
//! ([`start_with`]).

use std::sync::Arc;

use chassis::DatabaseUrl;
use chassis::releases::{Applied, Release};
use legacy::strangler::{ApiFlows, Strangler};

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

/// How each service logs in, and how it reaches the other's data: by SQL (into the tables
/// or through the contract), or by the owner's API for the flows `api` switches.
#[derive(Debug, Clone)]
pub struct Logins {
    pub customers: DatabaseUrl,
    pub orders: DatabaseUrl,
    pub reach: legacy::Reach,
    pub api: Api,
}

/// The road's state 3 switch of both services: the flows on the owner's API, and whether
/// the flows still on SQL run their API path too, to compare.
#[derive(Debug, Clone, Default)]
pub struct Api {
    pub flows: ApiFlows,
    pub compare: bool,
}

impl Logins {
    /// Both services on `database`'s credentials (the shared login), into the tables.
    pub fn shared(database: &DatabaseUrl) -> Self {
        Self {
            customers: database.clone(),
            orders: database.clone(),
            reach: legacy::Reach::Tables,
            api: Api::default(),
        }
    }
}

/// Each service's switch, to read the compare mode's differences from.
#[derive(Debug, Clone)]
pub struct Stranglers {
    pub customers: Arc<Strangler>,
    pub orders: Arc<Strangler>,
}

impl Stranglers {
    /// The differences both compare modes have seen.
    pub fn differences(&self) -> u64 {
        self.customers.differences() + self.orders.differences()
    }
}

/// Serves customers and orders on `listeners`, both logged in with `database`'s
/// credentials (the shared login).
pub fn start(database: &DatabaseUrl, listeners: Listeners) -> anyhow::Result<Running> {
    start_with(&Logins::shared(database), listeners)
}

/// Serves customers and orders on `listeners`, each with its own login and reach.
pub fn start_with(logins: &Logins, listeners: Listeners) -> anyhow::Result<Running> {
    Ok(start_switched(logins, listeners)?.0)
}

/// The same, with each service's switch, whose compare mode counts differences.
pub fn start_switched(
    logins: &Logins,
    listeners: Listeners,
) -> anyhow::Result<(Running, Stranglers)> {
    let [customers_url, orders_url] = listeners.urls()?;
    let switch = |owner, url: &str| -> anyhow::Result<Arc<Strangler>> {
        Ok(Arc::new(Strangler::new(
            owner,
            url,
            logins.api.flows.clone(),
            logins.api.compare,
        )?))
    };
    let stranglers = Stranglers {
        customers: switch("orders", &orders_url)?,
        orders: switch("customers", &customers_url)?,
    };
    let customers = legacy::customers::router_on_road(
        chassis::db::pool(&logins.customers, legacy::CUSTOMERS_APP)?,
        logins.reach,
        stranglers.customers.clone(),
    );
    let orders = legacy::orders::router_on_road(
        chassis::db::pool(&logins.orders, legacy::ORDERS_APP)?,
        logins.reach,
        stranglers.orders.clone(),
    );
    let running = Running {
        customers: Serving::spawn_with(listeners.customers, customers, listeners.limits)?,
        orders: Serving::spawn_with(listeners.orders, orders, listeners.limits)?,
    };
    Ok((running, stranglers))
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
