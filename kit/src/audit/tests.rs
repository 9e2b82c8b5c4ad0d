//! The audit on realistic evidence: a log of the legacy pair's seed-like traffic (every
//! statement of legacy/src/*/db.rs, shared login, told apart by application_name), and
//! pg_stat_statements rows of the migrated pair (a login per service).

use super::*;

fn legacy_audit() -> Audit {
    let manifest =
        Manifest::parse("legacy", include_str!("../../manifests/legacy.toml")).expect("valid");
    build(
        &manifest,
        "log",
        &log::parse(include_str!("../../fixtures/legacy-seed.log")),
    )
}

fn row(role: &str, text: &str, calls: u64) -> Observation {
    Observation {
        role: Some(role.into()),
        application_name: None,
        text: text.into(),
        calls,
    }
}

#[test]
fn the_legacy_audit_finds_every_cross_ownership_flow_of_the_legacy_code() {
    let audit = legacy_audit();
    let edges: Vec<String> = audit
        .coupling
        .edges
        .iter()
        .map(|e| {
            let column = e.column.as_deref().unwrap_or("*");
            format!("{} {:?} {}.{column}", e.service, e.mode, e.table)
        })
        .collect();
    for expected in [
        "orders Read customers.name",
        "orders Read customers.email",
        "orders Read customers.status",
        "orders Write customers.*",
        "orders Write customers.phone",
        "customers Read orders.status",
        "customers Read orders.total",
        "customers Read orders.customer_id",
    ] {
        assert!(
            edges.contains(&expected.to_owned()),
            "{expected} not in {edges:?}"
        );
    }
    assert!(
        edges.iter().all(|e| !e.contains("schema_releases")),
        "shared table: {edges:?}"
    );
}

#[test]
fn coupling_weighs_each_cross_table_and_column_access_by_its_calls() {
    // orders: list 3×(table, id, name, email) + find 5×4 + status check 4×(table, id,
    // status) + guest checkout 2×(table, name, email, phone written, id returned);
    // customers: order stats 6×(table, status, total, customer_id) + open count 1×3.
    assert_eq!(legacy_audit().coupling.total, 12 + 20 + 12 + 10 + 24 + 3);
}

#[test]
fn every_statement_is_counted_and_a_stranger_is_an_unknown_connection() {
    let audit = legacy_audit();
    assert_eq!(audit.totals.attributed, 20);
    assert_eq!(audit.totals.no_tables, 4);
    assert_eq!(audit.totals.unattributed, 1);
    assert_eq!(audit.unknown_connections.len(), 1);
    assert_eq!(
        audit.unknown_connections[0].application_name.as_deref(),
        Some("psql")
    );
    assert_eq!(audit.unattributed[0].text, "SELECT count(*) FROM orders");
}

#[test]
fn the_migrated_pair_observed_by_role_has_no_coupling() {
    let manifest =
        Manifest::parse("migrated", include_str!("../../manifests/migrated.toml")).expect("valid");
    let observations = [
        row(
            "orders_svc",
            "SELECT id, customer_id, status, total, created_at FROM orders.orders WHERE id = $1",
            9,
        ),
        row(
            "orders_svc",
            "INSERT INTO orders.idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)",
            2,
        ),
        row(
            "orders_svc",
            "SELECT count(*) FILTER (WHERE status IN ($2, $3)) AS open_order_count FROM orders.orders WHERE customer_id = $1",
            4,
        ),
        row(
            "customers_svc",
            "SELECT id, name, email, phone, status, created_at, version FROM customers.customers WHERE id = ANY($1) AND $2 ORDER BY id",
            5,
        ),
        row(
            "customers_svc",
            "UPDATE customers.customers SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
            1,
        ),
        row(
            "customers_svc",
            "SELECT typname FROM pg_catalog.pg_type WHERE oid = $1",
            3,
        ),
    ];
    let audit = build(&manifest, "stat-statements", &observations);
    assert_eq!(audit.coupling.total, 0);
    assert_eq!(audit.totals.attributed, 5);
    assert_eq!(audit.totals.system, 1);
}

#[test]
fn a_shared_login_seen_only_by_role_is_an_unknown_connection() {
    let manifest =
        Manifest::parse("legacy", include_str!("../../manifests/legacy.toml")).expect("valid");
    let audit = build(
        &manifest,
        "stat-statements",
        &[row(
            "postgres",
            "SELECT status FROM customers WHERE id = $1",
            4,
        )],
    );
    assert_eq!(audit.unknown_connections.len(), 1);
    assert_eq!(audit.unattributed.len(), 1);
}

#[test]
fn the_json_is_versioned_and_reads_back() {
    let audit = legacy_audit();
    let json = serde_json::to_string(&audit).expect("serialises");
    assert!(json.starts_with("{\"version\":1,"));
    let back: Audit = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back.coupling.total, audit.coupling.total);
}

#[test]
fn the_renderings_mark_cross_owner_access() {
    let audit = legacy_audit();
    assert!(render::mermaid(&audit).contains("==>|\"CROSS"));
    let table = render::table(&audit);
    assert!(
        table.contains("CROSS") && table.contains("coupling: 81"),
        "{table}"
    );
}
