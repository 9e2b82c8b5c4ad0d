//! What `kit bench` measures against: both pairs on one Postgres, each service behind a
//! request counter, the floor's bare loopback server, and an orders instance for the
//! N+1 variant. Everything here is built once per run and served on loopback ports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::routing::get;
use chassis::DatabaseUrl;

use super::counts::Statements;
use crate::databases::{Database, Databases};
use crate::pairs::migrated::{Apps, Calls};
use crate::pairs::{Listeners, Passwords, Serving};
use crate::scenario::Pair;

/// Requests one server received; the bench subtracts its own to get the calls the
/// services made to each other, counted where they arrive rather than by a fake client.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn wrap(&self, router: Router) -> Router {
        let counter = self.clone();
        router.layer(middleware::from_fn(move |request: Request, next: Next| {
            counter.0.fetch_add(1, Ordering::Relaxed);
            async move { next.run(request).await }
        }))
    }
}

/// One pair serving, with its database and a counter per service.
#[derive(Debug)]
pub struct Served {
    pub customers: String,
    pub orders: String,
    pub counters: Vec<Counter>,
    pub database: Database,
    serving: Vec<Serving>,
}

impl Served {
    /// Requests received by every service of the pair so far.
    pub fn received(&self) -> u64 {
        self.counters.iter().map(Counter::get).sum()
    }
}

/// Everything one run measures.
#[derive(Debug)]
pub struct Stage {
    pub legacy: Served,
    pub migrated: Served,
    /// An orders service whose customer lookups answer empty at once (the floor server
    /// plays customers): the page of orders the naive N+1 consumer starts from.
    pub bare_orders: String,
    /// A trivial handler on plain axum, no layers: the loopback round trip alone.
    pub floor: String,
    /// The migrated database as admin, for the owner's query alone.
    pub sql: sqlx::PgPool,
    /// SQL statements per database, if the server keeps pg_stat_statements.
    pub statements: Option<Statements>,
    floor_server: Serving,
    bare_server: Serving,
    stats_database: Option<Database>,
}

impl Stage {
    /// Fresh databases from both templates on `databases`' server, both pairs started.
    pub async fn build(databases: &Databases, passwords: &Passwords) -> anyhow::Result<Self> {
        let legacy_db = databases
            .fresh(&crate::pairs::template(Pair::Legacy, passwords))
            .await?;
        let migrated_db = databases
            .fresh(&crate::pairs::template(Pair::Migrated, passwords))
            .await?;
        let legacy = serve_legacy(legacy_db).await?;
        let listeners = Listeners::loopback().await?;
        let urls = listeners.urls()?;
        let apps = Apps::new(
            &migrated_db.url,
            passwords,
            [&urls[0], &urls[1]],
            &Calls::owned(),
        )?;
        let (customers, orders) = (Counter::default(), Counter::default());
        let migrated = Served {
            customers: urls[0].clone(),
            orders: urls[1].clone(),
            serving: vec![
                Serving::spawn(listeners.customers, customers.wrap(apps.customers))?,
                Serving::spawn(listeners.orders, orders.wrap(apps.orders))?,
            ],
            counters: vec![customers, orders],
            database: migrated_db,
        };
        let floor_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let floor = Serving::spawn(floor_listener, floor_router())?;
        let bare = bare_orders(&migrated.database.url, passwords, &floor.url)?;
        let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let bare = Serving::spawn(bare_listener, bare)?;
        let sql = chassis::db::pool(&migrated.database.url, "kit-bench")?;
        let (statements, stats_db) = Statements::open(databases).await;
        Ok(Self {
            bare_orders: bare.url.clone(),
            floor: floor.url.clone(),
            legacy,
            migrated,
            sql,
            statements,
            floor_server: floor,
            bare_server: bare,
            stats_database: stats_db,
        })
    }

    /// Stops every server and drops every database, waiting until they are gone: the
    /// server the bench ran on may be the user's own.
    pub async fn close(self) -> anyhow::Result<()> {
        drop((self.floor_server, self.bare_server));
        self.sql.close().await;
        for served in [self.legacy, self.migrated] {
            for mut serving in served.serving {
                serving.stop().await?;
            }
            served.database.drop_now().await?;
        }
        if let Some(stats) = self.stats_database {
            stats.drop_now().await?;
        }
        Ok(())
    }

    pub fn pair(&self, pair: Pair) -> &Served {
        match pair {
            Pair::Legacy => &self.legacy,
            Pair::Migrated => &self.migrated,
        }
    }

    /// Database names, for pg_stat_statements.
    pub fn database_name(&self, pair: Pair) -> &str {
        &self.pair(pair).database.name
    }
}

async fn serve_legacy(database: Database) -> anyhow::Result<Served> {
    let url = &database.url;
    let listeners = Listeners::loopback().await?;
    let [customers_url, orders_url] = listeners.urls()?;
    let (customers, orders) = (Counter::default(), Counter::default());
    let customers_app = legacy::customers::router(chassis::db::pool(url, legacy::CUSTOMERS_APP)?);
    let orders_app = legacy::orders::router(chassis::db::pool(url, legacy::ORDERS_APP)?);
    Ok(Served {
        customers: customers_url,
        orders: orders_url,
        serving: vec![
            Serving::spawn(listeners.customers, customers.wrap(customers_app))?,
            Serving::spawn(listeners.orders, orders.wrap(orders_app))?,
        ],
        counters: vec![customers, orders],
        database,
    })
}

/// The bare loopback server: `/` answers a constant; `/v1/customers` answers an empty
/// batch, so that an orders service pointed here pays one hop and no customers query.
fn floor_router() -> Router {
    Router::new().route("/", get(|| async { "ok" })).route(
        "/v1/customers",
        get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"items":[]}"#,
            )
        }),
    )
}

fn bare_orders(admin: &DatabaseUrl, passwords: &Passwords, floor: &str) -> anyhow::Result<Router> {
    // The same orders service, with customers replaced by the floor's empty batch.
    let apps = Apps::new(admin, passwords, [floor, floor], &Calls::owned())?;
    Ok(apps.orders)
}
