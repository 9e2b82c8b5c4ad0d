//! The customers service as a consumer of the orders service: one question, "what are this
//! customer's order figures?", asked over HTTP with a timeout, retries and a breaker
//! (`chassis::consumer`). The answer is read into this service's own type, which holds only the
//! fields it uses and ignores the rest.

use std::time::Duration;

use chassis::consumer::{InvalidUpstream, Upstream, UpstreamConfig, UpstreamError};
use chassis::resilience::{BreakerConfig, RetryPolicy};
use rust_decimal::Decimal;
use serde::Deserialize;

/// How patient this service is with orders. A profile waits on orders at most `budget`
/// before it degrades; a delete waits as long before it fails closed.
pub const CALL_POLICY: UpstreamConfig = UpstreamConfig {
    // Services sit on one network: a connection that takes this long is not coming.
    connect_timeout: Duration::from_millis(250),
    // The figures are one indexed aggregate; this leaves room for a slow moment while
    // still leaving time in the budget for a retry.
    attempt_timeout: Duration::from_millis(800),
    // What a client reading a profile or deleting a customer can be asked to wait.
    budget: Duration::from_secs(2),
    // The figures are a GET, safe to repeat; jitter keeps many profiles from retrying in
    // step after one outage.
    retry: RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
    },
    // Failures in a row that are a pattern rather than a blip. Then a short first open
    // period, so that a sub-second blip (an owner restarting, a release switching over)
    // costs at most a quarter second of refusals once the owner is back; each failed probe
    // doubles it up to a second, so a dead owner gets about one call a second instead of
    // every request's. Measured on the paused clock (`chassis/src/resilience/breaker/
    // tests.rs`): a 0.24 s blip costs 50 ms and 5 refused calls (a fixed 1 s open: 800 ms
    // and 80), a 0.5 s one 290 ms, a longer one 790 ms; a dead owner gets 66 of 6,000.
    breaker: BreakerConfig {
        failure_threshold: 5,
        open_for: Duration::from_millis(250),
        max_open_for: Duration::from_secs(1),
    },
};

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
    pub fn new(base_url: &str, config: UpstreamConfig) -> Result<Self, InvalidUpstream> {
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
        // Orders answers figures for any customer id, so a 404 means the resource itself
        // is gone: orders is up and refused the call, which waiting will not mend.
        self.upstream
            .get(&path, request_id)
            .await?
            .ok_or(UpstreamError::Rejected {
                upstream: "orders",
                status: reqwest::StatusCode::NOT_FOUND,
                body: serde_json::Value::Null,
            })
    }
}
