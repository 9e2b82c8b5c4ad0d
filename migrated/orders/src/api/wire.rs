//! The orders API's wire format: the representations it sends, the query parameters and
//! bodies it accepts. These are the only shapes a client sees; they are built from this
//! service's rows and the customers service's answers, never from either table directly.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::customers_client::CustomerRef;
use crate::db::{Order, OrderV2};

/// A link to a related resource.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Link {
    #[schema(format = "uri-reference", example = "/v1/orders/1")]
    pub(super) href: String,
}

/// Where an order's related resources are.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OrderLinks {
    /// This order.
    #[serde(rename = "self")]
    pub(super) self_: Link,
    /// The order's customer, at the customers service.
    pub(super) customer: Link,
}

/// The order's customer, as the customers service shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CustomerSummary {
    #[schema(example = "Ada Lovelace")]
    pub(super) name: String,
    #[schema(example = "ada@example.com")]
    pub(super) email: String,
}

/// An order as the API shows it. `customer` is null when the customer no longer exists,
/// or when the customers service could not answer (then `degraded` says so).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
pub(super) struct OrderBody {
    #[schema(example = 1)]
    pub(super) id: i64,
    #[schema(example = 7)]
    pub(super) customer_id: i64,
    #[schema(schema_with = crate::openapi::order_status)]
    pub(super) status: String,
    #[schema(schema_with = crate::openapi::money)]
    pub(super) total: Decimal,
    /// When the order was placed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub(super) created_at: time::OffsetDateTime,
    /// Null when the customer no longer exists or the customers service could not answer.
    #[schema(required = true)]
    pub(super) customer: Option<CustomerSummary>,
    /// What is missing from this answer because another service could not give it;
    /// absent when nothing is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::openapi::degraded)]
    pub(super) degraded: Vec<&'static str>,
    pub(super) _links: OrderLinks,
}

/// What the customers service said about the customers of some orders.
pub(super) enum Customers {
    Known(HashMap<i64, CustomerRef>),
    Unavailable,
}

impl OrderBody {
    pub(super) fn new(order: Order, customers: &Customers, customers_base: &str) -> Self {
        let (customer, degraded) = match customers {
            Customers::Known(known) => (
                known.get(&order.customer_id).map(|c| CustomerSummary {
                    name: c.name.clone(),
                    email: c.email.clone(),
                }),
                Vec::new(),
            ),
            Customers::Unavailable => (None, vec!["customer"]),
        };
        Self {
            id: order.id,
            customer_id: order.customer_id,
            status: order.status,
            total: order.total,
            created_at: order.created_at,
            customer,
            degraded,
            _links: OrderLinks {
                self_: Link {
                    href: format!("/v1/orders/{}", order.id),
                },
                customer: Link {
                    href: format!("{customers_base}/v1/customers/{}", order.customer_id),
                },
            },
        }
    }
}

/// An amount of money in a currency.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Money {
    #[schema(schema_with = crate::openapi::money)]
    pub(super) amount: Decimal,
    /// ISO 4217.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub(super) currency: String,
}

/// Where a v2 order's related resources are.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OrderV2Links {
    /// This order.
    #[serde(rename = "self")]
    pub(super) self_: Link,
    /// The same order in API v1, whose `total` is the booked value in euros.
    pub(super) v1: Link,
}

/// An order in API v2: what the customer paid, in the currency they paid it in, and the
/// value booked in euros (what v1 calls `total`). No customer details: a client that needs
/// them asks the customers service.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderV2)]
pub(super) struct OrderV2Body {
    #[schema(example = 1)]
    pub(super) id: i64,
    #[schema(example = 7)]
    pub(super) customer_id: i64,
    #[schema(schema_with = crate::openapi::order_status)]
    pub(super) status: String,
    /// What the customer paid.
    pub(super) total: Money,
    /// The order's value booked in euros.
    pub(super) booked: Money,
    /// When the order was placed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub(super) created_at: time::OffsetDateTime,
    pub(super) _links: OrderV2Links,
}

impl From<OrderV2> for OrderV2Body {
    fn from(order: OrderV2) -> Self {
        Self {
            id: order.id,
            customer_id: order.customer_id,
            status: order.status,
            total: Money {
                amount: order.amount,
                currency: order.currency,
            },
            booked: Money {
                amount: order.total_eur,
                currency: "EUR".to_owned(),
            },
            created_at: order.created_at,
            _links: OrderV2Links {
                self_: Link {
                    href: format!("/v2/orders/{}", order.id),
                },
                v1: Link {
                    href: format!("/v1/orders/{}", order.id),
                },
            },
        }
    }
}

