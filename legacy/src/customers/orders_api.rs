//! The customers service as a consumer of the orders team's API (state 3 of the road): one
//! question, a customer's order figures, asked over HTTP instead of SQL.

use chassis::consumer::{Upstream, UpstreamError};

use super::db::OrderStats;

/// The customer's open-order count and lifetime value, as the orders team counts them.
pub(super) async fn stats(
    orders: &Upstream,
    customer_id: i64,
    request_id: &str,
) -> Result<OrderStats, UpstreamError> {
    // Orders answers figures for any customer id: a 404 is the resource itself gone.
    orders
        .get(&format!("/v1/order-stats/{customer_id}"), request_id)
        .await?
        .ok_or(UpstreamError::Rejected {
            upstream: "orders",
            status: reqwest::StatusCode::NOT_FOUND,
            body: serde_json::Value::Null,
        })
}
