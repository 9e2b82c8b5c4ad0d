//! The legacy customers service. It owns the `customers` table, and, like every service on
//! a shared database, it also reads a table it does not own: `orders` (see `db.rs`), for a
//! profile's open-order count and lifetime value, and for the delete guard.

mod db;
mod error;
mod orders_api;
mod routes;
mod v1;

pub use error::ApiError;
pub use routes::{router, router_switched};

use chassis::releases::Releases;
use sqlx::PgPool;

use crate::Reach;
use crate::check::Statement;

/// The customers team, as `schema_releases` names it.
pub const TEAM: &str = "customers";

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
/// flows `strangler` switched through the orders API.
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
    db::statements(reach)
}
