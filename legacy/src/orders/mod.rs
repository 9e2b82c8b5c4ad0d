//! The legacy orders service. It owns the `orders` table, and reaches into the customers
//! service's table three ways (see `db.rs`): it joins it to show an order's customer, reads
//! it to accept an order, and writes it at guest checkout.

mod customers_api;
mod db;
mod error;
mod routes;
mod v1;

pub use error::ApiError;
pub use routes::{router, router_switched};

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

/// The service's routes on the road: reaching the other team's data as `reach` says, the
/// flows `strangler` switched through the customers API.
pub fn router_on_road(
    pool: PgPool,
    reach: Reach,
    strangler: std::sync::Arc<crate::strangler::Strangler>,
) -> axum::Router {
    crate::reach::scoped(router_switched(pool, strangler), reach)
}

/// Every SQL statement this service runs.
pub fn statements() -> Vec<Statement> {
    statements_reaching(Reach::Tables)
}

/// The same, reaching the other team's data as `reach` says.
pub fn statements_reaching(reach: Reach) -> Vec<Statement> {
    let mut statements = db::statements(reach);
    statements.extend(db::api_statements());
    statements
}
