//! What a client is told when its body, path or query string cannot be read.
//!
//! axum's rejection texts are written for the service's developers: they name Rust types
//! ("expected i64", "expected struct PlaceOrder") and quote serde ("unknown field `x`,
//! expected one of ..."). A client gets a fixed sentence per kind of mistake instead, and
//! the place of the mistake as data: `field` (the member or parameter name) and, for a
//! body, `pointer` (RFC 6901). axum's own text stays in `Display`, for the service's logs.
//! This module owns that translation and nothing of any service's types.

use std::error::Error as StdError;

use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_path_to_error::Segment;

use super::Problem;

/// A request body or path or query string that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The JSON body: wrong content type, not JSON, wrong shape, or too large.
    #[error(transparent)]
    Json(#[from] JsonRejection),
    /// A path segment, such as an id that is not a number.
    #[error("{rejection}")]
    Path {
        rejection: PathRejection,
        /// The route's parameter names, in order: axum's error for a single value does
        /// not say which parameter it was.
        names: Vec<String>,
    },
    /// The query string.
    #[error(transparent)]
    Query(#[from] QueryRejection),
}

impl Rejection {
    /// The problem sent to the client.
    pub fn to_problem(&self) -> Problem {
        match self {
            Self::Json(rejection) => json_problem(rejection),
            Self::Path { rejection, names } => path_problem(rejection, names),
            Self::Query(rejection) => query_problem(rejection),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    let status = rejection.status();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Problem::new(status, "unsupported-media-type", "Unsupported media type")
                .detail("Send the body as JSON, with the header Content-Type: application/json.")
        }
        JsonRejection::JsonSyntaxError(_) => {
            Problem::new(status, "malformed-json", "Malformed JSON")
                .detail("The body is not well-formed JSON.")
        }
        JsonRejection::JsonDataError(err) => {
            let Some(err) = find::<serde_path_to_error::Error<serde_json::Error>>(err) else {
                return Problem::new(status, "invalid-body", "Invalid request body")
                    .detail("The body does not have the shape this resource accepts.");
            };
            let mistake = Mistake::read(err.path(), &err.inner().to_string());
            let detail = match (&mistake.kind, mistake.names.is_empty()) {
                (_, true) => "The body does not have the shape this resource accepts.",
                (Kind::Missing, _) => "The body lacks a member that this resource requires.",
                (Kind::Unknown, _) => "The body has a member that this resource does not accept.",
                (Kind::WrongType, _) => "A member of the body has the wrong JSON type.",
                (Kind::WrongValue, _) => {
                    "A member of the body has a value this resource does not accept."
                }
            };
            mistake.locate(
                Problem::new(status, "invalid-body", "Invalid request body").detail(detail),
                true,
            )
        }
        JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(status, "body-too-large", "Request body too large")
                .detail("The body is larger than this service accepts.")
        }
        _ => Problem::new(status, "unreadable-body", "Unreadable request body")
            .detail("The body could not be read."),
    }
}

fn query_problem(rejection: &QueryRejection) -> Problem {
    let problem = Problem::new(rejection.status(), "invalid-query", "Invalid query string");
    let Some(err) = find::<serde_path_to_error::Error<serde_urlencoded::de::Error>>(rejection)
    else {
        return problem.detail("The query string is not one this resource accepts.");
    };
    let mistake = Mistake::read(err.path(), &err.inner().to_string());
    let detail = match mistake.kind {
        Kind::Missing => "A query parameter that this resource requires is missing.",
        Kind::Unknown => "The query string has a parameter that this resource does not accept.",
        Kind::WrongType | Kind::WrongValue => {
            "A query parameter has a value this resource does not accept."
        }
    };
    mistake.locate(problem.detail(detail), false)
}

fn path_problem(rejection: &PathRejection, names: &[String]) -> Problem {
    let problem = Problem::new(rejection.status(), "invalid-path", "Invalid path parameter");
    let PathRejection::FailedToDeserializePathParams(err) = rejection else {
        // The route and the handler disagree on the parameters: a bug, not bad input.
        return Problem::internal();
    };
    let field = match err.kind() {
        PathErrorKind::ParseErrorAtKey { key, .. }
        | PathErrorKind::DeserializeError { key, .. }
        | PathErrorKind::InvalidUtf8InPathParam { key } => Some(key.as_str()),
        PathErrorKind::ParseErrorAtIndex { index, .. } => names.get(*index).map(String::as_str),
        PathErrorKind::ParseError { .. } => names.first().map(String::as_str),
        PathErrorKind::WrongNumberOfParameters { .. } | PathErrorKind::UnsupportedType { .. } => {
            return Problem::internal();
        }
        _ => None,
    };
    let problem = problem.detail("A path parameter has a value this resource does not accept.");
    match field {
        Some(field) => problem.with("field", field),
        None => problem,
    }
}

/// The first error of type `E` in `err`'s chain of sources (axum wraps serde's error twice).
fn find<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

/// Which kind of mistake serde reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Missing,
    Unknown,
    WrongType,
    WrongValue,
}

/// A deserialization mistake, read from serde's error: its kind and where it is, as the
/// names (or indexes) from the document's root to the member.
#[derive(Debug)]
struct Mistake {
    kind: Kind,
    names: Vec<String>,
    /// Whether the last of `names` is a member name rather than an array index.
    named: bool,
}

impl Mistake {
    /// serde's wording for these kinds is fixed (`serde::de::Error`'s provided methods); it
    /// is read here, never passed on. An unknown member is in the path already; a missing
    /// one is reported at its parent, so its name is taken from between the backticks.
    fn read(path: &serde_path_to_error::Path, message: &str) -> Self {
        let mut names = Vec::new();
        let mut named = false;
        for segment in path {
            let (name, is_name) = match segment {
                Segment::Seq { index } => (index.to_string(), false),
                Segment::Map { key } => (key.clone(), true),
                Segment::Enum { variant } => (variant.clone(), true),
                Segment::Unknown => continue,
            };
            names.push(name);
            named = is_name;
        }
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let kind = if let Some(member) = missing {
            names.push(member.to_owned());
            named = true;
            Kind::Missing
        } else if message.starts_with("unknown field") {
            Kind::Unknown
        } else if message.starts_with("invalid type") {
            Kind::WrongType
        } else {
            Kind::WrongValue
        };
        Self { kind, names, named }
    }

    /// Adds `field` (the last member name) and, for a body, `pointer` to `problem`.
    fn locate(&self, problem: Problem, with_pointer: bool) -> Problem {
        let problem = match (self.named, self.names.last()) {
            (true, Some(field)) => problem.with("field", field.as_str()),
            _ => problem,
        };
        if with_pointer && !self.names.is_empty() {
            let pointer: String = self
                .names
                .iter()
                .map(|name| format!("/{}", name.replace('~', "~0").replace('/', "~1")))
                .collect();
            problem.with("pointer", pointer)
        } else {
            problem
        }
    }
}
