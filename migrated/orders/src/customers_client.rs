//! The orders service as a consumer of the customers service, over HTTP only: look up one
//! customer, look up a page's worth in one batch call, register a guest. Answers are read
//! into this service's own types, which hold only the fields it uses and ignore the rest
//! (tolerant reader), so the customers team can add fields without breaking anyone here.

use std::collections::HashMap;
use std::time::Duration;

use chassis::consumer::{InvalidUpstream, Upstream, UpstreamConfig, UpstreamError};
use chassis::resilience::{BreakerConfig, RetryPolicy};
use serde::{Deserialize, Serialize};

/// How patient this service is with customers. Placing an order waits on customers, so
/// `budget` is the most an order can wait before it fails closed; reads degrade after it.
pub const CALL_POLICY: UpstreamConfig = UpstreamConfig {
    // Services sit on one network: a connection that takes this long is not coming.
    connect_timeout: Duration::from_millis(250),
    // A lookup by primary key answers in milliseconds; this leaves room for a slow moment
    // while still leaving time in the budget for a retry.
    attempt_timeout: Duration::from_millis(800),
    // What a client placing an order can be asked to wait, retries included.
    budget: Duration::from_secs(2),
    // Lookups only (a registration is never repeated); jitter keeps many orders from
    // retrying in step after one outage.
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

/// What the orders service needs to know of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomerRef {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// Absent (an owner that stopped sending it) reads as an unrecognised status.
    #[serde(default)]
    pub status: CustomerStatus,
}

/// A customer's standing, as this service reads it: the two values it knows, and a
/// fallback for any other. The customers team may add a status (`pending_verification`,
/// say) without asking; such a value reads as `Unrecognised`, keeps its word for messages,
/// and is not allowed to order. A new status is not a licence to order until this team
/// decides what it means, and failing on it would break every order view.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Option<String>")]
pub enum CustomerStatus {
    Active,
    Suspended,
    /// A value this service does not know, as the owner spelled it ("" when absent).
    Unrecognised(String),
}

impl CustomerStatus {
    /// Whether the customer may place an order: only a known, active one.
    pub fn may_order(&self) -> bool {
        *self == Self::Active
    }
}

impl Default for CustomerStatus {
    fn default() -> Self {
        Self::Unrecognised(String::new())
    }
}

impl From<Option<String>> for CustomerStatus {
    fn from(word: Option<String>) -> Self {
        match word.as_deref() {
            Some("active") => Self::Active,
            Some("suspended") => Self::Suspended,
            _ => Self::Unrecognised(word.unwrap_or_default()),
        }
    }
}

impl std::fmt::Display for CustomerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Active => f.write_str("active"),
            Self::Suspended => f.write_str("suspended"),
            Self::Unrecognised(word) if word.is_empty() => f.write_str("of no known status"),
            Self::Unrecognised(word) => f.write_str(word),
        }
    }
}

#[derive(Debug, Deserialize)]
struct CustomerPage {
    items: Vec<CustomerRef>,
}

#[derive(Debug, Serialize)]
struct Registration<'a> {
    name: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
}

/// The customers service, as this service calls it.
#[derive(Debug)]
pub struct CustomersClient {
    upstream: Upstream,
}

impl CustomersClient {
    pub fn new(base_url: &str, config: UpstreamConfig) -> Result<Self, InvalidUpstream> {
        Ok(Self {
            upstream: Upstream::new("customers", base_url, config)?,
        })
    }

    /// The customers API's base URL, for links.
    pub fn base_url(&self) -> &str {
        self.upstream.base_url()
    }

    /// The breaker's state, for tests and logs.
    pub fn breaker_state(&self) -> chassis::resilience::BreakerState {
        self.upstream.breaker_state()
    }

    /// One customer; `None` when the customers service says there is none.
    pub async fn lookup(
        &self,
        id: i64,
        request_id: &str,
    ) -> Result<Option<CustomerRef>, UpstreamError> {
        self.upstream
            .get(&format!("/v1/customers/{id}"), request_id)
            .await
    }

    /// Several customers in one call (the batch lookup), by id; unknown ids are absent.
    pub async fn lookup_many(
        &self,
        ids: &[i64],
        request_id: &str,
    ) -> Result<HashMap<i64, CustomerRef>, UpstreamError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
        let path = format!("/v1/customers?ids={}", joined.join(","));
        let page: Option<CustomerPage> = self.upstream.get(&path, request_id).await?;
        Ok(page
            .map(|p| p.items)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.id, c))
            .collect())
    }

    /// Registers a guest as a customer. Made once, never retried: a retried POST could
    /// register the guest twice. A 409 (email taken) or 422 comes back as `Rejected`.
    pub async fn register(
        &self,
        name: &str,
        email: &str,
        phone: Option<&str>,
        request_id: &str,
    ) -> Result<CustomerRef, UpstreamError> {
        self.upstream
            .post(
                "/v1/customers",
                &Registration { name, email, phone },
                request_id,
            )
            .await
    }
}
