//! The orders API's reads: a page of orders, one order, a customer's order figures, and
//! the health check. A read that needs customers degrades when customers cannot answer:
//! the order is still shown, with `customer: null` and a `Warning`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chassis::http::page::PageParams;
use chassis::http::{Json, Path, Query, RequestId};

use super::wire::{Link, ListParams, OrderBody, OrderPage, OrderStatsBody, OrderV2Body, PageLinks};
use super::{STATUSES, Service, customers_of, with_warning};
use crate::db;
use crate::error::ApiError;
use crate::openapi::{
    Always, DatabaseDown, InvalidId, OrderNotFound, OrderNotFoundOrNoV2, Problem,
};

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
        Always, DatabaseDown,
    ),
)]
pub(super) async fn list(
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
    let (orders, total) = db::list(
        &state.pool,
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
            next: page.next(total).map(link),
            prev: page.prev().map(link),
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
        InvalidId, OrderNotFound, Always, DatabaseDown,
    ),
)]
pub(super) async fn show(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let order = db::find(&state.pool, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let customers = customers_of(&state, std::slice::from_ref(&order), &request_id).await;
    let body = OrderBody::new(order, &customers, state.customers.base_url());
    // The representation joins two services' data, so its ETag hashes what is sent.
    let tag = match tagged(&headers, &body) {
        Ok(tag) => tag,
        Err(not_modified) => return Ok(*not_modified),
    };
    Ok(with_warning(
        &customers,
        ([(header::ETAG, tag)], Json(body)),
    ))
}

/// One order in API v2: the amount in its currency
///
/// Published by the orders team's release that keeps each order's currency
/// (`order-currency`); until a release publishes it, `/problems/version-not-published`.
/// v1 keeps its meaning: its `total` is v2's `booked` amount, in euros.
#[utoipa::path(
    get,
    path = "/v2/orders/{id}",
    operation_id = "getOrderV2",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id.")),
    responses(
        (status = 200, description = "The order.", body = OrderV2Body, headers(
            ("ETag" = String, description = "The representation's validator."),
        )),
        (status = 304, description = "The client's copy is current.", headers(
            ("ETag" = String, description = "The representation's validator."),
        )),
        InvalidId, OrderNotFoundOrNoV2, Always, DatabaseDown,
    ),
)]
pub(super) async fn show_v2(
    State(state): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let order = match db::find_v2(&state.pool, id).await? {
        db::V2::Published(order) => order.ok_or(ApiError::NotFound(id))?,
        db::V2::NotPublished => return Err(ApiError::VersionNotPublished("v2")),
    };
    let body = OrderV2Body::from(order);
    let tag = match tagged(&headers, &body) {
        Ok(tag) => tag,
        Err(not_modified) => return Ok(*not_modified),
    };
    Ok(([(header::ETAG, tag)], Json(body)).into_response())
}

/// The ETag of `body` as sent (a hash of its bytes), or a 304 when `If-None-Match` names it.
fn tagged<T: serde::Serialize>(
    headers: &HeaderMap,
    body: &T,
) -> Result<HeaderValue, Box<Response>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let tag = chassis::http::conditional::etag_of(&bytes);
    if chassis::http::conditional::not_modified(headers, &tag) {
        return Err(Box::new(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response(),
        ));
    }
    Ok(tag)
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
        Always, DatabaseDown,
    ),
)]
pub(super) async fn order_stats(
    State(state): State<Service>,
    Path(customer_id): Path<i64>,
) -> Result<Json<OrderStatsBody>, ApiError> {
    let stats = db::stats(&state.pool, customer_id).await?;
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
        DatabaseDown,
    ),
)]
pub(super) async fn health(
    State(state): State<Service>,
) -> Result<Json<serde_json::Value>, chassis::http::Problem> {
    chassis::db::health(&state.pool).await
}
