//! The orders service as a tolerant reader of customers (issue 12): the customers team may
//! add a field or a status value without asking, and orders keeps working. A stub customers
//! service answers what a newer owner might: extra fields at every level, and a status this
//! consumer has never heard of (`pending_verification`). Orders runs for real, on its own
//! login against real Postgres; what it answers and what it writes are checked.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::get;
use chassis::resilience::BreakerState;
use lab::harness::TestContext;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{expect_problem, migrated_database};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        places_no_order_for_a_customer_in_a_status_it_does_not_know,
        places_no_order_for_a_customer_whose_status_is_missing,
        places_an_order_for_an_active_customer_whose_answer_carries_unknown_fields,
        shows_an_order_whose_customer_took_an_unknown_status_without_degrading,
    ])
}

/// Customer 1 as a newer customers service might describe it: fields this consumer never
/// asked for, nested and at the top, and links it does not follow.
fn newer_customer(status: Option<&str>) -> Value {
    let mut customer = json!({
        "id": 1,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "loyalty": { "tier": "gold", "since": "2019-04-01" },
        "tags": ["early-adopter", 7, null],
        "verification": { "method": "document", "expires_at": null },
        "_links": {
            "self": { "href": "/v1/customers/1" },
            "verify": { "href": "/v1/customers/1/verification", "method": "POST" }
        }
    });
    if let Some(status) = status {
        customer["status"] = json!(status);
    }
    customer
}

/// A customers service that knows customer 1 only, as `customer` currently says, by itself
/// and in a batch page (with an unknown page field too).
fn stub_customers(customer: Arc<Mutex<Value>>) -> axum::Router {
    async fn one(
        State(c): State<Arc<Mutex<Value>>>,
        Path(id): Path<i64>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        if id != 1 {
            return axum::http::StatusCode::NOT_FOUND.into_response();
        }
        let body = c.lock().unwrap().clone();
        axum::Json(body).into_response()
    }
    async fn many(State(c): State<Arc<Mutex<Value>>>) -> axum::Json<Value> {
        let customer = c.lock().unwrap().clone();
        axum::Json(json!({ "items": [customer], "next_cursor": null, "total_estimate": 1 }))
    }
    axum::Router::new()
        .route("/v1/customers", get(many))
        .route("/v1/customers/{id}", get(one))
        .with_state(customer)
}

struct Orders {
    url: String,
    client: Arc<migrated_orders::CustomersClient>,
    customer: Arc<Mutex<Value>>,
    db: PgPool,
    http: reqwest::Client,
    stop: CancellationToken,
    _database: lab::harness::TestDatabase,
}

impl Orders {
    async fn start(ctx: &TestContext, customer: Value) -> Self {
        let database = migrated_database(ctx).await;
        let stop = CancellationToken::new();
        let customer = Arc::new(Mutex::new(customer));
        let stub = support::serve(stub_customers(customer.clone()), &stop).await;
        let (url, client) =
            support::orders_calling(&database.url, &stub, support::patient_calls(), &stop).await;
        Self {
            url,
            client,
            customer,
            db: chassis::db::pool(&database.url, "test").unwrap(),
            http: support::http_client(),
            stop,
            _database: database,
        }
    }

    async fn orders_of_customer_1(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM orders.orders WHERE customer_id = 1")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    async fn place(&self) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/orders", self.url))
            .json(&json!({ "customer_id": 1, "total": 10 }))
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Orders {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn refuses_with_customer_not_active(orders: &Orders, status_word: &str) {
    let before = orders.orders_of_customer_1().await;

    let response = orders.place().await;

    let problem = expect_problem(response, 422, "/problems/customer-not-active").await;
    assert_eq!(problem["customer_id"], 1);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(status_word), "{detail}");
    assert_eq!(orders.orders_of_customer_1().await, before);
    // The owner answered: an unknown value is not an outage.
    assert_eq!(orders.client.breaker_state(), BreakerState::Closed);
}

async fn places_no_order_for_a_customer_in_a_status_it_does_not_know(ctx: TestContext) {
    let orders = Orders::start(&ctx, newer_customer(Some("pending_verification"))).await;

    refuses_with_customer_not_active(&orders, "pending_verification").await;
}

async fn places_no_order_for_a_customer_whose_status_is_missing(ctx: TestContext) {
    let orders = Orders::start(&ctx, newer_customer(None)).await;

    refuses_with_customer_not_active(&orders, "no known status").await;
}

async fn places_an_order_for_an_active_customer_whose_answer_carries_unknown_fields(
    ctx: TestContext,
) {
    let orders = Orders::start(&ctx, newer_customer(Some("active"))).await;
    let before = orders.orders_of_customer_1().await;

    let response = orders.place().await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["customer"]["name"], "Ada Lovelace");
    assert_eq!(order["customer"]["email"], "ada@example.com");
    assert!(order.get("degraded").is_none(), "{order}");
    // Nothing of the owner's extra fields leaks into this service's answer.
    assert!(!order.to_string().contains("loyalty"), "{order}");
    assert_eq!(orders.orders_of_customer_1().await, before + 1);
}

async fn shows_an_order_whose_customer_took_an_unknown_status_without_degrading(ctx: TestContext) {
    let orders = Orders::start(&ctx, newer_customer(Some("active"))).await;
    let placed: Value = orders.place().await.json().await.unwrap();
    let id = placed["id"].as_i64().unwrap();
    *orders.customer.lock().unwrap() = newer_customer(Some("pending_verification"));

    let one = orders
        .http
        .get(format!("{}/v1/orders/{id}", orders.url))
        .send()
        .await
        .unwrap();
    let page = orders
        .http
        .get(format!("{}/v1/orders?customer_id=1", orders.url))
        .send()
        .await
        .unwrap();

    assert_eq!(one.status(), StatusCode::OK);
    assert!(one.headers().get("warning").is_none());
    let one: Value = one.json().await.unwrap();
    assert_eq!(one["customer"]["name"], "Ada Lovelace");
    assert!(one.get("degraded").is_none(), "{one}");
    assert_eq!(page.status(), StatusCode::OK);
    let page: Value = page.json().await.unwrap();
    let listed = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap();
    assert_eq!(listed["customer"]["email"], "ada@example.com");
    assert!(listed.get("degraded").is_none(), "{listed}");
}
