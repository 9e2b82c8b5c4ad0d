//! Lint on every scenario migration of the catalogue (migrations/scenarios/*), against the
//! audit of the legacy pair's traffic (fixtures/legacy-seed.log) and of the migrated
//! pair's own-schema traffic.

use super::*;
use crate::audit::{self, Observation};

fn legacy() -> (Manifest, Audit) {
    let manifest =
        Manifest::parse("legacy", include_str!("../../manifests/legacy.toml")).expect("valid");
    let log = audit::log::parse(include_str!("../../fixtures/legacy-seed.log"));
    let audit = audit::build(&manifest, "log", &log);
    (manifest, audit)
}

fn migrated() -> (Manifest, Audit) {
    let manifest =
        Manifest::parse("migrated", include_str!("../../manifests/migrated.toml")).expect("valid");
    let row = |role: &str, text: &str| Observation {
        role: Some(role.into()),
        application_name: None,
        text: text.into(),
        calls: 5,
    };
    let observations = [
        row(
            "orders_svc",
            "SELECT id, customer_id, status, total, created_at FROM orders.orders WHERE id = $1",
        ),
        row(
            "orders_svc",
            "INSERT INTO orders.orders (customer_id, status, total) VALUES ($1, $3, $2) RETURNING id, customer_id, status, total, created_at",
        ),
        row(
            "orders_svc",
            "SELECT count(*) FILTER (WHERE status IN ($2, $3)) AS open_order_count, COALESCE(sum(total) FILTER (WHERE status <> $4), $5) AS lifetime_value FROM orders.orders WHERE customer_id = $1",
        ),
        row(
            "customers_svc",
            "SELECT id, name AS name, email AS email, phone, status, created_at, version FROM customers.customers WHERE id = ANY($1) AND $2 ORDER BY id",
        ),
        row(
            "customers_svc",
            "INSERT INTO customers.customers (name, email, phone) VALUES ($1, $2, $3) RETURNING id, name, email, phone, status, created_at, version",
        ),
    ];
    let audit = audit::build(&manifest, "stat-statements", &observations);
    (manifest, audit)
}

/// (highest severity, the consumer services named) for one scenario file.
fn verdict((manifest, audit): &(Manifest, Audit), sql: &str) -> (Option<Severity>, Vec<String>) {
    let findings = lint("m.sql", sql, manifest, audit);
    let mut services: Vec<String> = findings
        .iter()
        .flat_map(|f| f.consumers.iter().map(|c| c.service.clone()))
        .collect();
    services.sort();
    services.dedup();
    (findings.iter().map(|f| f.severity).max(), services)
}

macro_rules! scenario {
    ($name:literal, $pair:literal) => {
        include_str!(concat!(
            "../../../migrations/scenarios/",
            $name,
            "/",
            $pair,
            ".sql"
        ))
    };
}

const SCENARIOS: [(&str, &str, &str); 7] = [
    (
        "money-in-cents",
        scenario!("money-in-cents", "legacy"),
        scenario!("money-in-cents", "migrated"),
    ),
    (
        "rename-email",
        scenario!("rename-email", "legacy"),
        scenario!("rename-email", "migrated"),
    ),
    (
        "rename-table",
        scenario!("rename-table", "legacy"),
        scenario!("rename-table", "migrated"),
    ),
    (
        "required-column",
        scenario!("required-column", "legacy"),
        scenario!("required-column", "migrated"),
    ),
    (
        "soft-delete",
        scenario!("soft-delete", "legacy"),
        scenario!("soft-delete", "migrated"),
    ),
    (
        "split-name",
        scenario!("split-name", "legacy"),
        scenario!("split-name", "migrated"),
    ),
    (
        "status-vocabulary",
        scenario!("status-vocabulary", "legacy"),
        scenario!("status-vocabulary", "migrated"),
    ),
];

