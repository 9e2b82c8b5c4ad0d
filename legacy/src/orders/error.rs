//! Everything the orders service can answer besides success, and how each looks on the
//! wire. Causes of 5xx are logged here, once, inside the request span; clients get none.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chassis::db::Failure;
use chassis::http::{Problem, Rejection};

use chassis::validate::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("order {0} not found")]
    NotFound(i64),
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
    #[error("order {id} cannot go from {from} to {to}")]
    InvalidTransition { id: i64, from: String, to: String },
    #[error("idempotency key reused for another order")]
    IdempotencyKeyReused,
    #[error("order {0}, placed with this idempotency key, was deleted")]
    OrderDeleted(i64),
    /// A flow switched to the customers API could not get its answer: fail closed.
    #[error("customers call failed: {0}")]
    Customers(#[from] chassis::consumer::UpstreamError),
    #[error(transparent)]
    Rejection(#[from] Rejection),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    fn problem(&self) -> Problem {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match self {
            Self::NotFound(id) => {
                Problem::new(StatusCode::NOT_FOUND, "order-not-found", "Order not found")
                    .detail(format!("There is no order {id}."))
            }
            Self::Invalid(invalid) => Problem::new(unprocessable, "validation", "Invalid order")
                .detail(invalid.to_string())
                .with("field", invalid.field),
            Self::BadQuery(message) => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-query",
                "Invalid query string",
            )
            .detail(message.clone()),
            Self::UnknownCustomer(id) => {
                Problem::new(unprocessable, "unknown-customer", "Unknown customer")
                    .detail(format!("There is no customer {id}."))
                    .with("customer_id", *id)
            }
            Self::CustomerNotActive(id, status) => Problem::new(
                unprocessable,
                "customer-not-active",
                "Customer cannot order",
            )
            .detail(format!("Customer {id} is {status}."))
            .with("customer_id", *id),
            Self::EmailTaken => Problem::new(
                StatusCode::CONFLICT,
                "email-taken",
                "Email already registered",
            )
            .detail("A customer with this email exists; order as that customer instead."),
            Self::InvalidTransition { id, from, to } => Problem::new(
                StatusCode::CONFLICT,
                "invalid-transition",
                "Invalid status change",
            )
            .detail(format!("Order {id} is {from}; it cannot become {to}.")),
            Self::IdempotencyKeyReused => Problem::new(
                unprocessable,
                "idempotency-key-reused",
                "Idempotency key reused",
            )
            .detail("This Idempotency-Key was used for a different order; use a new key for a new order."),
            Self::OrderDeleted(id) => {
                Problem::new(StatusCode::GONE, "order-deleted", "Order deleted")
                    .detail(format!(
                        "The order this Idempotency-Key placed, {id}, was deleted since; nothing was placed."
                    ))
                    .with("order_id", *id)
            }
            Self::Customers(err) => crate::strangler::owner_failed(err, "customers"),
            Self::Rejection(rejection) => rejection.to_problem(),
            Self::Database(err) => match chassis::db::failure(err) {
                Failure::Unavailable => Problem::database_unavailable(),
                Failure::Constraint("customers_email_key") => Self::EmailTaken.problem(),
                _ => Problem::internal(),
            },
        }
    }

    fn sqlstate(&self) -> Option<String> {
        match self {
            Self::Database(err) => chassis::db::sqlstate(err),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status_code().is_server_error() {
            tracing::error!(error = %self, sqlstate = self.sqlstate().as_deref(), "request failed");
        }
        problem.into_response()
    }
}
