//! The orders API, version 1. An order shows its customer's name and email, fetched from
//! the customers API (one batch call per page). Reads degrade when customers cannot answer;
//! writes that need a confirmed customer fail closed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chassis::consumer::UpstreamError;
use chassis::http::negotiate::{RootOf, negotiate};
use chassis::http::page::PageParams;
use chassis::http::{Json, Path, Query, RequestId};
use chassis::releases::Releases;
use chassis::validate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::customers_client::CustomerRef;
use crate::db::{self, Order};
use crate::error::ApiError;
use crate::openapi::Problem;
use crate::shape::OrdersTable;
use crate::{AppState, CustomersClient};

/// The statuses an order moves through.
pub const STATUSES: [&str; 4] = ["NEW", "PAID", "SHIPPED", "CANCELLED"];

/// The header that makes `POST /v1/orders` safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What every handler gets: the caller's state, and the releases of the service's own
/// tables, which only this service reads.
#[derive(Debug, Clone)]
struct Service {
    pool: PgPool,
    customers: Arc<CustomersClient>,
    releases: Arc<Releases>,
}

impl Service {
    /// The table's shape now. A handler reads it once, so that its queries agree with
    /// each other.
    async fn table(&self) -> Result<OrdersTable, ApiError> {
        Ok(OrdersTable::from_releases(&*self.releases.current().await?))
    }
}

/// The orders service's routes, with the layers every service gets.
pub fn router(state: AppState) -> Router {
    let releases = Releases::new(state.pool.clone(), "orders.schema_releases", None);
    let state = Service {
        pool: state.pool,
        customers: state.customers,
        releases: Arc::new(releases),
    };
    chassis::http::finish(
        Router::new()
            .route("/v1/orders", get(list).post(create))
            .route("/v1/orders/{id}", get(show).patch(update).delete(remove))
            .route("/v1/guest-checkouts", post(guest_checkout))
            .route("/v1/order-stats/{customer_id}", get(order_stats))
            .route_layer(from_fn_with_state(xml_root as RootOf, negotiate))
            .route("/health", get(health))
            .route("/openapi.json", get(crate::openapi::serve))
            .with_state(state),
    )
}

/// The XML element a route's representation is named by.
fn xml_root(method: &Method, route: &str) -> &'static str {
    match route {
        "/v1/orders" if method == Method::GET => "orders",
        "/v1/order-stats/{customer_id}" => "order-stats",
        _ => "order",
    }
}

/// A link to a related resource.
#[derive(Debug, Serialize, ToSchema)]
struct Link {
    #[schema(format = "uri-reference", example = "/v1/orders/1")]
    href: String,
}

/// Where an order's related resources are.
#[derive(Debug, Serialize, ToSchema)]
struct OrderLinks {
    /// This order.
    #[serde(rename = "self")]
    self_: Link,
    /// The order's customer, at the customers service.
    customer: Link,
}

/// The order's customer, as the customers service shows it.
#[derive(Debug, Serialize, ToSchema)]
struct CustomerSummary {
    #[schema(example = "Ada Lovelace")]
    name: String,
    #[schema(format = "email", example = "ada@example.com")]
    email: String,
}

/// An order as the API shows it. `customer` is null when the customer no longer exists,
/// or when the customers service could not answer (then `degraded` says so).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
struct OrderBody {
    #[schema(example = 1)]
    id: i64,
    #[schema(example = 7)]
    customer_id: i64,
    #[schema(schema_with = crate::openapi::order_status)]
    status: String,
    #[schema(schema_with = crate::openapi::money)]
    total: Decimal,
    /// When the order was placed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    /// Null when the customer no longer exists or the customers service could not answer.
    #[schema(required = true)]
    customer: Option<CustomerSummary>,
    /// What is missing from this answer because another service could not give it;
    /// absent when nothing is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::openapi::degraded)]
    degraded: Vec<&'static str>,
    _links: OrderLinks,
}

/// What the customers service said about the customers of some orders.
enum Customers {
    Known(HashMap<i64, CustomerRef>),
    Unavailable,
}

