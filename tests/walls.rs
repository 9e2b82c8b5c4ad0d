//! `kit walls` against real Postgres: the migrated pair holds every wall between its
//! services, the legacy pair holds none, and walls applied from the migrated manifest to a
//! fresh database hold, apply again without changing a privilege.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use kit::manifest::Manifest;
use kit::walls::{self, Passwords, Report, Status};
use lab::harness::{Template, TestContext};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use support::{LEGACY, MIGRATED};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        the_migrated_pair_holds_every_wall_between_its_services,
        the_legacy_pair_holds_no_wall_and_each_hole_is_listed,
        walls_applied_to_a_fresh_database_hold,
        a_second_apply_changes_no_privilege,
    ])
}

/// A database with nothing in it.
static EMPTY: std::sync::LazyLock<Template> =
    std::sync::LazyLock::new(|| Template::new("empty", |_| async { Ok(()) }));

fn manifest(text: &str) -> Manifest {
    Manifest::parse("test.toml", text).unwrap()
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap()
}

/// Runs `sql` logged in as `role` with `password` on the database of `admin`.
async fn as_login(admin: &str, role: &str, password: &str, sql: &str) {
    let options: PgConnectOptions = admin.parse().unwrap();
    let mut conn = PgConnection::connect_with(&options.username(role).password(password))
        .await
        .unwrap();
    conn.execute(sql).await.unwrap();
}

/// What verify has something to find in: statement texts (pg_stat_statements, in a schema
/// everyone may use) and column statistics.
async fn observable(admin: &str) {
    let mut conn = connect(admin).await;
    conn.execute(
        "CREATE SCHEMA stats; GRANT USAGE ON SCHEMA stats TO PUBLIC; \
         CREATE EXTENSION pg_stat_statements SCHEMA stats",
    )
    .await
    .unwrap();
}

async fn analyze(admin: &str) {
    connect(admin).await.execute("ANALYZE").await.unwrap();
}

/// Each probe as `service → target wall object: status`, for readable failures.
fn lines(report: &Report, status: Status) -> Vec<String> {
    report
        .probes
        .iter()
        .filter(|p| p.status == status)
        .map(|p| format!("{} → {} {} {}", p.service, p.target, p.wall, p.object))
        .collect()
}

fn walls_of(report: &Report, status: Status) -> std::collections::BTreeSet<&'static str> {
    report
        .probes
        .iter()
        .filter(|p| p.status == status)
        .map(|p| p.wall)
        .collect()
}

/// A view and a function in each schema, made by its owner as a later migration would.
const LATER_OBJECTS: &str = "
    SET ROLE customers_owner;
    CREATE VIEW customers.active AS SELECT id, name FROM customers.customers WHERE status = 'active';
    CREATE FUNCTION customers.name_of(bigint) RETURNS text LANGUAGE sql STABLE
        AS 'SELECT name FROM customers.customers WHERE id = $1';
    SET ROLE orders_owner;
    CREATE VIEW orders.open AS SELECT id FROM orders.orders WHERE status IN ('NEW', 'PAID');
    CREATE FUNCTION orders.total_of(bigint) RETURNS numeric LANGUAGE sql STABLE
        AS 'SELECT total FROM orders.orders WHERE id = $1';
    RESET ROLE;";

async fn the_migrated_pair_holds_every_wall_between_its_services(ctx: TestContext) {
    let database = ctx.database(&MIGRATED).await;
    let admin = &database.url.expose();
    observable(admin).await;
    connect(admin).await.execute(LATER_OBJECTS).await.unwrap();
    let (c, o) = (support::CUSTOMERS_DB_PASSWORD, support::ORDERS_DB_PASSWORD);
    as_login(
        admin,
        "customers_svc",
        c,
        "SELECT count(*) FROM customers.customers",
    )
    .await;
    as_login(admin, "orders_svc", o, "SELECT count(*) FROM orders.orders").await;
    analyze(admin).await;
    let passwords = Passwords::new().with("customers", c).with("orders", o);

    let report = walls::verify(
        admin,
        &manifest(include_str!("../kit/manifests/migrated.toml")),
        &passwords,
    )
    .await
    .unwrap();

    let between: Vec<_> = report
        .probes
        .iter()
        .filter(|p| p.target != "shared")
        .collect();
    let open: Vec<_> = between
        .iter()
        .filter(|p| p.status != Status::Held)
        .collect();
    assert!(open.is_empty(), "{}", report.to_text());
    let held = walls_of(&report, Status::Held);
    for wall in [
        "select",
        "insert",
        "update",
        "delete",
        "truncate",
        "alter",
        "drop",
        "create",
        "view",
        "sequence",
        "function",
        "set role",
        "pg_stats",
        "pg_stat_statements",
    ] {
        assert!(
            held.contains(wall),
            "no `{wall}` probe held:\n{}",
            report.to_text()
        );
    }
    // Nobody creates in `public` or `stats`, and the pair's own bootstrap
    // (chassis::ownership) closes the large-object functions too: every wall held.
    assert_eq!(
        lines(&report, Status::Open),
        Vec::<String>::new(),
        "{}",
        report.to_text()
    );
    assert!(held.contains("large objects"), "{}", report.to_text());
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
}

