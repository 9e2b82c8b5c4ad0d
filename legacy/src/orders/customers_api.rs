//! The orders service as a consumer of the customers team's API (state 3 of the road): a
//! customer by id, a page's worth in one call, a guest's registration. Answers are read
//! into this service's own type, with only the fields it uses.

use std::collections::HashMap;

use chassis::consumer::{Upstream, UpstreamError};
use serde::{Deserialize, Serialize};

/// What the orders service needs to know of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct CustomerRef {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub status: String,
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

/// One customer; `None` when customers says there is none.
pub(super) async fn lookup(
    customers: &Upstream,
    id: i64,
    request_id: &str,
) -> Result<Option<CustomerRef>, UpstreamError> {
    customers
        .get(&format!("/v1/customers/{id}"), request_id)
        .await
}

/// Several customers in one call, by id; unknown ids are absent.
pub(super) async fn lookup_many(
    customers: &Upstream,
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
    let page: Option<CustomerPage> = customers.get(&path, request_id).await?;
    Ok(page
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// Registers a guest; made once, never retried (a retried POST could register twice).
pub(super) async fn register(
    customers: &Upstream,
    name: &str,
    email: &str,
    phone: Option<&str>,
    request_id: &str,
) -> Result<CustomerRef, UpstreamError> {
    customers
        .post(
            "/v1/customers",
            &Registration { name, email, phone },
            request_id,
        )
        .await
}
