//! Attribution of every statement the legacy pair runs (legacy/src/*/db.rs, as built for
//! the baseline schema and after the owners' releases), of their pg_stat_statements
//! normalised forms, and of the constructs the pairs do not use but real teams do.

use super::*;
use crate::manifest::Manifest;

fn legacy() -> Manifest {
    Manifest::parse("legacy", include_str!("../../manifests/legacy.toml")).expect("valid")
}

/// `r public.customers.name`, `w public.orders` (the table as a whole), sorted.
fn touches(sql: &str) -> Vec<String> {
    let manifest = legacy();
    match analyse(sql, &manifest, &manifest.search_path, Some("postgres")) {
        Analysis::Tables {
            accesses,
            unresolved,
            ..
        } => {
            assert!(unresolved.is_empty(), "unresolved {unresolved:?} in {sql}");
            let mut found: Vec<String> = accesses.iter().map(describe).collect();
            found.sort();
            found
        }
        other => panic!("{sql}: {other:?}"),
    }
}

fn describe(a: &Access) -> String {
    let mode = match a.mode {
        Mode::Read => "r",
        Mode::Write => "w",
    };
    match &a.column {
        Some(column) => format!("{mode} {}.{}.{column}", a.schema, a.table),
        None => format!("{mode} {}.{}", a.schema, a.table),
    }
}

const ORDER_VIEW: &str =
    "SELECT o.id, o.customer_id, o.status AS status, o.total AS total, o.created_at,
        c.name AS customer_name, c.email AS customer_email
    FROM orders o LEFT JOIN customers c ON c.id = o.customer_id";

#[test]
fn the_order_view_join_reads_the_customers_name_and_email_through_an_alias() {
    let sql = format!(
        "{ORDER_VIEW} WHERE ($1::bigint IS NULL OR o.customer_id = $1) \
         AND ($2::text IS NULL OR o.status = $2) ORDER BY o.id LIMIT $3 OFFSET $4"
    );
    assert_eq!(
        touches(&sql),
        [
            "r public.customers",
            "r public.customers.email",
            "r public.customers.id",
            "r public.customers.name",
            "r public.orders",
            "r public.orders.created_at",
            "r public.orders.customer_id",
            "r public.orders.id",
            "r public.orders.status",
            "r public.orders.total",
        ]
    );
}

#[test]
fn the_order_view_after_both_orders_releases_still_reads_the_same_columns() {
    let sql = "SELECT o.id, o.customer_id, CASE o.status WHEN 'pending' THEN 'NEW' END AS status,
        round(o.total / 100.0, 2) AS total, o.created_at, c.name AS customer_name,
        c.email AS customer_email FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
        WHERE o.id = $1";
    let found = touches(sql);
    assert!(found.contains(&"r public.orders.total".to_owned()));
    assert!(found.contains(&"r public.customers.email".to_owned()));
}

#[test]
fn the_customer_status_check_reads_another_services_status_column() {
    assert_eq!(
        touches("SELECT status FROM customers WHERE id = $1 FOR SHARE"),
        [
            "r public.customers",
            "r public.customers.id",
            "r public.customers.status"
        ]
    );
}

#[test]
fn guest_checkout_writes_the_columns_it_names_and_reads_what_it_returns() {
    assert_eq!(
        touches("INSERT INTO customers (name, email, phone) VALUES ($1, $2, $3) RETURNING id"),
        [
            "r public.customers.id",
            "w public.customers",
            "w public.customers.email",
            "w public.customers.name",
            "w public.customers.phone",
        ]
    );
}

#[test]
fn the_order_stats_read_status_and_total_inside_aggregate_filters() {
    let sql = "SELECT count(*) FILTER (WHERE status IN ('NEW', 'PAID')) AS open_order_count,
                COALESCE(sum(total) FILTER (WHERE status <> 'CANCELLED'), 0) AS lifetime_value
         FROM orders WHERE customer_id = $1";
    assert_eq!(
        touches(sql),
        [
            "r public.orders",
            "r public.orders.customer_id",
            "r public.orders.status",
            "r public.orders.total"
        ]
    );
}

#[test]
fn every_other_legacy_statement_is_attributed_to_its_own_table() {
    let own = [
        "SELECT count(*) FROM orders o WHERE ($1::bigint IS NULL OR o.customer_id = $1) AND ($2::text IS NULL OR o.status = $2)",
        "INSERT INTO orders (customer_id, status, total) VALUES ($1, $2, ($3 * 100)::bigint) RETURNING id",
        "SELECT o.status FROM orders o WHERE o.id = $1 FOR UPDATE",
        "UPDATE orders SET status = $2 WHERE id = $1",
        "DELETE FROM orders WHERE id = $1",
        "SELECT count(*) FROM orders WHERE customer_id = $1 AND status IN ('NEW', 'PAID')",
        "SELECT id, name AS name, email AS email, phone, status, created_at FROM customers WHERE TRUE ORDER BY id LIMIT $1 OFFSET $2",
        "SELECT count(*) FROM customers WHERE TRUE",
        "SELECT id, name AS name, email AS email, phone, status, created_at FROM customers WHERE id = $1 AND TRUE",
        "INSERT INTO customers (name, email, phone) VALUES ($1, $2, $3) RETURNING id, name AS name, email AS email, phone, status, created_at",
        "UPDATE customers SET name = COALESCE($2, name), email = COALESCE($3, email),
                phone = COALESCE($4, phone), status = COALESCE($5, status)
         WHERE id = $1 AND TRUE RETURNING id, name AS name, email AS email, phone, status, created_at",
        "SELECT id FROM customers WHERE id = $1 AND TRUE FOR UPDATE",
        "DELETE FROM customers WHERE id = $1",
        "UPDATE customers SET deleted_at = now() WHERE id = $1",
        "SELECT id, concat_ws(' ', given_name, NULLIF(family_name, '')) AS name, email_address AS email, phone, status, created_at FROM clients WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2",
        "SELECT scenario FROM schema_releases WHERE owner = 'customers'",
    ];
    for sql in own {
        let found = touches(sql);
        let tables: BTreeSet<String> = found
            .iter()
            .filter_map(|t| t.split(' ').nth(1))
            .map(|t| t.splitn(3, '.').take(2).collect::<Vec<_>>().join("."))
            .collect();
        assert_eq!(tables.len(), 1, "{sql}: {found:?}");
    }
}

