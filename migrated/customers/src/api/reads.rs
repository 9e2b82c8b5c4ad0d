//! The customers API's reads: a page of customers or a batch lookup, one customer, a
//! profile, and the health check. A profile needs orders for its figures and degrades when
//! orders cannot answer: the customer is still shown, with `order_stats: null` and a
//! `Warning`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chassis::http::conditional::{etag, not_modified};
use chassis::http::page::PageParams;
use chassis::http::{Json, Path, Query, RequestId};

use super::wire::{
    CustomerBody, CustomerPage, Link, ListParams, OrderStatsBody, PageLinks, ProfileBody,
};
use super::{MAX_BATCH, Service};
use crate::db;
use crate::error::ApiError;
use crate::openapi::{Always, CustomerNotFound, DatabaseDown, InvalidId, Problem};

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
        Always, DatabaseDown,
    ),
)]
pub(super) async fn list(
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
            next: page.next(total).filter(|_| paged).map(link),
            prev: page.prev().filter(|_| paged).map(link),
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
        InvalidId, CustomerNotFound, Always, DatabaseDown,
    ),
)]
pub(super) async fn show(
    State(state): State<Service>,
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
        InvalidId, CustomerNotFound, Always, DatabaseDown,
    ),
)]
pub(super) async fn profile(
    State(state): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<Response, ApiError> {
    // The figures need only the id: ask orders while the customer is read, so the
    // profile waits for the slower of the two rather than their sum. For an unknown id
    // the figures are asked for in vain; that costs the orders service a read, not the
    // caller any time.
    let customer = async { Ok::<_, ApiError>(db::find(&state.pool, id).await?) };
    let (customer, stats) = tokio::join!(customer, state.orders.stats(id, &request_id));
    let customer = customer?.ok_or(ApiError::NotFound(id))?;
    let customer = CustomerBody::new(customer, state.orders.base_url());
    match stats {
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
        DatabaseDown,
    ),
)]
pub(super) async fn health(
    State(state): State<Service>,
) -> Result<Json<serde_json::Value>, chassis::http::Problem> {
    chassis::db::health(&state.pool).await
}
