//! What an attacker and a bad day found in the services (issue 13), each kept fixed here
//! against real Postgres and real sockets: idempotent replays under concurrency, a client
//! that cannot open a breaker with its own bad input, a breaker that follows its owner back,
//! clients that hang up mid-request, and an idempotency key that outlives its order.
//! Bad input as such is in `support/bad_input.rs`, run against both pairs.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use axum::routing::get;
use chassis::resilience::BreakerState;
use lab::harness::TestContext;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Executor, PgPool, Row};
use support::{bind, expect_problem, migrated_database, spawn_legacy, spawn_migrated};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        twenty_concurrent_replays_of_one_idempotency_key_all_get_the_first_order,
        a_retry_after_its_order_was_deleted_is_gone_and_creates_nothing,
        guest_checkouts_with_a_nul_byte_do_not_open_the_customers_breaker,
        a_500_from_customers_for_one_registration_is_a_502_and_leaves_the_breaker_closed,
        an_open_breaker_asks_for_a_retry_within_a_second_and_lets_the_returning_owner_in,
        cancelled_order_posts_leave_no_migrated_connection_idle_in_transaction,
        cancelled_order_posts_leave_no_legacy_connection_idle_in_transaction,
        a_begin_cancelled_in_flight_leaves_no_pooled_connection_inside_a_transaction,
    ])
}

