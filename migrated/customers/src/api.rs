//! The customers API, version 1. Representations are this module's own types: a client sees
//! resources and links, never the table behind them. `GET /v1/customers?ids=` is the batch
//! lookup that lets the orders service show a page of orders with one call.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chassis::http::conditional::{etag, not_modified, required_version};
use chassis::http::negotiate::{RootOf, negotiate};
use chassis::http::page::PageParams;
use chassis::http::{Json, Path, Query, RequestId};
use chassis::releases::Releases;
use chassis::validate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::db::{self, Customer, CustomerChanges, NewCustomer};
use crate::error::ApiError;
use crate::openapi::Problem;
use crate::shape::CustomersTable;
use crate::{AppState, OrdersClient};

/// How many ids one batch lookup may name.
pub const MAX_BATCH: usize = 200;

/// What every handler gets: the caller's state, and the releases of the service's own
/// tables, which only this service reads.
#[derive(Debug, Clone)]
struct Service {
    pool: PgPool,
    orders: Arc<OrdersClient>,
    releases: Arc<Releases>,
}

impl Service {
    /// The table's shape now. A handler reads it once, so that its queries agree with
    /// each other.
    async fn table(&self) -> Result<CustomersTable, ApiError> {
        Ok(CustomersTable::from_releases(
            &*self.releases.current().await?,
        ))
    }
}

/// The customers service's routes, with the layers every service gets.
pub fn router(state: AppState) -> Router {
    let releases = Releases::new(state.pool.clone(), "customers.schema_releases", None);
    let state = Service {
        pool: state.pool,
        orders: state.orders,
        releases: Arc::new(releases),
    };
    chassis::http::finish(
        Router::new()
            .route("/v1/customers", get(list).post(create))
            .route("/v1/customers/{id}", get(show).patch(update).delete(remove))
            .route("/v1/customers/{id}/profile", get(profile))
            .route_layer(from_fn_with_state(xml_root as RootOf, negotiate))
            .route("/health", get(health))
            .route("/openapi.json", get(crate::openapi::serve))
            .with_state(state),
    )
}

/// The XML element a route's representation is named by.
fn xml_root(method: &Method, route: &str) -> &'static str {
    match route {
        "/v1/customers" if method == Method::GET => "customers",
        "/v1/customers/{id}/profile" => "profile",
        _ => "customer",
    }
}

/// A link to a related resource.
#[derive(Debug, Serialize, ToSchema)]
struct Link {
    #[schema(format = "uri-reference", example = "/v1/customers/7")]
    href: String,
}

/// Where a customer's related resources are.
#[derive(Debug, Serialize, ToSchema)]
struct CustomerLinks {
    /// This customer.
    #[serde(rename = "self")]
    self_: Link,
    /// The customer with its order figures.
    profile: Link,
    /// The customer's orders, at the orders service.
    orders: Link,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Customer)]
struct CustomerBody {
    #[schema(example = 7)]
    id: i64,
    #[schema(example = "Ada Lovelace")]
    name: String,
    #[schema(format = "email", example = "ada@example.com")]
    email: String,
    #[schema(required = true, example = "+44 20 7946 0018")]
    phone: Option<String>,
    #[schema(schema_with = crate::openapi::customer_status)]
    status: String,
    /// When the customer was registered (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    _links: CustomerLinks,
}

