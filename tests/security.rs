//! What an outsider or a greedy neighbour can do to the pairs' database, and cannot: the
//! disposable Postgres answers on loopback only and with a password made for the run; a
//! runtime role cannot store large objects, cannot write its own history, runs with bounded
//! statements, and cannot take every connection from the other service.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use chassis::DatabaseUrl;
use lab::harness::TestContext;
use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
use support::MIGRATED;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        the_disposable_postgres_is_published_on_loopback_only,
        the_disposable_postgres_has_a_password_made_for_the_run,
        the_orders_role_is_bounded_and_cannot_write_outside_its_data,
    ])
}

async fn docker_inspect(id: &str, format: &str) -> String {
    let output = tokio::process::Command::new("docker")
        .args(["inspect", "--format", format, id])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn the_disposable_postgres_is_published_on_loopback_only(ctx: TestContext) {
    let id = ctx
        .container_id()
        .await
        .expect("the harness's own container");

    let asked = docker_inspect(&id, "{{json .HostConfig.PortBindings}}").await;
    let published = docker_inspect(&id, "{{json .NetworkSettings.Ports}}").await;

    let asked: serde_json::Value = serde_json::from_str(&asked).unwrap();
    let published: serde_json::Value = serde_json::from_str(&published).unwrap();
    let port = ctx.admin_url().await.connect_options().unwrap().get_port();
    for bindings in [&asked["5432/tcp"], &published["5432/tcp"]] {
        assert_eq!(
            bindings,
            &serde_json::json!([{ "HostIp": "127.0.0.1", "HostPort": port.to_string() }]),
            "port bindings: {asked} / {published}"
        );
    }
}

async fn the_disposable_postgres_has_a_password_made_for_the_run(ctx: TestContext) {
    let admin = ctx.admin_url().await;

    let password = admin.password().expect("a password in the URL");

    assert_ne!(password.expose_secret(), "postgres");
    assert!(password.expose_secret().len() >= 32);
    let guessed = admin.connect_options().unwrap().password("postgres");
    let refused = PgConnection::connect_with(&guessed).await.unwrap_err();
    assert_eq!(chassis::db::sqlstate(&refused).as_deref(), Some("28P01"));
}

async fn connect_as(url: &DatabaseUrl) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect_with(&url.connect_options()?).await
}

/// The SQLSTATE that `sql` fails with on `conn`, or `None` when it succeeds.
async fn refused(conn: &mut PgConnection, sql: &str) -> Option<String> {
    let result = conn.execute(sql).await;
    result.err().and_then(|err| chassis::db::sqlstate(&err))
}

// One test for everything done as orders_svc: its connection limit is the role's, over the
// whole server, so a second test logging in as it at the same time would change the count.
async fn the_orders_role_is_bounded_and_cannot_write_outside_its_data(ctx: TestContext) {
    let database = ctx.database(&MIGRATED).await;
    let [customers, orders] = support::migrated_owners();
    let (customers_url, orders_url) = (
        customers.runtime_url(&database.url),
        orders.runtime_url(&database.url),
    );
    let mut conn = connect_as(&orders_url).await.unwrap();

    let large_object = refused(&mut conn, "SELECT lo_create(0)").await;
    let release = refused(
        &mut conn,
        "INSERT INTO orders.schema_releases (scenario) VALUES ('forged')",
    )
    .await;
    let history = refused(&mut conn, "DELETE FROM orders.refinery_schema_history").await;
    let reads_history = refused(&mut conn, "SELECT count(*) FROM orders.schema_releases").await;
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let idle: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(&mut conn)
        .await
        .unwrap();

    assert_eq!(large_object.as_deref(), Some("42501"));
    assert_eq!(release.as_deref(), Some("42501"));
    assert_eq!(history.as_deref(), Some("42501"));
    assert_eq!(reads_history, None);
    assert_eq!((timeout.as_str(), idle.as_str()), ("30s", "1min"));

    // Take every connection orders_svc may have, and one more.
    let limit = 20usize;
    let mut hogged = vec![conn];
    let mut over = None;
    for _ in 0..limit {
        match connect_as(&orders_url).await {
            Ok(conn) => hogged.push(conn),
            Err(err) => {
                over = Some(err);
                break;
            }
        }
    }
    let customers_login = connect_as(&customers_url).await;

    let over = over.expect("a connection beyond the role's limit is refused");
    assert_eq!(chassis::db::sqlstate(&over).as_deref(), Some("53300"));
    assert!(hogged.len() <= limit, "{} connections held", hogged.len());
    assert!(
        customers_login.is_ok(),
        "customers_svc still logs in: {customers_login:?}"
    );
}
