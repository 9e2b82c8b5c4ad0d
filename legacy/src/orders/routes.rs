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
use super::db::{self, Order, OrderFilter};
use super::shape::OrdersTable;
use crate::page::{PageParams, Paged};
use chassis::http::{Json, Path, Query};
use chassis::releases::Releases;
use chassis::validate;

/// The statuses an order moves through.
pub const STATUSES: [&str; 4] = ["NEW", "PAID", "SHIPPED", "CANCELLED"];

/// What every handler gets: the shared pool, and the releases of the orders team.
#[derive(Debug, Clone, FromRef)]
struct Service {
    pool: PgPool,
    releases: Arc<Releases>,
}

impl Service {
    /// The table's shape now, read once per request so that its queries agree. A release
    /// shipped while the service runs is in force from the next request, without a restart.
    async fn table(&self) -> Result<OrdersTable, ApiError> {
        Ok(OrdersTable::from_releases(&*self.releases.current().await?))
    }
}

/// The orders service's routes, with the layers every service gets.
pub fn router(pool: PgPool) -> Router {
    let releases = super::releases(pool.clone());
    let service = Service {
        pool,
        releases: Arc::new(releases),
    };
    chassis::http::finish(
        Router::new()
            .route("/orders", get(list).post(create))
            .route("/orders/{id}", get(show).patch(update).delete(remove))
            .route("/guest-checkouts", post(guest_checkout))
            .route("/health", get(crate::health))
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
    let (items, total) = db::list(&svc.pool, &svc.table().await?, &filter, page).await?;
    Ok(Json(Paged {
        items,
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}

async fn show(State(svc): State<Service>, Path(id): Path<i64>) -> Result<Json<Order>, ApiError> {
    let table = svc.table().await?;
    let order = db::find(&svc.pool, &table, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    Ok(Json(order))
}

/// Accepts an order only for an existing, active customer, which it learns by reading
/// the customers table. With an `Idempotency-Key`, a retry of the same request returns the
/// order the first one placed (201 again), whether or not its answer was lost.
async fn create(
    State(svc): State<Service>,
    headers: HeaderMap,
    Json(body): Json<PlaceOrder>,
) -> Result<impl IntoResponse, ApiError> {
    let total = validate::total(body.total)?;
    let key = chassis::http::idempotency_key(&headers).map_err(ApiError::BadQuery)?;
    let request_hash = format!("{}:{total}", body.customer_id);
    let table = svc.table().await?;
    // A client that hangs up cancels this handler, and a transaction cancelled inside its
    // `BEGIN` stays open on the pooled connection (sqlx 0.8): the work runs to its end.
    let order = crate::reach::to_completion(async move {
        let mut tx = svc.pool.begin().await?;
        if let Some(key) = &key {
            db::lock_key(&mut tx, key).await?;
            if let Some((hash, order_id)) = db::idempotent_order(&mut tx, key).await? {
                if hash != request_hash {
                    return Err(ApiError::IdempotencyKeyReused);
                }
                return db::find(&mut *tx, &table, order_id)
                    .await?
                    .ok_or(ApiError::OrderDeleted(order_id));
            }
        }
        match db::customer_status(&mut tx, body.customer_id)
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
        let id = db::insert(&mut tx, &table, body.customer_id, total).await?;
        if let Some(key) = &key {
            db::remember_key(&mut tx, key, &request_hash, id).await?;
        }
        let order = db::find(&mut *tx, &table, id)
            .await?
            .ok_or(ApiError::NotFound(id))?;
        tx.commit().await?;
        Ok(order)
    })
    .await?;
    Ok(created(order))
}

/// Registers the buyer as a customer (a write into the customers table) and places the
/// order, in one transaction.
async fn guest_checkout(
    State(svc): State<Service>,
    Json(body): Json<GuestCheckout>,
) -> Result<impl IntoResponse, ApiError> {
    let name = validate::name(&body.name)?;
    let email = validate::email(&body.email)?;
    let phone = validate::phone(body.phone.as_deref())?;
    let total = validate::total(body.total)?;
    let table = svc.table().await?;
    let order = crate::reach::to_completion(async move {
        let mut tx = svc.pool.begin().await?;
        let customer_id =
            db::insert_guest_customer(&mut tx, &name, &email, phone.as_deref()).await?;
        let id = db::insert(&mut tx, &table, customer_id, total).await?;
        let order = db::find(&mut *tx, &table, id)
            .await?
            .ok_or(ApiError::NotFound(id))?;
        tx.commit().await?;
        Ok::<_, ApiError>(order)
    })
    .await?;
    Ok(created(order))
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
    Json(body): Json<ChangeStatus>,
) -> Result<Json<Order>, ApiError> {
    if !STATUSES.contains(&body.status.as_str()) {
        return Err(validate::Invalid {
            field: "status",
            message: format!("must be one of {}", STATUSES.join(", ")),
        }
        .into());
    }
    let table = svc.table().await?;
    crate::reach::to_completion(async move {
        let mut tx = svc.pool.begin().await?;
        let current = db::lock_status(&mut tx, &table, id)
            .await?
            .ok_or(ApiError::NotFound(id))?;
        if !transition_allowed(&current, &body.status) {
            return Err(ApiError::InvalidTransition {
                id,
                from: current,
                to: body.status,
            });
        }
        db::set_status(&mut tx, &table, id, &body.status).await?;
        let order = db::find(&mut *tx, &table, id)
            .await?
            .ok_or(ApiError::NotFound(id))?;
        tx.commit().await?;
        Ok(Json(order))
    })
    .await
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
