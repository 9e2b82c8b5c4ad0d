//! The customers API's writes: register, change and delete a customer. Only a delete needs
//! the orders service (to know of open orders), and it fails closed when orders cannot
//! answer: nothing is deleted.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chassis::http::conditional::{IfMatch, etag, if_match};
use chassis::http::{Json, Path, RequestId};
use chassis::validate;

use super::Service;
use super::wire::{CreateCustomer, CustomerBody, UpdateCustomer};
use crate::db::{self, CustomerChanges, NewCustomer};
use crate::error::ApiError;
use crate::openapi::{
    Always, BodyRefused, CustomerNotFound, DatabaseDown, EmailTaken, InvalidBody, InvalidId,
    OrdersFailing, Problem,
};

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
        EmailTaken, BodyRefused, InvalidBody, Always, DatabaseDown,
    ),
)]
pub(super) async fn create(
    State(state): State<Service>,
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
        ("If-Match" = Option<String>, Header, nullable = false, min_length = 1, pattern = "^(\\*|\"[0-9]{1,9}\")$", description = "The ETag the client read; `*` for any."),
    ),
    request_body = UpdateCustomer,
    responses(
        (status = 200, description = "The changed customer.", body = CustomerBody, headers(("ETag" = String, description = "The customer's version: send it back in `If-None-Match` or `If-Match`."))),
        (status = 400, description = "The body is not JSON: `/problems/malformed-json`, or the id is not a number (`/problems/invalid-path`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current version: the customer changed since the client read it, or the tag is not one this service issued (`/problems/precondition-failed`).", body = Problem, content_type = "application/problem+json"),
        CustomerNotFound, EmailTaken, BodyRefused, InvalidBody, Always, DatabaseDown,
    ),
)]
pub(super) async fn update(
    State(state): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<UpdateCustomer>,
) -> Result<Response, ApiError> {
    let changes = CustomerChanges {
        name: body.name.as_deref().map(validate::name).transpose()?,
        email: body.email.as_deref().map(validate::email).transpose()?,
        phone: validate::phone(body.phone.as_deref())?,
        status: body.status.as_deref().map(customer_status).transpose()?,
    };
    let expected = match if_match(&headers) {
        IfMatch::Any => None,
        IfMatch::Version(version) => Some(version),
        IfMatch::Never => {
            return match db::find(&state.pool, id).await? {
                Some(_) => Err(ApiError::PreconditionFailed(id)),
                None => Err(ApiError::NotFound(id)),
            };
        }
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

/// Deletes a customer without open orders
///
/// Whether the customer has open orders is the orders service's knowledge: when that
/// service cannot answer (503) or refuses the call (502), nothing is deleted.
#[utoipa::path(
    delete,
    path = "/v1/customers/{id}",
    operation_id = "deleteCustomer",
    tag = "customers",
    params(("id" = i64, Path, description = "The customer's id.")),
    responses(
        (status = 204, description = "The customer is deleted."),
        (status = 409, description = "The customer has open orders: `/problems/customer-has-open-orders`, with `open_order_count`.", body = Problem, content_type = "application/problem+json"),
        InvalidId, CustomerNotFound, Always, OrdersFailing,
    ),
)]
pub(super) async fn remove(
    State(state): State<Service>,
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
        .map_err(ApiError::Orders)?;
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

/// The customer statuses this service knows.
fn customer_status(value: &str) -> Result<&'static str, validate::Invalid> {
    match value {
        "active" => Ok("active"),
        "suspended" => Ok("suspended"),
        _ => Err(validate::invalid("status", "must be active or suspended")),
    }
}
