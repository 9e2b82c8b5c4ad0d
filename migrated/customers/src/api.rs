//! The customers API, version 1: its routes, and what every handler shares. Representations
//! are this service's own types ([`wire`]): a client sees resources and links, never the
//! table behind them. `GET /v1/customers?ids=` is the batch lookup that lets the orders
//! service show a page of orders with one call. Reads that need orders degrade when it
//! cannot answer ([`reads`]); a delete that needs it fails closed ([`writes`]). The
//! document that describes it all is in `crate::openapi`.

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use chassis::http::negotiate::{RootOf, negotiate};
use sqlx::PgPool;

use crate::{AppState, OrdersClient};
use reads::{health, list, profile, show};
use writes::{create, remove, update};

pub(crate) mod reads;
mod wire;
pub(crate) mod writes;

/// How many ids one batch lookup may name.
pub const MAX_BATCH: usize = 200;

/// What every handler gets: the caller's state. No handler asks which releases its tables
/// have had: its queries go through the shape schema, which each release keeps.
#[derive(Debug, Clone)]
struct Service {
    pool: PgPool,
    orders: Arc<OrdersClient>,
}

/// The customers service's routes, with the layers every service gets.
pub fn router(state: AppState) -> Router {
    let state = Service {
        pool: state.pool,
        orders: state.orders,
    };
    chassis::http::finish(
        Router::new()
            .route("/v1/customers", get(list).post(create))
            .route("/v1/customers/{id}", get(show).patch(update).delete(remove))
            .route("/v1/customers/{id}/profile", get(profile))
            .route_layer(from_fn_with_state(xml_root as RootOf, negotiate))
            .route("/health", get(health))
            .route("/openapi.json", get(crate::openapi::serve))
            .with_state(state),
    )
}

/// The XML element a route's representation is named by.
fn xml_root(method: &Method, route: &str) -> &'static str {
    match route {
        "/v1/customers" if method == Method::GET => "customers",
        "/v1/customers/{id}/profile" => "profile",
        _ => "customer",
    }
}
