//! The orders service's HTTP API: orders with their customer, placing an order for an
//! existing customer, guest checkout, status changes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::PgPool;

use super::ApiError;
use super::customers_api;
use super::db::{self, CustomerSummary, Order, OrderFilter};
use crate::page::{PageParams, Paged};
use crate::strangler::{Flow, Strangler};
use chassis::consumer::UpstreamError;
use chassis::http::{Json, Path, Query, RequestId};
use chassis::validate;

/// The statuses an order moves through.
pub const STATUSES: [&str; 4] = ["NEW", "PAID", "SHIPPED", "CANCELLED"];

/// What every handler gets: the shared pool, and the switch of the flows that reach the
/// customers team's data (SQL or its API). No handler asks which releases its table has
/// had: this team's queries go through `orders_shape`, which each of its releases keeps.
#[derive(Debug, Clone, FromRef)]
pub(super) struct Service {
    pub(super) pool: PgPool,
    strangler: Arc<Strangler>,
}

impl Service {
    /// Whether the order view joins the customers' data (SQL) or leaves it to the API.
    fn joined(&self) -> bool {
        !self.strangler.uses_api(Flow::OrderCustomer)
    }

    /// The orders with their customer: as the join found it, or from the customers API
    /// once the flow is switched; compared before the switch.
    async fn with_customers(
        &self,
        orders: Vec<Order>,
        request_id: &str,
    ) -> Result<Vec<Order>, ApiError> {
        let (flow, strangler) = (Flow::OrderCustomer, &self.strangler);
        let Some(customers) = strangler.owner() else {
            return Ok(orders);
        };
        if strangler.uses_api(flow) {
            return Ok(fill(customers, orders, request_id).await?);
        }
        if strangler.compares(flow) {
            let api = fill(customers, orders.clone(), request_id)
                .await
                .map(|o| summaries(&o));
            strangler.record(flow, &summaries(&orders), api);
        }
        Ok(orders)
    }

    /// Whether the customer exists and may order (their status): from the customers table
    /// (locked until the order is written) or from the customers API, which locks nothing.
    async fn customer_status(
        &self,
        tx: &mut sqlx::PgConnection,
        id: i64,
        request_id: &str,
    ) -> Result<Option<String>, ApiError> {
        let (flow, strangler) = (Flow::PlaceOrder, &self.strangler);
        match strangler.owner() {
            Some(customers) if strangler.uses_api(flow) => {
                let found = customers_api::lookup(customers, id, request_id).await?;
                Ok(found.map(|c| c.status))
            }
            owner => {
                let status = db::customer_status(tx, id).await?;
                if let (true, Some(customers)) = (strangler.compares(flow), owner) {
                    let api = customers_api::lookup(customers, id, request_id).await;
                    strangler.record(flow, &status, api.map(|c| c.map(|c| c.status)));
                }
                Ok(status)
            }
        }
    }
}

/// Each order's customer, by the customers API's batch lookup: one call for the lot.
async fn fill(
    customers: &chassis::consumer::Upstream,
    mut orders: Vec<Order>,
    request_id: &str,
) -> Result<Vec<Order>, chassis::consumer::UpstreamError> {
    let ids: Vec<i64> = orders.iter().filter_map(|o| o.customer_id).collect();
    let found = customers_api::lookup_many(customers, &ids, request_id).await?;
    for order in &mut orders {
        order.customer = order
            .customer_id
            .and_then(|id| found.get(&id))
            .map(|c| CustomerSummary {
                name: c.name.clone(),
                email: c.email.clone(),
            });
    }
    Ok(orders)
}

fn summaries(orders: &[Order]) -> Vec<Option<CustomerSummary>> {
    orders.iter().map(|o| o.customer.clone()).collect()
}

/// The orders service's routes, with the layers every service gets; its flows into
/// customers' data run SQL.
pub fn router(pool: PgPool) -> Router {
    router_switched(pool, Arc::new(Strangler::sql_only()))
}