#[test]
fn each_legacy_scenario_names_the_consumer_it_breaks() {
    let legacy = legacy();
    let expected = [
        ("money-in-cents", Severity::Breaking, "customers"),
        ("rename-email", Severity::Breaking, "orders"),
        ("rename-table", Severity::Breaking, "orders"),
        ("required-column", Severity::Breaking, "orders"),
        ("soft-delete", Severity::Warning, "orders"),
        ("split-name", Severity::Breaking, "orders"),
        ("status-vocabulary", Severity::Warning, "customers"),
    ];
    for ((name, sql, _), (id, severity, consumer)) in SCENARIOS.iter().zip(expected) {
        assert_eq!(*name, id);
        assert_eq!(
            verdict(&legacy, sql),
            (Some(severity), vec![consumer.to_owned()]),
            "{name}"
        );
    }
}

#[test]
fn the_migrated_owners_migrations_flag_nothing() {
    let migrated = migrated();
    assert_eq!(migrated.1.coupling.total, 0);
    for (name, _, sql) in SCENARIOS {
        assert_eq!(verdict(&migrated, sql), (None, vec![]), "{name}");
    }
}

#[test]
fn a_rename_names_the_statement_its_calls_and_the_line() {
    let (manifest, audit) = legacy();
    let sql = "-- a comment first\n\nALTER TABLE customers RENAME COLUMN email TO email_address;";
    let findings = lint("rename.sql", sql, &manifest, &audit);
    let finding = &findings[0];
    assert_eq!((finding.line, finding.severity), (3, Severity::Breaking));
    assert!(finding.why.contains("42703"));
    let calls: u64 = finding.consumers.iter().map(|c| c.calls).sum();
    // The order list (3), the order view (5) and guest checkout (2).
    assert_eq!(calls, 10, "{:?}", finding.consumers);
}

#[test]
fn a_change_to_a_column_nobody_else_reads_is_quiet() {
    let (manifest, audit) = legacy();
    for sql in [
        "ALTER TABLE customers RENAME COLUMN created_at TO signed_up_at",
        "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID",
        "ALTER TABLE orders ALTER COLUMN created_at TYPE timestamp",
        "ALTER TABLE customers ADD COLUMN note TEXT",
        "ALTER TABLE orders DROP CONSTRAINT orders_total_check",
    ] {
        assert!(lint("q.sql", sql, &manifest, &audit).is_empty(), "{sql}");
    }
}

#[test]
fn the_other_breaking_shapes_are_recognised() {
    let (manifest, audit) = legacy();
    let cases = [
        (
            "ALTER TABLE customers ENABLE ROW LEVEL SECURITY",
            Severity::Breaking,
        ),
        ("ALTER TABLE customers SET SCHEMA crm", Severity::Breaking),
        (
            "ALTER TABLE customers ADD COLUMN tax_id TEXT NOT NULL",
            Severity::Breaking,
        ),
        (
            "ALTER TABLE orders ADD CONSTRAINT known CHECK (status <> 'LOST') NOT VALID",
            Severity::Warning,
        ),
        (
            "ALTER TABLE customers ADD CONSTRAINT short CHECK (length(phone) < 20) NOT VALID",
            Severity::Breaking,
        ),
        (
            "ALTER TABLE customers ALTER COLUMN status SET DEFAULT 'pending'",
            Severity::Warning,
        ),
        (
            "ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey",
            Severity::Warning,
        ),
        (
            "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'",
            Severity::Warning,
        ),
        ("DROP TABLE orders", Severity::Breaking),
    ];
    for (sql, severity) in cases {
        let findings = lint("x.sql", sql, &manifest, &audit);
        assert_eq!(
            findings.iter().map(|f| f.severity).max(),
            Some(severity),
            "{sql}: {findings:?}"
        );
    }
}

#[test]
fn a_statement_the_parser_cannot_read_is_a_warning_not_a_silence() {
    let (manifest, audit) = legacy();
    let findings = lint(
        "x.sql",
        "ALTER TABLE customers FROBNICATE;\nSELECT 1;",
        &manifest,
        &audit,
    );
    assert_eq!(findings.len(), 1);
    assert!(findings[0].why.starts_with("not understood"));
}
