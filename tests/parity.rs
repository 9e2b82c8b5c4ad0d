//! Parity: the migrated pair does what the legacy pair does. The same business operations
//! run against both at baseline, and their outcomes (status, problem type, and the business
//! fields of each answer) must be equal. The shapes differ on purpose (the migrated API has
//! links and versioned paths); the behaviour may not.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use lab::harness::TestContext;
use serde_json::{Value, json};
use support::{spawn_legacy, spawn_migrated};

fn main() -> ExitCode {
    lab::harness::main(lab::tests![both_pairs_behave_the_same_at_baseline])
}

/// Where each operation goes in each pair.
struct Pair {
    name: &'static str,
    http: reqwest::Client,
    customers: String,
    orders: String,
    /// Path prefix of the API version (`""` for legacy, `/v1` for migrated).
    v: &'static str,
}

impl Pair {
    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// The business fields of an order, whatever the representation around them.
    fn order(body: &Value) -> Value {
        json!({
            "customer_id": body["customer_id"], "status": body["status"], "total": body["total"],
            "customer": body["customer"],
        })
    }

    /// Status, problem type if any, and the business fields picked by `pick`.
    fn outcome(status: u16, body: &Value, pick: impl Fn(&Value) -> Value) -> Value {
        if status >= 400 {
            json!({ "status": status, "type": body["type"], "open_order_count": body["open_order_count"] })
        } else {
            json!({ "status": status, "body": pick(body) })
        }
    }

