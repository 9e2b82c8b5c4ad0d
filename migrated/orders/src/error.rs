//! Everything the orders API can answer besides success. Each kind of problem has a stable
//! `type`; no table, column or Rust type reaches a client. Causes of 5xx are logged here,
//! once, inside the request span.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chassis::consumer::UpstreamError;
use chassis::db::Failure;
use chassis::http::{Problem, Rejection};
use chassis::validate::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("order {0} not found")]
    NotFound(i64),
    #[error("API version {0} is not published by this database's release")]
    VersionNotPublished(&'static str),
    #[error("invalid {0}")]
    Invalid(#[from] Invalid),
    #[error("invalid query: {0}")]
    BadQuery(String),
    #[error("customer {0} does not exist")]
    UnknownCustomer(i64),
    #[error("customer {0} is {1}")]
    CustomerNotActive(i64, String),
    #[error("email already registered")]
    EmailTaken,
    #[error("the customers service refused the guest: {0}")]
    GuestRefused(String),
    #[error("order {id} cannot go from {from} to {to}")]
    InvalidTransition { id: i64, from: String, to: String },
    #[error("idempotency key reused for another request")]
    IdempotencyKeyReused,
    #[error("the order {0} this idempotency key created was deleted")]
    OrderDeleted(i64),
    /// The customers service could not confirm the customer or register the guest: fail
    /// closed, whether it is unreachable or refused this service's call.
    #[error("customers call failed: {0}")]
    Customers(#[from] UpstreamError),
    #[error(transparent)]
    Rejection(#[from] Rejection),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    fn problem(&self) -> Problem {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match self {
            Self::NotFound(id) => Problem::new(StatusCode::NOT_FOUND, "order-not-found", "Order not found")
                .detail(format!("There is no order {id}.")),
            Self::VersionNotPublished(version) => Problem::new(StatusCode::NOT_FOUND, "version-not-published", "API version not published")
                .detail(format!("The orders team has not published API {version} yet; use v1.")),
            Self::Invalid(invalid) => Problem::new(unprocessable, "validation", "Invalid order")
                .detail(invalid.to_string())
                .with("field", invalid.field),
            Self::BadQuery(message) => Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid query string")
                .detail(message.clone()),
            Self::UnknownCustomer(id) => Problem::new(unprocessable, "unknown-customer", "Unknown customer")
                .detail(format!("There is no customer {id}."))
                .with("customer_id", *id),
            Self::CustomerNotActive(id, status) => Problem::new(unprocessable, "customer-not-active", "Customer cannot order")
                .detail(format!("Customer {id} is {status}."))
                .with("customer_id", *id),
            Self::EmailTaken => Problem::new(StatusCode::CONFLICT, "email-taken", "Email already registered")
                .detail("A customer with this email exists; order as that customer instead."),
            Self::GuestRefused(detail) => Problem::new(unprocessable, "validation", "Invalid guest").detail(detail.clone()),
            Self::InvalidTransition { id, from, to } => Problem::new(StatusCode::CONFLICT, "invalid-transition", "Invalid status change")
                .detail(format!("Order {id} is {from}; it cannot become {to}.")),
            Self::IdempotencyKeyReused => Problem::new(unprocessable, "idempotency-key-reused", "Idempotency key reused")
                .detail("This Idempotency-Key was used for a different order; use a new key for a new order."),
            Self::OrderDeleted(id) => Problem::new(StatusCode::GONE, "order-deleted", "Order deleted")
                .detail(format!("This Idempotency-Key created order {id}, which has since been deleted; nothing was placed. Use a new key for a new order."))
                .with("order_id", *id),
            Self::Customers(err) => match err.retry_after_secs() {
                // Down, hanging, failing or shedding load: it may be back soon.
                Some(seconds) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "dependency-unavailable", "Customer service unavailable")
                    .detail("The customer cannot be confirmed right now, so no order was placed. Retry later.")
                    .retry_after(seconds),
                // It is up and said no (or said something unreadable): the client's request
                // is not at fault, and repeating it will not help. What it said is logged.
                None => Problem::new(StatusCode::BAD_GATEWAY, "upstream-rejected", "Customer service refused the call")
                    .detail("The customers service refused the call this service made for your request, so nothing was written."),
            },
            Self::Rejection(rejection) => rejection.to_problem(),
            Self::Database(err) => match chassis::db::failure(err) {
                Failure::Unavailable => Problem::database_unavailable(),
                _ => Problem::internal(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status_code().is_server_error() {
            let sqlstate = match &self {
                Self::Database(err) => chassis::db::sqlstate(err),
                _ => None,
            };
            tracing::error!(error = %self, ?sqlstate, "request failed");
        }
        problem.into_response()
    }
}
