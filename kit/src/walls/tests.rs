//! The plan, read as SQL: the key statements for the shipped migrated manifest, names that
//! need quoting quoted, no password anywhere, and manifests that cannot be walled refused.

use super::plan::{PlanError, ident, literal, plan};
use super::verify::probes;
use crate::manifest::Manifest;

fn migrated() -> Manifest {
    Manifest::parse(
        "migrated.toml",
        include_str!("../../manifests/migrated.toml"),
    )
    .expect("valid")
}

fn sql_of(manifest: &Manifest, database: Option<&str>) -> Vec<String> {
    plan(manifest, database)
        .expect("a plan")
        .statements
        .into_iter()
        .map(|s| s.sql)
        .collect()
}

fn has(statements: &[String], expected: &str) {
    assert!(
        statements.iter().any(|s| s == expected),
        "missing `{expected}` in:\n{}",
        statements.join("\n")
    );
}

#[test]
fn the_migrated_plan_gives_each_service_an_owner_a_login_and_its_schema_alone() {
    let sql = sql_of(&migrated(), Some("shop"));

    has(
        &sql,
        "CREATE SCHEMA IF NOT EXISTS \"orders\" AUTHORIZATION \"orders_owner\"",
    );
    has(&sql, "REVOKE ALL ON SCHEMA \"orders\" FROM PUBLIC");
    has(&sql, "GRANT USAGE ON SCHEMA \"orders\" TO \"orders_svc\"");
    has(
        &sql,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"orders\" TO \"orders_svc\"",
    );
    has(
        &sql,
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA \"orders\" TO \"orders_svc\"",
    );
    has(
        &sql,
        "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA \"customers\" TO \"customers_svc\"",
    );
    has(
        &sql,
        "ALTER DEFAULT PRIVILEGES FOR ROLE \"orders_owner\" IN SCHEMA \"orders\" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"orders_svc\"",
    );
    has(
        &sql,
        "ALTER DEFAULT PRIVILEGES FOR ROLE \"orders_owner\" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
    );
    has(&sql, "REVOKE ALL ON DATABASE \"shop\" FROM PUBLIC");
    has(
        &sql,
        "GRANT CONNECT ON DATABASE \"shop\" TO \"customers_svc\", \"orders_svc\"",
    );
    has(&sql, "REVOKE ALL ON SCHEMA public FROM PUBLIC");
    assert!(
        sql.iter()
            .any(|s| s.contains("lo\\_%") && s.contains("FROM PUBLIC"))
    );
}

#[test]
fn roles_are_created_only_when_missing_and_the_login_is_bounded() {
    let sql = sql_of(&migrated(), None);

    assert!(sql.iter().any(|s| s.starts_with("DO $kit$")
        && s.contains("IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_owner')")
        && s.contains("CREATE ROLE \"orders_owner\" NOLOGIN")));
    has(
        &sql,
        "ALTER ROLE \"orders_svc\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20",
    );
    has(
        &sql,
        "ALTER ROLE \"orders_svc\" SET statement_timeout = '30s'",
    );
    has(
        &sql,
        "ALTER ROLE \"orders_svc\" SET idle_in_transaction_session_timeout = '60s'",
    );
    has(&sql, "ALTER ROLE \"orders_svc\" SET lock_timeout = '5s'");
    has(
        &sql,
        "ALTER ROLE \"orders_svc\" SET temp_file_limit = '1GB'",
    );
    // Without a name, the database is the one the plan runs in.
    assert!(sql.iter().any(|s| s.contains("current_database()")));
}

#[test]
fn limits_from_the_manifest_replace_the_defaults() {
    let text = include_str!("../../manifests/migrated.toml").replace(
        "password_env = \"MIGRATED_ORDERS_DB_PASSWORD\"\n",
        "password_env = \"MIGRATED_ORDERS_DB_PASSWORD\"\n\
         [service.limits]\nconnection_limit = 3\nstatement_timeout = \"2s\"\n",
    );
    assert!(text.contains("connection_limit = 3"));
    let sql = sql_of(&Manifest::parse("m", &text).expect("valid"), None);

    assert!(sql.iter().any(|s| s.ends_with("\"orders_svc\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3")));
    has(
        &sql,
        "ALTER ROLE \"orders_svc\" SET statement_timeout = '2s'",
    );
    has(
        &sql,
        "ALTER ROLE \"customers_svc\" SET statement_timeout = '30s'",
    );
}

