//! Bad input, said once for both pairs: each case names its request (a path without the
//! version prefix, which the migrated pair serves under `/v1`), the pairs it applies to, and
//! the status and problem type the answer must carry. `tests/legacy.rs` and
//! `tests/migrated.rs` each run the list against their own pair.

use lab::scenario::Pair;

const BOTH: &[Pair] = &[Pair::Legacy, Pair::Migrated];
const MIGRATED: &[Pair] = &[Pair::Migrated];

#[derive(Debug, Clone, Copy)]
enum Service {
    Customers,
    Orders,
}

/// One bad request and the problem it must be answered with.
#[derive(Debug)]
struct Case {
    service: Service,
    method: reqwest::Method,
    path: String,
    /// A POST's content type and body; `None` for a GET.
    body: Option<(&'static str, String)>,
    pairs: &'static [Pair],
    status: u16,
    problem: &'static str,
    field: Option<&'static str>,
}

fn post(service: Service, path: &str, body: impl Into<String>) -> Case {
    Case {
        service,
        method: reqwest::Method::POST,
        path: path.to_owned(),
        body: Some(("application/json", body.into())),
        pairs: BOTH,
        status: 0,
        problem: "",
        field: None,
    }
}

fn get(service: Service, path: impl Into<String>) -> Case {
    Case {
        service,
        method: reqwest::Method::GET,
        path: path.into(),
        body: None,
        pairs: BOTH,
        status: 0,
        problem: "",
        field: None,
    }
}

fn patch(service: Service, path: &str, body: impl Into<String>) -> Case {
    Case {
        method: reqwest::Method::PATCH,
        ..post(service, path, body)
    }
}

impl Case {
    fn answers(mut self, status: u16, problem: &'static str) -> Self {
        (self.status, self.problem) = (status, problem);
        self
    }

    fn with_content_type(mut self, content_type: &'static str) -> Self {
        if let Some((_, body)) = self.body.take() {
            self.body = Some((content_type, body));
        }
        self
    }

