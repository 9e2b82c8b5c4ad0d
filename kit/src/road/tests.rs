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
fn states_3_and_4_are_not_automated_and_say_the_way_forward() {
    for to in [State::Api, State::Walls] {
        let err = plan(&manifest(), State::Contract, to).expect_err("not automated");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("state {} is not automated yet", to.number())),
            "{message}"
        );
    }
    assert!(
        RoadError::NotAutomated(State::Walls)
            .to_string()
            .contains("kit walls verify")
    );
}

#[test]
fn a_shared_login_cannot_be_split_or_given_a_contract() {
    let legacy =
        Manifest::parse("legacy.toml", include_str!("../../manifests/legacy.toml")).expect("valid");
    let err = plan(&legacy, State::SharedLogin, State::LoginPerService).expect_err("shared");
    assert!(matches!(err, RoadError::SharedRole { .. }), "{err}");
}
