//! The legacy orders service. It owns the `orders` table, and reaches into the customers
//! service's table three ways (see `db.rs`): it joins it to show an order's customer, reads
//! it to accept an order, and writes it at guest checkout.

mod db;
mod error;
mod routes;

pub use error::ApiError;
pub use routes::router;

use chassis::releases::Releases;
use sqlx::PgPool;

use crate::Reach;
use crate::check::Statement;

/// The orders team, as `schema_releases` names it.
pub const TEAM: &str = "orders";

/// The releases of this team's table, as `legacy check` reads them to explain a break (no
/// request reads them).
pub(crate) fn releases(pool: PgPool) -> Releases {
    // The table is shared, so are its releases: this service reads only its team's.
    Releases::new(pool, "schema_releases", Some(TEAM))
}

/// The service's routes, reaching the other team's data as `reach` says.
pub fn router_reaching(pool: PgPool, reach: Reach) -> axum::Router {
    crate::reach::scoped(router(pool), reach)
}

/// Every SQL statement this service runs.
pub fn statements() -> Vec<Statement> {
    statements_reaching(Reach::Tables)
}

/// The same, reaching the other team's data as `reach` says.
pub fn statements_reaching(reach: Reach) -> Vec<Statement> {
    db::statements(reach)
}
