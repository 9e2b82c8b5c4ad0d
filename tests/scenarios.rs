//! The owner-side schema changes of `migrations/scenarios`, each shipped to both pairs on
//! fresh databases while both services run: the migrated consumer's every response stays
//! identical, field by field; the legacy consumer breaks exactly as the scenario says; the
//! owner's own endpoints keep working in both.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;
use std::sync::OnceLock;

use chassis::releases::Applied;
use chassis::telemetry::ErrorLog;
use lab::flows::{Flow, Observed, Probe, impact};
use lab::harness::TestContext;
use lab::scenario::Pair;
use lab::{matrix, pairs};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::{LegacyApp, MigratedApp, spawn_legacy, spawn_migrated};

fn main() -> ExitCode {
    let _ = ERRORS.set(chassis::telemetry::init_with_error_log(true));
    lab::harness::main(lab::tests![
        rename_email_breaks_legacy_order_views_and_guest_checkout_loudly,
        split_name_breaks_legacy_order_views_and_guest_checkout_loudly,
        rename_table_breaks_every_legacy_read_and_write_of_customers_loudly,
        required_column_breaks_legacy_guest_checkout_loudly,
        money_in_cents_multiplies_legacy_lifetime_values_by_100_silently,
        status_vocabulary_zeroes_legacy_open_orders_and_lets_the_delete_guard_pass_silently,
        soft_delete_lets_legacy_accept_orders_for_deleted_customers_silently,
        order_currency_publishes_v2_beside_an_unchanged_v1_and_sums_dollars_into_legacy_euros,
        uuid_ids_are_refused_by_legacy_s_cross_team_foreign_key_and_ship_in_migrated,
        the_command_line_says_which_object_refused_a_release_and_that_nothing_changed,
        shipping_a_release_twice_changes_nothing,
        legacy_starts_again_on_a_released_database,
        a_scenario_written_as_a_folder_without_rust_ships_to_both_pairs_as_its_manifest_says,
    ])
}

/// Where the services spawned in this process log their errors.
static ERRORS: OnceLock<ErrorLog> = OnceLock::new();

/// Both pairs on fresh databases, observed at baseline, then after the owner's release.
struct Run {
    legacy: LegacyApp,
    legacy_before: Observed,
    legacy_after: Observed,
    migrated: MigratedApp,
    migrated_before: Observed,
    migrated_after: Observed,
}

async fn run(ctx: &TestContext, id: &str) -> Run {
    run_scenario(ctx, lab::scenario::find(id).unwrap()).await
}

async fn run_scenario(ctx: &TestContext, scenario: &'static lab::scenario::Scenario) -> Run {
    let id = scenario.id;
    let (legacy, migrated) = (spawn_legacy(ctx).await, spawn_migrated(ctx).await);
    let errors = ERRORS.get().cloned();
    let legacy_probe = Probe::new(
        Pair::Legacy,
        &legacy.customers,
        &legacy.orders,
        errors.clone(),
    );
    let migrated_probe = Probe::new(
        Pair::Migrated,
        &migrated.customers,
        &migrated.orders,
        errors,
    );
    let legacy_before = legacy_probe.observe(1).await.unwrap();
    let migrated_before = migrated_probe.observe(1).await.unwrap();
    // Baseline sanity: the rules hold before anything changed.
    assert_eq!(
        legacy_before[&Flow::OrderForDeletedCustomer].value["type"],
        "/problems/unknown-customer"
    );
    assert_eq!(
        legacy_before[&Flow::DeleteGuard].value["type"],
        "/problems/customer-has-open-orders"
    );

    // Each release ships, or is refused by the database, as the manifest says.
    for (pair, url) in [
        (Pair::Legacy, &legacy.database.url),
        (Pair::Migrated, &migrated.database.url),
    ] {
        let shipped = pairs::ship(pair, url, scenario).await;
        let refused = shipped.as_ref().err().map(matrix::Refusal::of);
        if let Some(contradiction) = matrix::refusal_contradiction(scenario, pair, refused.as_ref())
        {
            panic!("{contradiction}");
        }
        if let Ok(applied) = shipped {
            assert_eq!(applied, Applied::Now, "{id} · {pair:?}");
        }
    }
    // No wait: the release replaced the owner's shape in the transaction that `ship`
    // committed, so the next request goes through the new shape.
    let legacy_after = legacy_probe.observe(2).await.unwrap();
    let migrated_after = migrated_probe.observe(2).await.unwrap();

    // Each pair's every flow, the releasing owner's own endpoints included, is as the
    // manifest says: unaffected means the same answer as before, whole; a break is of the
    // stated kind, with its SQLSTATE. Nothing here assumes which pair breaks.
    let flows: Vec<Flow> = Flow::CONSUMER
        .into_iter()
        .chain([Flow::owner_of(&scenario.owner)])
        .collect();
    let mut contradictions = Vec::new();
    for (pair, before, after) in [
        (Pair::Legacy, &legacy_before, &legacy_after),
        (Pair::Migrated, &migrated_before, &migrated_after),
    ] {
        contradictions.extend(flows.iter().filter_map(|&flow| {
            matrix::Cell {
                scenario,
                pair,
                flow,
                impact: impact(&before[&flow], &after[&flow]),
            }
            .contradiction()
        }));
    }
    assert!(contradictions.is_empty(), "{id}: {contradictions:#?}");
    Run {
        legacy,
        legacy_before,
        legacy_after,
        migrated,
        migrated_before,
        migrated_after,
    }
}

