//! The road's state 3 (`kit road`): a consumer flow that reaches into the other team's data
//! is switched, one flow at a time, to the owner's HTTP API (its `/v1` endpoints), behind a
//! flag. Before the switch, the compare mode runs the API path beside the SQL path the
//! flow still serves, and logs and counts each difference: the strangler's safety net,
//! read from [`Strangler::differences`] before a flow is switched and the grants revoked.
//!
//! Writes are switched but never compared: running both paths of guest checkout would
//! register the guest twice. And once a flow is on the API, its SQL path is not run at all:
//! at state 3 its grants are gone.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use chassis::consumer::{InvalidUpstream, Upstream, UpstreamConfig, UpstreamError};
use chassis::http::Problem;
use chassis::resilience::{BreakerConfig, RetryPolicy};

/// A consumer flow: one place where a service reaches into the other team's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// orders shows each order with its customer's name and email.
    OrderCustomer,
    /// orders accepts an order only for an existing, active customer.
    PlaceOrder,
    /// orders registers the buyer at guest checkout (a write).
    GuestCheckout,
    /// customers shows a profile with the customer's order figures.
    ProfileStats,
    /// customers refuses to delete a customer with open orders.
    DeleteGuard,
}

impl Flow {
    pub const ALL: [Flow; 5] = [
        Flow::OrderCustomer,
        Flow::PlaceOrder,
        Flow::GuestCheckout,
        Flow::ProfileStats,
        Flow::DeleteGuard,
    ];

    /// The flag's name of the flow.
    pub fn name(self) -> &'static str {
        match self {
            Flow::OrderCustomer => "order-customer",
            Flow::PlaceOrder => "place-order",
            Flow::GuestCheckout => "guest-checkout",
            Flow::ProfileStats => "profile-stats",
            Flow::DeleteGuard => "delete-guard",
        }
    }
}

/// The flows switched to the API: a comma list of flow names, or `all`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiFlows(BTreeSet<Flow>);

impl ApiFlows {
    /// No flow on the API: the SQL paths, as states 0 to 2 run them.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every flow on the API: state 3 and beyond.
    pub fn all() -> Self {
        Self(Flow::ALL.into_iter().collect())
    }

    pub fn contains(&self, flow: Flow) -> bool {
        self.0.contains(&flow)
    }
}

impl std::str::FromStr for ApiFlows {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut flows = BTreeSet::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "all" {
                flows.extend(Flow::ALL);
                continue;
            }
            let flow = Flow::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = Flow::ALL.iter().map(|f| f.name()).collect();
                    format!(
                        "no flow `{name}`: name some of {} (comma-separated), or `all`",
                        names.join(", ")
                    )
                })?;
            flows.insert(flow);
        }
        Ok(Self(flows))
    }
}

/// How the legacy consumers call the owner's API: the migrated pair's policy, since the
/// calls and their budgets are the same (a lookup by key, a registration, one aggregate).
pub const CALL_POLICY: UpstreamConfig = UpstreamConfig {
    connect_timeout: Duration::from_millis(250),
    attempt_timeout: Duration::from_millis(800),
    budget: Duration::from_secs(2),
    retry: RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
    },
    // The migrated consumers' breaker (see `migrated/orders/src/customers_client.rs`): a
    // quarter second first, doubling on each failed probe up to a second.
    breaker: BreakerConfig {
        failure_threshold: 5,
        open_for: Duration::from_millis(250),
        max_open_for: Duration::from_secs(1),
    },
};

/// The switch of one consumer service: which flows call the owner, whether the compare mode
/// is on, the owner's client, and the differences seen.
#[derive(Debug)]
pub struct Strangler {
    flows: ApiFlows,
    compare: bool,
    owner: Option<Upstream>,
    differences: AtomicU64,
}

impl Strangler {
    /// Every flow on SQL, nothing compared, no owner called (states 0 to 2, as they were).
    pub fn sql_only() -> Self {
        Self {
            flows: ApiFlows::none(),
            compare: false,
            owner: None,
            differences: AtomicU64::new(0),
        }
    }

