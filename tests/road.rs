//! `kit road` on the live legacy pair: state 1 lets pg_stat_statements attribute every
//! statement by login and find the edges the log found at state 0; at state 2 the pair
//! answers as at state 0 while the consumer can use only the owner's contract; a round trip
//! leaves every privilege as it was; and each scenario shipped at state 2, observed. One
//! database walks 0 → 4 and back answering alike at each state, with `kit walls verify`
//! (every wall open at 0, all held at 4) and the audit's coupling; at state 2 the compare
//! mode finds no difference on the unchanged pair; and 4 refuses to go back over a table
//! it did not move.
//!
//! Roles are cluster-wide and the harness's server is shared by the tests running in
//! parallel: each test's logins carry its database's name.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chassis::DatabaseUrl;
use kit::audit::{self, Audit};
use kit::manifest::Manifest;
use kit::road::{self, State};
use kit::walls::Passwords;
use lab::flows::{Flow, Observed, Probe, impact};
use lab::harness::{TestContext, TestDatabase};
use lab::pairs::legacy::{Api, Logins, Stranglers, start_switched};
use lab::pairs::{Listeners, Running};
use lab::scenario::Pair;
use legacy::strangler::ApiFlows;
use sqlx::{Connection, Executor, PgConnection};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        at_state_1_pg_stat_statements_finds_by_login_the_edges_the_log_found_at_state_0,
        at_state_2_the_pair_answers_as_at_state_0_and_the_consumer_reaches_only_the_contract,
        a_round_trip_to_state_2_and_back_leaves_every_privilege_as_it_was,
        each_scenario_shipped_at_state_2_is_absorbed_refused_or_felt_as_observed,
        one_database_walks_from_state_0_to_4_and_back_and_answers_alike_at_each,
        a_key_an_owner_changed_at_state_4_refuses_the_way_back_by_name,
        a_foreign_key_that_cannot_return_is_named_and_the_way_back_changes_nothing,
        at_state_2_the_compare_mode_finds_no_difference_and_counts_a_failed_api_path,
        state_4_refuses_to_go_back_while_a_home_schema_holds_a_table_it_did_not_move,
        each_state_costs_its_statements_per_business_operation,
        every_scenario_shipped_at_every_state_is_observed,
        at_state_3_a_taken_email_is_409_and_an_owner_down_fails_the_order_closed,
    ])
}

/// The road manifest with this test's role names.
fn manifest(suffix: &str) -> Manifest {
    lab::road::manifest(suffix).unwrap()
}

fn passwords() -> Passwords {
    lab::road::passwords()
}

/// Each service's login on `database`, as state `at` has them.
fn logins(database: &TestDatabase, at: State) -> Logins {
    lab::road::logins(&database.url, &database.name, at)
}

/// Moves `database` to `to` and checks that the catalogue says so.
async fn go(database: &TestDatabase, to: State) {
    lab::road::go(&database.url, &database.name, to)
        .await
        .unwrap();
}

async fn serve(database: &TestDatabase, at: State) -> (Running, Probe) {
    lab::road::serve(&database.url, &database.name, at, None)
        .await
        .unwrap()
}

async fn admin(url: &DatabaseUrl) -> PgConnection {
    PgConnection::connect(&url.expose()).await.unwrap()
}

/// The cross-owner edges, without their call counts.
fn edges(audit: &Audit) -> BTreeSet<String> {
    audit
        .coupling
        .edges
        .iter()
        .map(|e| {
            format!(
                "{} → {}.{}.{:?} {:?}",
                e.service, e.schema, e.table, e.column, e.mode
            )
        })
        .collect()
}

