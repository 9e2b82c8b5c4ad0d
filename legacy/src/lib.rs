//! The legacy pair: a customers service and an orders service that share one database and
//! one login. Each owns a table, on paper; in the code each reads, and sometimes writes,
//! the other's. It works on day one. `migrations/scenarios` shows what happens next; `kit road`
//! shows a way out, and [`Reach::Contract`] is this pair on its state 2.

pub mod check;
pub mod customers;
pub mod orders;
mod page;
mod reach;
mod schema;
pub mod strangler;

pub use reach::Reach;

pub use schema::{migrate, ship};

use axum::extract::State;
use chassis::http::{Json, Problem};
use sqlx::PgPool;

/// Application names the two services set on their connections, as `pg_stat_activity`
/// shows them.
pub const CUSTOMERS_APP: &str = "legacy-customers";
pub const ORDERS_APP: &str = "legacy-orders";

/// `GET /health`: 200 when the database answers, 503 when it does not.
pub(crate) async fn health(State(pool): State<PgPool>) -> Result<Json<serde_json::Value>, Problem> {
    chassis::db::health(&pool).await
}
