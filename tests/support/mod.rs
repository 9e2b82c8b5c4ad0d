//! What the integration tests share: spawning a pair on fresh databases, on port 0, and an
//! HTTP client that talks to loopback only.

#![allow(dead_code)] // each test binary uses its own part

pub mod bad_input;
pub mod privileges;

use std::time::Duration;

use chassis::DatabaseUrl;
use chassis::consumer::UpstreamConfig;
use lab::harness::{Template, TestContext, TestDatabase};
use lab::pairs::{self, Listeners, Serving};
use sqlx::PgPool;
use std::sync::LazyLock;
use tokio_util::sync::CancellationToken;

/// The legacy shared schema, migrated and seeded.
pub static LEGACY: LazyLock<Template> = LazyLock::new(pairs::legacy::template);

/// An HTTP client for the services under test: no proxy, since they live on loopback.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

/// Serves `app` on a free loopback port until `shutdown`; returns its base URL.
pub async fn serve(app: axum::Router, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    tokio::spawn(chassis::http::serve(listener, app, shutdown.clone()));
    url
}

/// The legacy pair, running on a database of its own.
pub struct LegacyApp {
    pub customers: String,
    pub orders: String,
    /// An admin pool on the same database, for arranging and for checking what was written.
    pub db: PgPool,
    pub http: reqwest::Client,
    pub database: TestDatabase,
    pub running: pairs::Running,
}

pub async fn spawn_legacy(ctx: &TestContext) -> LegacyApp {
    let database = ctx.database(&LEGACY).await;
    spawn_legacy_on(database).await
}

/// The legacy pair on a database the test prepared.
pub async fn spawn_legacy_on(database: TestDatabase) -> LegacyApp {
    let listeners = Listeners::loopback().await.expect("two free ports");
    let running = pairs::legacy::start(&database.url, listeners).expect("the legacy pair");
    LegacyApp {
        customers: running.customers.url.clone(),
        orders: running.orders.url.clone(),
        db: chassis::db::pool(&database.url, "test").expect("a pool"),
        http: http_client(),
        database,
        running,
    }
}

impl LegacyApp {
    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.db)
            .await
            .expect("count rows")
    }
}

/// Checks that `response` is a problem+json with `status` and `type`, and returns its body.
pub async fn expect_problem(
    response: reqwest::Response,
    status: u16,
    problem_type: &str,
) -> serde_json::Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["type"], problem_type, "problem body: {body}");
    assert_eq!(body["status"], status, "problem body: {body}");
    assert!(body["title"].is_string(), "problem body: {body}");
    body
}

/// The seed's figures for one customer, computed from the seed data itself rather than
/// by SQL: (open order count, lifetime value).
pub fn seed_stats(customer_id: i64) -> (i64, rust_decimal::Decimal) {
    let orders: Vec<_> = lab::seed::orders()
        .into_iter()
        .filter(|o| o.customer_id == customer_id)
        .collect();
    let open = orders
        .iter()
        .filter(|o| matches!(o.status, "NEW" | "PAID"))
        .count() as i64;
    let value = orders
        .iter()
        .filter(|o| o.status != "CANCELLED")
        .map(|o| o.total)
        .sum();
    (open, value)
}

/// The migrated pair's database: roles and schemas bootstrapped, both histories applied,
/// seeded. Passwords are the test's own.
pub static MIGRATED: LazyLock<Template> = LazyLock::new(|| pairs::migrated::template(secrets()));

// Every character that means something in a URL or in SQL, so that each migrated test also
// proves that such a password reaches Postgres intact.
pub const CUSTOMERS_DB_PASSWORD: &str = "customers @:/%# test";
pub const ORDERS_DB_PASSWORD: &str = "orders'@:/%41# ?+test";

/// The test's passwords for the migrated runtime roles.
pub fn secrets() -> pairs::migrated::Secrets {
    pairs::migrated::Secrets {
        customers_db_password: CUSTOMERS_DB_PASSWORD.into(),
        orders_db_password: ORDERS_DB_PASSWORD.into(),
    }
}

pub fn migrated_owners() -> [chassis::ownership::Owner; 2] {
    secrets().owners()
}

/// How patient the test services are with each other when a test is about business
/// behaviour: seconds, so that a busy machine makes a slow answer slower, never a 503.
pub fn patient_calls() -> UpstreamConfig {
    pairs::migrated::patient_calls()
}

/// Tight timeouts, for the tests about an owner that never answers: they assert what the
/// consumer answers and what it wrote, not how long it took, so load changes their
/// duration and nothing else.
pub fn tight_calls() -> UpstreamConfig {
    UpstreamConfig {
        connect_timeout: Duration::from_millis(200),
        attempt_timeout: Duration::from_millis(400),
        budget: Duration::from_millis(1_000),
        ..patient_calls()
    }
}