#[test]
fn pg_stat_statements_normalised_text_is_attributed_like_the_original() {
    let normalised = [
        // Both as a Postgres 17 pg_stat_statements recorded them (psql, literal values).
        (
            "SELECT count(*) FILTER (WHERE status IN ($1, $2)) AS open_order_count, COALESCE(sum(total) FILTER (WHERE status <> $3), $4) AS lifetime_value FROM orders WHERE customer_id = $5",
            "r public.orders.customer_id",
        ),
        (
            "SELECT id, name AS name FROM customers WHERE $1 ORDER BY id LIMIT $2 OFFSET $3",
            "r public.customers.name",
        ),
        (
            "SELECT count(*) FILTER (WHERE status IN ($2, $3)) AS open_order_count,\n COALESCE(sum(total) FILTER (WHERE status <> $4), $5) AS lifetime_value\n FROM orders WHERE customer_id = $1",
            "r public.orders.total",
        ),
        (
            "SELECT id, name AS name, email AS email, phone, status, created_at FROM customers WHERE $3 ORDER BY id LIMIT $1 OFFSET $2",
            "r public.customers.email",
        ),
        (
            "SELECT scenario FROM schema_releases WHERE owner = $1",
            "r public.schema_releases.owner",
        ),
        (
            "SELECT o.id, CASE o.status WHEN $2 THEN $3 END AS status, round(o.total / $4, $5) AS total FROM orders o WHERE o.id = $1",
            "r public.orders.status",
        ),
    ];
    for (sql, expected) in normalised {
        assert!(
            touches(sql).contains(&expected.to_owned()),
            "{sql}: {:?}",
            touches(sql)
        );
    }
}

#[test]
fn a_cte_is_resolved_to_the_table_it_reads_not_to_its_own_name() {
    let sql = "WITH open AS (SELECT customer_id, total FROM orders WHERE status = 'NEW')
               SELECT c.name, sum(open.total) FROM customers c JOIN open ON open.customer_id = c.id
               GROUP BY c.name";
    assert_eq!(
        touches(sql),
        [
            "r public.customers",
            "r public.customers.id",
            "r public.customers.name",
            "r public.orders",
            "r public.orders.customer_id",
            "r public.orders.status",
            "r public.orders.total",
        ]
    );
}

#[test]
fn a_correlated_subquery_resolves_its_outer_alias() {
    let sql = "SELECT c.id FROM customers c
               WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND status = 'NEW')";
    let found = touches(sql);
    assert!(
        found.contains(&"r public.orders.status".to_owned()),
        "{found:?}"
    );
    assert!(found.contains(&"r public.customers.id".to_owned()));
}

#[test]
fn insert_select_update_from_and_delete_using_split_reads_from_writes() {
    let found = touches(
        "INSERT INTO orders (customer_id, total) SELECT id, 0 FROM customers WHERE status = 'active'",
    );
    assert!(found.contains(&"w public.orders.customer_id".to_owned()));
    assert!(found.contains(&"r public.customers.status".to_owned()));

    let found = touches(
        "UPDATE orders o SET status = 'CANCELLED' FROM customers c WHERE c.id = o.customer_id AND c.status = 'suspended'",
    );
    assert!(found.contains(&"w public.orders.status".to_owned()));
    assert!(found.contains(&"r public.customers.status".to_owned()));

    let found = touches(
        "DELETE FROM orders USING customers WHERE orders.customer_id = customers.id AND customers.status = 'suspended'",
    );
    assert!(found.contains(&"w public.orders".to_owned()));
    assert!(found.contains(&"r public.customers.status".to_owned()));
}

#[test]
fn an_unqualified_column_in_a_join_of_unknown_tables_is_reported_not_guessed() {
    let manifest = legacy();
    let sql = "SELECT note FROM audit_a a JOIN audit_b b ON a.id = b.id";
    match analyse(sql, &manifest, &manifest.search_path, None) {
        Analysis::Tables { unresolved, .. } => assert_eq!(unresolved, ["note"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unqualified_table_follows_the_search_path_and_the_user_schema_first() {
    let manifest = Manifest::parse(
        "m",
        "[[table]]\nname = \"app.orders\"\ncolumns = [\"id\"]\n",
    )
    .expect("valid");
    let path = manifest.search_path.clone();
    let Analysis::Tables { accesses, .. } =
        analyse("SELECT id FROM orders", &manifest, &path, Some("app"))
    else {
        panic!("not attributed");
    };
    assert!(accesses.iter().all(|a| a.schema == "app"));
}

#[test]
fn transaction_control_touches_no_table_and_garbage_is_unparsed() {
    let manifest = legacy();
    for sql in ["BEGIN", "COMMIT", "SELECT 1", "SET application_name = 'x'"] {
        assert_eq!(
            analyse(sql, &manifest, &manifest.search_path, None),
            Analysis::NoTables,
            "{sql}"
        );
    }
    assert!(matches!(
        analyse("SELEKT * FORM x", &manifest, &manifest.search_path, None),
        Analysis::Unparsed { .. }
    ));
}
