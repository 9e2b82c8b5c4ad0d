//! The migrated services' contracts: each serves an OpenAPI 3.1 document at `/openapi.json`,
//! and the same document is committed as `migrated/{service}/openapi.json`. These tests fail
//! when the served document changes without the committed one (regenerate it with
//! `UPDATE_OPENAPI=1 cargo test --test openapi`), and, separately, when the served document
//! breaks a client of the committed one. No database and no Docker: the routers are called
//! in-process with pools that never connect.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

/// One migrated service, as these tests see it.
struct Service {
    name: &'static str,
    document: fn() -> String,
    router: fn() -> Router,
}

const CUSTOMERS: Service = Service {
    name: "customers",
    document: migrated_customers::openapi_json,
    router: customers_router,
};

const ORDERS: Service = Service {
    name: "orders",
    document: migrated_orders::openapi_json,
    router: orders_router,
};

/// Nothing listens there: a call to it fails at once.
const NOWHERE: &str = "http://127.0.0.1:1";

fn lazy_pool(application_name: &str) -> sqlx::PgPool {
    let url = "postgres://x:y@127.0.0.1:1/none"
        .parse()
        .expect("a valid database URL");
    chassis::db::pool(&url, application_name).expect("a lazy pool")
}

fn customers_router() -> Router {
    let orders = migrated_customers::OrdersClient::new(NOWHERE, migrated_customers::CALL_POLICY)
        .expect("an orders client");
    migrated_customers::router(migrated_customers::AppState {
        pool: lazy_pool("openapi-test-customers"),
        orders: Arc::new(orders),
    })
}

fn orders_router() -> Router {
    let customers = migrated_orders::CustomersClient::new(NOWHERE, migrated_orders::CALL_POLICY)
        .expect("a customers client");
    migrated_orders::router(migrated_orders::AppState {
        pool: lazy_pool("openapi-test-orders"),
        customers: Arc::new(customers),
    })
}

impl Service {
    fn committed_path(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("migrated")
            .join(self.name)
            .join("openapi.json")
    }

    /// The committed document as it was when this test binary first looked, before an
    /// `UPDATE_OPENAPI=1` run rewrites it: the breaking-change test compares against that.
    fn committed(&self) -> Option<&'static str> {
        static COMMITTED: LazyLock<HashMap<&'static str, Option<String>>> = LazyLock::new(|| {
            [CUSTOMERS, ORDERS]
                .iter()
                .map(|service| {
                    (
                        service.name,
                        std::fs::read_to_string(service.committed_path()).ok(),
                    )
                })
                .collect()
        });
        COMMITTED.get(self.name).and_then(Option::as_deref)
    }

    fn served(&self) -> Value {
        serde_json::from_str(&(self.document)()).expect("the served document is JSON")
    }

    /// The source of the service's router, to find the routes it declares.
    fn api_source(&self) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("migrated")
            .join(self.name)
            .join("src/api.rs");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
    }
}

fn updating() -> bool {
    std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| !v.is_empty() && v != "0")
}

/// What the committed file holds: the served document and a final newline.
fn file_contents(document: &str) -> String {
    format!("{document}\n")
}

