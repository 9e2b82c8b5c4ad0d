//! The service chassis: what a running service of shared-db-kit links, and nothing else.
//! Configuration, the database pool, migrations run as an owner, owner releases, the HTTP
//! error format (problem+json), content negotiation, telemetry, shutdown, and the resilient
//! consumer. No service's routes or domain rules live here; the migrated services in
//! particular share no domain type through this crate. Nothing here is for tests only:
//! provisioning Postgres, the harness, the scenario catalogue and the seed live in `lab`.

pub mod config;
pub mod consumer;
pub mod db;
pub mod http;
pub mod migrate;
pub mod ownership;
pub mod releases;
pub mod resilience;
pub mod shutdown;
pub mod telemetry;
pub mod validate;

pub use config::DatabaseUrl;
