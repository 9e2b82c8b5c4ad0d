//! Everything the customers API can answer besides success. Each kind of problem has a
//! stable `type`; no table, column or Rust type reaches a client. Causes of 5xx are logged
//! here, once, inside the request span.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chassis::consumer::UpstreamError;
use chassis::db::Failure;
use chassis::http::{Problem, Rejection};
use chassis::validate::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("customer {0} not found")]
    NotFound(i64),
    #[error("invalid {0}")]
    Invalid(#[from] Invalid),
    #[error("invalid query: {0}")]
    BadQuery(String),
    #[error("email already registered")]
    EmailTaken,
    #[error("customer {id} has {count} open orders")]
    HasOpenOrders { id: i64, count: i64 },
    #[error("customer {0} changed since it was read")]
    PreconditionFailed(i64),
    /// The orders service could not say whether the customer has open orders: fail closed,
    /// whether it is unreachable or refused this service's call.
    #[error("cannot check open orders: {0}")]
    Orders(UpstreamError),
    #[error(transparent)]
    Rejection(#[from] Rejection),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound(id) => Problem::new(StatusCode::NOT_FOUND, "customer-not-found", "Customer not found")
                .detail(format!("There is no customer {id}.")),
            Self::Invalid(invalid) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid customer")
                .detail(invalid.to_string())
                .with("field", invalid.field),
            Self::BadQuery(message) => Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid query string")
                .detail(message.clone()),
            Self::EmailTaken => Problem::new(StatusCode::CONFLICT, "email-taken", "Email already registered")
                .detail("Another customer has this email address."),
            Self::HasOpenOrders { id, count } => Problem::new(StatusCode::CONFLICT, "customer-has-open-orders", "Customer has open orders")
                .detail(format!("Customer {id} has {count} open orders; cancel or ship them first."))
                .with("open_order_count", *count),
            Self::PreconditionFailed(id) => Problem::new(StatusCode::PRECONDITION_FAILED, "precondition-failed", "Customer changed")
                .detail(format!("Customer {id} changed since you read it; GET it again and retry with its new ETag.")),
            Self::Orders(err) => match err.retry_after_secs() {
                // Down, hanging, failing or shedding load: it may be back soon.
                Some(seconds) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "dependency-unavailable", "Order service unavailable")
                    .detail("The customer cannot be deleted while its open orders cannot be checked. Nothing was changed; retry later.")
                    .retry_after(seconds),
                // It is up and said no (or said something unreadable): the client's request
                // is not at fault, and repeating it will not help. What it said is logged.
                None => Problem::new(StatusCode::BAD_GATEWAY, "upstream-rejected", "Order service refused the call")
                    .detail("The orders service refused the call this service made to check open orders, so nothing was changed."),
            },
            Self::Rejection(rejection) => rejection.to_problem(),
            Self::Database(err) => match chassis::db::failure(err) {
                Failure::Unavailable => Problem::database_unavailable(),
                Failure::Constraint("customers_email_key") => Self::EmailTaken.problem(),
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
