//! The customers API, version 1. Representations are this module's own types: a client sees
//! resources and links, never the table behind them. `GET /v1/customers?ids=` is the batch
//! lookup that lets the orders service show a page of orders with one call.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kit::http::conditional::{etag, not_modified, required_version};
use kit::http::negotiate::{RootOf, negotiate};
use kit::http::page::PageParams;
use kit::http::{Json, Path, Query, RequestId};
use kit::validate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::db::{self, Customer, CustomerChanges, NewCustomer};
use crate::error::ApiError;

/// How many ids one batch lookup may name.
pub const MAX_BATCH: usize = 200;

/// The customers service's routes, with the layers every service gets.
pub fn router(state: AppState) -> Router {
    kit::http::finish(
        Router::new()
            .route("/v1/customers", get(list).post(create))
            .route("/v1/customers/{id}", get(show).patch(update).delete(remove))
            .route("/v1/customers/{id}/profile", get(profile))
            .route_layer(from_fn_with_state(xml_root as RootOf, negotiate))
            .route("/health", get(health))
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

#[derive(Debug, Serialize)]
struct Link {
    href: String,
}

#[derive(Debug, Serialize)]
struct CustomerLinks {
    #[serde(rename = "self")]
    self_: Link,
    profile: Link,
    orders: Link,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize)]
struct CustomerBody {
    id: i64,
    name: String,
    email: String,
    phone: Option<String>,
    status: String,
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

#[derive(Debug, Serialize)]
struct PageLinks {
    #[serde(rename = "self")]
    self_: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<Link>,
}

#[derive(Debug, Serialize)]
struct CustomerPage {
    items: Vec<CustomerBody>,
    limit: i64,
    offset: i64,
    total: i64,
    _links: PageLinks,
}

#[derive(Debug, Serialize)]
struct OrderStatsBody {
    open_order_count: i64,
    lifetime_value: Decimal,
}

/// A customer with its order figures, which come from the orders service and may be
/// missing: then `order_stats` is null and `degraded` says so.
#[derive(Debug, Serialize)]
struct ProfileBody {
    #[serde(flatten)]
    customer: CustomerBody,
    order_stats: Option<OrderStatsBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    degraded: Vec<&'static str>,
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<i64>,
    offset: Option<i64>,
    /// Comma-separated ids: the batch lookup.
    ids: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCustomer {
    name: String,
    email: String,
    phone: Option<String>,
}

/// A merge patch: the fields present are changed, the others kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateCustomer {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
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

async fn list(
    State(state): State<AppState>,
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
            let found = db::by_ids(&state.pool, &ids).await?;
            let total = found.len() as i64;
            let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
            (
                found,
                total,
                format!("/v1/customers?ids={}", joined.join(",")),
            )
        }
        None => {
            let (found, total) = db::list(&state.pool, page).await?;
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

/// A customer with its ETag; 304 when the client's copy is current.
async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let customer = db::find(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let tag = etag(customer.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let body = CustomerBody::new(customer, state.orders.base_url());
    Ok(([(header::ETAG, tag)], Json(body)).into_response())
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateCustomer>,
) -> Result<Response, ApiError> {
    let new = NewCustomer {
        name: validate::name(&body.name)?,
        email: validate::email(&body.email)?,
        phone: validate::phone(body.phone.as_deref())?,
    };
    let customer = db::insert(&state.pool, &new).await?;
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

/// Merge-patches a customer. With `If-Match`, refuses (412) when it changed meanwhile.
async fn update(
    State(state): State<AppState>,
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
    match db::update(&state.pool, id, &changes, expected).await? {
        Some(customer) => {
            let tag = etag(customer.version);
            Ok((
                [(header::ETAG, tag)],
                Json(CustomerBody::new(customer, state.orders.base_url())),
            )
                .into_response())
        }
        None if db::find(&state.pool, id).await?.is_some() => Err(ApiError::PreconditionFailed(id)),
        None => Err(ApiError::NotFound(id)),
    }
}

/// Deletes a customer without open orders. Whether it has any is the orders service's
/// knowledge: when that service cannot answer, nothing is deleted (fail closed).
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<StatusCode, ApiError> {
    db::find(&state.pool, id)
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
    if db::delete(&state.pool, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(id))
    }
}

/// The profile degrades when the orders service cannot answer: 200, the customer, no
/// figures, `degraded: ["order_stats"]` and a `Warning` header.
async fn profile(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<Response, ApiError> {
    let customer = db::find(&state.pool, id)
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

async fn health(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, kit::http::Problem> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await
        .map(|_| Json(serde_json::json!({ "status": "ok" })))
        .map_err(|err| {
            tracing::warn!(%err, "health check failed");
            kit::http::Problem::database_unavailable()
        })
}

/// The customer statuses this service knows.
fn customer_status(value: &str) -> Result<&'static str, validate::Invalid> {
    match value {
        "active" => Ok("active"),
        "suspended" => Ok("suspended"),
        _ => Err(validate::invalid("status", "must be active or suspended")),
    }
}
