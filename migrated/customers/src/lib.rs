//! The migrated customers service. It owns schema `customers` and nothing else; the orders
//! service reaches customers only through `/v1`. Its one need of orders, the order figures
//! on a profile and the delete guard, is an HTTP call that may fail (`orders_client.rs`).

mod api;
mod db;
mod error;
mod openapi;
mod orders_client;
mod schema;

pub use api::router;
pub use openapi::openapi_json;
pub use orders_client::{CALL_POLICY, OrdersClient};
pub use schema::{OWNER_ROLE, RUNTIME_ROLE, SCHEMA, SHAPE_SCHEMA, migrate, owner};

/// The `application_name` of the service's connections.
pub const APP: &str = "migrated-customers";

/// The runtime role's password when none is configured: fine for a laptop, to be set for
/// anything shared.
pub const DEMO_PASSWORD: &str = "customers-demo";

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: sqlx::PgPool,
    pub orders: std::sync::Arc<OrdersClient>,
}
