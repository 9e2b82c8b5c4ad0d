//! The orders API's writes: place an order, check out a guest, change an order's status,
//! delete one. A write that needs customers to confirm (or register) the customer fails
//! closed when customers cannot: nothing is written.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chassis::consumer::UpstreamError;
use chassis::http::{Json, Path, RequestId};
use chassis::validate;

use super::wire::{ChangeStatus, Customers, GuestCheckout, OrderBody, PlaceOrder};
use super::{STATUSES, Service, customers_of, with_warning};
use crate::customers_client::CustomerRef;
use crate::db::{self, Order};
use crate::error::ApiError;
use crate::openapi::{
    Always, BodyRefused, CustomersFailing, DatabaseDown, InvalidId, OrderNotFound, Problem,
};

/// Confirms the customer with its owner, over HTTP. Unreachable (503) or refusing the
/// lookup (502): fail closed, since an order for a customer nobody can vouch for is worse
/// than no order.
async fn confirm_customer(
    state: &Service,
    customer_id: i64,
    request_id: &str,
) -> Result<CustomerRef, ApiError> {
    match state.customers.lookup(customer_id, request_id).await? {
        None => Err(ApiError::UnknownCustomer(customer_id)),
        Some(customer) if customer.status.may_order() => Ok(customer),
        // Suspended, or a status this service does not know (the tolerant reader's fallback).
        Some(customer) => Err(ApiError::CustomerNotActive(
            customer_id,
            customer.status.to_string(),
        )),
    }
}

/// Places an order for an existing, active customer
///
/// The customer is confirmed with the customers service; when it cannot answer (503) or
/// refuses the call (502), no order is placed. With an `Idempotency-Key`, a retry of the
/// same request returns the order the first one created instead of a second one.
#[utoipa::path(
    post,
    path = "/v1/orders",
    operation_id = "placeOrder",
    tag = "orders",
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 200, pattern = "^[!-~]([ -~]*[!-~])?$", description = "1 to 200 visible ASCII characters; a retry with the same key and body returns the first order, or 410 if that order was deleted since."),
    ),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "The new order (or, for a retried key, the first one).", body = OrderBody, headers(("Location" = String, description = "The new order's URL."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json` or `Idempotency-Key` is malformed (`/problems/invalid-query`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`); the customer does not exist (`/problems/unknown-customer`) or is not active (`/problems/customer-not-active`, for any status but `active`, including one this service does not know), both with `customer_id`; or the `Idempotency-Key` was used for another order (`/problems/idempotency-key-reused`).", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The `Idempotency-Key` created an order that was deleted since: `/problems/order-deleted`, with `order_id`; nothing was placed.", body = Problem, content_type = "application/problem+json"),
        BodyRefused, Always, CustomersFailing,
    ),
)]
pub(super) async fn create(
    State(state): State<Service>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    Json(body): Json<PlaceOrder>,
) -> Result<Response, ApiError> {
    let total = validate::total(body.total)?;
    let key = chassis::http::idempotency_key(&headers).map_err(ApiError::BadQuery)?;
    let request_hash = format!("{}:{total}", body.customer_id);
    if let Some(key) = &key
        && let Some(order) = replay(&state, key, &request_hash).await?
    {
        return created(&state, order, &request_id).await;
    }
    let customer = confirm_customer(&state, body.customer_id, &request_id).await?;
    let (pool, customer_id) = (state.pool.clone(), customer.id);
    let remembered = key.clone().map(|key| (key, request_hash.clone()));
    let placed = chassis::db::to_completion(async move {
        db::place(&pool, customer_id, total, remembered).await
    })
    .await?;
    let Some(order) = placed else {
        // Two requests with one key raced; the other one won. Answer with its order.
        tracing::info!("idempotency key taken concurrently");
        let key = key.unwrap_or_default();
        return match replay(&state, &key, &request_hash).await? {
            Some(order) => created(&state, order, &request_id).await,
            None => Err(ApiError::IdempotencyKeyReused),
        };
    };
    let known = Customers::Known(HashMap::from([(customer.id, customer)]));
    Ok(created_response(OrderBody::new(
        order,
        &known,
        state.customers.base_url(),
    )))
}

/// The order a key already produced. One query at a time, each on a connection of its
/// own: holding one connection while asking the pool for another let 20 concurrent
/// replays take every connection and wait for each other until they all timed out.
async fn replay(state: &Service, key: &str, request_hash: &str) -> Result<Option<Order>, ApiError> {
    match db::idempotent_order(&state.pool, key).await? {
        None => Ok(None),
        Some((hash, _)) if hash != request_hash => Err(ApiError::IdempotencyKeyReused),
        Some((_, order_id)) => match db::find(&state.pool, order_id).await? {
            Some(order) => Ok(Some(order)),
            // The key outlives its order, so a late retry cannot place the order again.
            None => Err(ApiError::OrderDeleted(order_id)),
        },
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
/// When the customers service cannot answer (503) or refuses the call (502), nothing is
/// written.
#[utoipa::path(
    post,
    path = "/v1/guest-checkouts",
    operation_id = "guestCheckout",
    tag = "orders",
    request_body = GuestCheckout,
    responses(
        (status = 201, description = "The new order.", body = OrderBody, headers(("Location" = String, description = "The new order's URL."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`); the customers service refused the buyer's details.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A customer with this email exists: `/problems/email-taken`.", body = Problem, content_type = "application/problem+json"),
        BodyRefused, Always, CustomersFailing,
    ),
)]
pub(super) async fn guest_checkout(
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
        // The buyer's details, refused by their owner: the client can correct them. Any
        // other refusal is between the services, and becomes a 502 below.
        Err(UpstreamError::Rejected { status, body, .. })
            if status == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            let detail = body["detail"]
                .as_str()
                .unwrap_or("the customer details were refused")
                .to_owned();
            return Err(ApiError::GuestRefused(detail));
        }
        Err(err) => return Err(err.into()),
    };
    let (pool, customer_id) = (state.pool.clone(), customer.id);
    let order =
        chassis::db::to_completion(async move { db::place(&pool, customer_id, total, None).await })
            .await?
            .ok_or(ApiError::IdempotencyKeyReused)?;
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
        (status = 422, description = "The body has the wrong shape (`/problems/invalid-body`) or a field breaks a rule (`/problems/validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order cannot move to that status: `/problems/invalid-transition`.", body = Problem, content_type = "application/problem+json"),
        OrderNotFound, BodyRefused, Always, DatabaseDown,
    ),
)]
pub(super) async fn update(
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
    let pool = state.pool.clone();
    let order = chassis::db::to_completion(async move {
        let mut tx = pool.begin().await?;
        let current = db::lock_status(&mut tx, id)
            .await?
            .ok_or(ApiError::NotFound(id))?;
        if !transition_allowed(&current, &body.status) {
            return Err(ApiError::InvalidTransition {
                id,
                from: current,
                to: body.status,
            });
        }
        let order = db::set_status(&mut tx, id, &body.status).await?;
        tx.commit().await?;
        Ok(order)
    })
    .await?;
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
        InvalidId, OrderNotFound, Always, DatabaseDown,
    ),
)]
pub(super) async fn remove(
    State(state): State<Service>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if db::delete(&state.pool, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(id))
    }
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