    async fn get_order(&self, id: i64) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                format!("{}{}/orders/{id}", self.orders, self.v),
                None,
            )
            .await;
        Self::outcome(status, &body, Self::order)
    }

    async fn list_orders(&self, query: &str) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                format!("{}{}/orders?{query}", self.orders, self.v),
                None,
            )
            .await;
        Self::outcome(
            status,
            &body,
            |b| json!({ "total": b["total"], "items": b["items"].as_array().unwrap().iter().map(|o| json!([o["id"], Self::order(o)])).collect::<Vec<_>>() }),
        )
    }

    async fn profile(&self, id: i64) -> Value {
        let path = if self.v.is_empty() {
            format!("/customers/{id}")
        } else {
            format!("/v1/customers/{id}/profile")
        };
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                format!("{}{path}", self.customers),
                None,
            )
            .await;
        Self::outcome(status, &body, |b| {
            let stats = if self.v.is_empty() {
                b.clone()
            } else {
                b["order_stats"].clone()
            };
            json!({ "name": b["name"], "email": b["email"], "status": b["status"],
                    "open_order_count": stats["open_order_count"], "lifetime_value": stats["lifetime_value"] })
        })
    }

    async fn place(&self, body: Value) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                format!("{}{}/orders", self.orders, self.v),
                Some(body),
            )
            .await;
        Self::outcome(status, &body, |b| json!([b["id"], Self::order(b)]))
    }

    async fn guest(&self, body: Value) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                format!("{}{}/guest-checkouts", self.orders, self.v),
                Some(body),
            )
            .await;
        Self::outcome(status, &body, |b| json!([b["id"], Self::order(b)]))
    }

    async fn set_status(&self, id: i64, status: &str) -> Value {
        let (code, body) = self
            .send(
                reqwest::Method::PATCH,
                format!("{}{}/orders/{id}", self.orders, self.v),
                Some(json!({ "status": status })),
            )
            .await;
        Self::outcome(code, &body, Self::order)
    }

    async fn delete_customer(&self, id: i64) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::DELETE,
                format!("{}{}/customers/{id}", self.customers, self.v),
                None,
            )
            .await;
        Self::outcome(status, &body, |_| Value::Null)
    }

    async fn create_customer(&self, body: Value) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                format!("{}{}/customers", self.customers, self.v),
                Some(body),
            )
            .await;
        Self::outcome(
            status,
            &body,
            |b| json!({ "id": b["id"], "name": b["name"], "email": b["email"], "phone": b["phone"], "status": b["status"] }),
        )
    }

    /// Every operation, in order; each outcome labelled.
    async fn script(&self) -> Vec<(String, Value)> {
        let mut outcomes = Vec::new();
        for id in [1, 2, 17, 600, 1200, 999_999] {
            outcomes.push((format!("GET order {id}"), self.get_order(id).await));
        }
        for query in [
            "customer_id=3&limit=4&offset=2",
            "status=CANCELLED&limit=5",
            "customer_id=120",
            "limit=0",
        ] {
            outcomes.push((
                format!("list orders {query}"),
                self.list_orders(query).await,
            ));
        }
        for id in [1, 7, 10, 110, 120, 424_242] {
            outcomes.push((format!("profile {id}"), self.profile(id).await));
        }
        outcomes.push((
            "place for active".into(),
            self.place(json!({ "customer_id": 1, "total": "42.50" }))
                .await,
        ));
        outcomes.push((
            "place for suspended".into(),
            self.place(json!({ "customer_id": 10, "total": 5 })).await,
        ));
        outcomes.push((
            "place for unknown".into(),
            self.place(json!({ "customer_id": 999_999, "total": 5 }))
                .await,
        ));
        outcomes.push((
            "place with negative total".into(),
            self.place(json!({ "customer_id": 1, "total": -1 })).await,
        ));
        outcomes.push((
            "place with wrong type".into(),
            self.place(json!({ "customer_id": "one", "total": 1 }))
                .await,
        ));
        outcomes.push((
            "guest checkout".into(),
            self.guest(json!({ "name": "Guest", "email": "guest@example.com", "total": "9.99" }))
                .await,
        ));
        outcomes.push((
            "guest checkout, email taken".into(),
            self.guest(json!({ "name": "Again", "email": "guest@example.com", "total": "1.00" }))
                .await,
        ));
        outcomes.push(("profile of the guest".into(), self.profile(121).await));
        outcomes.push((
            "create customer".into(),
            self.create_customer(json!({ "name": "Katherine Johnson", "email": "kj@example.com" }))
                .await,
        ));
        outcomes.push((
            "create customer, email taken".into(),
            self.create_customer(json!({ "name": "K", "email": "KJ@example.com" }))
                .await,
        ));
        outcomes.push((
            "create customer, bad email".into(),
            self.create_customer(json!({ "name": "K", "email": "nope" }))
                .await,
        ));
        let new_order = lab::seed::orders()
            .into_iter()
            .find(|o| o.status == "NEW")
            .unwrap()
            .id;
        for status in ["PAID", "SHIPPED", "CANCELLED", "LOST"] {
            outcomes.push((
                format!("order {new_order} -> {status}"),
                self.set_status(new_order, status).await,
            ));
        }
        outcomes.push((
            "delete customer with open orders".into(),
            self.delete_customer(2).await,
        ));
        outcomes.push((
            "delete customer without orders".into(),
            self.delete_customer(120).await,
        ));
        outcomes.push(("delete it again".into(), self.delete_customer(120).await));
        outcomes.push((
            "profile after the refused delete".into(),
            self.profile(2).await,
        ));
        outcomes
    }
}

async fn both_pairs_behave_the_same_at_baseline(ctx: TestContext) {
    let legacy = spawn_legacy(&ctx).await;
    let migrated = spawn_migrated(&ctx).await;
    let pairs = [
        Pair {
            name: "legacy",
            http: support::http_client(),
            customers: legacy.customers.clone(),
            orders: legacy.orders.clone(),
            v: "",
        },
        Pair {
            name: "migrated",
            http: support::http_client(),
            customers: migrated.customers.clone(),
            orders: migrated.orders.clone(),
            v: "/v1",
        },
    ];

    let legacy_outcomes = pairs[0].script().await;
    let migrated_outcomes = pairs[1].script().await;

    let differences: Vec<String> = legacy_outcomes
        .iter()
        .zip(&migrated_outcomes)
        .filter(|((_, l), (_, m))| l != m)
        .map(|((label, l), (_, m))| {
            format!(
                "{label}:\n  {}: {l}\n  {}: {m}",
                pairs[0].name, pairs[1].name
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "the pairs differ:\n{}",
        differences.join("\n")
    );
    assert_eq!(legacy_outcomes.len(), 35);
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
