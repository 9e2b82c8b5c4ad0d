//! Everything the customers service can answer besides success, and how each looks on the
//! wire. Causes of 5xx are logged here, once, inside the request span; clients get none.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
    /// A flow switched to the orders API could not get its answer: fail closed.
    #[error("orders call failed: {0}")]
    Orders(#[from] chassis::consumer::UpstreamError),
    #[error(transparent)]
    Rejection(#[from] Rejection),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound(id) => Problem::new(
                StatusCode::NOT_FOUND,
                "customer-not-found",
                "Customer not found",
            )
            .detail(format!("There is no customer {id}.")),
            Self::Invalid(invalid) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid customer",
            )
            .detail(invalid.to_string())
            .with("field", invalid.field),
            Self::BadQuery(message) => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-query",
                "Invalid query string",
            )
            .detail(message.clone()),
            Self::EmailTaken => Problem::new(
                StatusCode::CONFLICT,
                "email-taken",
                "Email already registered",
            )
            .detail("Another customer has this email address."),
            Self::HasOpenOrders { id, count } => Problem::new(
                StatusCode::CONFLICT,
                "customer-has-open-orders",
                "Customer has open orders",
            )
            .detail(format!(
                "Customer {id} has {count} open orders; cancel or ship them first."
            ))
            .with("open_order_count", *count),
            Self::Orders(err) => crate::strangler::owner_failed(err, "orders"),
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
            tracing::error!(error = %self, sqlstate = self.sqlstate().as_deref(), "request failed");
        }
        problem.into_response()
    }
}

impl ApiError {
    fn sqlstate(&self) -> Option<String> {
        match self {
            Self::Database(err) => chassis::db::sqlstate(err),
            _ => None,
        }
    }
}