/// Patient timeouts, and a breaker that opens after `failure_threshold` consecutive
/// failures and stays open for `open_for`, every time (no back-off).
pub fn breaker_calls(failure_threshold: u32, open_for: Duration) -> UpstreamConfig {
    UpstreamConfig {
        breaker: chassis::resilience::BreakerConfig {
            failure_threshold,
            open_for,
            max_open_for: open_for,
        },
        ..patient_calls()
    }
}

/// Waits until `condition` holds, checking every few milliseconds: for a state that a
/// real clock brings about (a breaker's open period). Gives up after a minute, so a
/// condition that never comes fails the test instead of hanging it.
pub async fn until(what: &str, condition: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "still waiting, after a minute, for {what}");
}

/// Waits until the async `condition` holds, checking every 100 ms: for a state that a
/// process outside the test brings about (a restarted Postgres). Gives up after two
/// minutes, so a condition that never comes fails the test instead of hanging it.
pub async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(Duration::from_secs(120), async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "still waiting, after two minutes, for {what}"
    );
}

/// Whether `GET {base}/health` answers 200.
pub async fn healthy(http: &reqwest::Client, base: &str) -> bool {
    http.get(format!("{base}/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
}

/// A server bound to a free loopback port that is not serving yet.
pub struct Bound {
    pub listener: tokio::net::TcpListener,
    pub url: String,
}

pub async fn bind() -> Bound {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    Bound { listener, url }
}

/// The migrated pair on a database of its own. Each service can be stopped on its own.
pub struct MigratedApp {
    pub customers: String,
    pub orders: String,
    /// Admin pool on the pair's database, for arranging and checking.
    pub db: PgPool,
    pub http: reqwest::Client,
    pub database: TestDatabase,
    pub customers_client: std::sync::Arc<migrated_orders::CustomersClient>,
    pub running: pairs::Running,
}

/// A migrated database (secured again by the template: privileges are not copied).
pub async fn migrated_database(ctx: &TestContext) -> TestDatabase {
    ctx.database(&MIGRATED).await
}

pub async fn spawn_migrated(ctx: &TestContext) -> MigratedApp {
    let database = migrated_database(ctx).await;
    let (customers, orders) = (bind().await, bind().await);
    spawn_migrated_with(database, customers, orders, patient_calls()).await
}

/// Customers served on `customers` and orders on `orders`, each calling the other at its
/// bound URL; a test may bind a fake in place of either and point the other at it.
pub async fn spawn_migrated_with(
    database: TestDatabase,
    customers: Bound,
    orders: Bound,
    calls: UpstreamConfig,
) -> MigratedApp {
    let apps = pairs::migrated::Apps::new(
        &database.url,
        &secrets(),
        [&customers.url, &orders.url],
        &pairs::migrated::Calls::both(calls),
    )
    .expect("the migrated apps");
    let running = pairs::Running {
        customers: Serving::spawn(customers.listener, apps.customers).expect("serving"),
        orders: Serving::spawn(orders.listener, apps.orders).expect("serving"),
    };
    MigratedApp {
        customers: customers.url,
        orders: orders.url,
        db: chassis::db::pool(&database.url, "test").expect("a pool"),
        http: http_client(),
        database,
        customers_client: apps.customers_client,
        running,
    }
}

/// The customers service on its own login in `database`, calling orders at `orders_url`.
pub fn customers_app(
    database: &DatabaseUrl,
    orders_url: &str,
    calls: UpstreamConfig,
) -> axum::Router {
    pairs::migrated::Apps::new(
        database,
        &secrets(),
        ["http://unused.invalid", orders_url],
        &pairs::migrated::Calls::both(calls),
    )
    .expect("the migrated apps")
    .customers
}

/// The orders service on its own login in `database`, calling customers through `customers`.
pub fn orders_app(
    database: &DatabaseUrl,
    customers: std::sync::Arc<migrated_orders::CustomersClient>,
) -> axum::Router {
    let owner = migrated_orders::owner(ORDERS_DB_PASSWORD);
    migrated_orders::router(migrated_orders::AppState {
        pool: chassis::db::pool(&owner.runtime_url(database), migrated_orders::APP)
            .expect("a pool"),
        customers,
    })
}

/// An orders service calling customers at `customers_url` (a fake, often) with `calls`;
/// returns its URL and the client, whose breaker the test can watch.
pub async fn orders_calling(
    database: &DatabaseUrl,
    customers_url: &str,
    calls: UpstreamConfig,
    shutdown: &CancellationToken,
) -> (String, std::sync::Arc<migrated_orders::CustomersClient>) {
    let client = std::sync::Arc::new(
        migrated_orders::CustomersClient::new(customers_url, calls).expect("a client"),
    );
    (
        serve(orders_app(database, client.clone()), shutdown).await,
        client,
    )
}

impl MigratedApp {
    /// How many rows `table` holds (schema-qualified).
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.db)
            .await
            .expect("count rows")
    }
}