async fn twenty_concurrent_replays_of_one_idempotency_key_all_get_the_first_order(
    ctx: TestContext,
) {
    let app = spawn_migrated(&ctx).await;
    let url = format!("{}/v1/orders", app.orders);
    let place = |http: reqwest::Client, url: String| async move {
        let response = http
            .post(url)
            .header("idempotency-key", "k1")
            .json(&json!({ "customer_id": 1, "total": "12.00" }))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let (status, first) = place(app.http.clone(), url.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    // More replays at once than the pool has connections: each must need only one.
    let mut replays = JoinSet::new();
    for _ in 0..20 {
        replays.spawn(place(app.http.clone(), url.clone()));
    }
    let answers = replays.join_all().await;

    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        assert_eq!(body["id"], first["id"], "{body}");
    }
    assert_eq!(app.count("orders.orders").await, lab::seed::ORDERS + 1);
}

async fn a_retry_after_its_order_was_deleted_is_gone_and_creates_nothing(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let place = || {
        app.http
            .post(format!("{}/v1/orders", app.orders))
            .header("idempotency-key", "deleted-1")
            .json(&json!({ "customer_id": 1, "total": "12.00" }))
            .send()
    };
    let first: Value = place().await.unwrap().json().await.unwrap();
    let deleted = app
        .http
        .delete(format!("{}/v1/orders/{}", app.orders, first["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let retried = place().await.unwrap();

    let problem = expect_problem(retried, 410, "/problems/order-deleted").await;
    assert_eq!(problem["order_id"], first["id"]);
    assert_eq!(app.count("orders.orders").await, lab::seed::ORDERS);
}

async fn guest_checkouts_with_a_nul_byte_do_not_open_the_customers_breaker(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let threshold = migrated_orders::CALL_POLICY.breaker.failure_threshold;

    for n in 0..threshold * 2 {
        let response = app
            .http
            .post(format!("{}/v1/guest-checkouts", app.orders))
            .json(&json!({ "name": "Mallory\u{0}", "email": format!("m{n}@example.com"), "total": 5 }))
            .send()
            .await
            .unwrap();
        let problem = expect_problem(response, 422, "/problems/validation").await;
        assert_eq!(problem["field"], "name");
    }
    let breaker = app.customers_client.breaker_state();
    let order = app
        .http
        .post(format!("{}/v1/orders", app.orders))
        .json(&json!({ "customer_id": 1, "total": 10 }))
        .send()
        .await
        .unwrap();

    assert_eq!(breaker, BreakerState::Closed);
    assert_eq!(order.status(), StatusCode::CREATED);
}

/// A customers service that fails every registration with 500, as it did for a body it
/// could not store, and answers lookups: customer 1 is active.
fn failing_registrations(registrations: Arc<AtomicUsize>) -> axum::Router {
    let customer =
        json!({ "id": 1, "name": "Ada", "email": "ada@example.com", "status": "active" });
    let one = customer.clone();
    axum::Router::new()
        .route(
            "/v1/customers",
            get(move || {
                let page = json!({ "items": [customer.clone()] });
                async move { axum::Json(page) }
            })
            .post(move || {
                registrations.fetch_add(1, Ordering::SeqCst);
                async { AxumStatus::INTERNAL_SERVER_ERROR }
            }),
        )
        .route(
            "/v1/customers/{id}",
            get(move || {
                let one = one.clone();
                async move { axum::Json(one) }
            }),
        )
}

async fn a_500_from_customers_for_one_registration_is_a_502_and_leaves_the_breaker_closed(
    ctx: TestContext,
) {
    let registrations = Arc::new(AtomicUsize::new(0));
    let fake = bind().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = fake.url.clone();
    let app = failing_registrations(registrations.clone());
    tokio::spawn(chassis::http::serve(fake.listener, app, stop.clone()));
    let database = migrated_database(&ctx).await;
    let (orders, client) =
        support::orders_calling(&database.url, &fake_url, support::patient_calls(), &stop).await;
    let http = support::http_client();
    let threshold = migrated_orders::CALL_POLICY.breaker.failure_threshold;

    for n in 0..threshold * 2 {
        let response = http
            .post(format!("{orders}/v1/guest-checkouts"))
            .json(&json!({ "name": "Ada", "email": format!("g{n}@example.com"), "total": 5 }))
            .send()
            .await
            .unwrap();
        expect_problem(response, 502, "/problems/upstream-rejected").await;
    }
    let breaker = client.breaker_state();
    let order = http
        .post(format!("{orders}/v1/orders"))
        .json(&json!({ "customer_id": 1, "total": 10 }))
        .send()
        .await
        .unwrap();

    assert_eq!(registrations.load(Ordering::SeqCst), threshold as usize * 2);
    assert_eq!(breaker, BreakerState::Closed);
    assert_eq!(order.status(), StatusCode::CREATED);
    stop.cancel();
}

async fn an_open_breaker_asks_for_a_retry_within_a_second_and_lets_the_returning_owner_in(
    ctx: TestContext,
) {
    // The pair's own breaker policy (patient timeouts change nothing about it).
    let database = migrated_database(&ctx).await;
    let customers = bind().await;
    let customers_addr = customers.listener.local_addr().unwrap();
    let calls = support::patient_calls();
    assert_eq!(calls.breaker, migrated_orders::CALL_POLICY.breaker);
    let mut app = support::spawn_migrated_with(database, customers, bind().await, calls).await;
    let place = || {
        app.http
            .post(format!("{}/v1/orders", app.orders))
            .json(&json!({ "customer_id": 1, "total": 10 }))
            .send()
    };
    app.running.customers.stop().await.unwrap();
    while app.customers_client.breaker_state() == BreakerState::Closed {
        expect_problem(
            place().await.unwrap(),
            503,
            "/problems/dependency-unavailable",
        )
        .await;
    }

    let refused = place().await.unwrap();
    let retry_after = refused.headers().get("retry-after").cloned();
    expect_problem(refused, 503, "/problems/dependency-unavailable").await;
    let listener = tokio::net::TcpListener::bind(customers_addr).await.unwrap();
    let back = tokio_util::sync::CancellationToken::new();
    let customers_app = support::customers_app(&app.database.url, &app.orders, calls);
    tokio::spawn(chassis::http::serve(listener, customers_app, back.clone()));
    support::until("the breaker to let a probe through", || {
        app.customers_client.breaker_state() != BreakerState::Open
    })
    .await;
    let placed = place().await.unwrap();

    assert_eq!(retry_after.unwrap(), "1");
    assert_eq!(placed.status(), StatusCode::CREATED);
    assert_eq!(app.customers_client.breaker_state(), BreakerState::Closed);
    back.cancel();
}

/// Sends a whole POST and hangs up after `after`, before the answer: the server is told
/// the client is gone while its handler runs, which cancels the handler where it awaits.
async fn post_and_hang_up(addr: String, path: &'static str, body: String, after: Duration) {
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Not a wait for anything: the moment the client gives up, spread over a handler's life.
    tokio::time::sleep(after).await;
    drop(stream);
}

/// 200 POSTs whose clients hang up at moments spread over a handler's life, alongside 20
/// that wait for their answer; returns the ids of the orders acknowledged with 201.
async fn cancel_order_posts(base: &str, path: &'static str, http: &reqwest::Client) -> Vec<i64> {
    let addr = base.trim_start_matches("http://").to_owned();
    let mut hang_ups = JoinSet::new();
    for n in 0..200u64 {
        let body = json!({ "customer_id": 1 + n % 3, "total": "3.00" }).to_string();
        let after = Duration::from_micros((n * 7_919) % 20_000);
        hang_ups.spawn(post_and_hang_up(addr.clone(), path, body, after));
    }
    let mut patient = JoinSet::new();
    for _ in 0..20 {
        let request = http
            .post(format!("{base}{path}"))
            .json(&json!({ "customer_id": 1, "total": "4.00" }));
        patient.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body)
        });
    }
    hang_ups.join_all().await;
    patient
        .join_all()
        .await
        .into_iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body["id"].as_i64().unwrap())
        .collect()
}

