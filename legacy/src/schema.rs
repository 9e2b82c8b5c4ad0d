//! The shared schema's lifecycle: its migrations (one history for the whole database, as
//! a shared database has) and an owner's release shipped onto it.

use chassis::DatabaseUrl;
use chassis::migrate::MigrateError;
use chassis::releases::{Applied, Release, Target};

mod embedded {
    refinery::embed_migrations!("../migrations/legacy");
}

/// Brings the shared schema up to date; returns how many migrations were applied.
pub async fn migrate(url: &DatabaseUrl) -> Result<usize, MigrateError> {
    let report = chassis::migrate::run(url, embedded::migrations::runner(), None).await?;
    Ok(report.applied_migrations().len())
}

/// The schema that holds `team`'s shape: the views its own queries go through.
pub fn shape_schema(team: &str) -> &'static str {
    if team == crate::orders::TEAM {
        "orders_shape"
    } else {
        "customers_shape"
    }
}

/// Ships `scenario` as its owner's release on the shared schema, with the owner's new
/// shape. The shared login can change any table: nothing stops a team from changing the one
/// another team reads.
pub async fn ship(url: &DatabaseUrl, release: Release<'_>) -> Result<Applied, sqlx::Error> {
    let target = Target {
        role: None,
        releases: "schema_releases",
        owner_column: true,
        shape_schema: shape_schema(release.owner),
        runtime_role: None,
    };
    chassis::releases::apply(url, target, release).await
}
