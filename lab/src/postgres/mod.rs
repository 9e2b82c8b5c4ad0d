//! Where a Postgres comes from, for the binaries and for the tests alike: the URL the user
//! gave, or a disposable container (testcontainers) that this process starts and removes.
//!
//! The image is found by [`image::resolve`]: no setting is needed, registry or not.

use testcontainers_modules::postgres::Postgres as PostgresImage;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use chassis::config::DatabaseUrl;

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

/// What a disposable container is for; it only changes the server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A pair for a person to use: durable enough, room for a few clients.
    Run,
    /// Throwaway databases for tests: no durability, many connections.
    Test,
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
            None => start_container(purpose).await,
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

async fn start_container(purpose: Purpose) -> Result<Postgres, ProvisionError> {
    let (name, tag) = image::split(&image::resolve().await?);
    let settings: &[&str] = match purpose {
        // `log_statement=all` so that `kit audit --source log` can read who ran what from
        // `docker logs`: the demonstrator is there to be audited.
        Purpose::Run => &["-c", "max_connections=100", "-c", "log_statement=all"],
        // Test databases are thrown away: trade durability for speed. What to log is set per
        // database by the test that reads the log (`ALTER DATABASE … SET log_statement`), so
        // that the other tests' traffic does not flood the log.
        Purpose::Test => &[
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=400",
        ],
    };
    // What `kit audit` reads, on both: pg_stat_statements (the local image preloads it, the
    // official one does not; `kit walls verify` also probes what it hides, and from whom),
    // and a log line prefix naming the database and the connection.
    let evidence = [
        "-c",
        "shared_preload_libraries=pg_stat_statements",
        "-c",
        LOG_LINE_PREFIX,
    ];
    let fail = |reason: String| ProvisionError::Start {
        image: format!("{name}:{tag}"),
        reason,
    };
    let container = PostgresImage::default()
        .with_name(name.clone())
        .with_tag(tag.clone())
        .with_cmd(
            std::iter::once("postgres")
                .chain(settings.iter().copied())
                .chain(evidence),
        )
        .with_label(
            "org.shared-db-kit.purpose",
            format!("{purpose:?}").to_lowercase(),
        )
        .start()
        .await
        .map_err(|err| fail(err.to_string()))?;
    let port = match container.get_host_port_ipv4(5432).await {
        Ok(port) => port,
        Err(err) => {
            let _ = container.rm().await;
            return Err(fail(err.to_string()));
        }
    };
    let url = format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres")
        .parse()
        .map_err(|err: chassis::config::InvalidDatabaseUrl| fail(err.to_string()))?;
    Ok(Postgres::Container {
        url,
        container: Box::new(container),
    })
}
