//! `legacy check` against real schemas: at baseline every statement of both services
//! prepares; after an owner's release the statements the schema breaks are listed, with the
//! SQLSTATE they fail with; and a release that breaks legacy silently is not seen at all.
//! Statements are prepared with the types the code binds and run in a rolled-back
//! transaction: a CHECK constraint or an id type change shows, and nothing is committed.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use chassis::DatabaseUrl;
use chassis::releases::Applied;
use lab::harness::{Template, TestContext};
use lab::scenario::Outcome;
use legacy::check::{CheckError, Report, Service};
use sqlx::{Connection, Executor, PgConnection};
use support::LEGACY;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        every_statement_prepares_at_baseline,
        rename_email_breaks_the_statements_that_use_customers_email_with_42703,
        rename_table_breaks_the_statements_that_reach_into_customers_with_42p01,
        required_column_flags_the_guest_checkout_insert_with_23502,
        money_in_cents_is_not_seen_though_it_breaks_lifetime_values,
        every_loud_release_is_caught_in_the_other_teams_sql_and_no_silent_one_is,
        each_service_checks_only_its_own_statements,
        a_change_no_release_records_is_blamed_only_where_the_database_places_it,
        a_database_that_is_not_a_legacy_one_is_an_error_not_a_report,
        an_unreachable_database_is_an_error_that_names_it_without_its_password,
        a_check_constraint_added_by_hand_breaks_the_order_insert_with_23514,
        an_id_type_change_breaks_the_typed_statements_that_inference_lets_through,
        the_check_runs_every_statement_and_commits_nothing,
    ])
}

/// Checks both services on a fresh legacy database after shipping `releases`, in order.
async fn check_after(ctx: &TestContext, releases: &[&str]) -> Report {
    let database = ctx.database(&LEGACY).await;
    for id in releases {
        ship(&database.url, id).await;
    }
    legacy::check::run(&database.url, &Service::BOTH)
        .await
        .unwrap()
}

/// Ships a release to the shared schema, as `legacy scenario apply` does.
async fn ship(url: &DatabaseUrl, id: &str) {
    let scenario = lab::scenario::find(id).unwrap();
    assert_eq!(
        lab::pairs::legacy::ship(url, scenario).await.unwrap(),
        Applied::Now
    );
}