/// The answer of `flow` after the release: a problem's status and type, or the body.
fn after(run: &Run, flow: Flow) -> &Value {
    &run.legacy_after[&flow].value
}

fn internal_error() -> Value {
    json!({ "status": 500, "type": "/problems/internal" })
}

/// Each of `flows` now answers 500 problem+json, and the service logged `sqlstate` for it.
fn assert_loud(run: &Run, flows: &[Flow], sqlstate: &str) {
    for flow in flows {
        assert_eq!(after(run, *flow), &internal_error(), "{flow:?}");
        assert_eq!(
            run.legacy_after[flow].sqlstate(),
            Some(sqlstate),
            "{flow:?}"
        );
    }
}

/// The flows that show or check a customer's row from the orders side.
const READS_CUSTOMERS: [Flow; 4] = [
    Flow::OrderView,
    Flow::OrderList,
    Flow::NewOrder,
    Flow::GuestCheckout,
];

async fn rename_email_breaks_legacy_order_views_and_guest_checkout_loudly(ctx: TestContext) {
    let run = run(&ctx, "rename-email").await;

    assert_loud(&run, &READS_CUSTOMERS, "42703");
}

async fn split_name_breaks_legacy_order_views_and_guest_checkout_loudly(ctx: TestContext) {
    let run = run(&ctx, "split-name").await;

    assert_loud(&run, &READS_CUSTOMERS, "42703");
}

async fn rename_table_breaks_every_legacy_read_and_write_of_customers_loudly(ctx: TestContext) {
    let run = run(&ctx, "rename-table").await;

    assert_loud(
        &run,
        &[
            Flow::OrderView,
            Flow::OrderList,
            Flow::NewOrder,
            Flow::OrderForDeletedCustomer,
            Flow::GuestCheckout,
        ],
        "42P01",
    );
}

async fn required_column_breaks_legacy_guest_checkout_loudly(ctx: TestContext) {
    let run = run(&ctx, "required-column").await;

    assert_loud(&run, &[Flow::GuestCheckout], "23502");
    let guests: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE email = 'guest2@example.com'")
            .fetch_one(&run.legacy.db)
            .await
            .unwrap();
    assert_eq!(guests, 0, "the failed checkout wrote nothing");
}

async fn money_in_cents_multiplies_legacy_lifetime_values_by_100_silently(ctx: TestContext) {
    let run = run(&ctx, "money-in-cents").await;
    let value = |o: &Observed| {
        o[&Flow::Profile].value["body"]["lifetime_value"]
            .as_str()
            .unwrap()
            .parse::<Decimal>()
            .unwrap()
    };

    assert_eq!(
        after(&run, Flow::Profile)["status"],
        200,
        "no error anywhere"
    );
    // Both numbers are read from the service, not computed here.
    assert_eq!(
        value(&run.legacy_after),
        value(&run.legacy_before) * Decimal::from(100)
    );
}

