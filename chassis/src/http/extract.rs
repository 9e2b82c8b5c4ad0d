//! Extractors whose rejections come back as problem+json, like every other error.
//!
//! axum's own `Json`, `Path` and `Query` answer bad input with a plain-text body; these
//! wrappers keep axum's status choice (400 syntax, 415 content type, 413 size, 422 shape)
//! and only change the format.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Problem;

/// A request body or path or query string that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The JSON body: wrong content type, not JSON, wrong shape, or too large.
    #[error(transparent)]
    Json(#[from] JsonRejection),
    /// A path segment, such as an id that is not a number.
    #[error(transparent)]
    Path(#[from] PathRejection),
    /// The query string.
    #[error(transparent)]
    Query(#[from] QueryRejection),
}

impl Rejection {
    /// The problem sent to the client.
    pub fn to_problem(&self) -> Problem {
        let (status, slug, title, detail) = match self {
            Self::Json(r) => (
                r.status(),
                json_slug(r),
                "Unreadable request body",
                r.body_text(),
            ),
            Self::Path(r) => (
                r.status(),
                "invalid-path",
                "Invalid path parameter",
                r.body_text(),
            ),
            Self::Query(r) => (
                r.status(),
                "invalid-query",
                "Invalid query string",
                r.body_text(),
            ),
        };
        Problem::new(status, slug, title).detail(detail)
    }
}

fn json_slug(rejection: &JsonRejection) -> &'static str {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => "unsupported-media-type",
        JsonRejection::JsonSyntaxError(_) => "malformed-json",
        JsonRejection::JsonDataError(_) => "invalid-body",
        JsonRejection::BytesRejection(_) => "body-too-large",
        _ => "invalid-body",
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

/// JSON in and out; bad bodies are rejected with problem+json.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(Rejection))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is a 400 problem.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Rejection))]
pub struct Path<T>(pub T);

/// Query parameters; a malformed one is a 400 problem.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Rejection))]
pub struct Query<T>(pub T);

/// The id of the request being served (set by [`super::finish`]'s layers), to forward to
/// the services this request calls.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get(super::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        Ok(Self(id.to_owned()))
    }
}
