//! The customers service as a consumer of the orders service: one question, "what are this
//! customer's order figures?", asked over HTTP with a timeout, retries and a breaker
//! (`chassis::consumer`). The answer is read into this service's own type, which holds only the
//! fields it uses and ignores the rest.

use chassis::consumer::{Upstream, UpstreamConfig, UpstreamError};
use rust_decimal::Decimal;
use serde::Deserialize;

/// A customer's order figures, as the orders API gives them (tolerant reader).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderStats {
    pub open_order_count: i64,
    pub lifetime_value: Decimal,
}

/// The orders service, as this service calls it.
#[derive(Debug)]
pub struct OrdersClient {
    upstream: Upstream,
}

impl OrdersClient {
    pub fn new(base_url: &str, config: UpstreamConfig) -> Result<Self, reqwest::Error> {
        Ok(Self {
            upstream: Upstream::new("orders", base_url, config)?,
        })
    }

    /// The orders API's base URL, for links.
    pub fn base_url(&self) -> &str {
        self.upstream.base_url()
    }

    /// The customer's open-order count and lifetime value.
    pub async fn stats(
        &self,
        customer_id: i64,
        request_id: &str,
    ) -> Result<OrderStats, UpstreamError> {
        let path = format!("/v1/order-stats/{customer_id}");
        self.upstream
            .get(&path, request_id)
            .await?
            .ok_or_else(|| UpstreamError::Unavailable {
                upstream: "orders",
                reason: "the order-stats resource is missing".to_owned(),
                retry_after: std::time::Duration::from_secs(30),
            })
    }
}
