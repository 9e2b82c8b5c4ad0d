//! The migrated pair: the same business behaviour as the legacy pair, with each service
//! owning its schema (enforced by Postgres) and the other reaching it only over HTTP, and
//! surviving when that HTTP fails. Real Postgres, real sockets, a database per test.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use axum::routing::{get, post};
use chassis::resilience::BreakerState;
use lab::harness::TestContext;
use lab::scenario::Pair;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    bind, expect_problem, migrated_database, patient_calls, seed_stats, spawn_migrated,
    spawn_migrated_with,
};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        orders_role_cannot_read_write_alter_or_create_in_customers,
        customers_role_cannot_read_write_alter_or_create_in_orders,
        each_runtime_role_has_dml_on_its_own_tables_and_nothing_on_the_others,
        each_history_lives_in_its_owners_schema_and_no_foreign_key_crosses_schemas,
        runtime_roles_log_in_with_passwords_full_of_url_characters,
        shows_an_order_with_its_customers_name_and_email,
        shows_a_page_of_orders_with_one_call_to_customers,
        accepts_an_order_for_an_existing_active_customer,
        rejects_orders_for_suspended_and_unknown_customers_and_writes_nothing,
        guest_checkout_registers_the_customer_through_the_api,
        guest_checkout_with_a_registered_email_is_a_conflict_and_writes_nothing,
        shows_a_profile_with_order_figures_from_the_orders_api,
        refuses_to_delete_a_customer_with_open_orders,
        deletes_a_customer_without_open_orders,
        answers_304_for_a_current_etag_and_412_for_a_stale_one,
        a_retried_order_with_the_same_idempotency_key_creates_one_order,
        keeps_the_promises_of_its_openapi_documents_that_schemathesis_checks,
        answers_bad_input_with_problems_and_writes_nothing,
        names_the_bad_field_and_never_a_rust_type_or_serde_wording,
        fails_closed_when_customers_is_stopped,
        degrades_the_profile_and_refuses_deletes_when_orders_is_stopped,
        fails_closed_when_customers_hangs,
        opens_the_breaker_when_customers_keeps_failing_and_stops_calling_it,
        recovers_through_a_half_open_probe_when_customers_returns,
        retries_a_lookup_that_failed_once,
        succeeds_when_customers_is_slow_but_within_budget,
        forwards_the_request_id_to_the_owner,
        refuses_an_order_with_502_when_customers_rejects_or_garbles_the_lookup,
        refuses_a_guest_checkout_with_502_when_customers_rejects_the_registration,
        refuses_a_delete_with_502_when_orders_rejects_the_figures_call,
        serves_xml_with_link_elements_and_406_for_what_it_cannot_produce,
        a_python_client_with_only_the_standard_library_uses_the_api,
    ])
}

async fn sqlstate_as(url: &chassis::DatabaseUrl, sql: &str) -> Option<String> {
    let pool = chassis::db::pool(url, "wall-test").unwrap();
    let result = sqlx::raw_sql(sql).execute(&pool).await;
    pool.close().await;
    result.err().and_then(|err| chassis::db::sqlstate(&err))
}

async fn assert_walls(role: &chassis::DatabaseUrl, foreign_table: &str, foreign_schema: &str) {
    let attempts = [
        format!("SELECT * FROM {foreign_table} LIMIT 1"),
        format!("INSERT INTO {foreign_table} (id) VALUES (999999)"),
        format!("UPDATE {foreign_table} SET id = id"),
        format!("DELETE FROM {foreign_table}"),
        format!("ALTER TABLE {foreign_table} ADD COLUMN sneaky TEXT"),
        format!("CREATE TABLE {foreign_schema}.sneaky (id INT)"),
        "CREATE TABLE public.sneaky (id INT)".to_owned(),
    ];
    for sql in attempts {
        assert_eq!(
            sqlstate_as(role, &sql).await.as_deref(),
            Some("42501"),
            "{sql}"
        );
    }
}

async fn orders_role_cannot_read_write_alter_or_create_in_customers(ctx: TestContext) {
    let database = migrated_database(&ctx).await;
    let [_, orders] = support::migrated_owners();

    assert_walls(
        &orders.runtime_url(&database.url),
        "customers.customers",
        "customers",
    )
    .await;
}

async fn customers_role_cannot_read_write_alter_or_create_in_orders(ctx: TestContext) {
    let database = migrated_database(&ctx).await;
    let [customers, _] = support::migrated_owners();

    assert_walls(
        &customers.runtime_url(&database.url),
        "orders.orders",
        "orders",
    )
    .await;
}

