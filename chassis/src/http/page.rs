//! Offset pagination: `?limit=&offset=`, checked the same way by every list endpoint.

use serde::Deserialize;

/// The page size when the client names none.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 200;

/// `?limit=&offset=` as sent by the client.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageParams {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl PageParams {
    /// Checks the bounds; the error names the parameter and its allowed range.
    pub fn page(self) -> Result<Page, String> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        let offset = self.offset.unwrap_or(0);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(format!("limit must be between 1 and {MAX_LIMIT}"));
        }
        if offset < 0 {
            return Err("offset must not be negative".to_owned());
        }
        Ok(Page { limit, offset })
    }
}