async fn at_state_1_pg_stat_statements_finds_by_login_the_edges_the_log_found_at_state_0(
    ctx: TestContext,
) {
    let database = ctx.database(&support::LEGACY).await;
    let mut conn = admin(&database.url).await;
    let name = &database.name;
    let setting = format!("ALTER DATABASE \"{name}\" SET log_statement = 'all'");
    conn.execute(setting.as_str()).await.unwrap();
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap();
    let (running, probe) = serve(&database, State::SharedLogin).await;
    probe.observe(1).await.unwrap();
    drop(running);
    let marker = format!("SELECT 'road test: {name} at state 0'");
    admin(&database.url)
        .await
        .execute(marker.as_str())
        .await
        .unwrap();
    wait_for_log_line(&ctx, &marker).await;
    let log = audit::log::parse_database(&ctx.server_log().await.unwrap(), name);
    let legacy =
        Manifest::parse("legacy.toml", include_str!("../kit/manifests/legacy.toml")).unwrap();
    let at_0 = audit::build(&legacy, "log", &log);

    go(&database, State::LoginPerService).await;
    conn.execute(
        "SELECT pg_stat_statements_reset(0, \
         (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
    )
    .await
    .unwrap();
    let (_running, probe) = serve(&database, State::LoginPerService).await;
    probe.observe(2).await.unwrap();
    let rows = audit::stat_statements::collect(&database.url.expose())
        .await
        .unwrap();
    let at_1 = audit::build(&manifest(name), "stat-statements", &rows);

    assert!(!edges(&at_0).is_empty());
    assert_eq!(edges(&at_1), edges(&at_0));
    assert!(
        at_1.unattributed.iter().all(|u| u.service.is_none()),
        "{:#?}",
        at_1.unattributed
    );
    eprintln!(
        "road state 1: coupling {} over {} edges, as the log saw at state 0 ({} over {})",
        at_1.coupling.total,
        at_1.coupling.edges.len(),
        at_0.coupling.total,
        at_0.coupling.edges.len()
    );
}