async fn each_runtime_role_has_dml_on_its_own_tables_and_nothing_on_the_others(ctx: TestContext) {
    let database = migrated_database(&ctx).await;
    let admin = chassis::db::pool(&database.url, "test").unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT schemaname::text, tablename::text FROM pg_tables WHERE schemaname IN ('customers', 'orders')",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(tables.len() >= 4, "{tables:?}");

    for (schema, table) in &tables {
        for (role, owns) in [
            ("customers_svc", schema == "customers"),
            ("orders_svc", schema == "orders"),
        ] {
            for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
                let has: bool = sqlx::query_scalar("SELECT has_table_privilege($1, $2, $3)")
                    .bind(role)
                    .bind(format!("{schema}.{table}"))
                    .bind(privilege)
                    .fetch_one(&admin)
                    .await
                    .unwrap();
                // Its own history (migrations, releases) a runtime role reads, never writes.
                let history = chassis::ownership::HISTORY_TABLES.contains(&table.as_str());
                let expected = owns && (privilege == "SELECT" || !history);
                assert_eq!(has, expected, "{role} {privilege} on {schema}.{table}");
            }
            let ddl: bool = sqlx::query_scalar("SELECT has_table_privilege($1, $2, 'TRUNCATE') OR has_table_privilege($1, $2, 'REFERENCES')")
                .bind(role)
                .bind(format!("{schema}.{table}"))
                .fetch_one(&admin)
                .await
                .unwrap();
            assert!(
                !ddl,
                "{role} has TRUNCATE or REFERENCES on {schema}.{table}"
            );
        }
    }
    for (role, schema, expected) in [
        ("customers_svc", "customers", true),
        ("customers_svc", "orders", false),
        ("orders_svc", "orders", true),
        ("orders_svc", "customers", false),
        ("customers_svc", "public", false),
        ("orders_svc", "public", false),
    ] {
        let usage: bool = sqlx::query_scalar("SELECT has_schema_privilege($1, $2, 'USAGE')")
            .bind(role)
            .bind(schema)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert_eq!(usage, expected, "{role} USAGE on {schema}");
        let create: bool = sqlx::query_scalar("SELECT has_schema_privilege($1, $2, 'CREATE')")
            .bind(role)
            .bind(schema)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert!(!create, "{role} CREATE on {schema}");
    }
    let public_connect: bool = sqlx::query_scalar(
        "SELECT has_database_privilege('public', current_database(), 'CONNECT')",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(!public_connect, "PUBLIC may not connect");
    admin.close().await;
}

async fn each_history_lives_in_its_owners_schema_and_no_foreign_key_crosses_schemas(
    ctx: TestContext,
) {
    let database = migrated_database(&ctx).await;
    let admin = chassis::db::pool(&database.url, "test").unwrap();

    let histories: Vec<(String, String)> = sqlx::query_as(
        "SELECT schemaname::text, tableowner::text FROM pg_tables WHERE tablename = 'refinery_schema_history' ORDER BY 1",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    let crossing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint c
         JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid
         WHERE c.contype = 'f' AND s.relnamespace <> t.relnamespace",
    )
    .fetch_one(&admin)
    .await
    .unwrap();

    assert_eq!(
        histories,
        [
            ("customers".to_owned(), "customers_owner".to_owned()),
            ("orders".to_owned(), "orders_owner".to_owned())
        ]
    );
    assert_eq!(crossing, 0);
    admin.close().await;
}

async fn shows_an_order_with_its_customers_name_and_email(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let seed_order = &lab::seed::orders()[0];
    let seed_customer = &lab::seed::customers()[seed_order.customer_id as usize - 1];

    let response = app
        .http
        .get(format!("{}/v1/orders/1", app.orders))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("etag"));
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["customer_id"], seed_order.customer_id);
    assert_eq!(order["status"], seed_order.status);
    assert_eq!(order["total"], seed_order.total.to_string());
    assert_eq!(
        order["customer"],
        json!({ "name": seed_customer.name(), "email": seed_customer.email })
    );
    assert_eq!(order["_links"]["self"]["href"], "/v1/orders/1");
    assert_eq!(
        order["_links"]["customer"]["href"],
        format!("{}/v1/customers/{}", app.customers, seed_order.customer_id)
    );
}

/// A customers service that counts calls and answers any batch lookup with the ids asked.
fn counting_customers(calls: Arc<AtomicUsize>) -> axum::Router {
    axum::Router::new().route(
        "/v1/customers",
        get(move |axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let items: Vec<Value> = q["ids"]
                    .split(',')
                    .map(|id| json!({ "id": id.parse::<i64>().unwrap(), "name": format!("N{id}"), "email": format!("{id}@x.test"), "status": "active", "loyalty_tier": "gold" }))
                    .collect();
                axum::Json(json!({ "items": items, "total": items.len() }))
            }
        }),
    )
}