#[test]
fn names_that_need_quotes_are_quoted_and_cannot_break_out() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"x\"]\nschemas = [\"sales \\\"eu\\\"\"]\n\
                owner_role = \"o'wner\"\nruntime_role = \"user\"\n";
    let manifest = Manifest::parse("m", text).expect("valid");
    let sql = sql_of(&manifest, Some("db\"; DROP DATABASE x; --"));

    has(
        &sql,
        "CREATE SCHEMA IF NOT EXISTS \"sales \"\"eu\"\"\" AUTHORIZATION \"o'wner\"",
    );
    has(
        &sql,
        "REVOKE ALL ON DATABASE \"db\"\"; DROP DATABASE x; --\" FROM PUBLIC",
    );
    assert!(sql.iter().any(|s| s.contains("rolname = 'o''wner'")));
    assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    assert_eq!(literal("it's"), "'it''s'");
}

#[test]
fn a_role_name_with_percent_signs_survives_format() {
    let text =
        "[[service]]\nname = \"a\"\nroles = [\"x\"]\nschemas = [\"a\"]\nruntime_role = \"a%s\"\n";
    let sql = sql_of(&Manifest::parse("m", text).expect("valid"), None);
    assert!(
        sql.iter()
            .any(|s| s.contains("TO \"a%%s\"', current_database())"))
    );
}

#[test]
fn a_body_holding_the_dollar_tag_gets_another() {
    let text =
        "[[service]]\nname = \"a\"\nroles = [\"x\"]\nschemas = [\"a\"]\nowner_role = \"$kit$\"\n";
    let sql = sql_of(&Manifest::parse("m", text).expect("valid"), None);
    assert!(
        sql.iter()
            .any(|s| s.starts_with("DO $kit1$") && s.ends_with("$kit1$"))
    );
}

#[test]
fn no_password_is_ever_in_the_plan() {
    let manifest = migrated();
    let plan = plan(&manifest, None).expect("a plan");
    let script = plan.to_sql(&manifest);
    assert!(!script.to_lowercase().contains("password '"), "{script}");
    assert!(script.contains("\\password \"orders_svc\""), "{script}");
    assert!(script.starts_with("-- kit walls plan") && script.trim_end().ends_with("COMMIT;"));
}

#[test]
fn the_legacy_shared_login_cannot_be_walled_as_it_is() {
    let legacy =
        Manifest::parse("legacy.toml", include_str!("../../manifests/legacy.toml")).expect("valid");
    let err = plan(&legacy, None).expect_err("not by schema");
    assert!(matches!(err, PlanError::NotBySchema { .. }), "{err}");
    let text = "[[service]]\nname = \"a\"\nroles = [\"x\"]\nschemas = [\"a\"]\nruntime_role = \"app\"\n\
                [[service]]\nname = \"b\"\nroles = [\"y\"]\nschemas = [\"b\"]\nruntime_role = \"app\"\n";
    let err = plan(&Manifest::parse("m", text).expect("valid"), None).expect_err("shared");
    assert_eq!(
        err,
        PlanError::SharedRole("a".into(), "b".into(), "app".into())
    );
}

#[test]
fn probes_touch_no_row_and_quote_every_name() {
    let found = super::verify::Found {
        relations: vec![super::verify::Relation {
            schema: "o".into(),
            name: "t\"x".into(),
            kind: "r".into(),
            column: Some("c".into()),
        }],
        ..Default::default()
    };
    let sql: Vec<String> = probes::against("o", &found)
        .into_iter()
        .map(|a| a.sql)
        .collect();
    has(
        &sql,
        "INSERT INTO \"o\".\"t\"\"x\" (\"c\") SELECT NULL WHERE false",
    );
    has(&sql, "UPDATE \"o\".\"t\"\"x\" SET \"c\" = NULL WHERE false");
    has(&sql, "DELETE FROM \"o\".\"t\"\"x\" WHERE false");
}