async fn wait_for_log_line(ctx: &TestContext, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ctx.server_log().await.unwrap().contains(line) {
        assert!(
            Instant::now() < deadline,
            "the server log never showed {line:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SQLSTATE `sql` fails with when run logged in as `url`, or None when it runs.
async fn refused(url: &DatabaseUrl, sql: &str) -> Option<String> {
    let mut conn = PgConnection::connect_with(&url.connect_options().unwrap())
        .await
        .unwrap();
    let result = conn.execute(sql).await;
    result.err().and_then(|e| chassis::db::sqlstate(&e))
}

async fn at_state_2_the_pair_answers_as_at_state_0_and_the_consumer_reaches_only_the_contract(
    ctx: TestContext,
) {
    let shared = ctx.database(&support::LEGACY).await;
    let (_running, probe) = serve(&shared, State::SharedLogin).await;
    let at_0 = probe.observe(1).await.unwrap();
    let database = ctx.database(&support::LEGACY).await;

    go(&database, State::LoginPerService).await;
    go(&database, State::Contract).await;
    let (_running, probe) = serve(&database, State::Contract).await;
    let at_2 = probe.observe(1).await.unwrap();

    assert_eq!(at_2, at_0);
    let orders = logins(&database, State::Contract).orders;
    let customers = logins(&database, State::Contract).customers;
    assert_eq!(
        refused(&orders, "SELECT 1 FROM customers").await.as_deref(),
        Some("42501")
    );
    assert_eq!(
        refused(&orders, "SELECT count(*) FROM customers_api.customer_v1").await,
        None
    );
    assert_eq!(
        refused(&customers, "SELECT 1 FROM orders").await.as_deref(),
        Some("42501")
    );
    assert_eq!(
        refused(&customers, "SELECT count(*) FROM orders_api.order_v1").await,
        None
    );
    // Each still owns its own table, and the contract is not for writing.
    assert_eq!(refused(&orders, "SELECT 1 FROM orders").await, None);
    assert_eq!(
        refused(&orders, "DELETE FROM customers_api.customer_v1")
            .await
            .as_deref(),
        Some("42501")
    );
}

async fn a_round_trip_to_state_2_and_back_leaves_every_privilege_as_it_was(ctx: TestContext) {
    let database = ctx.database(&support::LEGACY).await;
    let admin = database.url.expose();
    let before = support::privileges::snapshot(&admin, &database.name).await;

    go(&database, State::Contract).await;
    let at_2 = support::privileges::snapshot(&admin, &database.name).await;
    go(&database, State::LoginPerService).await;
    go(&database, State::SharedLogin).await;

    let after = support::privileges::snapshot(&admin, &database.name).await;
    assert_ne!(at_2, before, "state 2 changed nothing");
    assert_eq!(after, before);
}

/// What shipping one scenario at state 2 did: the migration refused (its error), or each
/// flow's impact.
fn shipped_at_state_2(
    before: &Observed,
    after: Result<Observed, String>,
) -> Result<Vec<(Flow, String)>, String> {
    let after = after?;
    Ok(before
        .keys()
        .filter_map(|flow| {
            let impact = impact(&before[flow], &after[flow]);
            let outcome = impact.outcome();
            (outcome != lab::scenario::Outcome::Unaffected)
                .then(|| (*flow, format!("{}: {}", outcome.as_str(), impact.detail())))
        })
        .collect())
}

async fn each_scenario_shipped_at_state_2_is_absorbed_refused_or_felt_as_observed(
    ctx: TestContext,
) {
    let mut seen = Vec::new();
    for scenario in lab::scenario::catalogue() {
        let database = ctx.database(&support::LEGACY).await;
        go(&database, State::Contract).await;
        let (_running, probe) = serve(&database, State::Contract).await;
        let before = probe.observe(1).await.unwrap();
        let after = match lab::pairs::legacy::ship(&database.url, scenario).await {
            Ok(_) => Ok(probe.observe(2).await.unwrap()),
            Err(err) => Err(format!("{err:#}")),
        };
        let result = shipped_at_state_2(&before, after);
        eprintln!("road state 2, {}: {result:?}", scenario.id);
        seen.push((scenario.id, result));
    }
    let of = |id: &str| &seen.iter().find(|(s, _)| *s == id).unwrap().1;
    // A rename is absorbed: the view and the functions are bound to the column, not its name.
    for id in ["rename-email", "rename-table"] {
        assert_eq!(of(id), &Ok(Vec::new()), "{id}");
    }
    // A column the contract reads cannot be dropped or retyped under it: the migration fails.
    for (id, error) in [
        ("split-name", "other objects depend on it"),
        ("money-in-cents", "used by a view or rule"),
    ] {
        assert!(
            of(id).as_ref().is_err_and(|e| e.contains(error)),
            "{id}: {:?}",
            of(id)
        );
    }
    // A change of meaning, or of what a write needs, passes through a contract the owner
    // did not change with its table: the consumer feels it as it did at state 0.
    let flows = |id: &str| -> Vec<(Flow, &str)> {
        let found = of(id).as_ref().unwrap();
        found
            .iter()
            .map(|(f, what)| (*f, what.split(':').next().unwrap()))
            .collect()
    };
    // Compared whole, legacy's customer read (`GET /customers/9`, "owner's own" for the
    // customers team) shows the same damage: it inlines the figures it reads from orders.
    assert_eq!(
        flows("status-vocabulary"),
        [
            (Flow::Profile, "broken silently"),
            (Flow::DeleteGuard, "broken silently"),
            (Flow::OwnerCustomers, "broken silently")
        ]
    );
    assert_eq!(
        flows("soft-delete"),
        [(Flow::OrderForDeletedCustomer, "broken silently")]
    );
    assert_eq!(
        flows("required-column"),
        [(Flow::GuestCheckout, "broken loudly")]
    );
}

/// The walls as `kit walls verify` finds them, with `manifest` and each service's password.
async fn verify(
    database: &TestDatabase,
    manifest: &Manifest,
    passwords: &Passwords,
) -> Vec<String> {
    let admin = database.url.expose();
    let mut conn = admin_conn(&admin).await;
    conn.execute("ANALYZE").await.unwrap();
    let report = kit::walls::verify(&admin, manifest, passwords)
        .await
        .unwrap();
    report
        .holes()
        .map(|p| format!("{} → {} {} {}", p.service, p.target, p.wall, p.object))
        .collect()
}

async fn admin_conn(admin: &str) -> PgConnection {
    PgConnection::connect(admin).await.unwrap()
}

/// The coupling `kit audit` finds in what the services ran since the last reset, by login.
async fn coupling(database: &TestDatabase) -> u64 {
    let rows = audit::stat_statements::collect(&database.url.expose())
        .await
        .unwrap();
    let audit = audit::build(&manifest(&database.name), "stat-statements", &rows);
    eprintln!(
        "coupling {} over {} edges: {:?}",
        audit.coupling.total,
        audit.coupling.edges.len(),
        edges(&audit)
    );
    audit.coupling.total as u64
}

async fn reset_statements(database: &TestDatabase) {
    admin(&database.url)
        .await
        .execute(
            "SELECT pg_stat_statements_reset(0, \
             (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
        )
        .await
        .unwrap();
}

/// The foreign keys into the customers table, wherever it is, and whether each is validated.
async fn keys_into_customers(database: &TestDatabase) -> Vec<(String, bool)> {
    let mut conn = admin(&database.url).await;
    sqlx::query_as(
        "SELECT conname::text, convalidated FROM pg_constraint WHERE contype = 'f'
         AND confrelid = (SELECT oid FROM pg_class WHERE relname = 'customers' AND relkind = 'r')
         ORDER BY conname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// At state 4 the customers team changes its key's type (`uuid-ids`): what state 3 had that
/// refers to the old key (the contract's functions, the orders table's foreign key) can no
/// longer return. The way back says where it stopped and why, and changes nothing.
async fn a_key_an_owner_changed_at_state_4_refuses_the_way_back_by_name(ctx: TestContext) {
    let database = ctx.database(&support::LEGACY).await;
    go(&database, State::Walls).await;
    lab::pairs::legacy::ship(&database.url, lab::scenario::find("uuid-ids").unwrap())
        .await
        .unwrap();

    let said = way_back_refused(&database).await;

    assert!(
        said.contains("the step failed at \"back to state 3: the contracts return")
            && said.contains("nothing was changed")
            && said.contains("uuid = bigint"),
        "{said}"
    );
    assert_eq!(keys_into_customers(&database).await, []);
}

/// At state 4 nothing refers to the customers key across owners any more, so its owner may
/// drop it; the orders table's foreign key then cannot return, and the way back says so.
async fn a_foreign_key_that_cannot_return_is_named_and_the_way_back_changes_nothing(
    ctx: TestContext,
) {
    let database = ctx.database(&support::LEGACY).await;
    go(&database, State::Walls).await;
    admin(&database.url)
        .await
        .execute("ALTER TABLE customers.customers DROP CONSTRAINT customers_pkey")
        .await
        .unwrap();

    let said = way_back_refused(&database).await;

    assert!(
        said.contains("the foreign key orders_customer_id_fkey on orders (")
            && said.contains("cannot come back")
            && said.contains("stay at state 4"),
        "{said}"
    );
}

/// Tries the way back from state 4 to 3, which must fail and leave the database at state 4;
/// returns what it said.
async fn way_back_refused(database: &TestDatabase) -> String {
    let err = lab::road::go(&database.url, &database.name, State::Api)
        .await
        .unwrap_err();
    let manifest = lab::road::manifest(&database.name).unwrap();
    let at = kit::road::status(&database.url.expose(), &manifest)
        .await
        .unwrap();
    assert_eq!(at, State::Walls, "the way back changed nothing");
    format!("{err:#}")
}

async fn one_database_walks_from_state_0_to_4_and_back_and_answers_alike_at_each(ctx: TestContext) {
    let database = ctx.database(&support::LEGACY).await;
    let admin_url = database.url.expose();
    admin(&database.url)
        .await
        .execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap();
    let before = support::privileges::snapshot(&admin_url, &database.name).await;
    let shared = secrecy::ExposeSecret::expose_secret(database.url.password().unwrap());
    let legacy =
        Manifest::parse("legacy.toml", include_str!("../kit/manifests/legacy.toml")).unwrap();
    let open_at_0 = verify(
        &database,
        &legacy,
        &Passwords::new()
            .with("customers", shared)
            .with("orders", shared),
    )
    .await;
    let (running, probe) = serve(&database, State::SharedLogin).await;
    let at_0 = probe.observe(1).await.unwrap();
    drop(running);

    let mut couplings = Vec::new();
    for (round, to) in (2..).zip([
        State::LoginPerService,
        State::Contract,
        State::Api,
        State::Walls,
    ]) {
        go(&database, to).await;
        reset_statements(&database).await;
        let (running, probe) = serve(&database, to).await;
        let answers = probe.observe(round).await.unwrap();
        drop(running);
        assert_eq!(answers, at_0, "state {to}");
        couplings.push((to.number(), coupling(&database).await));
    }
    let open_at_4 = verify(&database, &manifest(&database.name), &passwords()).await;
    // The orders table's key into customers is a wall the walls alone would leave.
    assert_eq!(keys_into_customers(&database).await, []);

    for to in [
        State::Api,
        State::Contract,
        State::LoginPerService,
        State::SharedLogin,
    ] {
        go(&database, to).await;
    }
    let after = support::privileges::snapshot(&admin_url, &database.name).await;
    // Back, and checked again: no row written on the road refers to a customer gone.
    assert_eq!(
        keys_into_customers(&database).await,
        [("orders_customer_id_fkey".to_owned(), true)]
    );

    eprintln!(
        "road walk: open walls at state 0: {}; at state 4: {open_at_4:?}",
        open_at_0.len()
    );
    eprintln!("road walk: audit coupling by state: {couplings:?}");
    assert!(open_at_0.len() > 20, "{open_at_0:#?}");
    assert_eq!(open_at_4, Vec::<String>::new());
    // The audit counts reaches into another's tables: from state 2 on there are none (the
    // contract is what the owner publishes; from 3 on nothing but HTTP crosses).
    let at = |n: u8| couplings.iter().find(|(s, _)| *s == n).unwrap().1;
    assert!(at(1) > 0, "{couplings:?}");
    assert_eq!((at(2), at(3), at(4)), (0, 0, 0), "{couplings:?}");
    assert_eq!(after, before);
}

async fn at_state_2_the_compare_mode_finds_no_difference_and_counts_a_failed_api_path(
    ctx: TestContext,
) {
    let database = ctx.database(&support::LEGACY).await;
    let (_running, probe) = serve(&database, State::SharedLogin).await;
    let at_0 = probe.observe(1).await.unwrap();
    go(&database, State::Contract).await;
    let logins = Logins {
        api: Api {
            flows: ApiFlows::none(),
            compare: true,
        },
        ..logins(&database, State::Contract)
    };
    let (mut running, stranglers): (Running, Stranglers) =
        start_switched(&logins, Listeners::loopback().await.unwrap()).unwrap();
    let probe = Probe::new(
        Pair::Legacy,
        &running.customers.url,
        &running.orders.url,
        None,
    );

    let at_2 = probe.observe(2).await.unwrap();
    assert_eq!(at_2, at_0);
    assert_eq!(stranglers.differences(), 0);

    // The safety net is on: with customers down, the order still shows from SQL, and the
    // compare counts the API path that could not answer.
    running.customers.stop().await.unwrap();
    let order = reqwest::get(format!("{}/orders/1", running.orders.url))
        .await
        .unwrap();
    assert_eq!(order.status(), 200);
    assert_eq!(stranglers.orders.differences(), 1);
}

async fn state_4_refuses_to_go_back_while_a_home_schema_holds_a_table_it_did_not_move(
    ctx: TestContext,
) {
    let database = ctx.database(&support::LEGACY).await;
    let (admin_url, manifest) = (database.url.expose(), manifest(&database.name));
    go(&database, State::Walls).await;
    admin(&database.url)
        .await
        .execute("CREATE TABLE customers.loyalty (customer_id bigint)")
        .await
        .unwrap();

    let err = road::apply(&admin_url, &manifest, &passwords(), State::Api)
        .await
        .unwrap_err()
        .to_string();

    assert!(err.contains("schema customers holds loyalty"), "{err}");
    assert_eq!(
        road::status(&admin_url, &manifest).await.unwrap(),
        State::Walls
    );
    admin(&database.url)
        .await
        .execute("DROP TABLE customers.loyalty")
        .await
        .unwrap();
    go(&database, State::Api).await;
}

/// One business operation as a client makes it: method, service, path, body.
type Operation = (
    &'static str,
    reqwest::Method,
    bool,
    String,
    Option<serde_json::Value>,
);

fn operations(round: u8) -> Vec<Operation> {
    use reqwest::Method;

    vec![
        (
            "show an order",
            Method::GET,
            false,
            "/orders/1".into(),
            None,
        ),
        (
            "list 20 orders",
            Method::GET,
            false,
            "/orders?limit=20".into(),
            None,
        ),
        (
            "place an order",
            Method::POST,
            false,
            "/orders".into(),
            Some(serde_json::json!({"customer_id": 1, "total": "12.50"})),
        ),
        (
            "guest checkout",
            Method::POST,
            false,
            "/guest-checkouts".into(),
            Some(
                serde_json::json!({"name": "Road Guest", "email": format!("road-cost-{round}@example.com"), "total": "9.99"}),
            ),
        ),
        (
            "show a profile",
            Method::GET,
            true,
            "/customers/1".into(),
            None,
        ),
        (
            "delete guard (refused)",
            Method::DELETE,
            true,
            "/customers/1".into(),
            None,
        ),
    ]
}

/// Statements each login ran in `database` since the last reset, the readings left out.
async fn statements_by_role(database: &TestDatabase) -> std::collections::BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.rolname::text, sum(s.calls)::bigint \
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid \
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND s.query <> $1 AND s.query NOT LIKE '%pg_stat_statements%' \
         GROUP BY r.rolname",
    )
    .bind(chassis::db::RELEASE_CHECK_SQL)
    .fetch_all(&mut admin(&database.url).await)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(role, calls)| (role.replace(&format!("_{}", database.name), ""), calls))
        .collect()
}

async fn each_state_costs_its_statements_per_business_operation(ctx: TestContext) {
    let database = ctx.database(&support::LEGACY).await;
    admin(&database.url)
        .await
        .execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let mut table = Vec::new();
    for state in State::ALL {
        if state != State::SharedLogin {
            go(&database, state).await;
        }
        let (running, _) = serve(&database, state).await;
        for (name, method, customers, path, body) in operations(state.number()) {
            reset_statements(&database).await;
            let base = if customers {
                &running.customers.url
            } else {
                &running.orders.url
            };
            let mut request = client.request(method, format!("{base}{path}"));
            if let Some(body) = body {
                request = request.json(&body);
            }
            let status = request.send().await.unwrap().status().as_u16();
            assert!(
                matches!(status, 200 | 201 | 409),
                "{name} at state {state}: {status}"
            );
            let counts = statements_by_role(&database).await;
            table.push((state.number(), name, status, counts));
        }
        drop(running);
    }
    eprintln!("road cost: state | operation | status | SQL statements by login");
    for (state, name, status, counts) in &table {
        let total: i64 = counts.values().sum();
        eprintln!("road cost: {state} | {name} | {status} | {total} {counts:?}");
    }
    // Until state 3 an order's customer is read by the orders login alone; from 3 on, the
    // customers login answers it over HTTP, and the orders login reads no customer data.
    let of = |state: u8, op: &str, role: &str| {
        let (_, _, _, counts) = table
            .iter()
            .find(|(s, n, _, _)| *s == state && *n == op)
            .unwrap();
        counts.get(role).copied().unwrap_or(0)
    };
    for op in ["show an order", "place an order", "guest checkout"] {
        assert_eq!(of(2, op, "legacy_customers_svc"), 0, "{op}");
        assert!(of(3, op, "legacy_customers_svc") > 0, "{op}");
        assert!(of(4, op, "legacy_customers_svc") > 0, "{op}");
    }
    for op in ["show a profile", "delete guard (refused)"] {
        assert_eq!(of(2, op, "legacy_orders_svc"), 0, "{op}");
        assert!(of(3, op, "legacy_orders_svc") > 0, "{op}");
    }
}

/// One line of the state × scenario table: what each flow felt, or why the release failed.
fn cell(result: &Result<Vec<(Flow, String)>, String>) -> String {
    match result {
        Ok(felt) if felt.is_empty() => "absorbed".to_owned(),
        Ok(felt) => felt
            .iter()
            .map(|(flow, what)| format!("{flow:?} {}", what.split(':').next().unwrap()))
            .collect::<Vec<_>>()
            .join(", "),
        Err(err) => format!("release refused: {}", err.lines().last().unwrap_or(err)),
    }
}

async fn every_scenario_shipped_at_every_state_is_observed(ctx: TestContext) {
    let mut table = Vec::new();
    for state in State::ALL {
        for scenario in lab::scenario::catalogue() {
            let database = ctx.database(&support::LEGACY).await;
            let (before, after) =
                lab::road::ship_at(&database.url, &database.name, state, scenario, None)
                    .await
                    .unwrap();
            let result = shipped_at_state_2(&before, after);
            eprintln!(
                "road matrix: {} | {} | {}",
                state.number(),
                scenario.id,
                cell(&result)
            );
            table.push((state, scenario.id, result));
        }
    }
    let of = |state: State, id: &str| {
        &table
            .iter()
            .find(|(s, i, _)| *s == state && *i == id)
            .unwrap()
            .2
    };
    // At states 0 and 1 the consumers read the tables: a change of meaning breaks silently.
    for state in [State::SharedLogin, State::LoginPerService] {
        assert!(
            of(state, "status-vocabulary")
                .as_ref()
                .is_ok_and(|felt| felt
                    .iter()
                    .any(|(_, what)| what.starts_with("broken silently"))),
            "{state}: {:?}",
            of(state, "status-vocabulary")
        );
    }
    // From state 3 the owner answers in its own words, from its own table's current shape:
    // no consumer feels a release. But at 3 the contract is still there, kept for the way
    // back, and it still pins the columns it reads: a drop or a retype waits for state 4.
    for scenario in lab::scenario::catalogue() {
        let id = scenario.id;
        assert_eq!(of(State::Walls, id), &Ok(Vec::new()), "state 4 {id}");
        match of(State::Api, id) {
            // Only the contract's own pin: the database refuses to drop or retype a column
            // a contract view reads, and it did so at state 2 as well.
            Err(err) => assert!(
                (err.contains("depend on it") || err.contains("used by a view"))
                    && of(State::Contract, id)
                        .as_ref()
                        .is_err_and(|at_2| at_2 == err),
                "state 3 {id}: {err}"
            ),
            felt => assert_eq!(felt, &Ok(Vec::new()), "state 3 {id}"),
        }
    }
}

async fn at_state_3_a_taken_email_is_409_and_an_owner_down_fails_the_order_closed(
    ctx: TestContext,
) {
    let database = ctx.database(&support::LEGACY).await;
    go(&database, State::Api).await;
    let (mut running, _) = serve(&database, State::Api).await;
    let client = reqwest::Client::new();
    let taken: serde_json::Value = client
        .get(format!("{}/customers/1", running.customers.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let guest = client
        .post(format!("{}/guest-checkouts", running.orders.url))
        .json(&serde_json::json!({"name": "Guest", "email": taken["email"], "total": "5.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(guest.status(), 409);

    let orders = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM public.orders")
            .fetch_one(&mut admin(&database.url).await)
            .await
            .unwrap()
    };
    let before = orders().await;
    running.customers.stop().await.unwrap();
    let order = client
        .post(format!("{}/orders", running.orders.url))
        .json(&serde_json::json!({"customer_id": 1, "total": "5.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 503);
    assert!(order.headers().contains_key("retry-after"));
    let problem: serde_json::Value = order.json().await.unwrap();
    assert_eq!(problem["title"], "The customers service is unavailable");
    assert_eq!(orders().await, before, "nothing written");
}