async fn shows_a_page_of_orders_with_one_call_to_customers(ctx: TestContext) {
    let calls = Arc::new(AtomicUsize::new(0));
    let fake = bind().await;
    let customers_url = fake.url.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(chassis::http::serve(
        fake.listener,
        counting_customers(calls.clone()),
        stop.clone(),
    ));
    let app = spawn_migrated_with(
        migrated_database(&ctx).await,
        bind().await,
        bind().await,
        patient_calls(),
    )
    .await;
    // Point a second orders service at the fake: the real pair's orders calls the real one.
    let (orders, _) =
        support::orders_calling(&app.database.url, &customers_url, patient_calls(), &stop).await;

    let page: Value = app
        .http
        .get(format!("{orders}/v1/orders?limit=50"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one batch lookup for the whole page"
    );
    let first = &page["items"][0];
    assert_eq!(
        first["customer"]["name"],
        format!("N{}", first["customer_id"])
    );
    assert_eq!(
        page["_links"]["next"]["href"],
        "/v1/orders?limit=50&offset=50"
    );
    stop.cancel();
}

async fn accepts_an_order_for_an_existing_active_customer(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let before = app.count("orders.orders").await;

    let response = app
        .http
        .post(format!("{}/v1/orders", app.orders))
        .json(&json!({ "customer_id": 1, "total": "42.50" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/orders/{}", order["id"]));
    assert_eq!(
        (order["status"].as_str(), order["total"].as_str()),
        (Some("NEW"), Some("42.50"))
    );
    assert_eq!(order["customer"]["email"], lab::seed::customers()[0].email);
    assert_eq!(app.count("orders.orders").await, before + 1);
}

async fn rejects_orders_for_suspended_and_unknown_customers_and_writes_nothing(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let suspended = lab::seed::customers()
        .into_iter()
        .find(|c| c.status == "suspended")
        .unwrap();
    let before = app.count("orders.orders").await;
    let place = |customer_id: i64| {
        app.http
            .post(format!("{}/v1/orders", app.orders))
            .json(&json!({ "customer_id": customer_id, "total": 10 }))
            .send()
    };

    expect_problem(
        place(suspended.id).await.unwrap(),
        422,
        "/problems/customer-not-active",
    )
    .await;
    expect_problem(
        place(999_999).await.unwrap(),
        422,
        "/problems/unknown-customer",
    )
    .await;

    assert_eq!(app.count("orders.orders").await, before);
}

async fn guest_checkout_registers_the_customer_through_the_api(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;

    let response = app
        .http
        .post(format!("{}/v1/guest-checkouts", app.orders))
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
    let customer: Value = app
        .http
        .get(format!(
            "{}/v1/customers/{}",
            app.customers, order["customer_id"]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(customer["status"], "active");
    let profile: Value = app
        .http
        .get(format!(
            "{}/v1/customers/{}/profile",
            app.customers, order["customer_id"]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        profile["order_stats"],
        json!({ "open_order_count": 1, "lifetime_value": "19.99" })
    );
}

async fn guest_checkout_with_a_registered_email_is_a_conflict_and_writes_nothing(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let taken = &lab::seed::customers()[4].email;
    let (customers_before, orders_before) = (
        app.count("customers.customers").await,
        app.count("orders.orders").await,
    );

    let response = app
        .http
        .post(format!("{}/v1/guest-checkouts", app.orders))
        .json(&json!({ "name": "Someone", "email": taken, "total": "5.00" }))
        .send()
        .await
        .unwrap();

    expect_problem(response, 409, "/problems/email-taken").await;
    assert_eq!(app.count("customers.customers").await, customers_before);
    assert_eq!(app.count("orders.orders").await, orders_before);
}

async fn shows_a_profile_with_order_figures_from_the_orders_api(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let (open, value) = seed_stats(7);

    let response = app
        .http
        .get(format!("{}/v1/customers/7/profile", app.customers))
        .send()
        .await
        .unwrap();

    assert!(!response.headers().contains_key("warning"));
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["email"], lab::seed::customers()[6].email);
    assert_eq!(
        profile["order_stats"],
        json!({ "open_order_count": open, "lifetime_value": value.to_string() })
    );
    assert!(profile.get("degraded").is_none());
}

async fn refuses_to_delete_a_customer_with_open_orders(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let (open, _) = seed_stats(2);

    let response = app
        .http
        .delete(format!("{}/v1/customers/2", app.customers))
        .send()
        .await
        .unwrap();

    let problem = expect_problem(response, 409, "/problems/customer-has-open-orders").await;
    assert_eq!(problem["open_order_count"], open);
    assert_eq!(app.count("customers.customers").await, lab::seed::CUSTOMERS);
}

async fn deletes_a_customer_without_open_orders(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let without_orders = lab::seed::CUSTOMERS;

    let response = app
        .http
        .delete(format!("{}/v1/customers/{without_orders}", app.customers))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone = app
        .http
        .get(format!("{}/v1/customers/{without_orders}", app.customers))
        .send()
        .await
        .unwrap();
    expect_problem(gone, 404, "/problems/customer-not-found").await;
}

async fn answers_304_for_a_current_etag_and_412_for_a_stale_one(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let url = format!("{}/v1/customers/3", app.customers);
    let first = app.http.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();

    let again = app
        .http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    let changed = app
        .http
        .patch(&url)
        .header("if-match", &etag)
        .json(&json!({ "phone": "+1 555 0199" }))
        .send()
        .await
        .unwrap();
    let stale = app
        .http
        .patch(&url)
        .header("if-match", &etag)
        .json(&json!({ "name": "Lost Update" }))
        .send()
        .await
        .unwrap();

    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    expect_problem(stale, 412, "/problems/precondition-failed").await;
    let current: Value = app
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["phone"], "+1 555 0199");
    assert_ne!(current["name"], "Lost Update");
}

async fn a_retried_order_with_the_same_idempotency_key_creates_one_order(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let before = app.count("orders.orders").await;
    let place = |total: &str| {
        app.http
            .post(format!("{}/v1/orders", app.orders))
            .header("idempotency-key", "checkout-7f3a")
            .json(&json!({ "customer_id": 1, "total": total }))
            .send()
    };

    let first: Value = place("12.00").await.unwrap().json().await.unwrap();
    let retried = place("12.00").await.unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    let retried: Value = retried.json().await.unwrap();
    let reused = place("99.00").await.unwrap();

    assert_eq!(first["id"], retried["id"]);
    assert_eq!(app.count("orders.orders").await, before + 1);
    expect_problem(reused, 422, "/problems/idempotency-key-reused").await;
    assert_eq!(app.count("orders.orders").await, before + 1);
}

/// What scripts/schemathesis.sh found, each kept fixed: a request the document allows is
/// accepted, one it forbids is refused with the status the document names.
async fn keeps_the_promises_of_its_openapi_documents_that_schemathesis_checks(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let customer = format!("{}/v1/customers/3", app.customers);
    let before: Value = app
        .http
        .get(&customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // An If-Match this service never issues matches no version: 412, as a stale one.
    for foreign in ["0", "\"h1\"", "W/\"1\""] {
        let patched = app
            .http
            .patch(&customer)
            .header("if-match", foreign)
            .json(&json!({ "name": "Never Applied" }))
            .send()
            .await
            .unwrap();
        expect_problem(patched, 412, "/problems/precondition-failed").await;
    }
    let missing = app
        .http
        .patch(format!("{}/v1/customers/999999", app.customers))
        .header("if-match", "0")
        .json(&json!({ "name": "Nobody" }))
        .send()
        .await
        .unwrap();
    expect_problem(missing, 404, "/problems/customer-not-found").await;
    let after: Value = app
        .http
        .get(&customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);

    // The documents say a name is at most 200 characters as sent, an email has no spaces
    // and no `format` beyond its pattern, and a phone holds a digit.
    let create = |body: Value| {
        app.http
            .post(format!("{}/v1/customers", app.customers))
            .json(&body)
            .send()
    };
    let padded = format!("{} ", "x".repeat(200));
    for (body, field) in [
        (
            json!({ "name": padded, "email": "pad@example.com" }),
            "name",
        ),
        (
            json!({ "name": "Spaced", "email": " spaced@example.com" }),
            "email",
        ),
        (
            json!({ "name": "Blank", "email": "blank@example.com", "phone": "" }),
            "phone",
        ),
    ] {
        let refused = create(body).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["field"], field);
    }
    let unicode = create(json!({ "name": "Ěþ", "email": "ěþ@³ã.mì«é" }))
        .await
        .unwrap();
    assert_eq!(unicode.status(), StatusCode::CREATED);

    // A whole customer id written as a float is the same id; a tab is no visible ASCII.
    let place = |body: Value, key: &'static str| {
        app.http
            .post(format!("{}/v1/orders", app.orders))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let placed = place(json!({ "customer_id": 1.0, "total": "3.00" }), "float-id")
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let placed: Value = placed.json().await.unwrap();
    assert_eq!(placed["customer_id"], 1);
    let orders_before = app.count("orders.orders").await;
    let fraction = place(json!({ "customer_id": 1.5, "total": "3.00" }), "fraction")
        .await
        .unwrap();
    expect_problem(fraction, 422, "/problems/invalid-body").await;
    let tab = place(json!({ "customer_id": 1, "total": "3.00" }), "a\tb")
        .await
        .unwrap();
    expect_problem(tab, 400, "/problems/invalid-query").await;
    assert_eq!(app.count("orders.orders").await, orders_before);
}

async fn answers_bad_input_with_problems_and_writes_nothing(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let (customers_before, orders_before) = (
        app.count("customers.customers").await,
        app.count("orders.orders").await,
    );

    support::bad_input::answers_each_with_its_problem(
        Pair::Migrated,
        &app.customers,
        &app.orders,
        &app.http,
    )
    .await;

    assert_eq!(app.count("customers.customers").await, customers_before);
    assert_eq!(app.count("orders.orders").await, orders_before);
}

async fn fails_closed_when_customers_is_stopped(ctx: TestContext) {
    let mut app = spawn_migrated(&ctx).await;
    let before = app.count("orders.orders").await;
    app.running.customers.stop().await.unwrap();

    let response = app
        .http
        .post(format!("{}/v1/orders", app.orders))
        .json(&json!({ "customer_id": 1, "total": "10.00" }))
        .send()
        .await
        .unwrap();

    let retry_after = response.headers().get("retry-after").cloned();
    expect_problem(response, 503, "/problems/dependency-unavailable").await;
    assert!(retry_after.is_some(), "503 says when to retry");
    assert_eq!(app.count("orders.orders").await, before, "nothing written");
    let order = app
        .http
        .get(format!("{}/v1/orders/1", app.orders))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), StatusCode::OK, "reads degrade instead");
    assert!(order.headers().contains_key("warning"));
    let order: Value = order.json().await.unwrap();
    assert_eq!(
        (order["customer"].clone(), order["degraded"].clone()),
        (Value::Null, json!(["customer"]))
    );
}

async fn degrades_the_profile_and_refuses_deletes_when_orders_is_stopped(ctx: TestContext) {
    let mut app = spawn_migrated(&ctx).await;
    app.running.orders.stop().await.unwrap();

    let response = app
        .http
        .get(format!("{}/v1/customers/7/profile", app.customers))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["warning"]
            .to_str()
            .unwrap()
            .contains("unavailable")
    );
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["email"], lab::seed::customers()[6].email);
    assert_eq!(profile["order_stats"], Value::Null);
    assert_eq!(profile["degraded"], json!(["order_stats"]));
    let delete = app
        .http
        .delete(format!(
            "{}/v1/customers/{}",
            app.customers,
            lab::seed::CUSTOMERS
        ))
        .send()
        .await
        .unwrap();
    expect_problem(delete, 503, "/problems/dependency-unavailable").await;
    assert_eq!(
        app.count("customers.customers").await,
        lab::seed::CUSTOMERS,
        "nothing deleted"
    );
}

/// A server that accepts connections, counts them, and never answers.
async fn hanging_server() -> (
    String,
    Arc<AtomicUsize>,
    tokio_util::sync::CancellationToken,
) {
    let bound = bind().await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let (count, token) = (accepted.clone(), stop.clone());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            tokio::select! {
                socket = bound.listener.accept() => if let Ok((socket, _)) = socket {
                    count.fetch_add(1, Ordering::SeqCst);
                    held.push(socket);
                },
                () = token.cancelled() => break,
            }
        }
    });
    (bound.url, accepted, stop)
}

