//! HTTP plumbing shared by every service: problem+json errors, extractors that reject in
//! that format, and the layers every router gets (request id, request span, body limit,
//! fallbacks), and serving with timeouts and a shutdown deadline ([`serve_with`]). No route
//! and no domain type lives here.

pub mod conditional;
mod extract;
mod idempotency;
pub mod negotiate;
pub mod page;
mod problem;
mod rejection;
mod serve;

pub use extract::{Json, Path, Query, RequestId};
pub use idempotency::{IDEMPOTENCY_KEY, idempotency_key};
pub use problem::{PROBLEM_JSON, Problem};
pub use rejection::Rejection;
pub use serve::{
    BODY_TIMEOUT, HEADER_READ_TIMEOUT, MAX_CONNECTIONS, SHUTDOWN_GRACE, ServeLimits, serve_with,
};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The header that carries a request's id, set when absent and echoed on the response.
pub const REQUEST_ID: &str = "x-request-id";

/// Largest request body any service accepts; larger ones get 413.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Wraps a service's routes in what every service needs: problem+json for unknown routes
/// and methods, a body limit, a request id (kept from the caller when given, so one id
/// follows a call across services) and a request span that carries it.
pub fn finish(routes: Router) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID);
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        // Layers run bottom-up on the request: set the id, open the span, then echo the id.
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // Each 5xx is logged once, with its cause, by the service's error type.
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        request_id = %request_id,
    )
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
        .detail("No resource at this path.")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
    )
    .detail("This resource does not support that method.")
}

/// Serves `app` on `listener` with the default [`ServeLimits`] until `shutdown` is
/// cancelled, then lets in-flight requests finish within [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, ServeLimits::default()).await
}

/// Binds `addr`, or says which flag picks another address.
pub async fn bind(
    addr: std::net::SocketAddr,
    flag: &str,
) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|err| {
        anyhow::anyhow!("cannot listen on {addr} ({err}); pick another address with {flag}")
    })
}
