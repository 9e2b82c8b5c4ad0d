//! Property tests over both pairs' HTTP APIs: proptest draws bodies (field-shaped objects
//! with hostile values, any JSON, raw bytes), ids, query strings and headers for every
//! write and every paged read. Whatever a client sends, a service never answers 5xx, never
//! drops the connection, and a request it refuses (4xx) leaves the database exactly as it
//! was: the row count and a checksum of every row of each of the pair's tables.
//!
//! proptest drives generation and shrinking from a blocking thread; each case's requests
//! run on the test's runtime. The seed is fixed, so a failure replays.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;
use std::sync::Arc;

use lab::harness::TestContext;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value};
use sqlx::PgPool;
use support::{spawn_legacy, spawn_migrated};

/// Cases per pair: enough to reach every endpoint with every kind of body many times over,
/// few enough to keep the binary under a minute on a busy two-core machine.
const CASES: u32 = 500;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        the_legacy_pair_never_fails_or_changes_data_on_input_it_refuses,
        the_migrated_pair_never_fails_or_changes_data_on_input_it_refuses,
    ])
}

async fn the_legacy_pair_never_fails_or_changes_data_on_input_it_refuses(ctx: TestContext) {
    let app = spawn_legacy(&ctx).await;
    let target = Target {
        endpoints: endpoints(&app.customers, &app.orders, ""),
        tables: &["customers", "orders"],
        http: app.http.clone(),
        db: app.db.clone(),
    };
    let counts = check(target).await;
    println!("legacy: {counts}");
}

async fn the_migrated_pair_never_fails_or_changes_data_on_input_it_refuses(ctx: TestContext) {
    let app = spawn_migrated(&ctx).await;
    let target = Target {
        endpoints: endpoints(&app.customers, &app.orders, "/v1"),
        tables: &[
            "customers.customers",
            "orders.orders",
            "orders.idempotency_keys",
        ],
        http: app.http.clone(),
        db: app.db.clone(),
    };
    let counts = check(target).await;
    println!("migrated: {counts}");
}

/// One operation a client can call: a write, or a paged read.
#[derive(Debug, Clone)]
struct Endpoint {
    method: Method,
    /// The URL up to the id, if the path takes one.
    base: String,
    takes_id: bool,
    takes_body: bool,
    takes_query: bool,
}

/// Every write and every paged read of a pair whose services listen at `customers` and
/// `orders`, under `prefix` (`/v1` for the migrated pair's versioned API).
fn endpoints(customers: &str, orders: &str, prefix: &str) -> Vec<Endpoint> {
    let at = |method: Method, base: String, takes_id: bool, takes_body: bool| Endpoint {
        takes_query: method == Method::GET,
        method,
        base,
        takes_id,
        takes_body,
    };
    vec![
        at(
            Method::POST,
            format!("{customers}{prefix}/customers"),
            false,
            true,
        ),
        at(
            Method::PATCH,
            format!("{customers}{prefix}/customers/"),
            true,
            true,
        ),
        at(
            Method::DELETE,
            format!("{customers}{prefix}/customers/"),
            true,
            false,
        ),
        at(
            Method::GET,
            format!("{customers}{prefix}/customers"),
            false,
            false,
        ),
        at(
            Method::POST,
            format!("{orders}{prefix}/orders"),
            false,
            true,
        ),
        at(
            Method::PATCH,
            format!("{orders}{prefix}/orders/"),
            true,
            true,
        ),
        at(
            Method::DELETE,
            format!("{orders}{prefix}/orders/"),
            true,
            false,
        ),
        at(
            Method::GET,
            format!("{orders}{prefix}/orders"),
            false,
            false,
        ),
        at(
            Method::POST,
            format!("{orders}{prefix}/guest-checkouts"),
            false,
            true,
        ),
    ]
}

struct Target {
    endpoints: Vec<Endpoint>,
    tables: &'static [&'static str],
    http: reqwest::Client,
    db: PgPool,
}

/// A request as drawn.
#[derive(Debug, Clone)]
struct Call {
    endpoint: usize,
    id: String,
    query: Vec<(String, String)>,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

/// What the requests of a run were answered with.
#[derive(Debug, Default)]
struct Counts {
    cases: u32,
    accepted: u32,
    refused: u32,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases: {} accepted (2xx/3xx), {} refused (4xx) with the database unchanged, 0 server errors",
            self.cases, self.accepted, self.refused
        )
    }
}