impl CustomerBody {
    fn new(customer: Customer, orders_base: &str) -> Self {
        let id = customer.id;
        Self {
            id,
            name: customer.name,
            email: customer.email,
            phone: customer.phone,
            status: customer.status,
            created_at: customer.created_at,
            _links: CustomerLinks {
                self_: Link {
                    href: format!("/v1/customers/{id}"),
                },
                profile: Link {
                    href: format!("/v1/customers/{id}/profile"),
                },
                orders: Link {
                    href: format!("{orders_base}/v1/orders?customer_id={id}"),
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
    /// The next page; absent on the last one and on a batch lookup.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    next: Option<Link>,
    /// The previous page; absent on the first one and on a batch lookup.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    prev: Option<Link>,
}

/// A page of customers, or the customers a batch lookup found.
#[derive(Debug, Serialize, ToSchema)]
struct CustomerPage {
    items: Vec<CustomerBody>,
    #[schema(example = 50)]
    limit: i64,
    #[schema(example = 0)]
    offset: i64,
    /// How many customers there are in all (for a batch lookup: how many were found).
    #[schema(example = 120)]
    total: i64,
    _links: PageLinks,
}

/// A customer's order figures, as the orders service gave them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderStats)]
struct OrderStatsBody {
    /// Orders not yet shipped or cancelled.
    #[schema(example = 2)]
    open_order_count: i64,
    /// The sum of the customer's orders that were not cancelled.
    #[schema(schema_with = crate::openapi::money)]
    lifetime_value: Decimal,
}

/// A customer with its order figures, which come from the orders service and may be
/// missing: then `order_stats` is null and `degraded` says so.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Profile)]
struct ProfileBody {
    #[serde(flatten)]
    customer: CustomerBody,
    /// Null when the orders service could not answer.
    #[schema(required = true)]
    order_stats: Option<OrderStatsBody>,
    /// What is missing from this answer because another service could not give it;
    /// absent when nothing is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::openapi::degraded)]
    degraded: Vec<&'static str>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Page size: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200, example = 50)]
    limit: Option<i64>,
    /// How many customers to skip: 0 or more, 0 when absent.
    #[param(minimum = 0, example = 0)]
    offset: Option<i64>,
    /// Comma-separated ids: the batch lookup (1 to 200 ids; unknown ids are absent from
    /// the answer, which is not paged).
    #[param(example = "1,2,3")]
    ids: Option<String>,
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateCustomer {
    #[schema(example = "Ada Lovelace")]
    name: String,
    #[schema(format = "email", example = "ada@example.com")]
    email: String,
    #[schema(example = "+44 20 7946 0018")]
    phone: Option<String>,
}

/// A merge patch: the fields present are changed, the others kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateCustomer {
    name: Option<String>,
    #[schema(format = "email")]
    email: Option<String>,
    phone: Option<String>,
    #[schema(schema_with = crate::openapi::customer_status_change)]
    status: Option<String>,
}

fn parse_ids(ids: &str) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = ids
        .split(',')
        .map(|id| id.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::BadQuery("ids must be comma-separated integers".to_owned()))?;
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(ApiError::BadQuery(format!(
            "ids must name 1 to {MAX_BATCH} customers"
        )));
    }
    Ok(ids)
}

/// A page of customers, or a batch lookup
///
/// With `ids`, the customers with those ids (unknown ids are absent); otherwise a page,
/// with `_links.next` and `_links.prev`.
#[utoipa::path(
    get,
    path = "/v1/customers",
    operation_id = "listCustomers",
    tag = "customers",
    params(ListParams),
    responses(
        (status = 200, description = "The customers.", body = CustomerPage),
        (status = 400, description = "A query parameter is out of range or malformed: `/problems/invalid-query`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list(
    State(state): State<Service>,
    Query(params): Query<ListParams>,
) -> Result<Json<CustomerPage>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .page()
    .map_err(ApiError::BadQuery)?;
    let base = state.orders.base_url();
    let (customers, total, self_href) = match &params.ids {
        Some(ids) => {
            let ids = parse_ids(ids)?;
            let table = state.table().await?;
            let found = db::by_ids(&state.pool, &table, &ids).await?;
            let total = found.len() as i64;
            let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
            (
                found,
                total,
                format!("/v1/customers?ids={}", joined.join(",")),
            )
        }
        None => {
            let table = state.table().await?;
            let (found, total) = db::list(&state.pool, &table, page).await?;
            (
                found,
                total,
                format!("/v1/customers?limit={}&offset={}", page.limit, page.offset),
            )
        }
    };
    let link = |offset: i64| Link {
        href: format!("/v1/customers?limit={}&offset={offset}", page.limit),
    };
    let paged = params.ids.is_none();
    Ok(Json(CustomerPage {
        limit: page.limit,
        offset: page.offset,
        total,
        _links: PageLinks {
            self_: Link { href: self_href },
            next: (paged && page.offset + page.limit < total)
                .then(|| link(page.offset + page.limit)),
            prev: (paged && page.offset > 0).then(|| link((page.offset - page.limit).max(0))),
        },
        items: customers
            .into_iter()
            .map(|c| CustomerBody::new(c, base))
            .collect(),
    }))
}

/// One customer
///
/// With its `ETag`; `If-None-Match` with the current ETag gives 304 and no body.
#[utoipa::path(
    get,
    path = "/v1/customers/{id}",
    operation_id = "getCustomer",
    tag = "customers",
    params(
        ("id" = i64, Path, description = "The customer's id."),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client holds."),
    ),
    responses(
        (status = 200, description = "The customer.", body = CustomerBody, headers(("ETag" = String, description = "The customer's version: send it back in `If-None-Match` or `If-Match`."))),
        (status = 304, description = "The client's copy is current.", headers(("ETag" = String, description = "The customer's version: send it back in `If-None-Match` or `If-Match`."))),
        (status = 400, description = "The id is not a number: `/problems/invalid-path`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such customer: `/problems/customer-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn show(
    State(state): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let table = state.table().await?;
    let customer = db::find(&state.pool, &table, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let tag = etag(customer.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let body = CustomerBody::new(customer, state.orders.base_url());
    Ok(([(header::ETAG, tag)], Json(body)).into_response())
}

/// Registers a customer
#[utoipa::path(
    post,
    path = "/v1/customers",
    operation_id = "createCustomer",
    tag = "customers",
    request_body = CreateCustomer,
    responses(
        (status = 201, description = "The new customer.", body = CustomerBody, headers(
            ("Location" = String, description = "The new customer's URL."),
            ("ETag" = String, description = "The customer's version: send it back in `If-None-Match` or `If-Match`."),
        )),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB: `/problems/body-too-large`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`: `/problems/unsupported-media-type`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another customer has this email: `/problems/email-taken`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn create(
    State(state): State<Service>,
    Json(body): Json<CreateCustomer>,
) -> Result<Response, ApiError> {
    let new = NewCustomer {
        name: validate::name(&body.name)?,
        email: validate::email(&body.email)?,
        phone: validate::phone(body.phone.as_deref())?,
    };
    let table = state.table().await?;
    let customer = db::insert(&state.pool, &table, &new).await?;
    let location = format!("/v1/customers/{}", customer.id);
    let tag = etag(customer.version);
    let body = CustomerBody::new(customer, state.orders.base_url());
    Ok((
        StatusCode::CREATED,
        [
            (
                header::LOCATION,
                HeaderValue::try_from(location)
                    .unwrap_or(HeaderValue::from_static("/v1/customers")),
            ),
            (header::ETAG, tag),
        ],
        Json(body),
    )
        .into_response())
}

/// Changes a customer
///
/// A merge patch: the fields present are changed, the others kept. With `If-Match`, the
/// change is refused (412) when the customer changed since the client read it.
#[utoipa::path(
    patch,
    path = "/v1/customers/{id}",
    operation_id = "updateCustomer",
    tag = "customers",
    params(
        ("id" = i64, Path, description = "The customer's id."),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The ETag the client read; `*` for any."),
    ),
    request_body = UpdateCustomer,
    responses(
        (status = 200, description = "The changed customer.", body = CustomerBody, headers(("ETag" = String, description = "The customer's version: send it back in `If-None-Match` or `If-Match`."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json`, `If-Match` is not an ETag of this service (`/problems/invalid-query`) or the id is not a number (`/problems/invalid-path`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB: `/problems/body-too-large`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/json`: `/problems/unsupported-media-type`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such customer: `/problems/customer-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another customer has this email: `/problems/email-taken`.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The customer changed since the client read it: `/problems/precondition-failed`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn update(
    State(state): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<UpdateCustomer>,
) -> Result<Response, ApiError> {
    let expected = required_version(&headers).map_err(ApiError::BadQuery)?;
    let changes = CustomerChanges {
        name: body.name.as_deref().map(validate::name).transpose()?,
        email: body.email.as_deref().map(validate::email).transpose()?,
        phone: validate::phone(body.phone.as_deref())?,
        status: body.status.as_deref().map(customer_status).transpose()?,
    };
    let table = state.table().await?;
    match db::update(&state.pool, &table, id, &changes, expected).await? {
        Some(customer) => {
            let tag = etag(customer.version);
            Ok((
                [(header::ETAG, tag)],
                Json(CustomerBody::new(customer, state.orders.base_url())),
            )
                .into_response())
        }
        None if db::find(&state.pool, &table, id).await?.is_some() => {
            Err(ApiError::PreconditionFailed(id))
        }
        None => Err(ApiError::NotFound(id)),
    }
}

/// Deletes a customer without open orders
///
/// Whether the customer has open orders is the orders service's knowledge: when that
/// service cannot answer, nothing is deleted (503).
#[utoipa::path(
    delete,
    path = "/v1/customers/{id}",
    operation_id = "deleteCustomer",
    tag = "customers",
    params(("id" = i64, Path, description = "The customer's id.")),
    responses(
        (status = 204, description = "The customer is deleted."),
        (status = 400, description = "The id is not a number: `/problems/invalid-path`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such customer: `/problems/customer-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer has open orders: `/problems/customer-has-open-orders`, with `open_order_count`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The orders service (`/problems/dependency-unavailable`) or the database (`/problems/database-unavailable`) does not answer; nothing was deleted. With `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn remove(
    State(state): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<StatusCode, ApiError> {
    let table = state.table().await?;
    db::find(&state.pool, &table, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let stats = state
        .orders
        .stats(id, &request_id)
        .await
        .map_err(ApiError::OrdersUnavailable)?;
    if stats.open_order_count > 0 {
        return Err(ApiError::HasOpenOrders {
            id,
            count: stats.open_order_count,
        });
    }
    if db::delete(&state.pool, &table, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(id))
    }
}

/// A customer with its order figures
///
/// The figures come from the orders service. When it cannot answer, the profile degrades:
/// 200, `order_stats: null`, `degraded: ["order_stats"]` and a `Warning` header.
#[utoipa::path(
    get,
    path = "/v1/customers/{id}/profile",
    operation_id = "getCustomerProfile",
    tag = "customers",
    params(("id" = i64, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "The profile.", body = ProfileBody, headers(
            ("Warning" = String, description = "Present when the answer is degraded."),
        )),
        (status = 400, description = "The id is not a number: `/problems/invalid-path`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such customer: `/problems/customer-not-found`.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "The client accepts neither JSON nor XML: `/problems/not-acceptable`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "A failure the service logged: `/problems/internal`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer: `/problems/database-unavailable`, with `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn profile(
    State(state): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<Response, ApiError> {
    let table = state.table().await?;
    let customer = db::find(&state.pool, &table, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let customer = CustomerBody::new(customer, state.orders.base_url());
    match state.orders.stats(id, &request_id).await {
        Ok(stats) => Ok(Json(ProfileBody {
            customer,
            order_stats: Some(OrderStatsBody {
                open_order_count: stats.open_order_count,
                lifetime_value: stats.lifetime_value,
            }),
            degraded: Vec::new(),
        })
        .into_response()),
        Err(err) => {
            tracing::warn!(%err, customer = id, "profile served without order figures");
            let warning =
                HeaderValue::from_static("199 customers \"order statistics unavailable\"");
            Ok((
                [(header::WARNING, warning)],
                Json(ProfileBody {
                    customer,
                    order_stats: None,
                    degraded: vec!["order_stats"],
                }),
            )
                .into_response())
        }
    }
}

/// Whether the service can reach its database
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "getHealth",
    tag = "customers",
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

/// The customer statuses this service knows.
fn customer_status(value: &str) -> Result<&'static str, validate::Invalid> {
    match value {
        "active" => Ok("active"),
        "suspended" => Ok("suspended"),
        _ => Err(validate::invalid("status", "must be active or suspended")),
    }
}