/// How long the consumer waits is the chassis's to test, on a paused clock
/// (`chassis::resilience`); here, with real sockets, only what it answers and writes.
async fn fails_closed_when_customers_hangs(ctx: TestContext) {
    let (hanging, accepted, stop) = hanging_server().await;
    let database = migrated_database(&ctx).await;
    let pool = chassis::db::pool(
        &support::migrated_owners()[1].runtime_url(&database.url),
        "t",
    )
    .unwrap();
    let (orders, _) =
        support::orders_calling(&database.url, &hanging, support::tight_calls(), &stop).await;

    let response = support::http_client()
        .post(format!("{orders}/v1/orders"))
        .json(&json!({ "customer_id": 1, "total": 10 }))
        .send()
        .await
        .unwrap();

    let retry_after = response.headers().get("retry-after").cloned();
    expect_problem(response, 503, "/problems/dependency-unavailable").await;
    assert!(retry_after.is_some(), "503 says when to retry");
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "it reached the owner and waited for it"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orders.orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, lab::seed::ORDERS, "nothing written");
    stop.cancel();
}

async fn opens_the_breaker_when_customers_keeps_failing_and_stops_calling_it(ctx: TestContext) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let failing = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            // Overloaded: an answer that says it cannot serve anyone (a 500 would be about
            // one request, and would not count).
            AxumStatus::SERVICE_UNAVAILABLE
        }
    });
    let fake = bind().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = fake.url.clone();
    tokio::spawn(chassis::http::serve(fake.listener, failing, stop.clone()));
    let database = migrated_database(&ctx).await;
    // Open long enough that it cannot turn half-open while the test looks at it.
    let threshold = 5;
    let calls_policy = support::breaker_calls(threshold, Duration::from_secs(600));
    let (orders, client) =
        support::orders_calling(&database.url, &fake_url, calls_policy, &stop).await;
    let http = support::http_client();
    let place = || {
        http.post(format!("{orders}/v1/orders"))
            .json(&json!({ "customer_id": 1, "total": 10 }))
            .send()
    };
    assert_eq!(client.breaker_state(), BreakerState::Closed);

    // Each order's lookup is tried three times: the fifth failure opens the breaker during
    // the second order.
    for _ in 0..2 {
        expect_problem(
            place().await.unwrap(),
            503,
            "/problems/dependency-unavailable",
        )
        .await;
    }
    let state_after_failures = client.breaker_state();
    let calls_when_open = calls.load(Ordering::SeqCst);
    let refused = place().await.unwrap();

    assert_eq!(state_after_failures, BreakerState::Open);
    assert_eq!(
        calls_when_open, threshold as usize,
        "called until the breaker opened"
    );
    let retry_after = refused.headers().get("retry-after").cloned();
    expect_problem(refused, 503, "/problems/dependency-unavailable").await;
    assert!(retry_after.is_some(), "503 says when to retry");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        calls_when_open,
        "an open breaker does not call the owner"
    );
    assert_eq!(client.breaker_state(), BreakerState::Open);
    stop.cancel();
}