impl OrderBody {
    fn new(order: Order, customers: &Customers, customers_base: &str) -> Self {
        let (customer, degraded) = match customers {
            Customers::Known(known) => (
                known.get(&order.customer_id).map(|c| CustomerSummary {
                    name: c.name.clone(),
                    email: c.email.clone(),
                }),
                Vec::new(),
            ),
            Customers::Unavailable => (None, vec!["customer"]),
        };
        Self {
            id: order.id,
            customer_id: order.customer_id,
            status: order.status,
            total: order.total,
            created_at: order.created_at,
            customer,
            degraded,
            _links: OrderLinks {
                self_: Link {
                    href: format!("/v1/orders/{}", order.id),
                },
                customer: Link {
                    href: format!("{customers_base}/v1/customers/{}", order.customer_id),
                },
            },
        }
    }
}

/// Where a page is, and its neighbours.
#[derive(Debug, Serialize, ToSchema)]
struct PageLinks {
    /// This page.
    #[serde(rename = "self")]
    self_: Link,
    /// The next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    next: Option<Link>,
    /// The previous page; absent on the first one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    prev: Option<Link>,
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
struct OrderPage {
    items: Vec<OrderBody>,
    #[schema(example = 50)]
    limit: i64,
    #[schema(example = 0)]
    offset: i64,
    /// How many orders match the filter in all.
    #[schema(example = 1200)]
    total: i64,
    _links: PageLinks,
}

/// A customer's order figures; zero for a customer with no orders.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderStats)]
struct OrderStatsBody {
    #[schema(example = 7)]
    customer_id: i64,
    /// Orders not yet shipped or cancelled (`NEW`, `PAID`).
    #[schema(example = 2)]
    open_order_count: i64,
    /// The sum of the customer's orders that were not cancelled.
    #[schema(schema_with = crate::openapi::money)]
    lifetime_value: Decimal,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this customer's orders.
    #[param(example = 7)]
    customer_id: Option<i64>,
    /// Only orders in this status.
    #[param(schema_with = crate::openapi::order_status_filter)]
    status: Option<String>,
    /// Page size: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200, example = 50)]
    limit: Option<i64>,
    /// How many orders to skip: 0 or more, 0 when absent.
    #[param(minimum = 0, example = 0)]
    offset: Option<i64>,
}

/// An order for an existing, active customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaceOrder {
    #[schema(example = 7)]
    customer_id: i64,
    #[schema(schema_with = crate::openapi::money_input)]
    total: Decimal,
}

/// A buyer who is not a customer yet, and their order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GuestCheckout {
    #[schema(example = "Guest Buyer")]
    name: String,
    #[schema(format = "email", example = "guest@example.com")]
    email: String,
    #[schema(example = "+44 20 7946 0018")]
    phone: Option<String>,
    #[schema(schema_with = crate::openapi::money_input)]
    total: Decimal,
}

/// The status an order moves to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeStatus {
    #[schema(schema_with = crate::openapi::order_status)]
    status: String,
}

/// Looks the customers up in one call; an unreachable customers service degrades the read.
async fn customers_of(state: &Service, orders: &[Order], request_id: &str) -> Customers {
    let ids: Vec<i64> = orders.iter().map(|o| o.customer_id).collect();
    match state.customers.lookup_many(&ids, request_id).await {
        Ok(known) => Customers::Known(known),
        Err(err) => {
            tracing::warn!(%err, "orders served without their customers");
            Customers::Unavailable
        }
    }
}

fn with_warning(customers: &Customers, response: impl IntoResponse) -> Response {
    match customers {
        Customers::Known(_) => response.into_response(),
        Customers::Unavailable => {
            let warning = HeaderValue::from_static("199 orders \"customer details unavailable\"");
            ([(header::WARNING, warning)], response).into_response()
        }
    }
}

