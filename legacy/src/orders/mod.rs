//! The legacy orders service. It owns the `orders` table, and reaches into the customers
//! service's table three ways (see `db.rs`): it joins it to show an order's customer, reads
//! it to accept an order, and writes it at guest checkout.

mod db;
mod error;
mod routes;
mod shape;

pub use error::ApiError;
pub use routes::router;
