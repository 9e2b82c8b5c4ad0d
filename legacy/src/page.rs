//! A page of a collection as the legacy services show it: the items and the size of the whole.

use serde::Serialize;

pub use chassis::http::page::PageParams;

/// One page of a collection, with the size of the whole.
#[derive(Debug, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
    pub total: i64,
}