async fn retries_a_lookup_that_failed_once(ctx: TestContext) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let flaky = axum::Router::new().route(
        "/v1/customers/{id}",
        get(move |axum::extract::Path(id): axum::extract::Path<i64>| {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(AxumStatus::BAD_GATEWAY);
                }
                Ok(axum::Json(json!({ "id": id, "name": "Flaky Owner", "email": "f@x.test", "status": "active" })))
            }
        }),
    );
    let fake = bind().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = fake.url.clone();
    tokio::spawn(chassis::http::serve(fake.listener, flaky, stop.clone()));
    let database = migrated_database(&ctx).await;
    let (orders, _) =
        support::orders_calling(&database.url, &fake_url, patient_calls(), &stop).await;

    let response = support::http_client()
        .post(format!("{orders}/v1/orders"))
        .json(&json!({ "customer_id": 1, "total": 10 }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one failure, one retry");
    stop.cancel();
}

async fn succeeds_when_customers_is_slow_but_within_budget(ctx: TestContext) {
    let slow = axum::Router::new().route(
        "/v1/customers/{id}",
        get(|axum::extract::Path(id): axum::extract::Path<i64>| async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            axum::Json(json!({ "id": id, "name": "Slow Owner", "email": "s@x.test", "status": "active", "added_later": true }))
        }),
    );
    let fake = bind().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = fake.url.clone();
    tokio::spawn(chassis::http::serve(fake.listener, slow, stop.clone()));
    let database = migrated_database(&ctx).await;
    let (orders, _) =
        support::orders_calling(&database.url, &fake_url, patient_calls(), &stop).await;

    let response = support::http_client()
        .post(format!("{orders}/v1/orders"))
        .json(&json!({ "customer_id": 1, "total": 10 }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["customer"]["name"], "Slow Owner");
    stop.cancel();
}

async fn forwards_the_request_id_to_the_owner(ctx: TestContext) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let owner = axum::Router::new()
        .route(
            "/v1/customers",
            get(move |headers: axum::http::HeaderMap| {
                let record = record.clone();
                async move {
                    let id = headers
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    record.lock().unwrap().push(id);
                    axum::Json(json!({ "items": [] }))
                }
            }),
        )
        .route(
            "/v1/customers/{id}",
            post(|| async { AxumStatus::METHOD_NOT_ALLOWED }),
        );
    let fake = bind().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = fake.url.clone();
    tokio::spawn(chassis::http::serve(fake.listener, owner, stop.clone()));
    let database = migrated_database(&ctx).await;
    let (orders, _) =
        support::orders_calling(&database.url, &fake_url, patient_calls(), &stop).await;

    let response = support::http_client()
        .get(format!("{orders}/v1/orders?limit=2"))
        .header("x-request-id", "workshop-trace-1")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "workshop-trace-1");
    assert_eq!(*seen.lock().unwrap(), ["workshop-trace-1"]);
    stop.cancel();
}