    /// The problem must name `field`: as its `field` member, or else in its `detail`.
    fn naming(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    fn only(mut self, pairs: &'static [Pair]) -> Self {
        self.pairs = pairs;
        self
    }
}

fn cases() -> Vec<Case> {
    use Service::{Customers, Orders};
    let order = |body: &str| post(Orders, "/orders", body);
    let customer = |body: &str| post(Customers, "/customers", body);
    let too_long = format!(
        "{{\"customer_id\": 1, \"total\": \"{}\"}}",
        "9".repeat(70_000)
    );
    vec![
        order("{\"customer_id\": 1,").answers(400, "/problems/malformed-json"),
        order("{\"customer_id\": \"one\", \"total\": 5}").answers(422, "/problems/invalid-body"),
        order("{\"total\": 5}").answers(422, "/problems/invalid-body"),
        order("{\"customer_id\": 1, \"total\": 5, \"discount\": 1}")
            .answers(422, "/problems/invalid-body"),
        order("{\"customer_id\": 1, \"total\": 5}")
            .with_content_type("text/plain")
            .answers(415, "/problems/unsupported-media-type"),
        post(Orders, "/orders", too_long).answers(413, "/problems/body-too-large"),
        order("{\"customer_id\": 1, \"total\": -5}").answers(422, "/problems/validation"),
        order("{\"customer_id\": 1, \"total\": \"99999999999\"}")
            .answers(422, "/problems/validation"),
        order("{\"customer_id\": 1, \"total\": 1e12}").answers(422, "/problems/validation"),
        order("{\"customer_id\": 1, \"total\": 1.005}").answers(422, "/problems/validation"),
        customer("{\"name\": \"\", \"email\": \"x@example.com\"}")
            .answers(422, "/problems/validation"),
        customer("{\"name\": \"X\", \"email\": \"not-an-email\"}")
            .answers(422, "/problems/validation"),
        customer("{\"name\": \"x'); DROP TABLE customers; --\", \"email\": \"no\"}")
            .answers(422, "/problems/validation"),
        customer("{\"name\": \"X\", \"email\": \"x@example.com\", \"version\": 9}")
            .answers(422, "/problems/invalid-body"),
        customer("[]").answers(422, "/problems/invalid-body"),
        // A struct's fields in order, as an array: serde takes it unless told not to.
        order("[1, 2]").answers(422, "/problems/invalid-body"),
        post(
            Orders,
            "/guest-checkouts",
            "[\"Ada\", \"ada@example.com\", null, 5]",
        )
        .answers(422, "/problems/invalid-body"),
        customer("[\"Ada\", \"ada@example.com\"]").answers(422, "/problems/invalid-body"),
        // Postgres refuses NUL in text (22021); other control characters would be stored and
        // make the XML representation ill-formed. Each is refused with the field named.
        customer("{\"name\": \"Ada\\u0000\", \"email\": \"nul@example.com\"}")
            .answers(422, "/problems/validation")
            .naming("name"),
        customer("{\"name\": \"Ada\\u0001\", \"email\": \"soh@example.com\"}")
            .answers(422, "/problems/validation")
            .naming("name"),
        customer("{\"name\": \"Ada\\uFFFF\", \"email\": \"ffff@example.com\"}")
            .answers(422, "/problems/validation")
            .naming("name"),
        customer("{\"name\": \"Ada\", \"email\": \"a\\u0000@example.com\"}")
            .answers(422, "/problems/validation")
            .naming("email"),
        customer("{\"name\": \"Ada\", \"email\": \"a@example.com\", \"phone\": \"1\\u00002\"}")
            .answers(422, "/problems/validation")
            .naming("phone"),
        patch(Customers, "/customers/1", "{\"name\": \"Ada\\u0000\"}")
            .answers(422, "/problems/validation")
            .naming("name"),
        patch(
            Customers,
            "/customers/1",
            "{\"email\": \"a\\u0007@example.com\"}",
        )
        .answers(422, "/problems/validation")
        .naming("email"),
        post(
            Orders,
            "/guest-checkouts",
            "{\"name\": \"Ada\\u0000\", \"email\": \"guest-nul@example.com\", \"total\": 5}",
        )
        .answers(422, "/problems/validation")
        .naming("name"),
        post(
            Orders,
            "/guest-checkouts",
            "{\"name\": \"Ada\\u001b[31m\", \"email\": \"guest-esc@example.com\", \"total\": 5}",
        )
        .answers(422, "/problems/validation")
        .naming("name"),
        get(Orders, "/orders/abc").answers(400, "/problems/invalid-path"),
        get(Customers, "/customers/1.5").answers(400, "/problems/invalid-path"),
        get(Orders, "/orders/424242").answers(404, "/problems/order-not-found"),
        get(Customers, "/customers/424242").answers(404, "/problems/customer-not-found"),
        get(Customers, "/customers?limit=1000").answers(400, "/problems/invalid-query"),
        get(Customers, "/customers?ids=1,x")
            .only(MIGRATED)
            .answers(400, "/problems/invalid-query"),
    ]
    .into_iter()
    .chain(
        [
            "limit=0",
            "limit=201",
            "offset=-1",
            "limit=ten",
            "status=LOST",
        ]
        .map(|query| {
            get(Orders, format!("/orders?{query}")).answers(400, "/problems/invalid-query")
        }),
    )
    // `offset + limit` overflowed i64 and dropped the connection.
    .chain([Orders, Customers].into_iter().flat_map(|service| {
        let path = match service {
            Orders => "/orders",
            Customers => "/customers",
        };
        [
            "offset=9223372036854775807",
            "offset=9223372036854775600&limit=200",
        ]
        .map(|query| {
            get(service, format!("{path}?{query}"))
                .answers(400, "/problems/invalid-query")
                .naming("offset")
        })
    }))
    .collect()
}

/// What a problem must never say: Rust types and serde's wording are the service's inside.
const RUST_WORDING: [&str; 6] = ["struct ", "i64", "i32", "`", "expected ", "invalid type"];

/// Sends every case that applies to `pair` (serving at `customers` and `orders`) and
/// fails with the list of every answer that was not the problem the case names.
pub async fn answers_each_with_its_problem(
    pair: Pair,
    customers: &str,
    orders: &str,
    http: &reqwest::Client,
) {
    let version = match pair {
        Pair::Legacy => "",
        Pair::Migrated => "/v1",
    };
    let mut wrong = Vec::new();
    for case in cases().into_iter().filter(|c| c.pairs.contains(&pair)) {
        let base = match case.service {
            Service::Customers => customers,
            Service::Orders => orders,
        };
        let url = format!("{base}{version}{}", case.path);
        let request = match &case.body {
            None => http.request(case.method.clone(), &url),
            Some((content_type, body)) => http
                .request(case.method.clone(), &url)
                .header("content-type", *content_type)
                .body(body.clone()),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                wrong.push(format!("{url}\n    no answer: {err}"));
                continue;
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let problem = body["type"].as_str().unwrap_or_default();
        let detail = body["detail"].as_str().unwrap_or_default();
        let names_field = case
            .field
            .is_none_or(|field| body["field"] == field || detail.contains(field));
        let text = format!("{} {detail}", body["title"]);
        let internal = RUST_WORDING.iter().find(|word| text.contains(*word));
        if status != case.status
            || !names_field
            || internal.is_some()
            || content_type != "application/problem+json"
            || problem != case.problem
            || body["status"] != case.status
            || !body["title"].is_string()
            || !body["detail"].is_string()
        {
            let sent = case.body.as_ref().map_or("", |(_, b)| b.as_str());
            let sent: String = sent.chars().take(80).collect();
            wrong.push(format!(
                "{} {url} {sent}\n    expected {} {} naming {:?}, got {status} {content_type} {body}",
                case.method, case.status, case.problem, case.field
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
}
