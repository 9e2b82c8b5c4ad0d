//! The customers team's `/v1` API for the other team (the road's state 3): a customer by
//! id, a batch of them, and a guest's registration. It answers from this service's own
//! table, through its shape view, so the owner's releases stay behind it; the consumer sees
//! ids, names, emails and statuses, never a column.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::ApiError;
use super::db::{self, Customer};
use super::routes::Service;
use chassis::http::{Json, Path, Query};

/// What another service may know of a customer.
#[derive(Debug, Serialize)]
pub struct CustomerV1 {
    id: i64,
    name: String,
    email: String,
    status: String,
}

impl From<Customer> for CustomerV1 {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            status: c.status,
        }
    }
}

#[derive(Debug, Serialize)]
struct Items {
    items: Vec<CustomerV1>,
}

#[derive(Debug, Deserialize)]
struct Ids {
    /// Comma-separated customer ids.
    ids: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    name: String,
    email: String,
    phone: Option<String>,
}

/// Most ids one batch lookup takes: a page of orders.
const MAX_IDS: usize = 100;

pub(super) fn routes() -> Router<Service> {
    Router::new()
        .route("/v1/customers", get(batch).post(register))
        .route("/v1/customers/{id}", get(one))
}

async fn one(
    State(svc): State<Service>,
    Path(id): Path<i64>,
) -> Result<Json<CustomerV1>, ApiError> {
    let customer = db::find(&svc.pool, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    Ok(Json(customer.into()))
}

async fn batch(
    State(svc): State<Service>,
    Query(query): Query<Ids>,
) -> Result<Json<Items>, ApiError> {
    let ids = query
        .ids
        .split(',')
        .map(|id| id.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::BadQuery("ids must be comma-separated integers".into()))?;
    if ids.len() > MAX_IDS {
        return Err(ApiError::BadQuery(format!(
            "at most {MAX_IDS} ids in one lookup"
        )));
    }
    let found = db::find_many(&svc.pool, &ids).await?;
    Ok(Json(Items {
        items: found.into_iter().map(CustomerV1::from).collect(),
    }))
}

async fn register(
    State(svc): State<Service>,
    Json(body): Json<Registration>,
) -> Result<impl IntoResponse, ApiError> {
    let new = super::routes::new_customer(&body.name, &body.email, body.phone.as_deref())?;
    let customer = db::insert(&svc.pool, &new).await?;
    Ok((StatusCode::CREATED, Json(CustomerV1::from(customer))))
}
