//! The road's plan without a database: each step and its way back, and what it refuses.

use super::*;

fn manifest() -> Manifest {
    Manifest::parse(
        "legacy-road.toml",
        include_str!("../../manifests/legacy-road.toml"),
    )
    .expect("valid")
}

fn sql(from: State, to: State) -> Vec<String> {
    plan(&manifest(), from, to)
        .expect("a plan")
        .into_iter()
        .map(|s| s.sql)
        .collect()
}

#[test]
fn state_1_gives_each_service_a_login_with_dml_on_every_known_table() {
    let up = sql(State::SharedLogin, State::LoginPerService);
    for role in ["legacy_customers_svc", "legacy_orders_svc"] {
        for table in ["customers", "orders", "schema_releases"] {
            let grant = format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"{table}\" TO \"{role}\""
            );
            assert!(up.contains(&grant), "{grant} in {up:#?}");
        }
    }
}

#[test]
fn state_2_revokes_each_consumer_from_the_owners_table_only() {
    let up = sql(State::LoginPerService, State::Contract);
    let revoke = |table: &str, role: &str| {
        format!(
            "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"{table}\" FROM \"{role}\""
        )
    };
    assert!(up.contains(&revoke("customers", "legacy_orders_svc")));
    assert!(up.contains(&revoke("orders", "legacy_customers_svc")));
    assert!(!up.contains(&revoke("customers", "legacy_customers_svc")));
    assert!(
        !up.iter().any(|s| s.contains("schema_releases")),
        "shared stays shared"
    );
    assert!(
        up.contains(
            &"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA \"customers_api\" TO \"legacy_orders_svc\""
                .to_owned()
        )
    );
}

#[test]
fn each_way_back_undoes_its_step() {
    let down = sql(State::Contract, State::SharedLogin);
    assert!(down.contains(&"DROP SCHEMA \"customers_api\" CASCADE".to_owned()));
    assert!(down.contains(&"DROP ROLE IF EXISTS \"legacy_orders_svc\"".to_owned()));
    let grants_back = down.iter().filter(|s| s.starts_with("GRANT")).count();
    let revoked_up = sql(State::LoginPerService, State::Contract)
        .iter()
        .filter(|s| s.starts_with("REVOKE") && !s.ends_with("FROM PUBLIC"))
        .count();
    // Each of a login's rights the step took (tables, and the owners' other schemas, their
    // shapes) has its grant back.
    assert_eq!(grants_back, revoked_up);
}

#[test]
fn state_3_takes_each_consumers_contract_grants_and_state_2_gives_them_back() {
    let up = sql(State::Contract, State::Api);
    let down = sql(State::Api, State::Contract);
    for grant in [
        "USAGE ON SCHEMA \"customers_api\" TO \"legacy_orders_svc\"",
        "EXECUTE ON ALL FUNCTIONS IN SCHEMA \"customers_api\" TO \"legacy_orders_svc\"",
        "SELECT ON ALL TABLES IN SCHEMA \"orders_api\" TO \"legacy_customers_svc\"",
    ] {
        assert!(
            down.contains(&format!("GRANT {grant}")),
            "{grant} in {down:#?}"
        );
        let revoke = format!("REVOKE {}", grant.replace(" TO ", " FROM "));
        assert!(up.contains(&revoke), "{revoke} in {up:#?}");
    }
    assert_eq!(up.len(), down.len());
}

#[test]
fn state_4_moves_each_owners_table_home_and_drops_the_contracts() {
    let up = sql(State::Api, State::Walls);
    for sql in [
        "ALTER TABLE \"public\".\"customers\" SET SCHEMA \"customers\"",
        "ALTER TABLE \"public\".\"orders\" SET SCHEMA \"orders\"",
        "DROP SCHEMA \"customers_api\" CASCADE",
        "DROP SCHEMA \"orders_api\" CASCADE",
    ] {
        assert!(up.contains(&sql.to_owned()), "{sql} in {up:#?}");
    }
    // The shared tables stay where every service finds them.
    assert!(!up.iter().any(|s| s.contains("schema_releases")), "{up:#?}");
    let down = sql(State::Walls, State::Api);
    assert!(
        down[0].contains("RAISE EXCEPTION"),
        "the guard comes first: {down:#?}"
    );
    assert!(
        down.contains(&"ALTER TABLE \"customers\".\"customers\" SET SCHEMA \"public\"".to_owned())
    );
}

#[test]
fn state_4_drops_the_foreign_keys_between_owners_first_and_the_way_back_restores_them_last() {
    let up = sql(State::Api, State::Walls);
    // orders and idempotency_keys (orders') into customers, and customers into orders'.
    assert!(
        up[0].contains("CREATE TABLE kit_road.foreign_keys"),
        "{up:#?}"
    );
    assert!(
        up[0].contains(
            "c.conrelid = ANY(ARRAY[to_regclass('public.idempotency_keys'), \
             to_regclass('public.orders')]::regclass[]) \
             AND c.confrelid = ANY(ARRAY[to_regclass('public.customers')]::regclass[])"
        ),
        "{}",
        up[0]
    );
    let down = sql(State::Walls, State::Api);
    let last = down.last().expect("a way back");
    assert!(
        last.contains("ADD CONSTRAINT %I %s NOT VALID") && last.contains("VALIDATE CONSTRAINT"),
        "{last}"
    );
    assert!(last.contains("DROP SCHEMA kit_road CASCADE"), "{last}");
}

#[test]
fn state_4_needs_a_home_for_tables_owned_by_name() {
    let text =
        include_str!("../../manifests/legacy-road.toml").replace("home_schema = \"orders\"\n", "");
    let manifest = Manifest::parse("legacy-road.toml", &text).expect("valid");
    let err = plan(&manifest, State::Api, State::Walls).expect_err("no home");
    assert!(
        matches!(&err, RoadError::NoHome(s) if s == "orders"),
        "{err}"
    );
    assert!(plan(&manifest, State::Contract, State::Api).is_ok());
}

#[test]
fn a_shared_login_cannot_be_split_or_given_a_contract() {
    let legacy =
        Manifest::parse("legacy.toml", include_str!("../../manifests/legacy.toml")).expect("valid");
    let err = plan(&legacy, State::SharedLogin, State::LoginPerService).expect_err("shared");
    assert!(matches!(err, RoadError::SharedRole { .. }), "{err}");
}