/// Runs `CASES` drawn calls against `target`, failing (with the shrunk call) on a 5xx, a
/// dropped connection, or a refused call that changed a table.
async fn check(target: Target) -> Counts {
    let handle = tokio::runtime::Handle::current();
    let target = Arc::new(target);
    tokio::task::spawn_blocking(move || {
        let strategy = call(target.endpoints.len());
        let config = Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        };
        let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let counts = std::sync::Mutex::new(Counts::default());
        let result = runner.run(&strategy, |call| {
            let accepted = handle.block_on(one(&target, &call))?;
            let mut counts = counts.lock().unwrap();
            counts.cases += 1;
            if accepted {
                counts.accepted += 1;
            } else {
                counts.refused += 1;
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
        counts.into_inner().unwrap()
    })
    .await
    .unwrap()
}

/// Sends `call`; `Ok(true)` when accepted, `Ok(false)` when refused with the data intact.
async fn one(target: &Target, call: &Call) -> Result<bool, TestCaseError> {
    let endpoint = &target.endpoints[call.endpoint];
    let mut url = if endpoint.takes_id {
        format!("{}{}", endpoint.base, call.id)
    } else {
        endpoint.base.clone()
    };
    if endpoint.takes_query && !call.query.is_empty() {
        let mut with_query = reqwest::Url::parse(&url).unwrap();
        with_query.query_pairs_mut().extend_pairs(&call.query);
        url = with_query.to_string();
    }
    let mut request = target.http.request(endpoint.method.clone(), &url);
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    if endpoint.takes_body {
        request = match &call.body {
            Body::Json(value) => request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(value).unwrap()),
            Body::Raw(bytes) => request.body(bytes.clone()),
        };
    }
    let before = checksum(&target.db, target.tables).await;
    let response = request.send().await.map_err(|err| {
        TestCaseError::fail(format!("{} {url}: no answer: {err}", endpoint.method))
    })?;
    let status = response.status();
    let body = response.text().await.map_err(|err| {
        TestCaseError::fail(format!(
            "{} {url}: the answer broke off: {err}",
            endpoint.method
        ))
    })?;
    if status.is_server_error() {
        return Err(TestCaseError::fail(format!(
            "{} {url} answered {status}: {body}",
            endpoint.method
        )));
    }
    if status.is_client_error() {
        let after = checksum(&target.db, target.tables).await;
        if after != before {
            return Err(TestCaseError::fail(format!(
                "{} {url} was refused with {status} ({body}) but changed the database: \
                 {before:?} became {after:?}",
                endpoint.method
            )));
        }
        return Ok(false);
    }
    Ok(true)
}

/// Each table's row count and an md5 of all its rows in a stable order.
async fn checksum(db: &PgPool, tables: &[&str]) -> Vec<(i64, String)> {
    let mut sums = Vec::with_capacity(tables.len());
    for table in tables {
        let sum: (i64, String) = sqlx::query_as(&format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') \
             FROM {table} t"
        ))
        .fetch_one(db)
        .await
        .unwrap();
        sums.push(sum);
    }
    sums
}

fn call(endpoints: usize) -> impl Strategy<Value = Call> {
    (0..endpoints, id(), query(), headers(), body()).prop_map(
        |(endpoint, id, query, headers, body)| Call {
            endpoint,
            id,
            query,
            headers,
            body,
        },
    )
}

/// Path ids: seed rows most often, then any integer, then anything a URL can carry.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1i64..=60).prop_map(|id| id.to_string()),
        2 => any::<i64>().prop_map(|id| id.to_string()),
        1 => "[0-9a-zA-Z._~%+-]{0,24}",
    ]
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("limit".to_owned()),
        Just("offset".to_owned()),
        Just("customer_id".to_owned()),
        Just("status".to_owned()),
        Just("ids".to_owned()),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        (-5i64..=300).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("9223372036854775807".to_owned()),
        Just("NEW".to_owned()),
        prop::collection::vec(any::<i64>(), 0..5).prop_map(|ids| ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")),
        "(?s).{0,16}",
    ];
    prop::collection::vec((name, value), 0..4)
}

/// `Idempotency-Key` and `If-Match`, well-formed or not; only values a header can carry.
fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let key = prop_oneof![
        Just("k1".to_owned()),
        Just("k2".to_owned()),
        "[ -~]{1,40}",
        "[\t -~]{0,8}",
        "[!-~]{200,210}",
    ];
    let tag = prop_oneof![
        Just("*".to_owned()),
        (0i64..5).prop_map(|v| format!("\"{v}\"")),
        "[ -~]{0,12}",
    ];
    (
        prop::option::of(key.prop_map(|k| ("idempotency-key", k))),
        prop::option::of(tag.prop_map(|t| ("if-match", t))),
    )
        .prop_map(|(key, tag)| key.into_iter().chain(tag).collect())
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        6 => fields().prop_map(Body::Json),
        2 => json().prop_map(Body::Json),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Raw),
    ]
}

/// An object with the fields the writes take (and a stranger now and then), each holding a
/// plausible value or a hostile one.
fn fields() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        (
            "customer_id",
            prop_oneof![
                (1i64..=60).prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (1i64..=60).prop_map(|n| Value::from(n as f64)),
                leaf(),
            ]
        ),
        (
            "total",
            prop_oneof![
                Just(Value::from("42.50")),
                (1u32..100_000_000).prop_map(|c| Value::from(format!(
                    "{}.{:02}",
                    c / 100,
                    c % 100
                ))),
                any::<f64>().prop_map(Value::from),
                "[0-9.eE+-]{0,24}".prop_map(Value::from),
                leaf(),
            ]
        ),
        (
            "name",
            prop_oneof![Just(Value::from("Ada Lovelace")), text()]
        ),
        (
            "email",
            prop_oneof![
                "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}".prop_map(Value::from),
                text(),
            ]
        ),
        (
            "phone",
            prop_oneof![
                Just(Value::from("+44 20 7946 0018")),
                text(),
                Just(Value::Null)
            ]
        ),
        (
            "status",
            prop_oneof![
                prop_oneof![
                    Just("NEW"),
                    Just("PAID"),
                    Just("SHIPPED"),
                    Just("CANCELLED"),
                    Just("active"),
                    Just("suspended"),
                ]
                .prop_map(Value::from),
                text(),
            ]
        ),
        ("zz_unknown", leaf()),
    ];
    prop::collection::vec(field, 0..6).prop_map(|fields| {
        Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect::<Map<_, _>>(),
        )
    })
}

/// Strings of any characters: control characters, NUL, U+FFFF, long ones.
fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        "(?s).{0,40}".prop_map(Value::from),
        "[\\x00-\\x1f\\x7f\u{85}\u{fffe}\u{ffff} a-z]{0,12}".prop_map(Value::from),
        (190usize..260).prop_map(|n| Value::from("x".repeat(n))),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text(),
    ]
}

/// Any JSON document: arrays, nested objects, scalars at the top.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}
