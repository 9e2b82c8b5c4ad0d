//! Shared infrastructure of shared-db-kit, and nothing else: where Postgres comes from,
//! how migrations run, logging, the HTTP error format, seed data and the test harness.
//! No service's routes or domain rules live here; the migrated services in particular
//! share no domain type through this crate.

pub mod config;
pub mod consumer;
pub mod db;
pub mod harness;
pub mod http;
pub mod migrate;
pub mod openapi;
pub mod ownership;
pub mod postgres;
pub mod resilience;
pub mod scenario;
pub mod seed;
pub mod shutdown;
pub mod telemetry;
pub mod validate;

pub use config::DatabaseUrl;