/// Where a page is, and its neighbours.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PageLinks {
    /// This page.
    #[serde(rename = "self")]
    pub(super) self_: Link,
    /// The next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    pub(super) next: Option<Link>,
    /// The previous page; absent on the first one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    pub(super) prev: Option<Link>,
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OrderPage {
    pub(super) items: Vec<OrderBody>,
    #[schema(example = 50)]
    pub(super) limit: i64,
    #[schema(example = 0)]
    pub(super) offset: i64,
    /// How many orders match the filter in all.
    #[schema(example = 1200)]
    pub(super) total: i64,
    pub(super) _links: PageLinks,
}

/// A customer's order figures; zero for a customer with no orders.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderStats)]
pub(super) struct OrderStatsBody {
    #[schema(example = 7)]
    pub(super) customer_id: i64,
    /// Orders not yet shipped or cancelled (`NEW`, `PAID`).
    #[schema(example = 2)]
    pub(super) open_order_count: i64,
    /// The sum of the customer's orders that were not cancelled.
    #[schema(schema_with = crate::openapi::money)]
    pub(super) lifetime_value: Decimal,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// Only this customer's orders.
    #[param(example = 7)]
    #[serde(default, deserialize_with = "chassis::http::page::whole_number")]
    pub(super) customer_id: Option<i64>,
    /// Only orders in this status.
    #[param(schema_with = crate::openapi::order_status_filter)]
    pub(super) status: Option<String>,
    /// Page size: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200, example = 50)]
    #[serde(default, deserialize_with = "chassis::http::page::whole_number")]
    pub(super) limit: Option<i64>,
    /// How many orders to skip: 0 or more, 0 when absent.
    #[param(minimum = 0, maximum = 1000000, example = 0)]
    #[serde(default, deserialize_with = "chassis::http::page::whole_number")]
    pub(super) offset: Option<i64>,
}

/// An order for an existing, active customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PlaceOrder {
    #[schema(example = 7)]
    #[serde(deserialize_with = "whole_number")]
    pub(super) customer_id: i64,
    #[schema(schema_with = crate::openapi::money_input)]
    pub(super) total: Decimal,
}

/// A buyer who is not a customer yet, and their order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GuestCheckout {
    /// 1 to 200 characters, not all spaces, no control characters.
    #[schema(
        example = "Guest Buyer",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF][^\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*$"
    )]
    pub(super) name: String,
    /// An address like name@example.com: no spaces or control characters.
    #[schema(
        example = "guest@example.com",
        max_length = 254,
        pattern = "^[^\\s@\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]+@[^\\s@.\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF][^\\s@\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*\\.[^\\s@\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*[^\\s@.\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]$"
    )]
    pub(super) email: String,
    /// Digits, spaces, `+ - ( )`, with at least one digit.
    #[schema(
        example = "+44 20 7946 0018",
        max_length = 32,
        pattern = "^[0-9 +()-]*[0-9][0-9 +()-]*$"
    )]
    pub(super) phone: Option<String>,
    #[schema(schema_with = crate::openapi::money_input)]
    pub(super) total: Decimal,
}

/// The status an order moves to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeStatus {
    #[schema(schema_with = crate::openapi::order_status)]
    pub(super) status: String,
}

/// An integer as JSON Schema means it: `7` and `7.0` are the same number, and a client in a
/// language without integers (JavaScript) may send either. Floats are taken up to 2^53 - 1,
/// the last integer a double holds exactly; anything with a fraction is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::{Error, Unexpected, Visitor};

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
            const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
            if v.fract() == 0.0 && v.abs() <= MAX_SAFE {
                Ok(v as i64)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }

    deserializer.deserialize_any(Whole)
}

#[cfg(test)]
mod tests {
    use super::PlaceOrder;

    fn customer_id(body: &str) -> Result<i64, serde_json::Error> {
        serde_json::from_str::<PlaceOrder>(body).map(|order| order.customer_id)
    }

    #[test]
    fn takes_a_whole_customer_id_written_as_a_float() {
        assert_eq!(
            customer_id(r#"{"customer_id": 7.0, "total": 1}"#).unwrap(),
            7
        );
        assert_eq!(
            customer_id(r#"{"customer_id": 9007199254740991.0, "total": 1}"#).unwrap(),
            9_007_199_254_740_991
        );
        assert_eq!(
            customer_id(r#"{"customer_id": 9223372036854775807, "total": 1}"#).unwrap(),
            i64::MAX
        );
        for bad in [
            "7.5",
            "9007199254740993.0",
            "1e300",
            "9223372036854775808",
            "\"7\"",
        ] {
            let body = format!(r#"{{"customer_id": {bad}, "total": 1}}"#);
            assert!(customer_id(&body).is_err(), "{bad}");
        }
    }
}
