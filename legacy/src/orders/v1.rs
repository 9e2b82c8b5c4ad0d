//! The orders team's `/v1` API for the other team (the road's state 3): a customer's order
//! figures. Which orders are open and which money counts is said once, here, in this
//! team's words, through its shape view; the consumer gets two numbers.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::ApiError;
use super::db::{self, OrderStats};
use super::routes::Service;
use chassis::http::{Json, Path};

pub(super) fn routes() -> Router<Service> {
    Router::new().route("/v1/order-stats/{customer_id}", get(stats))
}

/// Figures for any customer id: a customer without orders has zero of each.
async fn stats(
    State(svc): State<Service>,
    Path(customer_id): Path<i64>,
) -> Result<Json<OrderStats>, ApiError> {
    Ok(Json(db::stats(&svc.pool, customer_id).await?))
}
