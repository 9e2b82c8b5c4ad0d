//! A pair's two services serving on bound listeners: their URLs, and a way to stop each one
//! and wait until it has stopped. The one handle every starter of a pair returns.

use std::net::SocketAddr;

use chassis::http::ServeLimits;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where the two services of a pair listen, bound before anything is served.
#[derive(Debug)]
pub struct Listeners {
    pub customers: TcpListener,
    pub orders: TcpListener,
    /// How both services treat their clients' connections.
    pub limits: ServeLimits,
}

impl Listeners {
    /// Two free loopback ports, for tests and in-process runs.
    pub async fn loopback() -> anyhow::Result<Self> {
        Ok(Self {
            customers: TcpListener::bind("127.0.0.1:0").await?,
            orders: TcpListener::bind("127.0.0.1:0").await?,
            limits: ServeLimits::default(),
        })
    }

    /// The addresses a command line asked for; an address in use names the flag to change.
    pub async fn bind(
        customers: SocketAddr,
        orders: SocketAddr,
        flags: [&str; 2],
    ) -> anyhow::Result<Self> {
        Ok(Self {
            customers: chassis::http::bind(customers, flags[0]).await?,
            orders: chassis::http::bind(orders, flags[1]).await?,
            limits: ServeLimits::default(),
        })
    }

    /// The same listeners, served within `limits`.
    pub fn with_limits(self, limits: ServeLimits) -> Self {
        Self { limits, ..self }
    }

    /// The base URLs the two services will answer on.
    pub fn urls(&self) -> anyhow::Result<[String; 2]> {
        Ok([
            format!("http://{}", self.customers.local_addr()?),
            format!("http://{}", self.orders.local_addr()?),
        ])
    }
}

/// One service serving until stopped.
#[derive(Debug)]
pub struct Serving {
    /// Its base URL, `http://127.0.0.1:port`.
    pub url: String,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Serving {
    /// Serves `app` on `listener` in a task of its own, with the default limits.
    pub fn spawn(listener: TcpListener, app: axum::Router) -> anyhow::Result<Self> {
        Self::spawn_with(listener, app, ServeLimits::default())
    }

    /// Serves `app` on `listener` within `limits`, in a task of its own.
    pub fn spawn_with(
        listener: TcpListener,
        app: axum::Router,
        limits: ServeLimits,
    ) -> anyhow::Result<Self> {
        let url = format!("http://{}", listener.local_addr()?);
        let stop = CancellationToken::new();
        let task = tokio::spawn(chassis::http::serve_with(
            listener,
            app,
            stop.clone(),
            limits,
        ));
        Ok(Self {
            url,
            stop,
            task: Some(task),
        })
    }

    /// Stops accepting, lets in-flight requests finish (within the shutdown grace: a client
    /// that never finishes is dropped then), and returns once the listener is closed: a caller that then connects is refused, with no sleep to guess when.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// Serves until the service stops by itself or fails.
    pub async fn until_stopped(mut self) -> anyhow::Result<()> {
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// A token that stops this service when cancelled (for a Ctrl-C handler).
    pub fn stopper(&self) -> CancellationToken {
        self.stop.clone()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Both services of a pair, serving.
#[derive(Debug)]
pub struct Running {
    pub customers: Serving,
    pub orders: Serving,
}

impl Running {
    /// Serves until `shutdown`, then stops both and waits for them.
    pub async fn until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (customers_stop, orders_stop) = (self.customers.stopper(), self.orders.stopper());
        tokio::spawn(async move {
            shutdown.cancelled().await;
            customers_stop.cancel();
            orders_stop.cancel();
        });
        tokio::try_join!(self.customers.until_stopped(), self.orders.until_stopped())?;
        Ok(())
    }

    /// Stops both services and waits until they have stopped.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.customers.stop().await?;
        self.orders.stop().await
    }
}
