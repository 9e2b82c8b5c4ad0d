//! Parity: the migrated pair does what the legacy pair does. The same business operations
//! run against both at baseline, through the probe the impact matrix uses
//! (`lab::flows::Probe`), and their outcomes (status, problem type, and the business fields
//! of each answer) must be equal. The shapes differ on purpose (the migrated API has links
//! and versioned paths); the behaviour may not.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use lab::flows::{Probe, order_fields};
use lab::harness::TestContext;
use lab::scenario::Pair;
use reqwest::Method;
use serde_json::{Value, json};
use support::{spawn_legacy, spawn_migrated};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![both_pairs_behave_the_same_at_baseline])
}

/// The business fields of an answer: `{"status", "type"}` or `{"status", "body"}`.
async fn outcome(
    probe: &Probe,
    method: Method,
    base: &str,
    path: String,
    body: Option<Value>,
    pick: fn(&Value) -> Value,
) -> Value {
    probe
        .answer(method, base, &path, body, pick)
        .await
        .unwrap()
        .value
}

/// Every operation, in order; each outcome labelled.
async fn script(probe: &Probe) -> Vec<(String, Value)> {
    let (customers, orders) = (probe.customers.as_str(), probe.orders.as_str());
    let get = |base: &'static str, path: String, pick: fn(&Value) -> Value| {
        let base = if base == "customers" {
            customers
        } else {
            orders
        };
        outcome(probe, Method::GET, base, path, None, pick)
    };
    let send = |method: Method,
                base: &'static str,
                path: String,
                body: Option<Value>,
                pick: fn(&Value) -> Value| {
        let base = if base == "customers" {
            customers
        } else {
            orders
        };
        outcome(probe, method, base, path, body, pick)
    };
    let profile = |id: i64| async move {
        probe
            .profile(id, |b, stats| {
                json!({ "name": b["name"], "email": b["email"], "status": b["status"],
                        "open_order_count": stats["open_order_count"], "lifetime_value": stats["lifetime_value"] })
            })
            .await
            .unwrap()
            .value
    };
    let created = |b: &Value| json!([b["id"], order_fields(b)]);
    let customer = |b: &Value| json!({ "id": b["id"], "name": b["name"], "email": b["email"], "phone": b["phone"], "status": b["status"] });
    let nothing = |_: &Value| Value::Null;

    let mut outcomes = Vec::new();
    for id in [1, 2, 17, 600, 1200, 999_999] {
        outcomes.push((
            format!("GET order {id}"),
            get("orders", format!("/orders/{id}"), order_fields).await,
        ));
    }
    for query in [
        "customer_id=3&limit=4&offset=2",
        "status=CANCELLED&limit=5",
        "customer_id=120",
        "limit=0",
    ] {
        outcomes.push((
            format!("list orders {query}"),
            get("orders", format!("/orders?{query}"), |b| {
                json!({ "total": b["total"], "items": b["items"].as_array().unwrap().iter().map(|o| json!([o["id"], order_fields(o)])).collect::<Vec<_>>() })
            })
            .await,
        ));
    }
    for id in [1, 7, 10, 110, 120, 424_242] {
        outcomes.push((format!("profile {id}"), profile(id).await));
    }
    let place = |body: Value| {
        send(
            Method::POST,
            "orders",
            "/orders".into(),
            Some(body),
            created,
        )
    };
    outcomes.push((
        "place for active".into(),
        place(json!({ "customer_id": 1, "total": "42.50" })).await,
    ));
    outcomes.push((
        "place for suspended".into(),
        place(json!({ "customer_id": 10, "total": 5 })).await,
    ));
    outcomes.push((
        "place for unknown".into(),
        place(json!({ "customer_id": 999_999, "total": 5 })).await,
    ));
    outcomes.push((
        "place with negative total".into(),
        place(json!({ "customer_id": 1, "total": -1 })).await,
    ));
    outcomes.push((
        "place with wrong type".into(),
        place(json!({ "customer_id": "one", "total": 1 })).await,
    ));
    let guest = |body: Value| {
        send(
            Method::POST,
            "orders",
            "/guest-checkouts".into(),
            Some(body),
            created,
        )
    };
    outcomes.push((
        "guest checkout".into(),
        guest(json!({ "name": "Guest", "email": "guest@example.com", "total": "9.99" })).await,
    ));
    outcomes.push((
        "guest checkout, email taken".into(),
        guest(json!({ "name": "Again", "email": "guest@example.com", "total": "1.00" })).await,
    ));
    outcomes.push(("profile of the guest".into(), profile(121).await));
    let create = |body: Value| {
        send(
            Method::POST,
            "customers",
            "/customers".into(),
            Some(body),
            customer,
        )
    };
    outcomes.push((
        "create customer".into(),
        create(json!({ "name": "Katherine Johnson", "email": "kj@example.com" })).await,
    ));
    outcomes.push((
        "create customer, email taken".into(),
        create(json!({ "name": "K", "email": "KJ@example.com" })).await,
    ));
    outcomes.push((
        "create customer, bad email".into(),
        create(json!({ "name": "K", "email": "nope" })).await,
    ));
    let new_order = lab::seed::orders()
        .into_iter()
        .find(|o| o.status == "NEW")
        .unwrap()
        .id;
    for status in ["PAID", "SHIPPED", "CANCELLED", "LOST"] {
        outcomes.push((
            format!("order {new_order} -> {status}"),
            send(
                Method::PATCH,
                "orders",
                format!("/orders/{new_order}"),
                Some(json!({ "status": status })),
                order_fields,
            )
            .await,
        ));
    }
    let delete = |id: i64| {
        send(
            Method::DELETE,
            "customers",
            format!("/customers/{id}"),
            None,
            nothing,
        )
    };
    outcomes.push(("delete customer with open orders".into(), delete(2).await));
    outcomes.push(("delete customer without orders".into(), delete(120).await));
    outcomes.push(("delete it again".into(), delete(120).await));
    outcomes.push(("profile after the refused delete".into(), profile(2).await));
    outcomes
}

async fn both_pairs_behave_the_same_at_baseline(ctx: TestContext) {
    let legacy = spawn_legacy(&ctx).await;
    let migrated = spawn_migrated(&ctx).await;
    let probes = [
        Probe::new(Pair::Legacy, &legacy.customers, &legacy.orders, None),
        Probe::new(Pair::Migrated, &migrated.customers, &migrated.orders, None),
    ];

    let legacy_outcomes = script(&probes[0]).await;
    let migrated_outcomes = script(&probes[1]).await;

    let differences: Vec<String> = legacy_outcomes
        .iter()
        .zip(&migrated_outcomes)
        .filter(|((_, l), (_, m))| l != m)
        .map(|((label, l), (_, m))| format!("{label}:\n  legacy: {l}\n  migrated: {m}"))
        .collect();
    assert!(
        differences.is_empty(),
        "the pairs differ:\n{}",
        differences.join("\n")
    );
    // The script exercised both successes and refusals.
    let statuses: std::collections::BTreeSet<u64> = legacy_outcomes
        .iter()
        .filter_map(|(_, o)| o["status"].as_u64())
        .collect();
    assert_eq!(
        statuses,
        [200, 201, 204, 400, 404, 409, 422].into_iter().collect()
    );
}
