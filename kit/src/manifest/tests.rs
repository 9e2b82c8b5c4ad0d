//! The manifest's validation, one rule per test, each error named with its line.

use super::*;

fn error_line(text: &str) -> (usize, String) {
    match Manifest::parse("m.toml", text) {
        Err(ManifestError::Invalid { line, message, .. }) => (line, message),
        other => panic!("expected an invalid manifest, got {other:?}"),
    }
}

#[test]
fn the_shipped_manifests_are_valid() {
    for text in [
        include_str!("../../manifests/legacy.toml"),
        include_str!("../../manifests/migrated.toml"),
        include_str!("../../manifests/legacy-road.toml"),
    ] {
        let manifest = Manifest::parse("shipped", text).expect("valid");
        assert_eq!(manifest.services.len(), 2);
    }
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let (line, message) = error_line("[[service]]\nname = \"a\"\nroles = [\"a\"]\nowner = \"x\"\n");
    assert_eq!(line, 4);
    assert!(message.contains("owner"), "{message}");
}

#[test]
fn a_table_owned_twice_is_named_with_its_line() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\ntables = [\"public.t\"]\n\n\
                [[service]]\nname = \"b\"\nroles = [\"b\"]\ntables = [\"public.t\"]\n";
    let (line, message) = error_line(text);
    assert_eq!(line, 9);
    assert!(message.contains("already owned by `a`"), "{message}");
}

#[test]
fn a_service_nobody_can_recognise_is_refused() {
    let (line, message) = error_line("\n[[service]]\nname = \"a\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("cannot be recognised"), "{message}");
}

#[test]
fn an_unqualified_table_is_refused_with_its_line() {
    let (line, _) = error_line("[[table]]\nname = \"customers\"\n");
    assert_eq!(line, 2);
}

#[test]
fn a_shared_login_is_told_apart_by_application_name_only() {
    let manifest =
        Manifest::parse("m", include_str!("../../manifests/legacy.toml")).expect("valid");
    assert_eq!(
        manifest.recognise(Some("postgres"), Some("legacy-orders")),
        Some("orders")
    );
    assert_eq!(manifest.recognise(Some("postgres"), None), None);
    assert_eq!(manifest.recognise(Some("postgres"), Some("psql")), None);
}

#[test]
fn a_login_role_names_its_service_and_a_contradicting_app_does_not() {
    let manifest =
        Manifest::parse("m", include_str!("../../manifests/migrated.toml")).expect("valid");
    assert_eq!(manifest.recognise(Some("orders_svc"), None), Some("orders"));
    assert_eq!(
        manifest.recognise(Some("orders_svc"), Some("migrated-customers")),
        None
    );
}

#[test]
fn a_declared_column_wins_over_its_table_and_a_table_over_its_schema() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\nschemas = [\"s\"]\n\
                [[service]]\nname = \"b\"\nroles = [\"b\"]\ntables = [\"s.t\"]\n\
                columns = [\"s.t.c\"]\n";
    let manifest = Manifest::parse("m", text).expect("valid");
    assert_eq!(manifest.owner("s.u", None), Owner::Service("a".into()));
    assert_eq!(manifest.owner("s.t", None), Owner::Service("b".into()));
    assert_eq!(manifest.owner("x.t", None), Owner::Unknown);
}

#[test]
fn walls_default_to_the_service_name_and_documented_limits() {
    let manifest =
        Manifest::parse("m", "[[service]]\nname = \"billing\"\nroles = [\"b\"]\n").expect("valid");
    let walls = &manifest.services[0].walls;
    assert_eq!(walls.owner_role, "billing_owner");
    assert_eq!(walls.runtime_role, "billing_svc");
    assert_eq!(walls.password_env, "KIT_BILLING_PASSWORD");
    assert_eq!(walls.limits, Limits::default());
}

#[test]
fn limits_belong_to_the_service_above_them() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\n[service.limits]\n\
                connection_limit = 5\nlock_timeout = \"250ms\"\n\
                [[service]]\nname = \"b\"\nroles = [\"b\"]\n";
    let manifest = Manifest::parse("m", text).expect("valid");
    let limits = &manifest.services[0].walls.limits;
    assert_eq!(limits.connection_limit, 5);
    assert_eq!(limits.lock_timeout, "250ms");
    assert_eq!(limits.statement_timeout, "30s");
    assert_eq!(manifest.services[1].walls.limits, Limits::default());
}

#[test]
fn a_limit_postgres_would_refuse_is_named_with_its_line() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\n[service.limits]\n\
                statement_timeout = \"5 minutes\"\n";
    let (line, message) = error_line(text);
    assert_eq!(line, 5);
    assert!(message.contains("statement_timeout"), "{message}");
    let (line, message) = error_line(
        "[[service]]\nname = \"a\"\nroles = [\"a\"]\n[service.limits]\nconnection_limit = 0\n",
    );
    assert_eq!(line, 5);
    assert!(message.contains("at least 1"), "{message}");
    let (line, _) = error_line(
        "[[service]]\nname = \"a\"\nroles = [\"a\"]\n[service.limits]\nmemory = \"1GB\"\n",
    );
    assert_eq!(line, 5);
}

#[test]
fn a_password_env_that_is_not_a_variable_name_is_refused() {
    let (line, message) =
        error_line("[[service]]\nname = \"a\"\nroles = [\"a\"]\npassword_env = \"$X\"\n");
    assert_eq!(line, 4);
    assert!(message.contains("password_env"), "{message}");
}

#[test]
fn a_contract_in_a_data_schema_is_refused_with_its_line() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\n\n[service.contract]\n\
                schema = \"public\"\nsql = \"CREATE VIEW public.v AS SELECT 1\"\n";
    let (line, message) = error_line(text);
    assert_eq!(line, 6);
    assert!(message.contains("holds data"), "{message}");
}

#[test]
fn a_contract_that_creates_nothing_in_its_schema_is_refused() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\n\n[service.contract]\n\
                schema = \"a_api\"\nsql = \"CREATE VIEW public.v AS SELECT 1\"\n";
    let (line, message) = error_line(text);
    assert_eq!(line, 7);
    assert!(message.contains("creates nothing in `a_api`"), "{message}");
}

#[test]
fn a_home_schema_owns_what_moves_into_it_and_is_nobody_elses() {
    let text = "[[service]]\nname = \"a\"\nroles = [\"a\"]\ntables = [\"public.t\"]\nhome_schema = \"a_home\"\n\
                [[service]]\nname = \"b\"\nroles = [\"b\"]\nhome_schema = \"A_HOME\"\n";
    let (line, message) = error_line(text);
    assert_eq!(line, 9, "{message}");
    assert!(message.contains("already `a`'s home"), "{message}");

    let one = text
        .split("[[service]]\nname = \"b\"")
        .next()
        .unwrap_or_default();
    let manifest = Manifest::parse("m", one).expect("valid");
    assert_eq!(manifest.owner("a_home.t", None), Owner::Service("a".into()));
    let (_, message) = error_line(&one.replace("a_home", "public"));
    assert!(message.contains("not public"), "{message}");
}