/// A page of orders, each with its customer
///
/// The customers of a page come from the customers service, in one call. When it cannot
/// answer, the page degrades: each order has `customer: null` and `degraded: ["customer"]`,
/// and a `Warning` header is sent.
#[utoipa::path(
    get,
    path = "/v1/orders",
    operation_id = "listOrders",
    tag = "orders",
    params(ListParams),
    responses(
        (status = 200, description = "The orders.", body = OrderPage, headers(("Warning" = String, description = "Present when the answer is degraded."))),
        (status = 400, description = "A query parameter is out of range or malformed: `/problems/invalid-query`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .page()
    .map_err(ApiError::BadQuery)?;
    if let Some(status) = &params.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::BadQuery(format!(
            "status must be one of {}",
            STATUSES.join(", ")
        )));
    }
    let table = state.table().await?;
    let (orders, total) = db::list(
        &state.pool,
        &table,
        params.customer_id,
        params.status.as_deref(),
        page,
    )
    .await?;
    let customers = customers_of(&state, &orders, &request_id).await;
    let filter = match (params.customer_id, &params.status) {
        (Some(c), Some(s)) => format!("customer_id={c}&status={s}&"),
        (Some(c), None) => format!("customer_id={c}&"),
        (None, Some(s)) => format!("status={s}&"),
        (None, None) => String::new(),
    };
    let link = |offset: i64| Link {
        href: format!("/v1/orders?{filter}limit={}&offset={offset}", page.limit),
    };
    let body = OrderPage {
        items: orders
            .into_iter()
            .map(|o| OrderBody::new(o, &customers, state.customers.base_url()))
            .collect(),
        limit: page.limit,
        offset: page.offset,
        total,
        _links: PageLinks {
            self_: link(page.offset),
            next: (page.offset + page.limit < total).then(|| link(page.offset + page.limit)),
            prev: (page.offset > 0).then(|| link((page.offset - page.limit).max(0))),
        },
    };
    Ok(with_warning(&customers, Json(body)))
}

/// One order, with its customer
///
/// With an `ETag`; `If-None-Match` with the current ETag gives 304 and no body.
#[utoipa::path(
    get,
    path = "/v1/orders/{id}",
    operation_id = "getOrder",
    tag = "orders",
    params(
        ("id" = i64, Path, description = "The order's id."),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client holds."),
    ),
    responses(
        (status = 200, description = "The order.", body = OrderBody, headers(
            ("ETag" = String, description = "The representation's validator."),
            ("Warning" = String, description = "Present when the answer is degraded."),
        )),
        (status = 304, description = "The client's copy is current.", headers(
            ("ETag" = String, description = "The representation's validator."),
        )),
        (status = 400, description = "The id is not a number: `/problems/invalid-path`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such order: `/problems/order-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn show(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let table = state.table().await?;
    let order = db::find(&state.pool, &table, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let customers = customers_of(&state, std::slice::from_ref(&order), &request_id).await;
    let body = OrderBody::new(order, &customers, state.customers.base_url());
    // The representation joins two services' data, so its ETag hashes what is sent.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let tag = chassis::http::conditional::etag_of(&bytes);
    if chassis::http::conditional::not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(with_warning(
        &customers,
        ([(header::ETAG, tag)], Json(body)),
    ))
}

/// Confirms the customer with its owner, over HTTP. Unreachable: fail closed (503), since
/// an order for a customer nobody can vouch for is worse than no order.
async fn confirm_customer(
    state: &Service,
    customer_id: i64,
    request_id: &str,
) -> Result<CustomerRef, ApiError> {
    match state.customers.lookup(customer_id, request_id).await? {
        None => Err(ApiError::UnknownCustomer(customer_id)),
        Some(customer) if customer.status == "active" => Ok(customer),
        Some(customer) => Err(ApiError::CustomerNotActive(customer_id, customer.status)),
    }
}

/// Places an order for an existing, active customer
///
/// The customer is confirmed with the customers service; when it cannot answer, no order
/// is placed (503). With an `Idempotency-Key`, a retry of the same request returns the
/// order the first one created instead of a second one.
#[utoipa::path(
    post,
    path = "/v1/orders",
    operation_id = "placeOrder",
    tag = "orders",
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1 to 200 visible ASCII characters; a retry with the same key and body returns the first order."),
    ),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "The new order (or, for a retried key, the first one).", body = OrderBody, headers(("Location" = String, description = "The new order's URL."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json` or `Idempotency-Key` is malformed (`/problems/invalid-query`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB: `/problems/body-too-large`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`: `/problems/unsupported-media-type`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`); the customer does not exist (`/problems/unknown-customer`) or is not active (`/problems/customer-not-active`), both with `customer_id`; or the `Idempotency-Key` was used for another order (`/problems/idempotency-key-reused`).", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The customers service (`/problems/dependency-unavailable`) or the database (`/problems/database-unavailable`) does not answer; nothing was written. With `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn create(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    Json(body): Json<PlaceOrder>,
) -> Result<Response, ApiError> {
    let total = validate::total(body.total)?;
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if (1..=200).contains(&key.len()) => Some(key.to_owned()),
            _ => {
                return Err(ApiError::BadQuery(
                    "Idempotency-Key must be 1 to 200 visible ASCII characters".to_owned(),
                ));
            }
        },
    };
    let request_hash = format!("{}:{total}", body.customer_id);
    let table = state.table().await?;
    if let Some(key) = &key
        && let Some(order) = replay(&state, &table, key, &request_hash).await?
    {
        return created(&state, order, &request_id).await;
    }
    let customer = confirm_customer(&state, body.customer_id, &request_id).await?;
    let mut tx = state.pool.begin().await?;
    let order = db::insert(&mut tx, &table, customer.id, total).await?;
    if let Some(key) = &key
        && let Err(err) = db::remember_key(&mut tx, key, &request_hash, order.id).await
    {
        // Two requests with one key raced; the other one won. Answer with its order.
        drop(tx);
        tracing::info!(%err, "idempotency key taken concurrently");
        return match replay(&state, &table, key, &request_hash).await? {
            Some(order) => created(&state, order, &request_id).await,
            None => Err(err.into()),
        };
    }
    tx.commit().await?;
    let known = Customers::Known(HashMap::from([(customer.id, customer)]));
    Ok(created_response(OrderBody::new(
        order,
        &known,
        state.customers.base_url(),
    )))
}

async fn replay(
    state: &Service,
    table: &OrdersTable,
    key: &str,
    request_hash: &str,
) -> Result<Option<Order>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    match db::idempotent_order(&mut conn, key).await? {
        None => Ok(None),
        Some((hash, _)) if hash != request_hash => Err(ApiError::IdempotencyKeyReused),
        Some((_, order_id)) => Ok(db::find(&state.pool, table, order_id).await?),
    }
}

