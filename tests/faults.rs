//! Bad days outside the services: the Postgres container restarts under both pairs, and
//! each service finds it again by itself, with nobody restarting the services.
//!
//! The restart test restarts the binary's one Postgres (the harness's): it is the only test
//! here that uses that server. The soaks start containers of their own.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use lab::harness::TestContext;
use lab::postgres::Control;
use reqwest::StatusCode;
use serde_json::json;
use support::{eventually, healthy};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        both_pairs_recover_by_themselves_after_postgres_restarts,
    ])
}

async fn both_pairs_recover_by_themselves_after_postgres_restarts(ctx: TestContext) {
    let legacy = support::spawn_legacy(&ctx).await;
    let migrated = support::spawn_migrated(&ctx).await;
    let http = support::http_client();
    let services = [
        &legacy.customers,
        &legacy.orders,
        &migrated.customers,
        &migrated.orders,
    ];
    for base in services {
        assert!(
            healthy(&http, base).await,
            "{base} serves before the restart"
        );
    }

    ctx.control(Control::Restart).await.unwrap();

    for base in services {
        eventually(&format!("{base}/health to answer 200"), || {
            healthy(&http, base)
        })
        .await;
    }
    let legacy_order = http
        .post(format!("{}/orders", legacy.orders))
        .json(&json!({ "customer_id": 1, "total": "42.50" }))
        .send()
        .await
        .unwrap();
    let migrated_order = http
        .post(format!("{}/v1/orders", migrated.orders))
        .header("idempotency-key", "after-restart")
        .json(&json!({ "customer_id": 1, "total": "42.50" }))
        .send()
        .await
        .unwrap();
    let profile = http
        .get(format!("{}/v1/customers/1/profile", migrated.customers))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy_order.status(), StatusCode::CREATED);
    assert_eq!(migrated_order.status(), StatusCode::CREATED);
    assert_eq!(profile.status(), StatusCode::OK);
    let profile: serde_json::Value = profile.json().await.unwrap();
    assert!(profile["order_stats"].is_object(), "{profile}");
}
