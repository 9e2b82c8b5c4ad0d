//! The orders API's OpenAPI 3.1 document, built from the handlers' `#[utoipa::path]`
//! attributes and the representations' `ToSchema` derives, and served at `/openapi.json`.
//! The same document is committed as `migrated/orders/openapi.json`; `tests/openapi.rs`
//! fails when the two differ or when the served one breaks a client of the committed one.
//!
//! The types here exist only to describe the wire format. They are this crate's own: the
//! customers service describes its errors with its own copy, as the two share no type.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, OpenApi};

use crate::api;

/// An error, as RFC 9457 problem details: every answer that is not a success is one, as
/// `application/problem+json`. `type` is stable: clients branch on it, never on `title` or
/// `detail`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// The kind of problem, e.g. `/problems/customer-not-active`.
    #[serde(rename = "type")]
    #[schema(format = "uri-reference", example = "/problems/customer-not-active")]
    type_uri: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    #[schema(example = "Customer cannot order")]
    title: String,
    /// The HTTP status, repeated.
    #[schema(example = 422)]
    status: u16,
    /// What went wrong this time, written for the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    detail: Option<String>,
    /// `/problems/validation`: the request field that was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    field: Option<String>,
    /// `/problems/unknown-customer`, `/problems/customer-not-active`: the customer named.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    customer_id: Option<i64>,
}

/// Problem answers, each as `application/problem+json` with the [`Problem`] schema.
fn problems(answers: &[(u16, &str)]) -> BTreeMap<String, RefOr<Response>> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    answers
        .iter()
        .map(|&(status, description)| {
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", content.clone())
                .build();
            (status.to_string(), response.into())
        })
        .collect()
}

/// Problem answers that several operations share, declared once; an operation lists the
/// sets it can answer in `responses(...)`, next to the answers that are its own.
macro_rules! shared_problems {
    ($($(#[$doc:meta])* $name:ident { $($status:literal: $description:literal,)+ })+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problems(&[$(($status, $description)),+])
            }
        }
    )+};
}

shared_problems! {
    /// What any `/v1` operation may answer besides its own answers.
    Always {
        406: "The client accepts neither JSON nor XML: `/problems/not-acceptable`.",
        500: "A failure the service logged: `/problems/internal`.",
    }
    /// An operation that needs only this service's database.
    DatabaseDown {
        503: "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.",
    }
    /// A write that needs customers to vouch for the customer, and fails closed without.
    CustomersFailing {
        502: "The customers service refused this service's call (`/problems/upstream-rejected`); nothing was written. Repeating the request will not help.",
        503: "The customers service (`/problems/dependency-unavailable`) or the database (`/problems/database-unavailable`) does not answer; nothing was written. With `Retry-After`.",
    }
    /// An operation with a JSON body.
    BodyRefused {
        413: "The body is over 64 KiB: `/problems/body-too-large`.",
        415: "The body is not `application/json`: `/problems/unsupported-media-type`.",
    }
    /// An operation on `/v1/orders/{id}` without a body.
    InvalidId {
        400: "The id is not a number: `/problems/invalid-path`.",
    }
    /// An operation on one order.
    OrderNotFound {
        404: "There is no such order: `/problems/order-not-found`.",
    }
    OrderNotFoundOrNoV2 {
        404: "There is no such order (`/problems/order-not-found`), or no release has published v2 yet (`/problems/version-not-published`).",
    }
}

/// The health check's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: String,
}

/// Where an order is: `NEW` → `PAID` → `SHIPPED`, or `CANCELLED` before shipping.
pub(crate) fn order_status() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(api::STATUSES))
        .build()
}

/// The `status` filter of a list: its doc comment is lost with `schema_with`, so it is here.
pub(crate) fn order_status_filter() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(api::STATUSES))
        .description(Some("Only orders in this status."))
        .build()
}

/// What a degraded answer lacks: here, only `customer`.
pub(crate) fn degraded() -> Array {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["customer"])),
        )
        .build()
}

/// An amount of money: a decimal string, e.g. `"42.50"`.
pub(crate) fn money() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("A decimal amount, as a string."))
        .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
        .examples(["42.50"])
        .build()
}

/// An amount of money sent by a client: a decimal string (`"42.50"`) or a JSON number.
pub(crate) fn money_input() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
        // Each keyword constrains only the type it is about: the bounds and the multiple
        // (cents) a number, the pattern (0.01 to 1000000.00, at most two decimals) a string.
        .exclusive_minimum(Some(0))
        .maximum(Some(1_000_000))
        .multiple_of(Some(0.01))
        .pattern(Some(
            "^(0\\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,5}(\\.[0-9]{1,2})?|1000000(\\.0{1,2})?)$",
        ))
        .description(Some(
            "A decimal amount: a string, or a number. Greater than 0, at most two decimals, \
             at most 1000000.00.",
        ))
        .examples(["42.50"])
        .build()
}

#[derive(Debug, OpenApi)]
#[openapi(
    version = "3.1.0",
    info(
        title = "orders API",
        version = "1",
        description = "The orders service: the only way to read or change an order. An \
            order shows its customer's name and email, which come from the customers \
            service; when that service cannot answer, reads degrade (`customer: null`, \
            `degraded: [\"customer\"]`, a `Warning` header) and writes that need a \
            confirmed customer fail (503; 502 when it refuses the call). \
            Representations are JSON by default, or XML with `Accept: application/xml` (the \
            same representation, `_links` as `<link rel=\"...\" href=\"...\"/>` elements); any \
            other `Accept` gets 406. Errors are `application/problem+json` (RFC 9457) with a \
            stable `type`. Every response carries an `x-request-id` header (the caller's, when \
            it sent one). Money is a decimal string, timestamps are RFC 3339 strings.",
    ),
    paths(
        api::reads::list,
        api::writes::create,
        api::reads::show,
        api::reads::show_v2,
        api::writes::update,
        api::writes::remove,
        api::writes::guest_checkout,
        api::reads::order_stats,
        api::reads::health,
        serve,
    ),
    components(schemas(Problem)),
    tags((name = "orders", description = "Orders, guest checkouts and order figures")),
)]
struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut document = ApiDoc::openapi();
    // The derive fills the license from Cargo.toml, which names none for this crate.
    document.info.license = None;
    document
        .to_pretty_json()
        .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
});

/// The OpenAPI document, as pretty JSON; the same bytes on every call.
pub fn openapi_json() -> String {
    DOCUMENT.clone()
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "orders",
    responses(
        (status = 200, description = "This OpenAPI document.", body = serde_json::Value, content_type = "application/json"),
    ),
)]
pub(crate) async fn serve() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
}
