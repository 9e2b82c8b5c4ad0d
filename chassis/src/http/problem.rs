//! RFC 9457 problem details: the one error body every service of this kit returns.
//!
//! Services turn their own error enums into a [`Problem`]; this module owns the wire format
//! (`application/problem+json`, a stable `type` per kind of problem) and knows nothing of
//! any service's domain.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem, as sent to a client.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short, human-readable summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status, repeated in the body for clients that lose the header.
    pub status: u16,
    /// What went wrong this time, written for the client: never internal text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Extra members a client can act on (`open_order_count`, `errors`, ...).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem of kind `slug` (its `type` becomes `/problems/{slug}`).
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            type_uri: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            extensions: Map::new(),
            retry_after: None,
        }
    }

    /// Adds the occurrence-specific explanation.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Asks the client to come back after `seconds`.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The status as a [`StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The generic 500: says nothing of the cause, which goes to the log instead.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
        .detail("The request could not be completed. It has been logged; quote the x-request-id header when reporting it.")
    }

    /// The database cannot be reached right now: an expected event, worth a retry.
    pub fn database_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "Database unavailable",
        )
        .detail(
            "The service cannot reach its database right now. Nothing was changed; retry later.",
        )
        .retry_after(5)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