    /// `flows` on the API of the owner at `owner_url`, the others on SQL, compared if
    /// `compare`. `owner` names it in logs and errors.
    pub fn new(
        owner: &'static str,
        owner_url: &str,
        flows: ApiFlows,
        compare: bool,
    ) -> Result<Self, InvalidUpstream> {
        Ok(Self {
            flows,
            compare,
            owner: Some(Upstream::new(owner, owner_url, CALL_POLICY)?),
            differences: AtomicU64::new(0),
        })
    }

    /// Whether `flow` calls the owner's API instead of running its SQL.
    pub fn uses_api(&self, flow: Flow) -> bool {
        self.owner.is_some() && self.flows.contains(flow)
    }

    /// Whether `flow`, still on SQL, also runs its API path to compare.
    pub fn compares(&self, flow: Flow) -> bool {
        self.owner.is_some() && self.compare && !self.flows.contains(flow)
    }

    /// The owner's client; only a strangler with an owner switches or compares a flow.
    pub(crate) fn owner(&self) -> Option<&Upstream> {
        self.owner.as_ref()
    }

    /// How many times the API path answered differently from the SQL path served.
    pub fn differences(&self) -> u64 {
        self.differences.load(Ordering::Relaxed)
    }

    /// Compares what the SQL path served with what the API path said; a difference (an API
    /// failure included) is logged and counted.
    pub(crate) fn record<T: PartialEq + Debug, E: std::fmt::Display>(
        &self,
        flow: Flow,
        served: &T,
        api: Result<T, E>,
    ) {
        let differs = match &api {
            Ok(api) => (api != served).then(|| format!("{api:?}")),
            Err(err) => Some(format!("the API path failed: {err}")),
        };
        if let Some(api) = differs {
            self.differences.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                flow = flow.name(),
                sql = ?served,
                api = %api,
                "compare: the API path differs from the SQL path"
            );
        }
    }
}

/// How a switched flow fails when the owner cannot answer it: closed, as the migrated pair
/// does. 503 with Retry-After when the owner may be back soon; 502 when it is up and said
/// no (what it said is in the log line of the 5xx).
pub(crate) fn owner_failed(err: &UpstreamError, owner: &str) -> Problem {
    match err.retry_after_secs() {
        Some(seconds) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency-unavailable",
            &format!("The {owner} service is unavailable"),
        )
        .detail(format!(
            "The {owner} service cannot answer right now, so nothing was done. Retry later."
        ))
        .retry_after(seconds),
        None => Problem::new(
            StatusCode::BAD_GATEWAY,
            "upstream-rejected",
            &format!("The {owner} service refused the call"),
        )
        .detail(format!(
            "The {owner} service refused the call made for your request, so nothing was done."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_comma_list_of_flows_or_all() {
        let flows: ApiFlows = "place-order, order-customer".parse().unwrap_or_default();
        assert!(flows.contains(Flow::PlaceOrder));
        assert!(flows.contains(Flow::OrderCustomer));
        assert!(!flows.contains(Flow::GuestCheckout));
        assert_eq!("all".parse::<ApiFlows>(), Ok(ApiFlows::all()));
        assert_eq!("".parse::<ApiFlows>(), Ok(ApiFlows::none()));
    }

    #[test]
    fn refuses_an_unknown_flow_and_names_the_known_ones() {
        assert!("all,nope".parse::<ApiFlows>().is_err());
        let err = "place-order,checkout".parse::<ApiFlows>().unwrap_err();
        assert!(err.contains("no flow `checkout`"), "{err}");
        assert!(err.contains("guest-checkout"), "{err}");
    }

    #[test]
    fn counts_a_difference_or_a_failed_api_path_and_nothing_else() {
        let strangler =
            Strangler::new("customers", "http://127.0.0.1:9", ApiFlows::none(), true).unwrap();
        strangler.record(Flow::PlaceOrder, &"active", Ok::<_, String>("active"));
        assert_eq!(strangler.differences(), 0);
        strangler.record(Flow::PlaceOrder, &"active", Ok::<_, String>("suspended"));
        strangler.record(Flow::PlaceOrder, &"active", Err("down"));
        assert_eq!(strangler.differences(), 2);
        assert!(strangler.compares(Flow::PlaceOrder));
        assert!(!strangler.uses_api(Flow::PlaceOrder));
    }
}