async fn the_legacy_pair_holds_no_wall_and_each_hole_is_listed(ctx: TestContext) {
    let database = ctx.database(&LEGACY).await;
    let admin = &database.url.expose();
    observable(admin).await;
    connect(admin)
        .await
        .execute("SELECT count(*) FROM public.customers; SELECT count(*) FROM public.orders")
        .await
        .unwrap();
    analyze(admin).await;
    // The shared login: the admin URL's own user and password.
    let shared = secrecy::ExposeSecret::expose_secret(database.url.password().unwrap());
    let passwords = Passwords::new()
        .with("customers", shared)
        .with("orders", shared);

    let report = walls::verify(
        admin,
        &manifest(include_str!("../kit/manifests/legacy.toml")),
        &passwords,
    )
    .await
    .unwrap();

    assert_eq!(lines(&report, Status::Held), Vec::<String>::new());
    assert_eq!(
        lines(&report, Status::Unclear),
        Vec::<String>::new(),
        "{}",
        report.to_text()
    );
    let open = walls_of(&report, Status::Open);
    for wall in [
        "select",
        "insert",
        "update",
        "delete",
        "truncate",
        "alter",
        "drop",
        "create",
        "sequence",
        "set role",
        "pg_stats",
        "pg_stat_statements",
        "large objects",
    ] {
        assert!(
            open.contains(wall),
            "`{wall}` not open:\n{}",
            report.to_text()
        );
    }
    let text = report.to_text();
    assert!(
        text.contains("✘ OPEN    select             public.customers: got through: SELECT 1 FROM \"public\".\"customers\" LIMIT 1"),
        "{text}"
    );
    assert_eq!(report.exit_code(), 2);
}

/// The migrated manifest with role names of this test's own (roles are cluster-wide and
/// the server is shared by the binary's tests), and the passwords for them.
fn suffixed_migrated(suffix: &str) -> (Manifest, Passwords) {
    let text = include_str!("../kit/manifests/migrated.toml")
        .replace(
            "password_env = \"MIGRATED_CUSTOMERS_DB_PASSWORD\"",
            &format!(
                "password_env = \"UNUSED\"\nowner_role = \"customers_owner_{suffix}\"\n\
                 runtime_role = \"customers_svc_{suffix}\""
            ),
        )
        .replace(
            "password_env = \"MIGRATED_ORDERS_DB_PASSWORD\"",
            &format!(
                "password_env = \"UNUSED\"\nowner_role = \"orders_owner_{suffix}\"\n\
                 runtime_role = \"orders_svc_{suffix}\""
            ),
        );
    let passwords = Passwords::new()
        .with("customers", "c-walls'\\pw")
        .with("orders", "o-walls");
    (manifest(&text), passwords)
}

/// Tables, a sequence, a view and a function in each schema, made by its owner as its
/// migrations would, after the walls went up.
fn migrations(suffix: &str) -> String {
    ["customers", "orders"]
        .iter()
        .map(|s| {
            format!(
                "SET ROLE {s}_owner_{suffix};
                 CREATE TABLE {s}.{s} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, label text);
                 INSERT INTO {s}.{s} (label) SELECT 'row ' || g FROM generate_series(1, 20) g;
                 CREATE VIEW {s}.labels AS SELECT label FROM {s}.{s};
                 CREATE FUNCTION {s}.label_of(bigint) RETURNS text LANGUAGE sql STABLE
                     AS 'SELECT label FROM {s}.{s} WHERE id = $1';
                 RESET ROLE;"
            )
        })
        .collect()
}

async fn walls_applied_to_a_fresh_database_hold(ctx: TestContext) {
    let database = ctx.database(&EMPTY).await;
    let admin = &database.url.expose();
    let (manifest, passwords) = suffixed_migrated(&database.name);
    observable(admin).await;

    walls::apply(admin, &manifest, &passwords).await.unwrap();
    connect(admin)
        .await
        .execute(migrations(&database.name).as_str())
        .await
        .unwrap();
    for (service, password) in [("customers", "c-walls'\\pw"), ("orders", "o-walls")] {
        let role = format!("{service}_svc_{}", database.name);
        let sql = format!("SELECT label FROM {service}.{service}; SELECT {service}.label_of(1)");
        // The runtime role uses what its owner created later: default privileges.
        as_login(admin, &role, password, &sql).await;
    }
    analyze(admin).await;
    let report = walls::verify(admin, &manifest, &passwords).await.unwrap();

    assert_eq!(
        lines(&report, Status::Open),
        Vec::<String>::new(),
        "{}",
        report.to_text()
    );
    assert_eq!(lines(&report, Status::Unclear), Vec::<String>::new());
    assert_eq!(lines(&report, Status::Skipped), Vec::<String>::new());
    assert!(walls_of(&report, Status::Held).contains("large objects"));
    assert_eq!(report.exit_code(), 0);
}

async fn a_second_apply_changes_no_privilege(ctx: TestContext) {
    let database = ctx.database(&EMPTY).await;
    let admin = &database.url.expose();
    let (manifest, passwords) = suffixed_migrated(&database.name);
    walls::apply(admin, &manifest, &passwords).await.unwrap();
    connect(admin)
        .await
        .execute(migrations(&database.name).as_str())
        .await
        .unwrap();
    let before = support::privileges::snapshot(admin, &database.name).await;

    let applied = walls::apply(admin, &manifest, &passwords).await.unwrap();

    assert_eq!(applied.passwords_set, ["customers", "orders"]);
    let after = support::privileges::snapshot(admin, &database.name).await;
    assert_eq!(before, after);
    assert!(
        before.iter().any(|l| l.contains("statement_timeout=30s")),
        "{before:#?}"
    );
}