async fn serves_xml_with_link_elements_and_406_for_what_it_cannot_produce(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let get = |url: String, accept: &'static str| app.http.get(url).header("accept", accept).send();

    let order = get(format!("{}/v1/orders/1", app.orders), "application/xml")
        .await
        .unwrap();
    let page = get(
        format!("{}/v1/customers?limit=2", app.customers),
        "text/xml",
    )
    .await
    .unwrap();
    let refused = get(format!("{}/v1/orders/1", app.orders), "text/csv")
        .await
        .unwrap();
    let json = get(format!("{}/v1/orders/1", app.orders), "application/json")
        .await
        .unwrap();

    assert_eq!(order.status(), StatusCode::OK);
    assert!(
        order.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(order.headers()["etag"].to_str().unwrap().starts_with("W/"));
    let xml = order.text().await.unwrap();
    let seed = &lab::seed::orders()[0];
    assert!(
        xml.contains(&format!(
            "<order><id>1</id><customer_id>{}</customer_id>",
            seed.customer_id
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<total>{}</total>", seed.total)),
        "{xml}"
    );
    assert!(
        xml.contains("<link rel=\"self\" href=\"/v1/orders/1\"/>"),
        "{xml}"
    );
    let page = page.text().await.unwrap();
    assert!(
        page.starts_with("<?xml") && page.contains("<customers><items><item><id>1</id>"),
        "{page}"
    );
    assert!(
        page.contains("<link rel=\"next\" href=\"/v1/customers?limit=2&amp;offset=2\"/>"),
        "{page}"
    );
    expect_problem(refused, 406, "/problems/not-acceptable").await;
    assert_eq!(json.headers()["vary"], "accept");
    let json: Value = json.json().await.unwrap();
    assert_eq!(json["total"], seed.total.to_string());
}

/// Principle 2: a consumer in another language needs nothing from this repository.
async fn a_python_client_with_only_the_standard_library_uses_the_api(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/api_client.py");
    let (customers, orders) = (app.customers.clone(), app.orders.clone());

    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, "--customers", &customers, "--orders", &orders])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs (install it from your distribution's packages)");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seed_order = &lab::seed::orders()[0];
    let seed_customer = &lab::seed::customers()[seed_order.customer_id as usize - 1];
    assert!(
        stdout.contains(&format!(
            "order 1: {} {} for {}",
            seed_order.status,
            seed_order.total,
            seed_customer.name()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "customer link: {} <{}>",
            seed_customer.name(),
            seed_customer.email
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("problem: 422 /problems/validation"),
        "{stdout}"
    );
    assert!(stdout.contains("order 1 as XML: <order> total"), "{stdout}");
    assert!(stdout.contains("text/csv: 406"), "{stdout}");
    assert_eq!(
        app.count("orders.orders").await,
        lab::seed::ORDERS + 1,
        "the retried order was created once"
    );
}

async fn recovers_through_a_half_open_probe_when_customers_returns(ctx: TestContext) {
    let database = migrated_database(&ctx).await;
    let customers = bind().await;
    let customers_addr = customers.listener.local_addr().unwrap();
    // Long enough that the breaker is still open when the test looks; short enough to wait.
    let calls = support::breaker_calls(5, Duration::from_secs(2));
    let mut app = spawn_migrated_with(database, customers, bind().await, calls).await;
    let place = || {
        app.http
            .post(format!("{}/v1/orders", app.orders))
            .json(&json!({ "customer_id": 1, "total": 10 }))
            .send()
    };
    app.running.customers.stop().await.unwrap();
    // Three refused connections per order's lookup: the fifth opens the breaker.
    for _ in 0..2 {
        expect_problem(
            place().await.unwrap(),
            503,
            "/problems/dependency-unavailable",
        )
        .await;
    }
    assert_eq!(app.customers_client.breaker_state(), BreakerState::Open);

    // The customers service comes back on the same address.
    let listener = tokio::net::TcpListener::bind(customers_addr).await.unwrap();
    let back = tokio_util::sync::CancellationToken::new();
    let customers_app = support::customers_app(&app.database.url, &app.orders, calls);
    tokio::spawn(chassis::http::serve(listener, customers_app, back.clone()));
    support::until("the breaker to let a probe through", || {
        app.customers_client.breaker_state() == BreakerState::HalfOpen
    })
    .await;
    let response = place().await.unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.customers_client.breaker_state(), BreakerState::Closed);
    assert_eq!(app.count("orders.orders").await, lab::seed::ORDERS + 1);
    back.cancel();
}

/// How many rows `table` (schema-qualified) holds in `database`, read as admin.
async fn rows(database: &chassis::DatabaseUrl, table: &str) -> i64 {
    let pool = chassis::db::pool(database, "test").unwrap();
    let count = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

/// A customers service that is up and will not help: a 400 for customer 1, a 422 for 2,
/// and for any other a success orders cannot read. Its words are marked SECRET, to show
/// that they stay in the consumer's log. Counts the calls.
fn refusing_customers(calls: Arc<AtomicUsize>) -> axum::Router {
    axum::Router::new().route(
        "/v1/customers/{id}",
        get(move |axum::extract::Path(id): axum::extract::Path<i64>| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let (status, body) = match id {
                    1 => (
                        AxumStatus::BAD_REQUEST,
                        json!({ "detail": "SECRET: bad id" }),
                    ),
                    2 => (
                        AxumStatus::UNPROCESSABLE_ENTITY,
                        json!({ "detail": "SECRET: rule" }),
                    ),
                    _ => (AxumStatus::OK, json!({ "SECRET": "not a customer" })),
                };
                (status, axum::Json(body))
            }
        }),
    )
}

async fn refuses_an_order_with_502_when_customers_rejects_or_garbles_the_lookup(ctx: TestContext) {
    let calls = Arc::new(AtomicUsize::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = support::serve(refusing_customers(calls.clone()), &stop).await;
    let database = migrated_database(&ctx).await;
    let (orders, client) =
        support::orders_calling(&database.url, &fake_url, patient_calls(), &stop).await;
    let http = support::http_client();

    for customer_id in [1, 2, 3] {
        let response = http
            .post(format!("{orders}/v1/orders"))
            .json(&json!({ "customer_id": customer_id, "total": 10 }))
            .send()
            .await
            .unwrap();

        let retry_after = response.headers().get("retry-after").cloned();
        let problem = expect_problem(response, 502, "/problems/upstream-rejected").await;
        assert_eq!(
            retry_after, None,
            "customer {customer_id}: waiting will not help"
        );
        assert!(
            !problem.to_string().contains("SECRET"),
            "customer {customer_id}: the owner's words stay in the log: {problem}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3, "an answer is not retried");
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed,
        "an owner that answers is up"
    );
    assert_eq!(
        rows(&database.url, "orders.orders").await,
        lab::seed::ORDERS,
        "nothing written"
    );
    stop.cancel();
}

async fn refuses_a_guest_checkout_with_502_when_customers_rejects_the_registration(
    ctx: TestContext,
) {
    let refusing = axum::Router::new().route(
        "/v1/customers",
        post(|| async {
            let body = json!({ "detail": "SECRET: expected value at line 1" });
            (AxumStatus::BAD_REQUEST, axum::Json(body))
        }),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = support::serve(refusing, &stop).await;
    let database = migrated_database(&ctx).await;
    let (orders, _) =
        support::orders_calling(&database.url, &fake_url, patient_calls(), &stop).await;

    let response = support::http_client()
        .post(format!("{orders}/v1/guest-checkouts"))
        .json(&json!({ "name": "Guest Buyer", "email": "guest@example.com", "total": "10.00" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers().get("retry-after"), None);
    let problem = expect_problem(response, 502, "/problems/upstream-rejected").await;
    assert!(!problem.to_string().contains("SECRET"), "{problem}");
    assert_eq!(
        rows(&database.url, "orders.orders").await,
        lab::seed::ORDERS,
        "nothing written"
    );
    stop.cancel();
}

async fn refuses_a_delete_with_502_when_orders_rejects_the_figures_call(ctx: TestContext) {
    let refusing = axum::Router::new().route(
        "/v1/order-stats/{customer_id}",
        get(|| async {
            let body = json!({ "detail": "SECRET: bad customer id" });
            (AxumStatus::BAD_REQUEST, axum::Json(body))
        }),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let fake_url = support::serve(refusing, &stop).await;
    let database = migrated_database(&ctx).await;
    let app = support::customers_app(&database.url, &fake_url, patient_calls());
    let customers = support::serve(app, &stop).await;
    let http = support::http_client();

    let delete = http
        .delete(format!("{customers}/v1/customers/{}", lab::seed::CUSTOMERS))
        .send()
        .await
        .unwrap();
    let profile = http
        .get(format!("{customers}/v1/customers/7/profile"))
        .send()
        .await
        .unwrap();

    assert_eq!(delete.headers().get("retry-after"), None);
    let problem = expect_problem(delete, 502, "/problems/upstream-rejected").await;
    assert!(!problem.to_string().contains("SECRET"), "{problem}");
    assert_eq!(
        rows(&database.url, "customers.customers").await,
        lab::seed::CUSTOMERS,
        "nothing deleted"
    );
    assert_eq!(profile.status(), StatusCode::OK, "a read still degrades");
    let profile: Value = profile.json().await.unwrap();
    assert_eq!(profile["degraded"], json!(["order_stats"]));
    stop.cancel();
}

async fn runtime_roles_log_in_with_passwords_full_of_url_characters(ctx: TestContext) {
    let database = migrated_database(&ctx).await;

    for owner in support::migrated_owners() {
        let password = secrecy::ExposeSecret::expose_secret(&owner.runtime_password).to_owned();
        assert!(
            "@:/%# ".chars().all(|c| password.contains(c)),
            "{password:?} lacks a character under test"
        );
        let pool = chassis::db::pool(&owner.runtime_url(&database.url), "login-test").unwrap();
        let user: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;

        assert_eq!(user, owner.runtime_role);
    }
}

async fn names_the_bad_field_and_never_a_rust_type_or_serde_wording(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let post = |url: String, body: Value| app.http.post(url).json(&body).send();
    let get = |url: String| app.http.get(url).send();

    let cases = [
        (
            post(
                format!("{}/v1/orders", app.orders),
                json!({ "customer_id": "one", "total": "5.00" }),
            )
            .await,
            422,
            "/problems/invalid-body",
            "customer_id",
        ),
        (
            post(
                format!("{}/v1/customers", app.customers),
                json!({ "name": "X", "email": "x@example.com", "version": 9 }),
            )
            .await,
            422,
            "/problems/invalid-body",
            "version",
        ),
        (
            get(format!("{}/v1/orders/abc", app.orders)).await,
            400,
            "/problems/invalid-path",
            "id",
        ),
        (
            get(format!("{}/v1/order-stats/1.5", app.orders)).await,
            400,
            "/problems/invalid-path",
            "customer_id",
        ),
        (
            get(format!("{}/v1/orders?customer_id=seven", app.orders)).await,
            400,
            "/problems/invalid-query",
            "customer_id",
        ),
    ];

    for (response, status, problem_type, field) in cases {
        let problem = expect_problem(response.unwrap(), status, problem_type).await;
        assert_eq!(problem["field"], field, "{problem}");
        if status == 422 {
            assert_eq!(problem["pointer"], format!("/{field}"), "{problem}");
        }
        let text = problem.to_string();
        for internal in ["expected", "struct", "i64", "`", "invalid type"] {
            assert!(!text.contains(internal), "{internal:?} in {problem}");
        }
    }
}
