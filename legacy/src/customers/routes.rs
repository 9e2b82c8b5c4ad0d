//! The customers service's HTTP API: CRUD on customers, and a profile that shows order
//! figures it reads from the orders table.

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;

use super::ApiError;
use super::db::{self, Customer, CustomerChanges, NewCustomer, OrderStats};
use crate::page::{PageParams, Paged};
use crate::strangler::{Flow, Strangler};
use chassis::http::{Json, Path, Query, RequestId};
use chassis::validate;

/// What every handler gets: the shared pool, and the switch of the flows that reach the
/// orders team's data (SQL or its API). No handler asks which releases its table has had:
/// this team's queries go through `customers_shape`, which each of its releases keeps.
#[derive(Debug, Clone, FromRef)]
pub(super) struct Service {
    pub(super) pool: PgPool,
    strangler: Arc<Strangler>,
}

/// The customers service's routes, with the layers every service gets; its flows into
/// orders' data run SQL.
pub fn router(pool: PgPool) -> Router {
    router_switched(pool, Arc::new(Strangler::sql_only()))
}

/// The same, with the flows into orders' data switched as `strangler` says.
pub fn router_switched(pool: PgPool, strangler: Arc<Strangler>) -> Router {
    let service = Service { pool, strangler };
    chassis::http::finish(
        Router::new()
            .route("/customers", get(list).post(create))
            .route("/customers/{id}", get(show).patch(update).delete(remove))
            .route("/health", get(crate::health))
            .merge(super::v1::routes())
            .with_state(service),
    )
}

/// The customer's order figures: from the orders table (through the contract at state 2),
/// or from the orders API once the flow is switched; compared before the switch.
async fn order_stats(
    svc: &Service,
    db: impl sqlx::PgExecutor<'_>,
    flow: Flow,
    id: i64,
    request_id: &str,
) -> Result<OrderStats, ApiError> {
    let strangler = &svc.strangler;
    if let (true, Some(orders)) = (strangler.uses_api(flow), strangler.owner()) {
        return Ok(super::orders_api::stats(orders, id, request_id).await?);
    }
    let stats = db::order_stats(db, id).await?;
    if let (true, Some(orders)) = (strangler.compares(flow), strangler.owner()) {
        let api = super::orders_api::stats(orders, id, request_id).await;
        strangler.record(flow, &stats, api);
    }
    Ok(stats)
}

/// A customer with the figures the profile page shows.
#[derive(Debug, Serialize)]
struct Profile {
    #[serde(flatten)]
    customer: Customer,
    open_order_count: i64,
    lifetime_value: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCustomer {
    name: String,
    email: String,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateCustomer {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    status: Option<String>,
}

async fn list(
    State(svc): State<Service>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paged<Customer>>, ApiError> {
    let page = params.page().map_err(ApiError::BadQuery)?;
    let (items, total) = db::list(&svc.pool, page).await?;
    Ok(Json(Paged {
        items,
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}

async fn show(
    State(svc): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<Json<Profile>, ApiError> {
    let customer = db::find(&svc.pool, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    let stats = order_stats(&svc, &svc.pool, Flow::ProfileStats, id, &request_id).await?;
    Ok(Json(Profile {
        customer,
        open_order_count: stats.open_order_count,
        lifetime_value: stats.lifetime_value,
    }))
}

/// A customer as a client registers one, each field validated as sent: the same rules for
/// this service's own clients and, on the road, for the orders team's `/v1` registration.
pub(super) fn new_customer(
    name: &str,
    email: &str,
    phone: Option<&str>,
) -> Result<NewCustomer, ApiError> {
    Ok(NewCustomer {
        name: validate::name(name)?,
        email: validate::email(email)?,
        phone: validate::phone(phone)?,
    })
}

async fn create(
    State(svc): State<Service>,
    Json(body): Json<CreateCustomer>,
) -> Result<impl IntoResponse, ApiError> {
    let new = new_customer(&body.name, &body.email, body.phone.as_deref())?;
    let customer = db::insert(&svc.pool, &new).await?;
    let location = format!("/customers/{}", customer.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(customer),
    ))
}

async fn update(
    State(svc): State<Service>,
    Path(id): Path<i64>,
    Json(body): Json<UpdateCustomer>,
) -> Result<Json<Customer>, ApiError> {
    let changes = CustomerChanges {
        name: body.name.as_deref().map(validate::name).transpose()?,
        email: body.email.as_deref().map(validate::email).transpose()?,
        phone: validate::phone(body.phone.as_deref())?,
        status: body.status.as_deref().map(customer_status).transpose()?,
    };
    let customer = db::update(&svc.pool, id, &changes)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    Ok(Json(customer))
}

/// Refuses while the customer has open orders: a rule about the orders team's data,
/// checked with the orders team's status values.
async fn remove(
    State(svc): State<Service>,
    Path(id): Path<i64>,
    RequestId(request_id): RequestId,
) -> Result<StatusCode, ApiError> {
    // To its end even if the client hangs up: see `chassis::db::to_completion`.
    crate::reach::to_completion(async move {
        let mut tx = svc.pool.begin().await?;
        if !db::lock(&mut tx, id).await? {
            return Err(ApiError::NotFound(id));
        }
        // On the API, the figures come from orders while this row stays locked: no order
        // can be placed for the customer in between, if orders checks over the API too.
        let count = if svc.strangler.uses_api(Flow::DeleteGuard) {
            order_stats(&svc, &mut *tx, Flow::DeleteGuard, id, &request_id)
                .await?
                .open_order_count
        } else {
            let count = db::open_order_count(&mut tx, id).await?;
            if let (true, Some(orders)) = (
                svc.strangler.compares(Flow::DeleteGuard),
                svc.strangler.owner(),
            ) {
                let api = super::orders_api::stats(orders, id, &request_id)
                    .await
                    .map(|stats| stats.open_order_count);
                svc.strangler.record(Flow::DeleteGuard, &count, api);
            }
            count
        };
        if count > 0 {
            return Err(ApiError::HasOpenOrders { id, count });
        }
        db::delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The customer statuses this service knows.
fn customer_status(value: &str) -> Result<&'static str, validate::Invalid> {
    match value {
        "active" => Ok("active"),
        "suspended" => Ok("suspended"),
        _ => Err(validate::invalid("status", "must be active or suspended")),
    }
}