/// The same, with the flows into customers' data switched as `strangler` says.
pub fn router_switched(pool: PgPool, strangler: Arc<Strangler>) -> Router {
    let service = Service { pool, strangler };
    chassis::http::finish(
        Router::new()
            .route("/orders", get(list).post(create))
            .route("/orders/{id}", get(show).patch(update).delete(remove))
            .route("/guest-checkouts", post(guest_checkout))
            .route("/health", get(crate::health))
            .merge(super::v1::routes())
            .with_state(service),
    )
}

#[derive(Debug, Deserialize)]
struct ListParams {
    customer_id: Option<i64>,
    status: Option<String>,
    // Not `#[serde(flatten)]`: flattening turns query values into strings that no
    // longer parse as numbers.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceOrder {
    customer_id: i64,
    total: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestCheckout {
    name: String,
    email: String,
    phone: Option<String>,
    total: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeStatus {
    status: String,
}

async fn list(
    State(svc): State<Service>,
    Query(params): Query<ListParams>,
    RequestId(request_id): RequestId,
) -> Result<Json<Paged<Order>>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .page()
    .map_err(ApiError::BadQuery)?;
    if let Some(status) = &params.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::BadQuery(format!(
            "status must be one of {}",
            STATUSES.join(", ")
        )));
    }
    let filter = OrderFilter {
        customer_id: params.customer_id,
        status: params.status,
    };
    let (items, total) = db::list(&svc.pool, &filter, page, svc.joined()).await?;
    Ok(Json(Paged {
        items: svc.with_customers(items, &request_id).await?,
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}

async fn show(
    State(svc): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<Json<Order>, ApiError> {
    let order = db::find(&svc.pool, id, svc.joined())
        .await?
        .ok_or(ApiError::NotFound(id))?;
    Ok(Json(one(svc
        .with_customers(vec![order], &request_id)
        .await?)?))
}

/// The one order of a one-order view.
fn one(mut orders: Vec<Order>) -> Result<Order, ApiError> {
    orders
        .pop()
        .ok_or_else(|| ApiError::Database(sqlx::Error::RowNotFound))
}

/// Accepts an order only for an existing, active customer, which it learns by reading
/// the customers table. With an `Idempotency-Key`, a retry of the same request returns the
/// order the first one placed (201 again), whether or not its answer was lost.
async fn create(
    State(svc): State<Service>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    Json(body): Json<PlaceOrder>,
) -> Result<impl IntoResponse, ApiError> {
    let total = validate::total(body.total)?;
    let key = chassis::http::idempotency_key(&headers).map_err(ApiError::BadQuery)?;
    let request_hash = format!("{}:{total}", body.customer_id);
    // A client that hangs up cancels this handler, and a transaction cancelled inside its
    // `BEGIN` stays open on the pooled connection (sqlx 0.8): the work runs to its end.
    let (service, id) = (svc.clone(), request_id.clone());
    let order = crate::reach::to_completion(async move {
        let svc = service;
        let mut tx = svc.pool.begin().await?;
        if let Some(key) = &key {
            db::lock_key(&mut tx, key).await?;
            if let Some((hash, order_id)) = db::idempotent_order(&mut tx, key).await? {
                if hash != request_hash {
                    return Err(ApiError::IdempotencyKeyReused);
                }
                return db::find(&mut *tx, order_id, svc.joined())
                    .await?
                    .ok_or(ApiError::OrderDeleted(order_id));
            }
        }
        match svc
            .customer_status(&mut tx, body.customer_id, &id)
            .await?
            .as_deref()
        {
            None => return Err(ApiError::UnknownCustomer(body.customer_id)),
            Some("active") => {}
            Some(other) => {
                return Err(ApiError::CustomerNotActive(
                    body.customer_id,
                    other.to_owned(),
                ));
            }
        }
        let id = db::insert(&mut tx, body.customer_id, total).await?;
        if let Some(key) = &key {
            db::remember_key(&mut tx, key, &request_hash, id).await?;
        }
        let order = db::find(&mut *tx, id, svc.joined())
            .await?
            .ok_or(ApiError::NotFound(id))?;
        tx.commit().await?;
        Ok(order)
    })
    .await?;
    Ok(created(one(svc
        .with_customers(vec![order], &request_id)
        .await?)?))
}

/// Registers the buyer as a customer (a write into the customers table) and places the
/// order, in one transaction.
async fn guest_checkout(
    State(svc): State<Service>,
    RequestId(request_id): RequestId,
    Json(body): Json<GuestCheckout>,
) -> Result<impl IntoResponse, ApiError> {
    let name = validate::name(&body.name)?;
    let email = validate::email(&body.email)?;
    let phone = validate::phone(body.phone.as_deref())?;
    let total = validate::total(body.total)?;
    // On the API the registration is the customers team's own transaction: an order that
    // then fails leaves a registered guest behind, where one SQL transaction left nothing.
    let registered = match svc.strangler.owner() {
        Some(customers) if svc.strangler.uses_api(Flow::GuestCheckout) => Some(
            customers_api::register(customers, &name, &email, phone.as_deref(), &request_id)
                .await
                .map_err(|err| match err {
                    UpstreamError::Rejected { status, .. } if status == StatusCode::CONFLICT => {
                        ApiError::EmailTaken
                    }
                    other => ApiError::Customers(other),
                })?
                .id,
        ),
        _ => None,
    };
    let service = svc.clone();
    let order = crate::reach::to_completion(async move {
        let svc = service;
        let mut tx = svc.pool.begin().await?;
        let customer_id = match registered {
            Some(id) => id,
            None => db::insert_guest_customer(&mut tx, &name, &email, phone.as_deref()).await?,
        };
        let id = db::insert(&mut tx, customer_id, total).await?;
        let order = db::find(&mut *tx, id, svc.joined())
            .await?
            .ok_or(ApiError::NotFound(id))?;
        tx.commit().await?;
        Ok::<_, ApiError>(order)
    })
    .await?;
    Ok(created(one(svc
        .with_customers(vec![order], &request_id)
        .await?)?))
}

fn created(order: Order) -> impl IntoResponse {
    let location = format!("/orders/{}", order.id);
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(order),
    )
}

/// Whether an order may move from one status to another. Setting the current status
/// again is allowed and changes nothing.
pub fn transition_allowed(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("NEW", "PAID") | ("NEW", "CANCELLED") | ("PAID", "SHIPPED") | ("PAID", "CANCELLED")
        )
}

async fn update(
    State(svc): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
    Json(body): Json<ChangeStatus>,
) -> Result<Json<Order>, ApiError> {
    if !STATUSES.contains(&body.status.as_str()) {
        return Err(validate::Invalid {
            field: "status",
            message: format!("must be one of {}", STATUSES.join(", ")),
        }
        .into());
    }
    let service = svc.clone();
    let order = crate::reach::to_completion(async move {
        let svc = service;
        let mut tx = svc.pool.begin().await?;
        let current = db::lock_status(&mut tx, id)
            .await?
            .ok_or(ApiError::NotFound(id))?;
        if !transition_allowed(&current, &body.status) {
            return Err(ApiError::InvalidTransition {
                id,
                from: current,
                to: body.status,
            });
        }
        db::set_status(&mut tx, id, &body.status).await?;
        let order = db::find(&mut *tx, id, svc.joined())
            .await?
            .ok_or(ApiError::NotFound(id))?;
        tx.commit().await?;
        Ok::<_, ApiError>(order)
    })
    .await?;
    Ok(Json(one(svc
        .with_customers(vec![order], &request_id)
        .await?)?))
}

async fn remove(State(svc): State<Service>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    if db::delete(&svc.pool, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::transition_allowed;

    #[test]
    fn lets_orders_move_forward_or_be_cancelled_before_shipping() {
        assert!(transition_allowed("NEW", "PAID"));
        assert!(transition_allowed("PAID", "SHIPPED"));
        assert!(transition_allowed("PAID", "CANCELLED"));
        assert!(transition_allowed("SHIPPED", "SHIPPED"));
        assert!(!transition_allowed("SHIPPED", "CANCELLED"));
        assert!(!transition_allowed("CANCELLED", "NEW"));
        assert!(!transition_allowed("NEW", "SHIPPED"));
    }
}
