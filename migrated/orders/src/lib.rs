//! The migrated orders service. It owns schema `orders` and nothing else; it knows customers
//! only through the customers API (`customers_client.rs`): to show an order's customer, to
//! accept an order, and to register a guest. It serves the order figures the customers
//! service needs at `/v1/order-stats/{customer_id}`.

mod api;
mod customers_client;
mod db;
mod error;
mod openapi;
mod schema;

pub use api::router;
pub use customers_client::{CALL_POLICY, CustomersClient};
pub use openapi::openapi_json;
pub use schema::{OWNER_ROLE, RUNTIME_ROLE, SCHEMA, SHAPE_SCHEMA, migrate, owner};

/// The `application_name` of the service's connections.
pub const APP: &str = "migrated-orders";

/// The runtime role's password when none is configured: fine for a laptop, to be set for
/// anything shared.
pub const DEMO_PASSWORD: &str = "orders-demo";

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: sqlx::PgPool,
    pub customers: std::sync::Arc<CustomersClient>,
}
