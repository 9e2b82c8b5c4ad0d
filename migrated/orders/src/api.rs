//! The orders API, version 1 and the v2 read a release may publish: its routes, and what every handler shares. An order shows its
//! customer's name and email, fetched from the customers API (one batch call per page).
//! Reads degrade when customers cannot answer ([`reads`]); writes that need a confirmed
//! customer fail closed ([`writes`]). What goes over the wire is in [`wire`], and the
//! document that describes it in `crate::openapi`. Handlers reach customers only through
//! [`CustomersClient`], never its data.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chassis::http::negotiate::{RootOf, negotiate};
use sqlx::PgPool;

use crate::db::Order;
use crate::{AppState, CustomersClient};
use reads::{health, list, order_stats, show, show_v2};
use wire::Customers;
use writes::{create, guest_checkout, remove, update};

pub(crate) mod reads;
mod wire;
pub(crate) mod writes;

/// The statuses an order moves through.
pub const STATUSES: [&str; 4] = ["NEW", "PAID", "SHIPPED", "CANCELLED"];

/// What every handler gets: the caller's state. No handler asks which releases its tables
/// have had: its queries go through the shape schema, which each release keeps.
#[derive(Debug, Clone)]
struct Service {
    pool: PgPool,
    customers: Arc<CustomersClient>,
}

/// The orders service's routes, with the layers every service gets.
pub fn router(state: AppState) -> Router {
    let state = Service {
        pool: state.pool,
        customers: state.customers,
    };
    chassis::http::finish(
        Router::new()
            .route("/v1/orders", get(list).post(create))
            .route("/v1/orders/{id}", get(show).patch(update).delete(remove))
            .route("/v1/guest-checkouts", post(guest_checkout))
            .route("/v1/order-stats/{customer_id}", get(order_stats))
            // v2 beside v1: published by a release of this team's (its shape's `orders_v2`).
            .route("/v2/orders/{id}", get(show_v2))
            .route_layer(from_fn_with_state(xml_root as RootOf, negotiate))
            .route("/health", get(health))
            .route("/openapi.json", get(crate::openapi::serve))
            .with_state(state),
    )
}

/// The XML element a route's representation is named by.
fn xml_root(method: &Method, route: &str) -> &'static str {
    match route {
        "/v1/orders" if method == Method::GET => "orders",
        "/v1/order-stats/{customer_id}" => "order-stats",
        _ => "order",
    }
}

/// Looks the customers up in one call; an unreachable customers service degrades the read.
async fn customers_of(state: &Service, orders: &[Order], request_id: &str) -> Customers {
    let ids: Vec<i64> = orders.iter().map(|o| o.customer_id).collect();
    match state.customers.lookup_many(&ids, request_id).await {
        Ok(known) => Customers::Known(known),
        Err(err) => {
            tracing::warn!(%err, "orders served without their customers");
            Customers::Unavailable
        }
    }
}

fn with_warning(customers: &Customers, response: impl IntoResponse) -> Response {
    match customers {
        Customers::Known(_) => response.into_response(),
        Customers::Unavailable => {
            let warning = HeaderValue::from_static("199 orders \"customer details unavailable\"");
            ([(header::WARNING, warning)], response).into_response()
        }
    }
}