async fn status_vocabulary_zeroes_legacy_open_orders_and_lets_the_delete_guard_pass_silently(
    ctx: TestContext,
) {
    let run = run(&ctx, "status-vocabulary").await;

    assert!(
        run.legacy_before[&Flow::Profile].value["body"]["open_order_count"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert_eq!(after(&run, Flow::Profile)["body"]["open_order_count"], 0);
    assert_eq!(
        after(&run, Flow::DeleteGuard),
        &json!({ "status": 204, "body": null }),
        "customer 4 had open orders"
    );
    let orphaned_open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE customer_id IS NULL AND status IN ('pending', 'paid')",
    )
    .fetch_one(&run.legacy.db)
    .await
    .unwrap();
    assert!(
        orphaned_open > 0,
        "the database now holds open orders of a deleted customer"
    );
}

async fn soft_delete_lets_legacy_accept_orders_for_deleted_customers_silently(ctx: TestContext) {
    let run = run(&ctx, "soft-delete").await;
    let gone = lab::seed::CUSTOMERS - 2;

    assert_eq!(
        after(&run, Flow::OrderForDeletedCustomer),
        &json!({ "status": 201, "body": { "customer_id_matches": true } })
    );
    let (deleted_at_set, orders): (bool, i64) = sqlx::query_as(
        "SELECT c.deleted_at IS NOT NULL, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id)
         FROM customers c WHERE c.id = $1",
    )
    .bind(gone)
    .fetch_one(&run.legacy.db)
    .await
    .unwrap();
    assert!(
        deleted_at_set && orders == 1,
        "an order now belongs to a deleted customer"
    );
}

/// The orders team keeps each order in the currency it was paid in. v1's `total` cannot say
/// "dollars", so the team publishes v2 beside it: v1 answers as before, whole (checked for
/// every flow in `run`), and v2 says what the customer paid. Legacy has no version to keep.
async fn order_currency_publishes_v2_beside_an_unchanged_v1_and_sums_dollars_into_legacy_euros(
    ctx: TestContext,
) {
    let run = run(&ctx, "order-currency").await;
    let newer = |o: &Observed| o[&Flow::OwnerOrders].versions.clone();

    assert_eq!(
        newer(&run.migrated_before),
        json!({ "request": "GET /v2/orders/5", "status": 404, "type": "/problems/version-not-published" })
    );
    assert_eq!(newer(&run.migrated_after)["status"], 200);
    // An order paid in dollars, read from the owner's table and from both versions.
    let (id, paid, booked): (i64, Decimal, Decimal) = sqlx::query_as(
        "SELECT id, total, total_eur FROM orders.orders WHERE currency = 'USD' ORDER BY id LIMIT 1",
    )
    .fetch_one(&run.migrated.db)
    .await
    .unwrap();
    assert_ne!(paid, booked);
    let mut read = Vec::new();
    for version in ["v1", "v2"] {
        let url = format!("{}/{version}/orders/{id}", run.migrated.orders);
        let response = run.migrated.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{version}");
        read.push(response.json::<Value>().await.unwrap());
    }
    let (v1, v2) = (&read[0], &read[1]);
    let decimal = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
    assert_eq!(v2["total"]["currency"], "USD");
    assert_eq!(decimal(&v2["total"]["amount"]), paid);
    assert_eq!(decimal(&v2["booked"]["amount"]), booked);
    assert_eq!(decimal(&v1["total"]), booked, "v1's total is still euros");
    // v2 is served as v1 is: as XML on request, and with an ETag a client can revalidate.
    let url = format!("{}/v2/orders/{id}", run.migrated.orders);
    let xml = run
        .migrated
        .http
        .get(&url)
        .header("accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    let etag = xml.headers()["etag"].clone();
    let text = xml.text().await.unwrap();
    assert!(
        text.contains("<order") && text.contains("<currency>USD</currency>"),
        "{text}"
    );
    let again = run
        .migrated
        .http
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Legacy: some of customer 7's orders were paid in dollars; its lifetime value now adds
    // them up as if they were euros. Both figures are read from the service.
    let value = |o: &Observed| decimal(&o[&Flow::Profile].value["body"]["lifetime_value"]);
    assert_eq!(
        after(&run, Flow::Profile)["status"],
        200,
        "no error anywhere"
    );
    assert!(
        value(&run.legacy_after) > value(&run.legacy_before),
        "{} then {}",
        value(&run.legacy_before),
        value(&run.legacy_after)
    );
}

/// The customers team moves its key to UUIDs. In legacy the orders table's foreign key
/// holds on to the old key: the database refuses the release (checked in `run`), and
/// nothing of it remains. In migrated the owner ships it; every flow answers as before.
async fn uuid_ids_are_refused_by_legacy_s_cross_team_foreign_key_and_ship_in_migrated(
    ctx: TestContext,
) {
    let run = run(&ctx, "uuid-ids").await;
    assert_eq!(key_type(&run.legacy.db, "customers").await, "bigint");
    assert_eq!(
        key_type(&run.migrated.db, "customers.customers").await,
        "uuid"
    );
    let legacy_releases: i64 = sqlx::query_scalar("SELECT count(*) FROM schema_releases")
        .fetch_one(&run.legacy.db)
        .await
        .unwrap();
    assert_eq!(legacy_releases, 0, "a refused release is not recorded");
}

/// `legacy scenario apply` on a release the database refuses: one line, exit 1, what holds
/// on to what (Postgres's DETAIL, not its "use CASCADE"), and the way out.
async fn the_command_line_says_which_object_refused_a_release_and_that_nothing_changed(
    ctx: TestContext,
) {
    let database = ctx.database(&support::LEGACY).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_legacy"))
        .args(["scenario", "apply", "uuid-ids", "--database-url"])
        .arg(database.url.expose())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for said in [
        "uuid-ids was not released",
        "constraint orders_customer_id_fkey on table orders depends on index customers_pkey",
        "Nothing changed",
    ] {
        assert!(stderr.contains(said), "{said}: {stderr}");
    }
    assert!(!stderr.contains("CASCADE"), "{stderr}");
}

/// The type of `table`'s primary key.
async fn key_type(db: &sqlx::PgPool, table: &str) -> String {
    sqlx::query_scalar(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.conrelid = $1::regclass AND c.contype = 'p'",
    )
    .bind(table)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn shipping_a_release_twice_changes_nothing(ctx: TestContext) {
    let (legacy, migrated) = (spawn_legacy(&ctx).await, spawn_migrated(&ctx).await);
    let scenario = lab::scenario::find("rename-email").unwrap();

    for (pair, url) in [
        (Pair::Legacy, &legacy.database.url),
        (Pair::Migrated, &migrated.database.url),
    ] {
        let first = pairs::ship(pair, url, scenario).await.unwrap();
        let second = pairs::ship(pair, url, scenario).await.unwrap();
        assert_eq!(
            (first, second),
            (Applied::Now, Applied::Already),
            "{pair:?}"
        );
    }
    let legacy_releases: i64 = sqlx::query_scalar("SELECT count(*) FROM schema_releases")
        .fetch_one(&legacy.db)
        .await
        .unwrap();
    let migrated_releases: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers.schema_releases")
            .fetch_one(&migrated.db)
            .await
            .unwrap();
    assert_eq!((legacy_releases, migrated_releases), (1, 1));
}

/// `legacy up` migrates and seeds before serving: after a release that renamed a column the
/// seed writes, a restart must still start, and must not pretend to reseed.
async fn legacy_starts_again_on_a_released_database(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let scenario = lab::scenario::find("rename-email").unwrap();
    pairs::ship(Pair::Legacy, &app.database.url, scenario)
        .await
        .unwrap();
    sqlx::query("DELETE FROM orders WHERE id = 1")
        .execute(&app.db)
        .await
        .unwrap();

    let applied = legacy::migrate(&app.database.url).await.unwrap();
    let inserted = lab::seed::write::legacy(&app.db).await.unwrap();

    assert_eq!((applied, inserted), (0, 0));
    assert_eq!(app.count("orders").await, lab::seed::ORDERS - 1);
}

/// A folder in a temporary directory, written the way a workshop room would: a manifest and
/// SQL, no Rust. The customers team renames `phone`, and adapts its own queries in
/// `*-shape.sql`; the legacy orders service writes `phone` itself at guest checkout.
async fn a_scenario_written_as_a_folder_without_rust_ships_to_both_pairs_as_its_manifest_says(
    ctx: TestContext,
) {
    let root = std::env::temp_dir().join(format!("c12-scenarios-{}", std::process::id()));
    let folder = root.join("rename-phone");
    std::fs::create_dir_all(&folder).unwrap();
    let files = [
        (
            "scenario.toml",
            r#"title = "Rename customers.phone to phone_number"
owner = "customers"
lesson = "A column only the owner and one write of the other team use."

[expected.legacy]
outcome = "loud"
sqlstate = "42703"
flows = { guest_checkout = "loud" }

[expected.migrated]
outcome = "unaffected"
"#,
        ),
        (
            "legacy.sql",
            "ALTER TABLE customers RENAME COLUMN phone TO phone_number;",
        ),
        (
            "migrated.sql",
            "ALTER TABLE customers.customers RENAME COLUMN phone TO phone_number;",
        ),
        (
            "legacy-shape.sql",
            "CREATE VIEW customers_shape.customers AS
                 SELECT id, name, email, phone_number AS phone, status, created_at FROM customers;",
        ),
        (
            "migrated-shape.sql",
            "CREATE VIEW customers_shape.customers AS
                 SELECT id, name, email, phone_number AS phone, status, created_at, version
                 FROM customers.customers;",
        ),
    ];
    for (name, text) in files {
        std::fs::write(folder.join(name), text).unwrap();
    }

    let loaded = lab::scenario::load_dir(&root).unwrap();
    std::fs::remove_dir_all(&root).unwrap();

    assert_eq!(loaded.len(), 1);
    let scenario: &'static lab::scenario::Scenario = Box::leak(Box::new(loaded[0].clone()));
    assert_eq!(scenario.id, "rename-phone");
    assert!(scenario.legacy_shape.is_some() && scenario.migrated_shape.is_some());
    run_scenario(&ctx, scenario).await;
}
