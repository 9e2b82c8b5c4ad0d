//! What an outsider or a greedy neighbour can do to the pairs' database, and cannot: the
//! disposable Postgres answers on loopback only and with a password made for the run; a
//! runtime role cannot store large objects, cannot write its own history, runs with bounded
//! statements, and cannot take every connection from the other service. The probe suite
//! ([`probes`]) tries, as each runtime role, what a compromised service would: read, write
//! and alter the other's data, its sequences, create functions and objects, large objects,
//! server files, become another role, lift its own bounds.

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
        the_customers_role_is_denied_every_probe,
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

    assert_every_probe_denied(&mut conn, orders_probes()).await;
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

/// What a runtime role tries against the other service (`schema`, its table `table` and
/// the table's identity sequence) and against its own bounds; every one must be refused
/// with 42501 (insufficient privilege).
fn probes(
    runtime: &str,
    owner: &str,
    other_runtime: &str,
    schema: &str,
    table: &str,
) -> Vec<String> {
    let foreign = format!("{schema}.{table}");
    vec![
        // reads and writes of the other's data
        format!("SELECT * FROM {foreign} LIMIT 1"),
        format!("SELECT count(*) FROM {foreign}"),
        format!("INSERT INTO {foreign} DEFAULT VALUES"),
        format!("UPDATE {foreign} SET id = id"),
        format!("DELETE FROM {foreign}"),
        format!("TRUNCATE {foreign}"),
        format!("SELECT * FROM {schema}.schema_releases"),
        // DDL
        format!("ALTER TABLE {foreign} ADD COLUMN sneaky TEXT"),
        format!("DROP TABLE {foreign}"),
        format!("CREATE INDEX sneaky ON {foreign} (id)"),
        format!("CREATE TABLE {schema}.sneaky (id INT)"),
        "CREATE TABLE public.sneaky (id INT)".to_owned(),
        format!("CREATE VIEW public.sneaky AS SELECT * FROM {foreign}"),
        "CREATE SCHEMA sneaky".to_owned(),
        // sequences
        format!("SELECT nextval('{foreign}_id_seq')"),
        format!("SELECT setval('{foreign}_id_seq', 1)"),
        // functions
        format!("CREATE FUNCTION {schema}.sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
        "CREATE FUNCTION public.sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'".to_owned(),
        // large objects and the server's files
        "SELECT lo_create(0)".to_owned(),
        "SELECT lo_import('/etc/passwd')".to_owned(),
        "SELECT pg_read_file('/etc/passwd')".to_owned(),
        "COPY (SELECT 1) TO '/tmp/sneaky'".to_owned(),
        // becoming someone else
        format!("SET ROLE {other_runtime}"),
        format!("SET ROLE {owner}"),
        "SET ROLE postgres".to_owned(),
        format!("SET SESSION AUTHORIZATION {other_runtime}"),
        "CREATE ROLE sneaky LOGIN".to_owned(),
        // lifting its own bounds. Not here: statement_timeout and
        // idle_in_transaction_session_timeout, which Postgres lets any role change for
        // itself (SET, or ALTER ROLE itself SET): they guard against accidents, not against
        // a compromised service. The connection limit and temp_file_limit hold against both.
        format!("ALTER ROLE {runtime} CONNECTION LIMIT -1"),
        format!("ALTER ROLE {runtime} SET temp_file_limit = -1"),
        "SET temp_file_limit = -1".to_owned(),
        "CREATE DATABASE sneaky".to_owned(),
        "ALTER SYSTEM SET max_connections = 1000".to_owned(),
    ]
}

fn orders_probes() -> Vec<String> {
    probes(
        migrated_orders::RUNTIME_ROLE,
        migrated_orders::OWNER_ROLE,
        migrated_customers::RUNTIME_ROLE,
        "customers",
        "customers",
    )
}

/// Runs each probe on `conn`, each in a statement of its own, and fails listing every one
/// that was not refused with 42501.
async fn assert_every_probe_denied(conn: &mut PgConnection, probes: Vec<String>) {
    let mut allowed = Vec::new();
    for probe in &probes {
        let outcome = refused(conn, probe).await;
        if outcome.as_deref() != Some("42501") {
            allowed.push(format!("{probe}: {outcome:?}"));
        }
    }
    assert!(
        allowed.is_empty(),
        "{} of {} probes were not denied:\n{}",
        allowed.len(),
        probes.len(),
        allowed.join("\n")
    );
    println!("{} probes, {} denied", probes.len(), probes.len());
}

async fn the_customers_role_is_denied_every_probe(ctx: TestContext) {
    let database = ctx.database(&MIGRATED).await;
    let [customers, _] = support::migrated_owners();
    let mut conn = connect_as(&customers.runtime_url(&database.url))
        .await
        .unwrap();

    let probes = probes(
        migrated_customers::RUNTIME_ROLE,
        migrated_customers::OWNER_ROLE,
        migrated_orders::RUNTIME_ROLE,
        "orders",
        "orders",
    );

    assert_every_probe_denied(&mut conn, probes).await;
}
