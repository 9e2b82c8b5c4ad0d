//! The legacy pair at baseline: every cross-ownership flow works, the way it is built, by
//! SQL on the other service's table. Real Postgres, real HTTP, a database per test.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use lab::harness::TestContext;
use lab::scenario::Pair;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::{expect_problem, seed_stats, spawn_legacy};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        shows_an_order_with_its_customers_name_and_email,
        lists_a_customers_orders_a_page_at_a_time,
        accepts_an_order_for_an_existing_active_customer,
        a_retried_order_with_the_same_idempotency_key_creates_one_order,
        rejects_an_order_for_a_suspended_customer_and_writes_nothing,
        rejects_an_order_for_an_unknown_customer_and_writes_nothing,
        guest_checkout_registers_the_customer_and_places_the_order,
        guest_checkout_with_a_registered_email_is_a_conflict_and_writes_nothing,
        shows_a_profile_with_open_order_count_and_lifetime_value_read_from_orders,
        refuses_to_delete_a_customer_with_open_orders,
        deletes_a_customer_without_open_orders_and_keeps_their_order_history,
        creates_updates_and_lists_customers,
        refuses_a_second_customer_with_the_same_email,
        moves_an_order_through_its_statuses_and_refuses_to_cancel_a_shipped_one,
        deletes_an_order,
        answers_bad_input_with_problems_and_writes_nothing,
        answers_unknown_routes_and_methods_with_problems,
        stores_injection_attempts_as_plain_text,
        both_services_log_in_as_the_same_user_under_their_own_application_names,
        keeps_the_callers_request_id_and_makes_one_when_absent,
        answers_503_with_retry_after_when_the_database_is_down,
        seeding_and_migrating_again_change_nothing,
    ])
}

async fn shows_an_order_with_its_customers_name_and_email(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let seed_order = &lab::seed::orders()[0];
    let seed_customer = &lab::seed::customers()[seed_order.customer_id as usize - 1];

    let response = app
        .http
        .get(format!("{}/orders/1", app.orders))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["id"], 1);
    assert_eq!(order["customer_id"], seed_order.customer_id);
    assert_eq!(order["status"], seed_order.status);
    assert_eq!(order["total"], seed_order.total.to_string());
    assert_eq!(order["customer"]["name"], seed_customer.name());
    assert_eq!(order["customer"]["email"], seed_customer.email);
}

