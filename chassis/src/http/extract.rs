//! Extractors whose rejections come back as problem+json, like every other error.
//!
//! axum's own `Json`, `Path` and `Query` answer bad input with a plain-text body; these
//! wrappers keep axum's status choice (400 syntax, 415 content type, 413 size, 422 shape)
//! and hand the rejection to [`Rejection`], which decides what the client is told.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::Rejection;

/// JSON in and out; bad bodies are rejected with problem+json. A request body is a JSON
/// object, always: serde would also read a struct from an array of its fields in order
/// (`[1, 2]` placed an order), a shape no document here describes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Rejection> {
        let axum::Json(Object(value)) = axum::Json::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// `T`, read only from a JSON object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is a 400 problem that names the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(Rejection::Path {
                names: parameter_names(parts, state).await,
                rejection,
            }),
        }
    }
}

/// The route's parameter names, read only when a parameter was rejected.
async fn parameter_names<S: Send + Sync>(parts: &mut Parts, state: &S) -> Vec<String> {
    match RawPathParams::from_request_parts(parts, state).await {
        Ok(params) => params.iter().map(|(name, _)| name.to_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

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

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get(super::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        Ok(Self(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::{get, post};
    use serde::Deserialize;
    use serde_json::Value;
    use tower::ServiceExt as _;

    use super::*;

    /// What serde and Rust say that a client must never read.
    const INTERNAL: [&str; 7] = [
        "expected",
        "struct",
        "i64",
        "`",
        "PlaceOrder",
        "invalid type",
        "u32",
    ];

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // only the rejections matter here
    struct PlaceOrder {
        customer_id: i64,
        total: String,
        lines: Option<Vec<Line>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Status {
        #[serde(rename = "NEW")]
        New,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Page {
        limit: Option<u32>,
        status: Option<Status>,
    }

    fn app() -> Router {
        Router::new()
            .route("/orders", post(|Json(_): Json<PlaceOrder>| async {}))
            .route("/orders", get(|Query(_): Query<Page>| async {}))
            .route("/orders/{id}", get(|Path(_): Path<i64>| async {}))
            .route(
                "/customers/{customer_id}/orders/{order_id}",
                get(|Path(_): Path<(i64, i64)>| async {}),
            )
    }

    async fn send(request: Request<Body>) -> (StatusCode, Value) {
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn post_json(body: &str) -> (StatusCode, Value) {
        let request = Request::post("/orders")
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        send(request).await
    }

    async fn get_uri(uri: &str) -> (StatusCode, Value) {
        send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    /// Every string in `problem`, at any depth, is free of Rust and serde wording.
    fn assert_plain(problem: &Value) {
        let mut strings = vec![problem];
        while let Some(value) = strings.pop() {
            match value {
                Value::String(text) => {
                    for word in INTERNAL {
                        assert!(!text.contains(word), "{word:?} in {problem}");
                    }
                }
                Value::Array(items) => strings.extend(items),
                Value::Object(members) => strings.extend(members.values()),
                _ => {}
            }
        }
    }

    #[tokio::test]
    async fn names_a_member_of_the_wrong_type_without_rust_or_serde_wording() {
        let (status, problem) = post_json(r#"{"customer_id": "one", "total": "5"}"#).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["type"], "/problems/invalid-body");
        assert_eq!(problem["field"], "customer_id");
        assert_eq!(problem["pointer"], "/customer_id");
        assert_plain(&problem);
    }

    #[tokio::test]
    async fn names_an_unknown_member_without_listing_the_accepted_ones() {
        let (status, problem) =
            post_json(r#"{"customer_id": 1, "total": "5", "discount": 1}"#).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "discount");
        assert_eq!(problem["pointer"], "/discount");
        assert_plain(&problem);
    }

    #[tokio::test]
    async fn names_a_missing_member() {
        let (_, problem) = post_json(r#"{"total": "5"}"#).await;

        assert_eq!(problem["field"], "customer_id");
        assert_eq!(problem["pointer"], "/customer_id");
        assert_plain(&problem);
    }

    #[tokio::test]
    async fn points_into_arrays_and_nested_objects() {
        let (_, wrong) = post_json(
            r#"{"customer_id": 1, "total": "5", "lines": [{"sku": "a", "quantity": -1}]}"#,
        )
        .await;
        let (_, unknown) = post_json(
            r#"{"customer_id": 1, "total": "5", "lines": [{"sku": "a", "quantity": 1, "a/b": 0}]}"#,
        )
        .await;

        assert_eq!(wrong["pointer"], "/lines/0/quantity");
        assert_eq!(wrong["field"], "quantity");
        assert_eq!(unknown["pointer"], "/lines/0/a~1b");
        assert_plain(&wrong);
        assert_plain(&unknown);
    }

    #[tokio::test]
    async fn answers_a_body_that_is_not_an_object_or_not_json_in_plain_words() {
        for (body, status, problem_type) in [
            (
                "[]",
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-body",
            ),
            (
                r#"[1, "5", null]"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-body",
            ),
            (
                "5",
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid-body",
            ),
            (
                r#"{"customer_id": 1,"#,
                StatusCode::BAD_REQUEST,
                "/problems/malformed-json",
            ),
            (
                r#"{"customer_id": 1, "total": "5"} x"#,
                StatusCode::BAD_REQUEST,
                "/problems/malformed-json",
            ),
        ] {
            let (got, problem) = post_json(body).await;

            assert_eq!(
                (got, problem["type"].as_str()),
                (status, Some(problem_type)),
                "{body}"
            );
            assert!(problem.get("field").is_none(), "{problem}");
            assert_plain(&problem);
        }
    }

    #[tokio::test]
    async fn names_the_path_parameter_that_is_not_a_number() {
        let (status, single) = get_uri("/orders/abc").await;
        let (_, second) = get_uri("/customers/1/orders/1.5").await;

        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(single["type"], "/problems/invalid-path");
        assert_eq!(single["field"], "id");
        assert_eq!(second["field"], "order_id");
        assert_plain(&single);
        assert_plain(&second);
    }

    #[tokio::test]
    async fn names_the_query_parameter_that_cannot_be_read() {
        for (query, field) in [
            ("limit=ten", "limit"),
            ("limit=-1", "limit"),
            ("status=LOST", "status"),
        ] {
            let (status, problem) = get_uri(&format!("/orders?{query}")).await;

            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(problem["type"], "/problems/invalid-query");
            assert_eq!(problem["field"], field, "{query}: {problem}");
            assert_plain(&problem);
        }
    }
}
