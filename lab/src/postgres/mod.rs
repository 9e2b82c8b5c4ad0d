//! Where a Postgres comes from, for the binaries and for the tests alike: the URL the user
//! gave, or a disposable container (testcontainers) that this process starts and removes.
//!
//! The image is found by [`image::resolve`]: no setting is needed, registry or not.
//!
//! A container is for this machine only: its port is published on 127.0.0.1 alone, its
//! superuser password is made for this run (the URL printed carries it), and its host port
//! is fixed when it starts, so that a restarted server is found at the same address. Each
//! container is labelled with the run that started it ([`RUN_LABEL`]), so that a cleanup
//! removes its own and never another run's.

use testcontainers_modules::postgres::Postgres as PostgresImage;
use testcontainers_modules::testcontainers::ContainerAsync;

use chassis::config::DatabaseUrl;

mod container;
pub mod image;

pub use image::{IMAGE_ENV, LOCAL_IMAGE};

/// Why no Postgres could be had.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    // Not a `#[source]`: the image error already says what to do, and a chain would print it
    // twice.
    #[error("cannot start a disposable Postgres container: {0}")]
    Image(image::ImageError),
    #[error(
        "cannot start a disposable Postgres container from image {image}: {reason}. Two ways \
         out: pass --database-url (or set DATABASE_URL) to use a Postgres you run, or make \
         Docker available"
    )]
    Start { image: String, reason: String },
}

impl From<image::ImageError> for ProvisionError {
    fn from(err: image::ImageError) -> Self {
        Self::Image(err)
    }
}

/// The log line prefix of every container: `app=%a user=%u ` is what `kit audit --source log`
/// reads to tell services apart; `db=%d` lets a reader keep one database's lines.
pub const LOG_LINE_PREFIX: &str = "log_line_prefix=%m [%p] db=%d app=%a user=%u ";

/// The label that names the run a container belongs to. Its value is [`RUN_ENV`] when set
/// (`.ci/run` sets one for every process it starts, then removes what carries it), and
/// otherwise an id made by this process.
pub const RUN_LABEL: &str = "org.shared-db-kit.run";
/// The environment variable that names the run; see [`RUN_LABEL`].
pub const RUN_ENV: &str = "SHARED_DB_KIT_RUN";

/// This process's run id, the value of [`RUN_LABEL`] on every container it starts.
pub fn run_id() -> &'static str {
    static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        std::env::var(RUN_ENV)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
    })
}

/// What a disposable container is for; it only changes the server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A pair for a person to use: durable enough, room for a few clients.
    Run,
    /// Throwaway databases for tests: no durability, many connections.
    Test,
}

/// What can be done to a running container from outside, as an operator (or a bad day)
/// would: `docker pause`, `docker unpause`, `docker restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Unpause,
    Restart,
}

impl Control {
    fn verb(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Unpause => "unpause",
            Self::Restart => "restart",
        }
    }
}

/// A running Postgres and how it was obtained.
#[derive(Debug)]
pub enum Postgres {
    /// The user's own server; nothing to clean up.
    Given(DatabaseUrl),
    /// A container this process started and must remove.
    Container {
        url: DatabaseUrl,
        container: Box<ContainerAsync<PostgresImage>>,
    },
}

impl Postgres {
    /// Uses `url` when given; otherwise starts a container.
    pub async fn provision(
        url: Option<DatabaseUrl>,
        purpose: Purpose,
    ) -> Result<Self, ProvisionError> {
        match url {
            Some(url) => Ok(Self::Given(url)),
            None => container::start(purpose).await,
        }
    }

    /// The admin URL of the server.
    pub fn url(&self) -> &DatabaseUrl {
        match self {
            Self::Given(url) | Self::Container { url, .. } => url,
        }
    }

    /// One line for the user: which server this is.
    pub fn describe(&self) -> String {
        match self {
            Self::Given(url) => format!("Postgres at {url}"),
            Self::Container { url, container } => format!(
                "disposable Postgres container {} at {} (removed on exit)",
                &container.id()[..12],
                url.expose()
            ),
        }
    }

    /// The container's server log (its stderr) so far; `None` for the user's own server.
    pub async fn server_log(&self) -> Option<std::io::Result<String>> {
        let Self::Container { container, .. } = self else {
            return None;
        };
        Some(
            container
                .stderr_to_vec()
                .await
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(std::io::Error::other),
        )
    }

    /// The container's id, when this process started one.
    pub fn container_id(&self) -> Option<&str> {
        match self {
            Self::Given(_) => None,
            Self::Container { container, .. } => Some(container.id()),
        }
    }

    /// Does `what` to the container (a fault for a test or a soak to inject); an error for
    /// the user's own server, which is not ours to disturb.
    pub async fn control(&self, what: Control) -> anyhow::Result<()> {
        let Some(id) = self.container_id() else {
            anyhow::bail!("the Postgres at the given URL is not a container of this run");
        };
        container::docker(what.verb(), id).await
    }

    /// Removes the container, if this process started one.
    pub async fn release(self) {
        if let Self::Container { container, .. } = self {
            let id = container.id().to_owned();
            match container.rm().await {
                Ok(()) => tracing::info!(container = %&id[..12], "Postgres container removed"),
                Err(err) => {
                    tracing::error!(container = %id, %err, "cannot remove the Postgres container; remove it with docker rm -f")
                }
            }
        }
    }
}

/// Runs `serve` against the Postgres at `url`, or a disposable container when there is
/// none, and removes the container afterwards: when `serve` returns, fails, or the process
/// gets Ctrl-C (the token `serve` receives is cancelled then). Ctrl-C is listened for before
/// the container starts, so one that comes while it boots still removes it.
pub async fn with_postgres<F, Fut>(url: Option<DatabaseUrl>, serve: F) -> anyhow::Result<()>
where
    F: FnOnce(DatabaseUrl, tokio_util::sync::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let shutdown = chassis::shutdown::on_signal();
    let postgres = Postgres::provision(url, Purpose::Run).await?;
    println!("Database: {}", postgres.describe());
    let result = serve(postgres.url().clone(), shutdown).await;
    postgres.release().await;
    result
}
