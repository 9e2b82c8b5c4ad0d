//! What a service does with clients that hold a connection and send nothing useful: idle,
//! half a request head, an announced body that never comes. Each is closed or answered
//! 408 by the server, and stopping the service returns while one is still connected.
//! Real sockets, the legacy pair on a database of its own; the limits are the test's own
//! short ones (the defaults are `chassis::http`'s constants), and no time is asserted: a
//! read that never ends fails the test at a generous deadline instead of hanging it.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;
use std::time::Duration;

use chassis::http::ServeLimits;
use lab::harness::{TestContext, TestDatabase};
use lab::pairs::{self, Listeners, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        an_idle_connection_is_closed_by_the_server,
        a_connection_that_sends_half_a_request_head_is_closed,
        a_body_that_never_arrives_is_answered_408_or_closed,
        stopping_a_service_returns_while_a_client_holds_a_connection_open,
    ])
}

/// Far longer than any limit below: reaching it means the server never acted.
const NEVER: Duration = Duration::from_secs(60);

fn short_limits() -> ServeLimits {
    ServeLimits {
        header_read_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    }
}

/// The legacy pair served within `limits`, and its database (kept alive with it).
async fn legacy_pair(ctx: &TestContext, limits: ServeLimits) -> (Running, TestDatabase) {
    let database = ctx.database(&support::LEGACY).await;
    let listeners = Listeners::loopback().await.unwrap().with_limits(limits);
    let running = pairs::legacy::start(&database.url, listeners).unwrap();
    (running, database)
}

async fn orders_count(database: &TestDatabase) -> i64 {
    let pool = chassis::db::pool(&database.url, "test").unwrap();
    let count = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection (or resets it).
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(NEVER, async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

async fn an_idle_connection_is_closed_by_the_server(ctx: TestContext) {
    let (running, _app) = legacy_pair(&ctx, short_limits()).await;
    let mut idle = connect(&running.orders.url).await;

    let received = until_closed(&mut idle).await;

    assert!(
        received.is_empty() || received.starts_with("HTTP/1.1 408"),
        "{received}"
    );
}

async fn a_connection_that_sends_half_a_request_head_is_closed(ctx: TestContext) {
    let (running, _app) = legacy_pair(&ctx, short_limits()).await;
    let mut slow = connect(&running.orders.url).await;

    slow.write_all(b"GET /orders/1 HTTP/1.1\r\nHost: orders\r\nAccept: appl")
        .await
        .unwrap();
    let received = until_closed(&mut slow).await;

    assert!(
        received.is_empty() || received.starts_with("HTTP/1.1 408"),
        "{received}"
    );
}

async fn a_body_that_never_arrives_is_answered_408_or_closed(ctx: TestContext) {
    let (running, database) = legacy_pair(&ctx, short_limits()).await;
    let orders_before = orders_count(&database).await;
    let mut stalled = connect(&running.orders.url).await;

    stalled
        .write_all(
            b"POST /orders HTTP/1.1\r\nHost: orders\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"customer_id\": 1,",
        )
        .await
        .unwrap();
    let received = until_closed(&mut stalled).await;

    assert!(
        received.is_empty() || received.starts_with("HTTP/1.1 408"),
        "{received}"
    );
    assert_eq!(orders_count(&database).await, orders_before);
}

async fn stopping_a_service_returns_while_a_client_holds_a_connection_open(ctx: TestContext) {
    // The head could take an hour: only the shutdown grace can end this connection.
    let limits = ServeLimits {
        header_read_timeout: Duration::from_secs(3600),
        shutdown_grace: Duration::from_millis(200),
        ..ServeLimits::default()
    };
    let (mut running, _app) = legacy_pair(&ctx, limits).await;
    let mut holding = connect(&running.orders.url).await;
    holding
        .write_all(b"GET /orders/1 HTTP/1.1\r\nHost: orders\r\n")
        .await
        .unwrap();
    // The server has the connection once it answers a request on another one.
    let served = support::http_client()
        .get(format!("{}/health", running.orders.url))
        .send()
        .await
        .unwrap();
    assert!(served.status().is_success());

    let stopped = tokio::time::timeout(NEVER, running.orders.stop()).await;

    assert!(
        stopped.is_ok(),
        "stop() did not return with a client connected"
    );
    stopped.unwrap().unwrap();
    until_closed(&mut holding).await;
}
