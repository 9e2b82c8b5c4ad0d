//! Bad days outside the services: the Postgres container restarts under both pairs, and
//! each service finds it again by itself, with nobody restarting the services; and short
//! soaks (`kit soak`) through a fault, where every acknowledged write is kept exactly once
//! and every refused one is absent. Counts are asserted, never times.
//!
//! The restart test restarts the binary's one Postgres (the harness's): it is the only test
//! here that uses that server. The soaks start containers of their own.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use lab::harness::TestContext;
use lab::postgres::Control;
use lab::scenario::Pair;
use lab::soak::{Fault, Plan};
use reqwest::StatusCode;
use serde_json::json;
use support::{eventually, healthy};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        both_pairs_recover_by_themselves_after_postgres_restarts,
        a_short_soak_of_the_legacy_pair_through_a_postgres_restart_keeps_every_write,
        a_short_soak_of_the_migrated_pair_through_an_owner_stop_keeps_every_write,
        a_short_soak_of_the_legacy_pair_through_a_postgres_pause_duplicates_no_order,
        clients_that_hang_up_mid_request_leave_no_connection_idle_in_transaction,
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

/// A few seconds, a few clients, one fault: what CI can afford on each pair.
fn short(pair: Pair, fault: Fault) -> Plan {
    Plan {
        pair,
        fault,
        duration: std::time::Duration::from_secs(4),
        concurrency: 3,
        read_percent: 50,
        cancelling: false,
    }
}

fn assert_kept(report: &lab::soak::Report, plan: &Plan) {
    let text = report.to_text(plan);
    assert!(report.acknowledged > 0, "{text}");
    assert_eq!(
        (report.lost, report.duplicated, report.refused_but_written),
        (0, 0, 0),
        "{text}"
    );
}

async fn a_short_soak_of_the_legacy_pair_through_a_postgres_restart_keeps_every_write(
    _ctx: TestContext,
) {
    let plan = short(Pair::Legacy, Fault::PostgresRestart);

    let report = lab::soak::run(plan, None).await.unwrap();

    assert_kept(&report, &plan);
}

/// Issue 13: a paused Postgres made the legacy pair's clients time out and retry, and the
/// retry placed a second order; legacy POST /orders now takes the Idempotency-Key.
async fn a_short_soak_of_the_legacy_pair_through_a_postgres_pause_duplicates_no_order(
    _ctx: TestContext,
) {
    let plan = short(Pair::Legacy, Fault::PostgresPause);

    let report = lab::soak::run(plan, None).await.unwrap();

    assert_kept(&report, &plan);
}

async fn a_short_soak_of_the_migrated_pair_through_an_owner_stop_keeps_every_write(
    _ctx: TestContext,
) {
    let plan = short(Pair::Migrated, Fault::OwnerStop);

    let report = lab::soak::run(plan, None).await.unwrap();

    assert_kept(&report, &plan);
}

/// Finding 10: clients that hang up mid-request must not leave a pooled connection inside
/// an open transaction. Eight clients, one of which abandons every request 1 to 40 ms in,
/// with half the requests order POSTs; on both pairs.
async fn clients_that_hang_up_mid_request_leave_no_connection_idle_in_transaction(
    _ctx: TestContext,
) {
    for pair in [Pair::Migrated, Pair::Legacy] {
        let plan = Plan {
            concurrency: 8,
            cancelling: true,
            ..short(pair, Fault::None)
        };

        let report = lab::soak::run(plan, None).await.unwrap();

        let text = report.to_text(&plan);
        assert!(report.abandoned > 0, "no request was abandoned: {text}");
        assert_eq!(report.idle_in_transaction, 0, "{text}");
        assert_kept(&report, &plan);
    }
}