fn served_document_matches_the_committed_one(service: &Service) {
    let expected = file_contents(&(service.document)());
    let path = service.committed_path();
    if updating() {
        if service.committed() != Some(expected.as_str()) {
            std::fs::write(&path, &expected)
                .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
            eprintln!("wrote {}", path.display());
        }
        return;
    }
    let regenerate = "run `UPDATE_OPENAPI=1 cargo test --test openapi` and commit the result";
    let Some(committed) = service.committed() else {
        panic!("{} is missing: {regenerate}", path.display());
    };
    if committed != expected {
        let line = committed
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(expected.lines().count()));
        panic!(
            "the {} service serves an OpenAPI document that differs from {} \
             (first difference at line {}: committed {:?}, served {:?}); {regenerate}",
            service.name,
            path.display(),
            line + 1,
            committed.lines().nth(line).unwrap_or("<end>"),
            expected.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

fn has_no_breaking_change_against_the_committed_document(service: &Service) {
    let Some(committed) = service.committed() else {
        assert!(
            updating(),
            "{} is missing: run `UPDATE_OPENAPI=1 cargo test --test openapi`",
            service.committed_path().display()
        );
        return;
    };
    let committed: Value = serde_json::from_str(committed).expect("the committed document is JSON");
    let breaking = lab::openapi::breaking_changes(&committed, &service.served());
    assert!(
        breaking.is_empty(),
        "the {} API breaks clients of the committed document:\n  {}\n\
         Keep the old shape (add, do not remove or require), or serve the change under a new \
         version; an accepted break needs the committed document updated and reviewed.",
        service.name,
        breaking.join("\n  ")
    );
}

/// The `(METHOD, path)` pairs a router declares with `.route("...", get(..).post(..))`.
fn declared_routes(source: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (start, _) in source.match_indices(".route(") {
        let Some(rest) = source[start + ".route(".len()..]
            .trim_start()
            .strip_prefix('"')
        else {
            continue;
        };
        let Some(end) = rest.find('"') else { continue };
        let path = &rest[..end];
        // The handlers: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut args = String::new();
        for c in rest[end + 1..].chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                break;
            }
            args.push(c);
        }
        for method in ["get", "post", "put", "patch", "delete", "head", "options"] {
            let called = args.match_indices(&format!("{method}(")).any(|(at, _)| {
                at == 0 || !args[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            if called {
                routes.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    routes
}

fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

/// Every leaf of a JSON value, with where it is; and the names of every schema property.
fn walk(
    value: &Value,
    at: String,
    leaves: &mut Vec<(String, Value)>,
    properties: &mut Vec<String>,
) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                if key == "properties"
                    && let Value::Object(named) = member
                {
                    properties.extend(named.keys().map(|name| format!("{at}/properties/{name}")));
                }
                walk(member, format!("{at}/{key}"), leaves, properties);
            }
        }
        Value::Array(entries) => {
            for (index, entry) in entries.iter().enumerate() {
                walk(entry, format!("{at}/{index}"), leaves, properties);
            }
        }
        other => leaves.push((at, other.clone())),
    }
}

fn serves_a_valid_looking_document_of_every_route(service: &Service) {
    let document = service.served();
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");
    assert_eq!(document["info"]["title"], format!("{} API", service.name));
    assert_eq!(document["info"]["version"], "1");

    // Every route the router declares is documented, and nothing else is.
    let declared = declared_routes(&service.api_source());
    assert!(
        declared.iter().any(|(_, path)| path.starts_with("/v1/")),
        "found no /v1 route in the {} router's source",
        service.name
    );
    let documented = documented_routes(&document);
    assert_eq!(
        declared, documented,
        "the routes of the {} router (left) and of its OpenAPI document (right) differ",
        service.name
    );

    // Every operation has a unique id and documents its answers; every reference resolves.
    let mut ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{method} {path}: operationId {id:?} again"
            );
            let responses = operation["responses"].as_object().expect("responses");
            assert!(
                !responses.is_empty(),
                "{method} {path} documents no response"
            );
            if path.starts_with("/v1/") {
                assert!(
                    responses.contains_key("406"),
                    "{method} {path} does not document 406"
                );
            }
        }
    }
    let (mut leaves, mut properties) = (Vec::new(), Vec::new());
    walk(&document, String::new(), &mut leaves, &mut properties);
    for (at, value) in &leaves {
        if at.ends_with("/$ref") {
            let target = value.as_str().unwrap_or_default();
            assert!(
                target
                    .strip_prefix('#')
                    .is_some_and(|pointer| document.pointer(pointer).is_some()),
                "{at}: {target} does not resolve"
            );
        }
    }

    // No table, column, constraint, role or migration detail leaks into the contract.
    let text = (service.document)();
    for internal in [
        "refinery",
        "schema_history",
        "idempotency_keys",
        "request_hash",
        "customers_email_key",
        "_status_check",
        "_total_check",
        "customers.customers",
        "orders.orders",
        "customers_owner",
        "orders_owner",
        "customers_svc",
        "orders_svc",
        "sqlx",
    ] {
        assert!(
            !text.contains(internal),
            "the {} document mentions {internal:?}",
            service.name
        );
    }
    for at in &properties {
        assert!(
            !at.ends_with("/properties/version"),
            "{at}: a representation shows an internal version"
        );
    }
}

