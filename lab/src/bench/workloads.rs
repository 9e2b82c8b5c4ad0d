//! What `kit bench` times: each workload is one business operation done two ways (arms),
//! usually by the legacy pair and by the migrated pair, plus the floor's single-arm
//! measurements. An operation is one or more HTTP requests (or one SQL query) whose
//! answer status is checked, so a failing service cannot pass for a fast one.

use anyhow::{Context as _, ensure};
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde::Deserialize;

use super::stage::Stage;
use crate::scenario::Pair;

/// The order, customer and page every read uses: seed rows present in both pairs.
const ORDER: i64 = 1;
const CUSTOMER: i64 = 1;
/// An active customer (every tenth seed customer is suspended).
const BUYER: i64 = 7;

/// One way of doing an operation.
#[derive(Debug, Clone)]
pub enum Op {
    Get {
        url: String,
        accept: Option<&'static str>,
        if_none_match: Option<String>,
        expect: u16,
    },
    Post {
        url: String,
        body: String,
        expect: u16,
    },
    /// The naive consumer: a page of orders, then one customer lookup per order.
    NPlusOne { page: String, customers: String },
    /// The owner's query alone, through sqlx.
    Sql,
}

/// One arm of a workload: who does the operation, and how.
#[derive(Debug, Clone)]
pub struct Arm {
    pub label: &'static str,
    pub pair: Pair,
    pub op: Op,
    /// Requests the bench itself sends to the pair per operation, as its client: the
    /// calls counted beyond these are calls the services (or the naive consumer) made.
    pub client_requests: u64,
}