async fn lists_a_customers_orders_a_page_at_a_time(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let expected: Vec<i64> = lab::seed::orders()
        .iter()
        .filter(|o| o.customer_id == 3)
        .map(|o| o.id)
        .collect();

    let page = |offset: usize| {
        app.http
            .get(format!(
                "{}/orders?customer_id=3&limit=4&offset={offset}",
                app.orders
            ))
            .send()
    };
    let first: Value = page(0).await.unwrap().json().await.unwrap();
    let second: Value = page(4).await.unwrap().json().await.unwrap();

    assert_eq!(first["total"], expected.len());
    let ids: Vec<i64> = [&first, &second]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(ids, expected[..8]);
    assert!(
        first["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["customer"]["email"].is_string())
    );
}

/// A client that lost the answer retries with the same key and gets the first order; the
/// key used for another order is refused, one with a tab is malformed, and the key outlives
/// its order.
async fn a_retried_order_with_the_same_idempotency_key_creates_one_order(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let before = app.count("orders").await;
    let place = |key: &'static str, total: &str| {
        app.http
            .post(format!("{}/orders", app.orders))
            .header("idempotency-key", key)
            .json(&json!({ "customer_id": 1, "total": total }))
            .send()
    };

    let first = place("checkout-7f3a", "12.00").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let retried = place("checkout-7f3a", "12.00").await.unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    let retried: Value = retried.json().await.unwrap();
    let reused = place("checkout-7f3a", "99.00").await.unwrap();
    let malformed = place("a\tb", "12.00").await.unwrap();

    assert_eq!(first["id"], retried["id"]);
    expect_problem(reused, 422, "/problems/idempotency-key-reused").await;
    expect_problem(malformed, 400, "/problems/invalid-query").await;
    assert_eq!(app.count("orders").await, before + 1);

    let deleted = app
        .http
        .delete(format!("{}/orders/{}", app.orders, first["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let late = place("checkout-7f3a", "12.00").await.unwrap();
    let problem = expect_problem(late, 410, "/problems/order-deleted").await;
    assert_eq!(problem["order_id"], first["id"]);
    assert_eq!(app.count("orders").await, before);
}

async fn accepts_an_order_for_an_existing_active_customer(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let orders_before = app.count("orders").await;

    let response = app
        .http
        .post(format!("{}/orders", app.orders))
        .json(&json!({ "customer_id": 1, "total": "42.50" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/orders/{}", order["id"]));
    assert_eq!(order["status"], "NEW");
    assert_eq!(order["total"], "42.50");
    assert_eq!(order["customer"]["email"], lab::seed::customers()[0].email);
    assert_eq!(app.count("orders").await, orders_before + 1);
    let fetched: Value = app
        .http
        .get(format!("{}{location}", app.orders))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, order);
}

async fn rejects_an_order_for_a_suspended_customer_and_writes_nothing(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let suspended = lab::seed::customers()
        .into_iter()
        .find(|c| c.status == "suspended")
        .unwrap();
    let orders_before = app.count("orders").await;

    let response = app
        .http
        .post(format!("{}/orders", app.orders))
        .json(&json!({ "customer_id": suspended.id, "total": 10 }))
        .send()
        .await
        .unwrap();

    let problem = expect_problem(response, 422, "/problems/customer-not-active").await;
    assert_eq!(problem["customer_id"], suspended.id);
    assert_eq!(app.count("orders").await, orders_before);
}

async fn rejects_an_order_for_an_unknown_customer_and_writes_nothing(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let orders_before = app.count("orders").await;

    let response = app
        .http
        .post(format!("{}/orders", app.orders))
        .json(&json!({ "customer_id": 999_999, "total": 10 }))
        .send()
        .await
        .unwrap();

    expect_problem(response, 422, "/problems/unknown-customer").await;
    assert_eq!(app.count("orders").await, orders_before);
}

async fn guest_checkout_registers_the_customer_and_places_the_order(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;

    let response = app
        .http
        .post(format!("{}/guest-checkouts", app.orders))
        .json(&json!({ "name": "Guest Buyer", "email": "Guest@Example.com", "total": 19.99 }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(
        order["customer"],
        json!({ "name": "Guest Buyer", "email": "guest@example.com" })
    );
    assert_eq!(order["total"], "19.99");
    let (name, status): (String, String) =
        sqlx::query_as("SELECT name, status FROM customers WHERE id = $1")
            .bind(order["customer_id"].as_i64().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((name.as_str(), status.as_str()), ("Guest Buyer", "active"));
    let profile: Value = app
        .http
        .get(format!(
            "{}/customers/{}",
            app.customers, order["customer_id"]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["open_order_count"], 1);
    assert_eq!(profile["lifetime_value"], "19.99");
}

async fn guest_checkout_with_a_registered_email_is_a_conflict_and_writes_nothing(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let taken = &lab::seed::customers()[4].email;
    let (customers_before, orders_before) =
        (app.count("customers").await, app.count("orders").await);

    let response = app
        .http
        .post(format!("{}/guest-checkouts", app.orders))
        .json(&json!({ "name": "Someone", "email": taken, "total": "5.00" }))
        .send()
        .await
        .unwrap();

    expect_problem(response, 409, "/problems/email-taken").await;
    assert_eq!(app.count("customers").await, customers_before);
    assert_eq!(app.count("orders").await, orders_before);
}

async fn shows_a_profile_with_open_order_count_and_lifetime_value_read_from_orders(
    ctx: TestContext,
) {
    let app = spawn_legacy(&ctx).await;
    let (open, value) = seed_stats(7);
    assert!(
        open > 0 && value > Decimal::ZERO,
        "the seed gives customer 7 orders"
    );

    let profile: Value = app
        .http
        .get(format!("{}/customers/7", app.customers))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(profile["id"], 7);
    assert_eq!(profile["email"], lab::seed::customers()[6].email);
    assert_eq!(profile["open_order_count"], open);
    assert_eq!(profile["lifetime_value"], value.to_string());
}

async fn refuses_to_delete_a_customer_with_open_orders(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let (open, _) = seed_stats(2);

    let response = app
        .http
        .delete(format!("{}/customers/2", app.customers))
        .send()
        .await
        .unwrap();

    let problem = expect_problem(response, 409, "/problems/customer-has-open-orders").await;
    assert_eq!(problem["open_order_count"], open);
    let still_there: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE id = 2")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(still_there, 1);
}

async fn deletes_a_customer_without_open_orders_and_keeps_their_order_history(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    // Close every open order of customer 5, then delete them.
    sqlx::query(
        "UPDATE orders SET status = 'SHIPPED' WHERE customer_id = 5 AND status IN ('NEW', 'PAID')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let history = lab::seed::orders()
        .iter()
        .filter(|o| o.customer_id == 5)
        .count() as i64;

    let response = app
        .http
        .delete(format!("{}/customers/5", app.customers))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone = app
        .http
        .get(format!("{}/customers/5", app.customers))
        .send()
        .await
        .unwrap();
    expect_problem(gone, 404, "/problems/customer-not-found").await;
    let orphans: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE customer_id IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orphans, history);
    let again = app
        .http
        .delete(format!("{}/customers/5", app.customers))
        .send()
        .await
        .unwrap();
    expect_problem(again, 404, "/problems/customer-not-found").await;
}

async fn creates_updates_and_lists_customers(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;

    let created = app
        .http
        .post(format!("{}/customers", app.customers))
        .json(&json!({ "name": "Katherine Johnson", "email": "kj@example.com", "phone": "+1 555 0100" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let customer: Value = created.json().await.unwrap();
    assert_eq!(location, format!("/customers/{}", customer["id"]));
    assert_eq!(customer["status"], "active");

    let updated: Value = app
        .http
        .patch(format!("{}{location}", app.customers))
        .json(&json!({ "status": "suspended", "name": "Katherine G. Johnson" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["status"], "suspended");
    assert_eq!(updated["name"], "Katherine G. Johnson");
    assert_eq!(updated["email"], "kj@example.com");

    let last_page: Value = app
        .http
        .get(format!(
            "{}/customers?limit=1&offset={}",
            app.customers,
            lab::seed::CUSTOMERS
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(last_page["total"], lab::seed::CUSTOMERS + 1);
    assert_eq!(last_page["items"][0]["id"], customer["id"]);

    let bad_status = app
        .http
        .patch(format!("{}{location}", app.customers))
        .json(&json!({ "status": "deleted" }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(bad_status, 422, "/problems/validation").await;
    assert_eq!(problem["field"], "status");
}

async fn refuses_a_second_customer_with_the_same_email(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let taken = lab::seed::customers()[0].email.to_uppercase();
    let before = app.count("customers").await;

    let response = app
        .http
        .post(format!("{}/customers", app.customers))
        .json(&json!({ "name": "Copy", "email": taken }))
        .send()
        .await
        .unwrap();

    expect_problem(response, 409, "/problems/email-taken").await;
    assert_eq!(app.count("customers").await, before);
}

async fn moves_an_order_through_its_statuses_and_refuses_to_cancel_a_shipped_one(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let new_order = lab::seed::orders()
        .into_iter()
        .find(|o| o.status == "NEW")
        .unwrap();
    let url = format!("{}/orders/{}", app.orders, new_order.id);
    let set = |status: &'static str| {
        app.http
            .patch(&url)
            .json(&json!({ "status": status }))
            .send()
    };

    for status in ["PAID", "SHIPPED"] {
        let response = set(status).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["status"], status);
    }
    expect_problem(
        set("CANCELLED").await.unwrap(),
        409,
        "/problems/invalid-transition",
    )
    .await;
    expect_problem(set("LOST").await.unwrap(), 422, "/problems/validation").await;
    let stored: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(new_order.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, "SHIPPED");
}

async fn deletes_an_order(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;

    let response = app
        .http
        .delete(format!("{}/orders/10", app.orders))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone = app
        .http
        .get(format!("{}/orders/10", app.orders))
        .send()
        .await
        .unwrap();
    expect_problem(gone, 404, "/problems/order-not-found").await;
    assert_eq!(app.count("orders").await, lab::seed::ORDERS - 1);
}

async fn answers_bad_input_with_problems_and_writes_nothing(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let (customers_before, orders_before) =
        (app.count("customers").await, app.count("orders").await);

    support::bad_input::answers_each_with_its_problem(
        Pair::Legacy,
        &app.customers,
        &app.orders,
        &app.http,
    )
    .await;

    assert_eq!(app.count("customers").await, customers_before);
    assert_eq!(app.count("orders").await, orders_before);
}

async fn answers_unknown_routes_and_methods_with_problems(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let get = |url: String| app.http.get(url).send();

    expect_problem(
        get(format!("{}/invoices", app.orders)).await.unwrap(),
        404,
        "/problems/not-found",
    )
    .await;
    let put = app
        .http
        .put(format!("{}/orders/1", app.orders))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(put, 405, "/problems/method-not-allowed").await;
    let patch_missing = app
        .http
        .patch(format!("{}/customers/424242", app.customers))
        .json(&json!({ "name": "Nobody" }))
        .send()
        .await
        .unwrap();
    expect_problem(patch_missing, 404, "/problems/customer-not-found").await;
}

async fn stores_injection_attempts_as_plain_text(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let name = "Robert'); DROP TABLE customers; --";

    let response = app
        .http
        .post(format!("{}/customers", app.customers))
        .json(&json!({ "name": name, "email": "bobby@example.com" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let customer: Value = response.json().await.unwrap();
    assert_eq!(customer["name"], name);
    assert_eq!(app.count("customers").await, lab::seed::CUSTOMERS + 1);
    let sneaky = app
        .http
        .get(format!("{}/orders?status=NEW'%20OR%20'1'='1", app.orders))
        .send()
        .await
        .unwrap();
    expect_problem(sneaky, 400, "/problems/invalid-query").await;
}

async fn both_services_log_in_as_the_same_user_under_their_own_application_names(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    app.http
        .get(format!("{}/customers/1", app.customers))
        .send()
        .await
        .unwrap();
    app.http
        .get(format!("{}/orders/1", app.orders))
        .send()
        .await
        .unwrap();

    let sessions: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT application_name, usename::text FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE 'legacy-%'
         ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();

    let names: Vec<&str> = sessions.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["legacy-customers", "legacy-orders"]);
    assert_eq!(sessions[0].1, sessions[1].1, "one shared login");
}

async fn keeps_the_callers_request_id_and_makes_one_when_absent(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;

    let given = app
        .http
        .get(format!("{}/orders/1", app.orders))
        .header("x-request-id", "workshop-42")
        .send()
        .await
        .unwrap();
    let made = app
        .http
        .get(format!("{}/customers/1", app.customers))
        .send()
        .await
        .unwrap();

    assert_eq!(given.headers()["x-request-id"], "workshop-42");
    let made_id = made.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(made_id.len(), 36, "a UUID: {made_id}");
}

async fn answers_503_with_retry_after_when_the_database_is_down(ctx: TestContext) {
    // A pool pointed at a port where no Postgres listens: the database is "down".
    let database = ctx.database(&support::LEGACY).await;
    let down: chassis::DatabaseUrl = "postgres://postgres:postgres@127.0.0.1:1/nowhere"
        .parse()
        .unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let orders = support::serve(
        legacy::orders::router(chassis::db::pool(&down, "down").unwrap()),
        &shutdown,
    )
    .await;
    let http = support::http_client();

    let response = http.get(format!("{orders}/orders/1")).send().await.unwrap();
    let retry_after = response.headers().get("retry-after").cloned();
    expect_problem(response, 503, "/problems/database-unavailable").await;
    assert_eq!(retry_after.unwrap(), "5");
    let health = http.get(format!("{orders}/health")).send().await.unwrap();
    expect_problem(health, 503, "/problems/database-unavailable").await;

    shutdown.cancel();
    drop(database);
}

async fn seeding_and_migrating_again_change_nothing(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;

    let applied = legacy::migrate(&app.database.url).await.unwrap();
    let inserted = lab::seed::write::legacy(&app.db).await.unwrap();

    assert_eq!(applied, 0);
    assert_eq!(inserted, 0);
    assert_eq!(app.count("customers").await, lab::seed::CUSTOMERS);
    assert_eq!(app.count("orders").await, lab::seed::ORDERS);
    let statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM orders ORDER BY 1")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(statuses, ["CANCELLED", "NEW", "PAID", "SHIPPED"]);
}
