//! The legacy customers service. It owns the `customers` table, and, like every service on
//! a shared database, it also reads a table it does not own: `orders` (see `db.rs`), for a
//! profile's open-order count and lifetime value, and for the delete guard.

mod db;
mod error;
mod routes;
mod shape;

pub use error::ApiError;
pub use routes::router;
