//! The cross-ownership flows (an order with its customer, a new order, guest checkout, a
//! profile's figures, the delete guard) and the owners' own endpoints, driven over HTTP
//! against either pair. Each answer is kept twice: reduced to its business meaning, so that
//! the two pairs can be compared with each other, and whole ([`whole`]), so that two rounds
//! of the same request on one pair can be compared in full. The scenario tests, the impact
//! matrix and its during-release load all observe through this one probe.

use std::collections::BTreeMap;

use crate::scenario::{Outcome, Pair};
use serde_json::Value;

mod impact;
mod probe;
pub mod whole;

pub use impact::{Impact, impact};
pub use probe::{Probe, order_fields};

/// One thing a user of the pair does that crosses (or, for the owner rows, stays inside)
/// an ownership line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    OrderView,
    OrderList,
    NewOrder,
    OrderForDeletedCustomer,
    GuestCheckout,
    Profile,
    DeleteGuard,
    /// The customers service's own endpoints.
    OwnerCustomers,
    /// The orders service's own endpoints.
    OwnerOrders,
}

impl Flow {
    /// The consumer flows whose request can be repeated and gets the same answer each time
    /// (the others delete or register someone): what runs as load while a release ships.
    pub const REPEATABLE: [Flow; 4] = [
        Flow::OrderView,
        Flow::OrderList,
        Flow::NewOrder,
        Flow::Profile,
    ];

    /// The consumer flows: one team using what the other owns.
    pub const CONSUMER: [Flow; 7] = [
        Flow::OrderView,
        Flow::OrderList,
        Flow::NewOrder,
        Flow::OrderForDeletedCustomer,
        Flow::GuestCheckout,
        Flow::Profile,
        Flow::DeleteGuard,
    ];

    /// The id scenario manifests use.
    pub fn id(self) -> &'static str {
        match self {
            Flow::OrderView => "order_view",
            Flow::OrderList => "order_list",
            Flow::NewOrder => "new_order",
            Flow::OrderForDeletedCustomer => "order_for_deleted_customer",
            Flow::GuestCheckout => "guest_checkout",
            Flow::Profile => "profile",
            Flow::DeleteGuard => "delete_guard",
            Flow::OwnerCustomers => "owner_customers",
            Flow::OwnerOrders => "owner_orders",
        }
    }

    /// A column header.
    pub fn short(self) -> &'static str {
        match self {
            Flow::OrderView => "order view",
            Flow::OrderList => "order list",
            Flow::NewOrder => "new order",
            Flow::OrderForDeletedCustomer => "deleted cust.",
            Flow::GuestCheckout => "guest checkout",
            Flow::Profile => "profile",
            Flow::DeleteGuard => "delete guard",
            Flow::OwnerCustomers | Flow::OwnerOrders => "owner's own",
        }
    }

    /// What the flow is, in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Flow::OrderView => "orders shows an order with its customer's name and email",
            Flow::OrderList => "orders lists a customer's orders with the customer's name",
            Flow::NewOrder => {
                "orders checks the customer exists and is active, then places an order"
            }
            Flow::OrderForDeletedCustomer => "orders refuses an order for a deleted customer",
            Flow::GuestCheckout => "orders creates a guest customer at checkout",
            Flow::Profile => "customers shows open orders and lifetime value",
            Flow::DeleteGuard => "customers refuses to delete a customer with open orders",
            Flow::OwnerCustomers => "the customers service's own list and get",
            Flow::OwnerOrders => "the orders service's own list and get",
        }
    }

    /// The owner's own endpoints of `team` (`customers` or `orders`).
    pub fn owner_of(team: &str) -> Flow {
        if team == "orders" {
            Flow::OwnerOrders
        } else {
            Flow::OwnerCustomers
        }
    }

    /// What a scenario's manifest expects of this flow in `pair`. The owner's own
    /// endpoints are always expected to keep working: the owner adapted.
    pub fn expected(self, scenario: &crate::scenario::Scenario, pair: Pair) -> Outcome {
        pair.expected(scenario).flow(self.id())
    }
}

/// What one flow answered: the part compared between runs, and what the service logged
/// at ERROR while answering, if anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `{"status", "body"}` for a success, `{"status", "type"}` for a problem.
    pub value: Value,
    pub logged: Vec<chassis::telemetry::LoggedError>,
    /// The service said the answer is partial: a `Warning` header, or a non-empty
    /// `degraded` list in the body (the migrated pair's way of degrading).
    pub degraded: bool,
    /// The whole response (see [`whole`]), for a request that is the same in every round
    /// ([`Flow::REPEATABLE`], the owners' own reads); `null` for the others, whose
    /// requests name other customers and emails in each round.
    pub whole: Value,
    /// For the owners' own flows on the migrated pair, the newer API version of the same
    /// resource (`GET /v2/...`): `{"request", "status", "type" | "body"}`. `null` elsewhere.
    /// A release that publishes a new contract shows here, and only here.
    pub versions: Value,
}

impl Answer {
    pub fn status(&self) -> u16 {
        self.value["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0)
    }

    /// The SQLSTATE the service logged, if it logged one.
    pub fn sqlstate(&self) -> Option<&str> {
        self.logged.iter().find_map(|l| l.sqlstate.as_deref())
    }
}

/// Every flow's answer, from one run of [`Probe::observe`].
pub type Observed = BTreeMap<Flow, Answer>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flow_a_manifest_names_exists() {
        for scenario in crate::scenario::catalogue() {
            for id in scenario
                .legacy
                .flows
                .keys()
                .chain(scenario.migrated.flows.keys())
            {
                // The consumer flows, and the releasing owner's own (where a contract
                // change shows).
                assert!(
                    Flow::CONSUMER
                        .into_iter()
                        .chain([Flow::owner_of(&scenario.owner)])
                        .any(|f| f.id() == id),
                    "{}: unknown flow {id}",
                    scenario.id
                );
            }
        }
    }
}