async fn created(state: &Service, order: Order, request_id: &str) -> Result<Response, ApiError> {
    let customers = customers_of(state, std::slice::from_ref(&order), request_id).await;
    Ok(created_response(OrderBody::new(
        order,
        &customers,
        state.customers.base_url(),
    )))
}

fn created_response(body: OrderBody) -> Response {
    let location = HeaderValue::try_from(body._links.self_.href.clone())
        .unwrap_or(HeaderValue::from_static("/v1/orders"));
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// Registers a guest as a customer and places their order
///
/// The buyer is registered through the customers service's API, then the order is placed.
/// When the customers service cannot answer, nothing is written (503).
#[utoipa::path(
    post,
    path = "/v1/guest-checkouts",
    operation_id = "guestCheckout",
    tag = "orders",
    request_body = GuestCheckout,
    responses(
        (status = 201, description = "The new order.", body = OrderBody, headers(("Location" = String, description = "The new order's URL."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB: `/problems/body-too-large`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`: `/problems/unsupported-media-type`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`); the customers service refused the buyer's details.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A customer with this email exists: `/problems/email-taken`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The customers service (`/problems/dependency-unavailable`) or the database (`/problems/database-unavailable`) does not answer; nothing was written. With `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn guest_checkout(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    Json(body): Json<GuestCheckout>,
) -> Result<Response, ApiError> {
    let name = validate::name(&body.name)?;
    let email = validate::email(&body.email)?;
    let phone = validate::phone(body.phone.as_deref())?;
    let total = validate::total(body.total)?;
    let customer = match state
        .customers
        .register(&name, &email, phone.as_deref(), &request_id)
        .await
    {
        Ok(customer) => customer,
        Err(UpstreamError::Rejected { status, .. }) if status == StatusCode::CONFLICT => {
            return Err(ApiError::EmailTaken);
        }
        Err(UpstreamError::Rejected { body, .. }) => {
            let detail = body["detail"]
                .as_str()
                .unwrap_or("the customer details were refused")
                .to_owned();
            return Err(ApiError::GuestRefused(detail));
        }
        Err(err) => return Err(err.into()),
    };
    let table = state.table().await?;
    let mut tx = state.pool.begin().await?;
    let order = db::insert(&mut tx, &table, customer.id, total).await?;
    tx.commit().await?;
    let known = Customers::Known(HashMap::from([(customer.id, customer)]));
    Ok(created_response(OrderBody::new(
        order,
        &known,
        state.customers.base_url(),
    )))
}

/// Whether an order may move from one status to another. Setting the current status again
/// is allowed and changes nothing.
pub fn transition_allowed(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("NEW", "PAID") | ("NEW", "CANCELLED") | ("PAID", "SHIPPED") | ("PAID", "CANCELLED")
        )
}

/// Moves an order to another status
///
/// `NEW` → `PAID` → `SHIPPED`, or → `CANCELLED` before shipping; setting the current status
/// again changes nothing.
#[utoipa::path(
    patch,
    path = "/v1/orders/{id}",
    operation_id = "changeOrderStatus",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id.")),
    request_body = ChangeStatus,
    responses(
        (status = 200, description = "The changed order.", body = OrderBody, headers(("Warning" = String, description = "Present when the answer is degraded."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json` or the id is not a number (`/problems/invalid-path`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB: `/problems/body-too-large`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`: `/problems/unsupported-media-type`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such order: `/problems/order-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order cannot move to that status: `/problems/invalid-transition`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn update(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    Path(id): Path<i64>,
    Json(body): Json<ChangeStatus>,
) -> Result<Response, ApiError> {
    if !STATUSES.contains(&body.status.as_str()) {
        return Err(validate::invalid(
            "status",
            &format!("must be one of {}", STATUSES.join(", ")),
        )
        .into());
    }
    let table = state.table().await?;
    let mut tx = state.pool.begin().await?;
    let current = db::lock_status(&mut tx, &table, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    if !transition_allowed(&current, &body.status) {
        return Err(ApiError::InvalidTransition {
            id,
            from: current,
            to: body.status,
        });
    }
    let order = db::set_status(&mut tx, &table, id, &body.status).await?;
    tx.commit().await?;
    let customers = customers_of(&state, std::slice::from_ref(&order), &request_id).await;
    Ok(with_warning(
        &customers,
        Json(OrderBody::new(
            order,
            &customers,
            state.customers.base_url(),
        )),
    ))
}

/// Deletes an order
#[utoipa::path(
    delete,
    path = "/v1/orders/{id}",
    operation_id = "deleteOrder",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id.")),
    responses(
        (status = 204, description = "The order is deleted."),
        (status = 400, description = "The id is not a number: `/problems/invalid-path`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such order: `/problems/order-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn remove(State(state): State<Service>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    if db::delete(&state.pool, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(id))
    }
}

/// A customer's order figures
///
/// What the customers service shows on a profile and checks before a delete. Zero for a
/// customer with no orders (the orders service does not know which customers exist).
#[utoipa::path(
    get,
    path = "/v1/order-stats/{customer_id}",
    operation_id = "getOrderStats",
    tag = "orders",
    params(("customer_id" = i64, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "The figures.", body = OrderStatsBody),
        (status = 400, description = "The customer id is not a number: `/problems/invalid-path`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn order_stats(
    State(state): State<Service>,
    Path(customer_id): Path<i64>,
) -> Result<Json<OrderStatsBody>, ApiError> {
    let table = state.table().await?;
    let stats = db::stats(&state.pool, &table, customer_id).await?;
    Ok(Json(OrderStatsBody {
        customer_id,
        open_order_count: stats.open_order_count,
        lifetime_value: stats.lifetime_value,
    }))
}

/// Whether the service can reach its database
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "getHealth",
    tag = "orders",
    responses(
        (status = 200, description = "The service is up.", body = crate::openapi::Health),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn health(
    State(state): State<Service>,
) -> Result<Json<serde_json::Value>, chassis::http::Problem> {
    chassis::db::health(&state.pool).await
}

#[cfg(test)]
mod tests {
    use super::transition_allowed;

    #[test]
    fn lets_orders_move_forward_or_be_cancelled_before_shipping() {
        assert!(transition_allowed("NEW", "PAID"));
        assert!(transition_allowed("PAID", "CANCELLED"));
        assert!(!transition_allowed("SHIPPED", "CANCELLED"));
        assert!(!transition_allowed("NEW", "SHIPPED"));
    }
}