/// Every documented `/v1` operation is served by the router: asked for a format no service
/// produces, a served route answers 406 before its handler runs (so no database is needed),
/// while an unknown route or method gets 404 or 405.
async fn routes_every_documented_operation(service: &Service) {
    let document = service.served();
    let router = (service.router)();
    for (method, path) in documented_routes(&document) {
        if !path.starts_with("/v1/") {
            continue;
        }
        let uri = path.replace("{id}", "1").replace("{customer_id}", "1");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(&uri)
            .header(header::ACCEPT, "text/csv")
            .body(Body::empty())
            .expect("a request");
        let response = router.clone().oneshot(request).await.expect("an answer");
        assert_eq!(
            response.status(),
            StatusCode::NOT_ACCEPTABLE,
            "{method} {uri}: the {} router does not serve this documented operation",
            service.name
        );
    }
}

async fn serves_its_document_at_openapi_json(service: &Service) {
    let request = Request::builder()
        .uri("/openapi.json")
        .body(Body::empty())
        .expect("a request");
    let response = (service.router)()
        .oneshot(request)
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/json",
        "content type"
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    assert_eq!(
        std::str::from_utf8(&body).expect("UTF-8"),
        (service.document)()
    );
}

mod customers {
    use super::CUSTOMERS;

    #[test]
    fn served_document_matches_the_committed_one() {
        super::served_document_matches_the_committed_one(&CUSTOMERS);
    }

    #[test]
    fn has_no_breaking_change_against_the_committed_document() {
        super::has_no_breaking_change_against_the_committed_document(&CUSTOMERS);
    }

    #[test]
    fn serves_a_valid_looking_document_of_every_route() {
        super::serves_a_valid_looking_document_of_every_route(&CUSTOMERS);
    }

    #[tokio::test]
    async fn routes_every_documented_operation() {
        super::routes_every_documented_operation(&CUSTOMERS).await;
    }

    #[tokio::test]
    async fn serves_its_document_at_openapi_json() {
        super::serves_its_document_at_openapi_json(&CUSTOMERS).await;
    }
}

mod orders {
    use super::ORDERS;

    #[test]
    fn served_document_matches_the_committed_one() {
        super::served_document_matches_the_committed_one(&ORDERS);
    }

    #[test]
    fn has_no_breaking_change_against_the_committed_document() {
        super::has_no_breaking_change_against_the_committed_document(&ORDERS);
    }

    #[test]
    fn serves_a_valid_looking_document_of_every_route() {
        super::serves_a_valid_looking_document_of_every_route(&ORDERS);
    }

    #[tokio::test]
    async fn routes_every_documented_operation() {
        super::routes_every_documented_operation(&ORDERS).await;
    }

    #[tokio::test]
    async fn serves_its_document_at_openapi_json() {
        super::serves_its_document_at_openapi_json(&ORDERS).await;
    }
}

#[test]
fn reads_the_routes_a_router_declares() {
    let source = r#"
        Router::new()
            .route("/v1/things", get(list).post(create))
            .route(
                "/v1/things/{id}",
                get(show).patch(update).delete(remove),
            )
            .route("/health", get(health))
    "#;
    let routes: Vec<(String, String)> = declared_routes(source).into_iter().collect();
    let expected: Vec<(String, String)> = [
        ("DELETE", "/v1/things/{id}"),
        ("GET", "/health"),
        ("GET", "/v1/things"),
        ("GET", "/v1/things/{id}"),
        ("PATCH", "/v1/things/{id}"),
        ("POST", "/v1/things"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(routes, expected);
}