/// The broken statements as (service::name, SQLSTATE).
fn broken(report: &Report) -> Vec<(String, String)> {
    report
        .broken()
        .map(|(s, b)| (format!("{}::{}", s.service, s.name), b.sqlstate.clone()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(name, state)| (name.to_string(), state.to_string()))
        .collect()
}

async fn every_statement_prepares_at_baseline(ctx: TestContext) {
    let report = check_after(&ctx, &[]).await;

    assert_eq!(broken(&report), []);
    assert_eq!(report.checked.len(), 25);
    assert_eq!(report.exit_code(), 0);
    let text = report.to_string();
    assert!(text.contains("25 statements, 0 broken."), "{text}");
    assert!(!text.contains('✘'), "{text}");
}

async fn rename_email_breaks_the_statements_that_use_customers_email_with_42703(ctx: TestContext) {
    let report = check_after(&ctx, &["rename-email"]).await;

    assert_eq!(
        broken(&report),
        pairs(&[
            ("orders::list", "42703"),
            ("orders::find", "42703"),
            ("orders::insert_guest_customer", "42703"),
        ])
    );
    assert_eq!(report.exit_code(), 1);
    let text = report.to_string();
    for expected in [
        "orders::find reads customers.email, which no longer exists (42703: column c.email does not exist).",
        "orders::insert_guest_customer writes customers.email, which no longer exists",
        "The customers team changed its table; this statement was written against its old shape and nobody told either team. customers shipped rename-email.",
        "✔ customers  find",
        "25 statements, 3 broken.",
        "it cannot find what is merely wrong",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
}

async fn rename_table_breaks_the_statements_that_reach_into_customers_with_42p01(ctx: TestContext) {
    let report = check_after(&ctx, &["rename-table"]).await;

    assert_eq!(
        broken(&report),
        pairs(&[
            ("orders::list", "42P01"),
            ("orders::find", "42P01"),
            ("orders::customer_status", "42P01"),
            ("orders::insert_guest_customer", "42P01"),
        ])
    );
    let text = report.to_string();
    assert!(
        text.contains("orders::customer_status reads customers, a table that no longer exists"),
        "{text}"
    );
}

async fn required_column_flags_the_guest_checkout_insert_with_23502(ctx: TestContext) {
    let report = check_after(&ctx, &["required-column"]).await;

    // It prepares: only the catalog says that it would fail.
    assert_eq!(
        broken(&report),
        pairs(&[("orders::insert_guest_customer", "23502")])
    );
    let (_, guest) = report.broken().next().unwrap();
    assert!(
        guest.what.contains(
            "writes customers without country, which is now required (NOT NULL, no default): \
             it would fail with 23502 (not-null violation) on column country"
        ),
        "{}",
        guest.what
    );
    assert!(
        guest.why.contains("customers shipped required-column."),
        "{}",
        guest.why
    );
}

async fn money_in_cents_is_not_seen_though_it_breaks_lifetime_values(ctx: TestContext) {
    let report = check_after(&ctx, &["money-in-cents"]).await;

    // The silent limit: customers' sum over orders.total still prepares, and now counts
    // cents as currency units. No check that only prepares can see that.
    assert_eq!(broken(&report), []);
    assert_eq!(report.exit_code(), 0);
    assert!(report.releases["orders"].contains("money-in-cents"));
    let text = report.to_string();
    assert!(text.contains("money-in-cents"), "{text}");
    assert!(text.contains("25 statements, 0 broken."), "{text}");
}

async fn every_loud_release_is_caught_in_the_other_teams_sql_and_no_silent_one_is(
    ctx: TestContext,
) {
    for scenario in lab::scenario::catalogue() {
        // A release the database refuses ships nothing: no statement can break.
        if scenario.legacy.outcome == Outcome::Refused {
            continue;
        }
        let report = check_after(&ctx, &[scenario.id]).await;
        let found: Vec<_> = report.broken().collect();

        match scenario.legacy.outcome {
            Outcome::Loud => {
                assert!(!found.is_empty(), "{} went unseen", scenario.id);
                for (statement, broken) in found {
                    // The owner adapted: only the other team's SQL breaks, as the
                    // scenario says, and the owner's release is named.
                    assert_eq!(
                        statement.reaches_into,
                        Some(scenario.owner.as_str()),
                        "{}: {}::{}",
                        scenario.id,
                        statement.service,
                        statement.name
                    );
                    let stated = &scenario.legacy;
                    assert!(
                        stated
                            .sqlstate
                            .iter()
                            .chain(stated.sqlstates.values())
                            .any(|s| *s == broken.sqlstate),
                        "{}: {} {}",
                        scenario.id,
                        broken.sqlstate,
                        broken.what
                    );
                    let shipped = format!("{} shipped {}.", scenario.owner, scenario.id);
                    assert!(broken.why.contains(&shipped), "{}", broken.why);
                }
            }
            Outcome::Silent
            | Outcome::Unaffected
            | Outcome::Control
            | Outcome::ContractChange
            | Outcome::Refused => {
                assert!(found.is_empty(), "{}: {found:?}", scenario.id)
            }
        }
    }
}

async fn each_service_checks_only_its_own_statements(ctx: TestContext) {
    let database = ctx.database(&LEGACY).await;
    ship(&database.url, "rename-email").await;

    let customers = legacy::check::run(&database.url, &[Service::Customers])
        .await
        .unwrap();
    let orders = legacy::check::run(&database.url, &[Service::Orders])
        .await
        .unwrap();

    assert!(
        customers
            .checked
            .iter()
            .all(|c| c.statement.service == "customers")
    );
    assert_eq!(customers.exit_code(), 0);
    assert_eq!(orders.checked.len() + customers.checked.len(), 25);
    assert_eq!(orders.broken().count(), 3);
}

async fn a_change_no_release_records_is_blamed_only_where_the_database_places_it(ctx: TestContext) {
    let database = ctx.database(&LEGACY).await;
    let admin = chassis::db::pool(&database.url, "test").unwrap();
    // By hand, outside any release: neither service's shape knows of it.
    sqlx::query("ALTER TABLE orders RENAME COLUMN total TO amount")
        .execute(&admin)
        .await
        .unwrap();

    let report = legacy::check::run(&database.url, &Service::BOTH)
        .await
        .unwrap();

    let find = |name: &str| {
        report
            .broken()
            .find(|(s, _)| format!("{}::{}", s.service, s.name) == name)
            .map(|(_, b)| b.clone())
    };
    // The orders team's own queries go through its shape view, which follows a rename
    // (a view names columns by number): orders::list, which joins customers, still runs.
    assert!(find("orders::list").is_none(), "{report}");
    assert!(find("orders::lock_status").is_none(), "{report}");
    // customers::order_stats reads orders' table, and that is where the column went.
    let find = |name: &str| find(name).unwrap();
    let stats = find("customers::order_stats");
    assert!(stats.what.contains("reads orders.total"), "{}", stats.what);
    assert!(
        stats.why.starts_with("The orders team changed its table"),
        "{}",
        stats.why
    );
}

/// A database with nothing in it.
fn empty() -> Template {
    Template::new("empty", |_| async { Ok(()) })
}

async fn a_database_that_is_not_a_legacy_one_is_an_error_not_a_report(ctx: TestContext) {
    let database = ctx.database(&empty()).await;

    let err = legacy::check::run(&database.url, &Service::BOTH)
        .await
        .unwrap_err();

    assert!(matches!(err, CheckError::NotMigrated { .. }), "{err}");
    assert!(err.to_string().contains("legacy migrate"), "{err}");
}

async fn an_unreachable_database_is_an_error_that_names_it_without_its_password(_ctx: TestContext) {
    // Port 1 on loopback: nothing listens there.
    let url: DatabaseUrl = "postgres://legacy:hunter2@127.0.0.1:1/legacy"
        .parse()
        .unwrap();

    let err = legacy::check::run(&url, &Service::BOTH).await.unwrap_err();

    assert!(matches!(err, CheckError::Connect { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}

/// A fresh legacy database changed by hand with `sql`, as a DBA would, outside any release.
async fn changed_by_hand(ctx: &TestContext, sql: &str) -> lab::harness::TestDatabase {
    let database = ctx.database(&LEGACY).await;
    let mut conn = PgConnection::connect_with(&database.url.connect_options().unwrap())
        .await
        .unwrap();
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
    database
}

async fn a_check_constraint_added_by_hand_breaks_the_order_insert_with_23514(ctx: TestContext) {
    // NOT VALID: the rows already there are not checked, every new or updated one is.
    let database = changed_by_hand(
        &ctx,
        "ALTER TABLE orders ADD CONSTRAINT orders_big_total CHECK (total > 1000000) NOT VALID",
    )
    .await;

    let report = legacy::check::run(&database.url, &Service::BOTH)
        .await
        .unwrap();

    // Only execution shows it: both statements prepare.
    assert_eq!(
        broken(&report),
        pairs(&[("orders::insert", "23514"), ("orders::set_status", "23514")])
    );
    assert!(report.to_string().contains("orders_big_total"), "{report}");
}

async fn an_id_type_change_breaks_the_typed_statements_that_inference_lets_through(
    ctx: TestContext,
) {
    let database = changed_by_hand(
        &ctx,
        // The owner's shape view reads the column: it goes, and comes back over the new type.
        "ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;
         DROP VIEW customers_shape.customers;
         ALTER TABLE customers ALTER COLUMN id DROP IDENTITY;
         ALTER TABLE customers ALTER COLUMN id TYPE text USING id::text;
         CREATE VIEW customers_shape.customers AS
             SELECT id, name, email, phone, status, created_at FROM customers",
    )
    .await;

    let report = legacy::check::run(&database.url, &Service::BOTH)
        .await
        .unwrap();

    // The code binds an i64: `text = bigint` has no operator.
    let found = broken(&report);
    eprintln!("after an id type change, broken: {found:?}");
    assert!(
        found.contains(&("orders::customer_status".to_owned(), "42883".to_owned())),
        "{found:?}"
    );
    // Left to infer, Postgres types $1 as text and the same statement prepares.
    let status = report
        .checked
        .iter()
        .find(|c| c.statement.name == "customer_status")
        .unwrap();
    let mut conn = PgConnection::connect_with(&database.url.connect_options().unwrap())
        .await
        .unwrap();
    assert!(
        (&mut conn)
            .prepare(status.statement.sql.as_str())
            .await
            .is_ok()
    );
    conn.close().await.unwrap();
}

async fn the_check_runs_every_statement_and_commits_nothing(ctx: TestContext) {
    let database = ctx.database(&LEGACY).await;
    let mut conn = PgConnection::connect_with(&database.url.connect_options().unwrap())
        .await
        .unwrap();
    let rows = "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), \
                (SELECT string_agg(concat_ws(',', id, status, total), ';' ORDER BY id) FROM orders)";
    let before: (i64, i64, String) = sqlx::query_as(rows).fetch_one(&mut conn).await.unwrap();

    let report = legacy::check::run(&database.url, &Service::BOTH)
        .await
        .unwrap();

    assert_eq!(broken(&report), []);
    let after: (i64, i64, String) = sqlx::query_as(rows).fetch_one(&mut conn).await.unwrap();
    assert_eq!(
        after, before,
        "the inserts, updates and deletes were rolled back"
    );
    let emails: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE email LIKE 'legacy-check%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(emails, 0);
    conn.close().await.unwrap();
}