/// Waits until no connection to the test's database but the test's own is busy or inside
/// a transaction, which is where a server whose handlers have all finished must arrive. A
/// connection left idle in transaction never gets there: the test fails after 30 s, with
/// what `pg_stat_activity` showed.
async fn assert_no_connection_left_in_a_transaction(admin: &PgPool) {
    let query = "SELECT coalesce(application_name, '') || ': ' || coalesce(state, '') || ' ' || left(query, 60)
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND application_name <> 'test' AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')";
    let mut busy: Vec<String> = Vec::new();
    for _ in 0..600 {
        busy = sqlx::query_scalar(query).fetch_all(admin).await.unwrap();
        if busy.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("connections still busy or inside a transaction after 30 s: {busy:#?}");
}

async fn assert_committed(admin: &PgPool, table: &str, ids: &[i64]) {
    let found: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE id = ANY($1)"))
            .bind(ids)
            .fetch_one(admin)
            .await
            .unwrap();
    assert_eq!(found, ids.len() as i64, "acknowledged orders committed");
}

async fn cancelled_order_posts_leave_no_migrated_connection_idle_in_transaction(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;

    let acknowledged = cancel_order_posts(&app.orders, "/v1/orders", &app.http).await;

    assert_no_connection_left_in_a_transaction(&app.db).await;
    assert_committed(&app.db, "orders.orders", &acknowledged).await;
    assert_eq!(acknowledged.len(), 20);
}

async fn cancelled_order_posts_leave_no_legacy_connection_idle_in_transaction(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;

    let acknowledged = cancel_order_posts(&app.orders, "/orders", &app.http).await;

    assert_no_connection_left_in_a_transaction(&app.db).await;
    assert_committed(&app.db, "orders", &acknowledged).await;
    assert_eq!(acknowledged.len(), 20);
}

/// sqlx 0.8 (launchbadge/sqlx#4393): a `Pool::begin` dropped after its `BEGIN` was sent but
/// before the answer came back returns the connection to the pool inside the transaction,
/// where the next borrower's statements run uncommitted. The services' pool must not keep
/// such a connection. Each attempt cancels a `begin` a few microseconds later than the last,
/// so that some land in that window whatever the machine's speed (the cancelled task stands
/// for a request whose client hung up).
async fn a_begin_cancelled_in_flight_leaves_no_pooled_connection_inside_a_transaction(
    ctx: TestContext,
) {
    let app = spawn_legacy(&ctx).await;
    let pool = chassis::db::pool(&app.database.url, "cancelled-begins").unwrap();

    for n in 0..400u64 {
        let begun = pool.clone();
        let task = tokio::spawn(async move {
            let _tx = begun.begin().await;
            std::future::pending::<()>().await;
        });
        // The timer's millisecond ticks are too coarse to land inside a `BEGIN`'s round
        // trip: the hang-up comes after a spin of n × 3 µs on the machine's own clock.
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_micros(n * 3) {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
    }
    // Every connection the pool holds, borrowed at once, asked whether it is in a
    // transaction: inside one, it began before this statement did.
    let mut borrowed = Vec::new();
    let mut inside = 0;
    while let Ok(Ok(mut conn)) =
        tokio::time::timeout(Duration::from_millis(500), pool.acquire()).await
    {
        // The simple protocol: outside a transaction, a statement starts its own.
        let row = (&mut *conn)
            .fetch_one("SELECT transaction_timestamp() <> statement_timestamp()")
            .await
            .unwrap();
        let in_transaction: bool = row.get(0);
        inside += i32::from(in_transaction);
        borrowed.push(conn);
        if borrowed.len() == 10 {
            break;
        }
    }

    assert_eq!(inside, 0, "pooled connections inside a transaction");
    drop(borrowed);
    pool.close().await;
    assert_no_connection_left_in_a_transaction(&app.db).await;
}
