//! The customers API's wire format: the representations it sends, the query parameters and
//! bodies it accepts. These are the only shapes a client sees; they are built from this
//! service's rows and the orders service's answers, never from either table directly.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::Customer;

/// A link to a related resource.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Link {
    #[schema(format = "uri-reference", example = "/v1/customers/7")]
    pub(super) href: String,
}

/// Where a customer's related resources are.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CustomerLinks {
    /// This customer.
    #[serde(rename = "self")]
    pub(super) self_: Link,
    /// The customer with its order figures.
    pub(super) profile: Link,
    /// The customer's orders, at the orders service.
    pub(super) orders: Link,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Customer)]
pub(super) struct CustomerBody {
    #[schema(example = 7)]
    pub(super) id: i64,
    #[schema(example = "Ada Lovelace")]
    pub(super) name: String,
    #[schema(example = "ada@example.com")]
    pub(super) email: String,
    #[schema(required = true, example = "+44 20 7946 0018")]
    pub(super) phone: Option<String>,
    #[schema(schema_with = crate::openapi::customer_status)]
    pub(super) status: String,
    /// When the customer was registered (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub(super) created_at: time::OffsetDateTime,
    pub(super) _links: CustomerLinks,
}

impl CustomerBody {
    pub(super) fn new(customer: Customer, orders_base: &str) -> Self {
        let id = customer.id;
        Self {
            id,
            name: customer.name,
            email: customer.email,
            phone: customer.phone,
            status: customer.status,
            created_at: customer.created_at,
            _links: CustomerLinks {
                self_: Link {
                    href: format!("/v1/customers/{id}"),
                },
                profile: Link {
                    href: format!("/v1/customers/{id}/profile"),
                },
                orders: Link {
                    href: format!("{orders_base}/v1/orders?customer_id={id}"),
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
    /// The next page; absent on the last one and on a batch lookup.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    pub(super) next: Option<Link>,
    /// The previous page; absent on the first one and on a batch lookup.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Link)]
    pub(super) prev: Option<Link>,
}

/// A page of customers, or the customers a batch lookup found.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CustomerPage {
    pub(super) items: Vec<CustomerBody>,
    #[schema(example = 50)]
    pub(super) limit: i64,
    #[schema(example = 0)]
    pub(super) offset: i64,
    /// How many customers there are in all (for a batch lookup: how many were found).
    #[schema(example = 120)]
    pub(super) total: i64,
    pub(super) _links: PageLinks,
}

/// A customer's order figures, as the orders service gave them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderStats)]
pub(super) struct OrderStatsBody {
    /// Orders not yet shipped or cancelled.
    #[schema(example = 2)]
    pub(super) open_order_count: i64,
    /// The sum of the customer's orders that were not cancelled.
    #[schema(schema_with = crate::openapi::money)]
    pub(super) lifetime_value: Decimal,
}

/// A customer with its order figures, which come from the orders service and may be
/// missing: then `order_stats` is null and `degraded` says so.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Profile)]
pub(super) struct ProfileBody {
    #[serde(flatten)]
    pub(super) customer: CustomerBody,
    /// Null when the orders service could not answer.
    #[schema(required = true)]
    pub(super) order_stats: Option<OrderStatsBody>,
    /// What is missing from this answer because another service could not give it;
    /// absent when nothing is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::openapi::degraded)]
    pub(super) degraded: Vec<&'static str>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// Page size: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200, example = 50)]
    #[serde(default, deserialize_with = "chassis::http::page::whole_number")]
    pub(super) limit: Option<i64>,
    /// How many customers to skip: 0 or more, 0 when absent.
    #[param(minimum = 0, maximum = 1000000, example = 0)]
    #[serde(default, deserialize_with = "chassis::http::page::whole_number")]
    pub(super) offset: Option<i64>,
    /// Comma-separated ids: the batch lookup (1 to 200 ids; unknown ids are absent from
    /// the answer, which is not paged).
    #[param(
        example = "1,2,3",
        min_length = 1,
        pattern = "^[0-9]{1,18}(,[0-9]{1,18}){0,199}$"
    )]
    pub(super) ids: Option<String>,
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateCustomer {
    /// 1 to 200 characters, not all spaces, no control characters.
    #[schema(
        example = "Ada Lovelace",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF][^\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*$"
    )]
    pub(super) name: String,
    /// An address like name@example.com: no spaces or control characters.
    #[schema(
        example = "ada@example.com",
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
}

/// A merge patch: the fields present are changed, the others kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateCustomer {
    /// 1 to 200 characters, not all spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF][^\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*$"
    )]
    pub(super) name: Option<String>,
    /// An address like name@example.com: no spaces or control characters.
    #[schema(
        max_length = 254,
        pattern = "^[^\\s@\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]+@[^\\s@.\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF][^\\s@\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*\\.[^\\s@\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]*[^\\s@.\\u0000-\\u001F\\u007F-\\u009F\\uFFFE\\uFFFF]$"
    )]
    pub(super) email: Option<String>,
    /// Digits, spaces, `+ - ( )`, with at least one digit.
    #[schema(max_length = 32, pattern = "^[0-9 +()-]*[0-9][0-9 +()-]*$")]
    pub(super) phone: Option<String>,
    #[schema(schema_with = crate::openapi::customer_status_change)]
    pub(super) status: Option<String>,
}