/// One business operation, done two ways; ratios are `arms[1] / arms[0]`.
#[derive(Debug, Clone)]
pub struct Workload {
    pub id: &'static str,
    pub title: &'static str,
    pub arms: [Arm; 2],
    /// Slow operations run this many times fewer.
    pub divisor: u64,
    /// Whether the second arm's figure is also shown as a multiple of the floor.
    pub floored: bool,
    /// The log filter each arm runs under ([`chassis::telemetry::set_filter`]): arms that
    /// differ only in logging. The filter is switched between blocks of requests, never
    /// inside a timed one.
    pub filters: Option<[&'static str; 2]>,
}

/// A single-arm measurement of the floor.
#[derive(Debug, Clone)]
pub struct Floor {
    pub id: &'static str,
    pub title: &'static str,
    pub op: Op,
}

fn get(url: String) -> Op {
    Op::Get {
        url,
        accept: None,
        if_none_match: None,
        expect: 200,
    }
}

fn arm(label: &'static str, pair: Pair, op: Op) -> Arm {
    Arm {
        label,
        pair,
        op,
        client_requests: 1,
    }
}

fn versus(id: &'static str, title: &'static str, legacy: Op, migrated: Op) -> Workload {
    Workload {
        id,
        title,
        arms: [
            arm("legacy", Pair::Legacy, legacy),
            arm("migrated", Pair::Migrated, migrated),
        ],
        divisor: 1,
        floored: true,
        filters: None,
    }
}

/// The workloads, in report order. `etag` is the migrated one-order ETag to revalidate.
pub fn catalogue(stage: &Stage, etag: &str) -> Vec<Workload> {
    let (l, m) = (&stage.legacy, &stage.migrated);
    let order = format!("{}/v1/orders/{ORDER}", m.orders);
    let legacy_order = format!("{}/orders/{ORDER}", l.orders);
    let legacy_page = format!("{}/orders?limit=50", l.orders);
    let mut n_plus_one = versus(
        "page-50-n+1",
        "page of 50, naive: one customer call per order (shown, not shipped)",
        get(legacy_page.clone()),
        Op::NPlusOne {
            page: format!("{}/v1/orders?limit=50", stage.bare_orders),
            customers: m.customers.clone(),
        },
    );
    n_plus_one.divisor = 10;
    // The page itself comes from the bare orders instance, which the pair's counters do
    // not see: each of the 50 lookups is a consumer's call.
    n_plus_one.arms[1].client_requests = 0;
    let xml = |accept| Op::Get {
        url: order.clone(),
        accept: Some(accept),
        if_none_match: None,
        expect: 200,
    };
    vec![
        versus(
            "one-order",
            "one order with its customer",
            get(legacy_order.clone()),
            get(order.clone()),
        ),
        versus(
            "page-50",
            "a page of 50 orders with customers",
            get(legacy_page),
            get(format!("{}/v1/orders?limit=50", m.orders)),
        ),
        versus(
            "profile",
            "a customer profile with order stats",
            get(format!("{}/customers/{CUSTOMER}", l.customers)),
            get(format!("{}/v1/customers/{CUSTOMER}/profile", m.customers)),
        ),
        versus(
            "place-order",
            "place an order",
            Op::Post {
                url: format!("{}/orders", l.orders),
                body: place_order(),
                expect: 201,
            },
            Op::Post {
                url: format!("{}/v1/orders", m.orders),
                body: place_order(),
                expect: 201,
            },
        ),
        n_plus_one,
        versus(
            "revalidated",
            "one order, revalidated: If-None-Match → 304 (staleness: none)",
            get(legacy_order),
            Op::Get {
                url: order.clone(),
                accept: None,
                if_none_match: Some(etag.to_owned()),
                expect: 304,
            },
        ),
        Workload {
            id: "json-xml",
            title: "one migrated order as JSON, then as XML",
            arms: [
                arm("json", Pair::Migrated, xml("application/json")),
                arm("xml", Pair::Migrated, xml("application/xml")),
            ],
            divisor: 1,
            floored: false,
            filters: None,
        },
        Workload {
            id: "logging",
            title: "one migrated order, logging at warn vs at info",
            arms: [
                arm("warn", Pair::Migrated, get(order.clone())),
                arm("info", Pair::Migrated, get(order)),
            ],
            divisor: 1,
            floored: false,
            filters: Some(["warn", chassis::telemetry::DEFAULT_FILTER]),
        },
    ]
}

fn place_order() -> String {
    format!(r#"{{"customer_id":{BUYER},"total":"12.50"}}"#)
}

/// The floor, in the same run: a loopback round trip, the owner's own endpoint, and the
/// owner's query alone.
pub fn floors(stage: &Stage) -> Vec<Floor> {
    vec![
        Floor {
            id: "hop",
            title: "bare loopback HTTP round trip (plain axum, constant answer)",
            op: get(format!("{}/", stage.floor)),
        },
        Floor {
            id: "owner-get",
            title: "the owner's own GET /v1/customers/{id}",
            op: get(format!(
                "{}/v1/customers/{CUSTOMER}",
                stage.migrated.customers
            )),
        },
        Floor {
            id: "sql",
            title: "the owner's query alone (sqlx, primary key)",
            op: Op::Sql,
        },
    ]
}

/// The migrated one-order ETag, for the revalidation workload.
pub async fn current_etag(client: &reqwest::Client, stage: &Stage) -> anyhow::Result<String> {
    let url = format!("{}/v1/orders/{ORDER}", stage.migrated.orders);
    let response = client.get(&url).send().await?.error_for_status()?;
    let tag = response
        .headers()
        .get(ETAG)
        .context("the migrated order has no ETag")?;
    Ok(tag.to_str()?.to_owned())
}

#[derive(Deserialize)]
struct Page {
    items: Vec<OrderRef>,
}

#[derive(Deserialize)]
struct OrderRef {
    customer_id: i64,
}

impl Op {
    /// Does the operation once; returns the bytes of the (last) answer's body.
    pub async fn run(&self, client: &reqwest::Client, stage: &Stage) -> anyhow::Result<usize> {
        match self {
            Self::Get {
                url,
                accept,
                if_none_match,
                expect,
            } => {
                let mut request = client.get(url);
                if let Some(accept) = accept {
                    request = request.header(ACCEPT, *accept);
                }
                if let Some(tag) = if_none_match {
                    request = request.header(IF_NONE_MATCH, tag);
                }
                answer(request, *expect).await.map(|body| body.len())
            }
            Self::Post { url, body, expect } => {
                let request = client
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
                answer(request, *expect).await.map(|body| body.len())
            }
            Self::NPlusOne { page, customers } => {
                let body = answer(client.get(page), 200).await?;
                let page: Page = serde_json::from_slice(&body)?;
                let mut last = body.len();
                for order in &page.items {
                    let url = format!("{customers}/v1/customers/{}", order.customer_id);
                    last = answer(client.get(url), 200).await?.len();
                }
                Ok(last)
            }
            Self::Sql => {
                let row: (i64, String, String, String) = sqlx::query_as(
                    "SELECT id, name, email, status FROM customers.customers WHERE id = $1",
                )
                .bind(CUSTOMER)
                .fetch_one(&stage.sql)
                .await?;
                Ok(row.1.len() + row.2.len() + row.3.len() + 8)
            }
        }
    }
}

async fn answer(
    request: reqwest::RequestBuilder,
    expect: u16,
) -> anyhow::Result<axum::body::Bytes> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    ensure!(
        status == expect,
        "answered {status}, expected {expect}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(body)
}
