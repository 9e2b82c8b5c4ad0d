//! The probe: one running pair's flows driven over HTTP, each reduced to an [`Answer`].

use anyhow::{Context as _, bail};
use chassis::telemetry::ErrorLog;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Flow, Observed, whole};
use crate::scenario::Pair;

/// One HTTP answer, before it is reduced to an [`Answer`].
struct Reply {
    status: u16,
    body: Value,
    logged: Vec<chassis::telemetry::LoggedError>,
    degraded: bool,
    whole: Value,
}

/// Drives one running pair's flows.
#[derive(Debug, Clone)]
pub struct Probe {
    pub http: reqwest::Client,
    pub customers: String,
    pub orders: String,
    pub pair: Pair,
    /// Where the services' ERROR lines go, when they run in this process.
    pub errors: Option<ErrorLog>,
}

/// The number of seed customers: the probe deletes customers from the end of the range.
const CUSTOMERS: i64 = crate::seed::CUSTOMERS;

impl Probe {
    pub fn new(pair: Pair, customers: &str, orders: &str, errors: Option<ErrorLog>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
            customers: customers.to_owned(),
            orders: orders.to_owned(),
            pair,
            errors,
        }
    }

    fn v(&self) -> &'static str {
        match self.pair {
            Pair::Legacy => "",
            Pair::Migrated => "/v1",
        }
    }

    async fn send(
        &self,
        method: Method,
        base: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        self.send_accepting(method, base, path, body, "application/json")
            .await
    }

    async fn send_accepting(
        &self,
        method: Method,
        base: &str,
        path: &str,
        body: Option<Value>,
        accept: &str,
    ) -> anyhow::Result<Reply> {
        let url = format!("{base}{}{path}", self.v());
        self.fetch(method, &url, body, accept).await
    }

    /// One request to `url`, whatever its version, as a [`Reply`].
    async fn fetch(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        accept: &str,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(reqwest::header::ACCEPT, accept);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get(chassis::http::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let logged = match (&self.errors, request_id) {
            (Some(errors), Some(id)) => errors.for_request(&id),
            _ => Vec::new(),
        };
        let headers = response.headers().clone();
        let warned = headers.contains_key(reqwest::header::WARNING);
        let text = response
            .text()
            .await
            .with_context(|| format!("the body of {method} {url}"))?;
        let mut whole = whole::response(status, &headers, &text);
        if method == Method::POST {
            whole::mask_created(&mut whole);
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let degraded = warned
            || body["degraded"]
                .as_array()
                .is_some_and(|what| !what.is_empty());
        Ok(Reply {
            status,
            body,
            logged,
            degraded,
            whole,
        })
    }

    /// One request to the pair (`base` is its customers or orders URL; `path` leaves out
    /// the version prefix, which the probe adds for the migrated pair), as an answer:
    /// status and problem type for a problem, or status and the fields `pick` keeps.
    pub async fn answer(
        &self,
        method: Method,
        base: &str,
        path: &str,
        body: Option<Value>,
        pick: impl Fn(&Value) -> Value,
    ) -> anyhow::Result<Answer> {
        let Reply {
            status,
            body,
            logged,
            degraded,
            whole,
        } = self.send(method, base, path, body).await?;
        Ok(Answer {
            value: compared(status, &body, pick),
            logged,
            degraded,
            whole,
            versions: Value::Null,
        })
    }

    /// What the newest version of the owner's resource `path` answers beside v1, on the
    /// migrated pair (whose owners version their API); `null` on legacy. `pick` keeps the
    /// fields compared.
    async fn newer_version(
        &self,
        base: &str,
        path: &str,
        pick: impl Fn(&Value) -> Value,
    ) -> anyhow::Result<Value> {
        if self.pair != Pair::Migrated {
            return Ok(Value::Null);
        }
        let url = format!("{base}/v2{path}");
        let reply = self
            .fetch(Method::GET, &url, None, "application/json")
            .await?;
        let mut value = compared(reply.status, &reply.body, pick);
        value["request"] = json!(format!("GET /v2{path}"));
        Ok(value)
    }

    /// Customer `id`'s profile with its order figures, wherever the pair serves it (legacy
    /// inline, migrated as `/profile` with `order_stats`); `pick` gets the profile and its
    /// figures.
    pub async fn profile(
        &self,
        id: i64,
        pick: impl Fn(&Value, &Value) -> Value,
    ) -> anyhow::Result<Answer> {
        let (path, stats): (String, fn(&Value) -> &Value) = match self.pair {
            Pair::Legacy => (format!("/customers/{id}"), |b| b),
            Pair::Migrated => (format!("/customers/{id}/profile"), |b| &b["order_stats"]),
        };
        self.answer(Method::GET, &self.customers, &path, None, |b| {
            pick(b, stats(b))
        })
        .await
    }

    /// One request of a flow that can be made any number of times with the same answer
    /// (one of [`Flow::REPEATABLE`]): the order view, a customer's order list, a new order
    /// for customer 1, customer 7's profile. Any other flow is an error.
    pub async fn once(&self, flow: Flow) -> anyhow::Result<Answer> {
        let orders = self.orders.as_str();
        match flow {
            Flow::OrderView => {
                let mut answer = self
                    .answer(Method::GET, orders, "/orders/1", None, order_fields)
                    .await?;
                // The migrated pair also speaks XML: the same order, as a document.
                if self.pair == Pair::Migrated {
                    let xml = self
                        .send_accepting(Method::GET, orders, "/orders/1", None, "application/xml")
                        .await?;
                    answer.whole = json!({ "json": answer.whole, "xml": xml.whole });
                    answer.degraded |= xml.degraded;
                }
                Ok(answer)
            }
            Flow::OrderList => {
                self.answer(
                    Method::GET,
                    orders,
                    "/orders?customer_id=3&limit=5",
                    None,
                    |b| items(b, order_fields),
                )
                .await
            }
            Flow::NewOrder => {
                self.answer(
                    Method::POST,
                    orders,
                    "/orders",
                    Some(json!({ "customer_id": 1, "total": "42.50" })),
                    order_fields,
                )
                .await
            }
            Flow::Profile => {
                self.profile(7, |_, s| {
                    json!({ "open_order_count": s["open_order_count"], "lifetime_value": s["lifetime_value"] })
                })
                .await
            }
            other => bail!("{} cannot be repeated with the same answer", other.id()),
        }
    }

    /// Runs every flow once. `round` (1, 2, ...) keeps the writes of two runs apart (other
    /// customers, other emails), so that what they observe can be compared.
    pub async fn observe(&self, round: i64) -> anyhow::Result<Observed> {
        let (customers, orders) = (self.customers.as_str(), self.orders.as_str());
        let mut seen = Observed::new();
        for flow in Flow::REPEATABLE {
            seen.insert(flow, self.once(flow).await?);
        }
        // The owner deletes a customer without orders; the consumer is then asked for an
        // order for that customer.
        let gone = CUSTOMERS - round;
        let deleted = self
            .send(
                Method::DELETE,
                customers,
                &format!("/customers/{gone}"),
                None,
            )
            .await?
            .status;
        if deleted != 204 {
            bail!("the customers service did not delete customer {gone}: HTTP {deleted}");
        }
        seen.insert(
            Flow::OrderForDeletedCustomer,
            self.answer(
                Method::POST,
                orders,
                "/orders",
                Some(json!({ "customer_id": gone, "total": 5 })),
                |b| json!({ "customer_id_matches": b["customer_id"] == gone }),
            )
            .await?,
        );
        let email = format!("guest{round}@example.com");
        seen.insert(
            Flow::GuestCheckout,
            self.answer(
                Method::POST,
                orders,
                "/guest-checkouts",
                Some(json!({ "name": "Grace Guest", "email": email, "total": "19.99" })),
                |b| {
                    json!({
                        "name": b["customer"]["name"],
                        "email_is_the_guests": b["customer"]["email"] == email.as_str(),
                        "total": b["total"],
                        "status": b["status"],
                    })
                },
            )
            .await?,
        );
        // A customer with open orders in the seed: 2 in the first round, 4 in the second.
        seen.insert(
            Flow::DeleteGuard,
            self.answer(
                Method::DELETE,
                customers,
                &format!("/customers/{}", 2 * round),
                None,
                |_| Value::Null,
            )
            .await?,
        );
        let mut list = self
            .answer(Method::GET, customers, "/customers?limit=3", None, |b| {
                items(b, |c| json!([c["id"], c["name"], c["email"], c["status"]]))
            })
            .await?;
        // The page's `total` counts the customers this probe deleted and registered in
        // earlier rounds: the page is compared as projected, not whole.
        list.whole = Value::Null;
        let one = self
            .answer(Method::GET, customers, "/customers/9", None, |c| {
                json!([c["id"], c["name"], c["email"], c["phone"], c["status"]])
            })
            .await?;
        let mut owner = both(list, one);
        owner.versions = self
            .newer_version(customers, "/customers/9", |c| c.clone())
            .await?;
        seen.insert(Flow::OwnerCustomers, owner);
        let list = self
            .answer(
                Method::GET,
                orders,
                "/orders?status=PAID&limit=3",
                None,
                |b| {
                    items(b, |o| {
                        json!([o["id"], o["customer_id"], o["status"], o["total"]])
                    })
                },
            )
            .await?;
        let one = self
            .answer(Method::GET, orders, "/orders/5", None, |o| {
                json!([o["id"], o["customer_id"], o["status"], o["total"]])
            })
            .await?;
        // A PATCH that sets order 5's status to the one it has: a no-op by the API's rules,
        // so the same request and the same whole answer in every round.
        let status = one.value["body"][2].clone();
        let patched = self
            .answer(
                Method::PATCH,
                orders,
                "/orders/5",
                Some(json!({ "status": status })),
                |o| json!([o["id"], o["customer_id"], o["status"], o["total"]]),
            )
            .await?;
        let mut owner = both(both(list, one), patched);
        owner.versions = self
            .newer_version(
                orders,
                "/orders/5",
                |o| json!({ "total": o["total"], "booked": o["booked"] }),
            )
            .await?;
        seen.insert(Flow::OwnerOrders, owner);
        // These requests name another customer or email in each round: their answers are
        // compared as projected, not whole.
        for flow in [
            Flow::OrderForDeletedCustomer,
            Flow::GuestCheckout,
            Flow::DeleteGuard,
        ] {
            if let Some(answer) = seen.get_mut(&flow) {
                answer.whole = Value::Null;
            }
        }
        Ok(seen)
    }
}

/// The business fields of an order, whatever the representation around them.
pub fn order_fields(o: &Value) -> Value {
    json!({ "customer_id": o["customer_id"], "status": o["status"], "total": o["total"], "customer": o["customer"] })
}

fn items(page: &Value, each: impl Fn(&Value) -> Value) -> Value {
    page["items"]
        .as_array()
        .map(|items| items.iter().map(each).collect())
        .unwrap_or(Value::Null)
}

/// What is compared of an answer: status and problem type for a problem, or status and the
/// fields `pick` keeps.
fn compared(status: u16, body: &Value, pick: impl Fn(&Value) -> Value) -> Value {
    if status >= 400 {
        json!({ "status": status, "type": body["type"] })
    } else {
        json!({ "status": status, "body": pick(body) })
    }
}

/// Two answers as one: the worse status, both values, every logged error.
fn both(first: Answer, second: Answer) -> Answer {
    let status = first.status().max(second.status());
    let value = if status >= 400 {
        let failed = if first.status() >= second.status() {
            &first.value
        } else {
            &second.value
        };
        json!({ "status": status, "type": failed["type"] })
    } else {
        json!({ "status": status, "body": [first.value["body"], second.value["body"]] })
    };
    let mut logged = first.logged;
    logged.extend(second.logged);
    Answer {
        value,
        logged,
        degraded: first.degraded || second.degraded,
        whole: json!([first.whole, second.whole]),
        versions: Value::Null,
    }
}
