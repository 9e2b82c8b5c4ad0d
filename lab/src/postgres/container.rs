//! Starting the disposable container: its server settings, a port published on loopback
//! only and fixed for its lifetime, a superuser password made for this run, and the labels
//! that say whose it is. Nothing here outlives the [`Postgres`] that owns the container.

use std::net::Ipv4Addr;

use testcontainers_modules::postgres::Postgres as PostgresImage;
use testcontainers_modules::testcontainers::bollard::models::PortBinding;
use testcontainers_modules::testcontainers::core::IntoContainerPort;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use super::{LOG_LINE_PREFIX, Postgres, ProvisionError, Purpose, RUN_LABEL, image, run_id};

/// The superuser the URL names (the image's default).
const SUPERUSER: &str = "postgres";

/// How many times a start is tried when the free port it picked was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

pub(super) async fn start(purpose: Purpose) -> Result<Postgres, ProvisionError> {
    let (name, tag) = image::split(&image::resolve().await?);
    let fail = |reason: String| ProvisionError::Start {
        image: format!("{name}:{tag}"),
        reason,
    };
    // A password per container: the published port is on loopback only, but any process
    // on this machine could otherwise log in as the superuser with the image's default.
    let password = uuid::Uuid::new_v4().simple().to_string();
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_loopback_port().map_err(|err| fail(err.to_string()))?;
        match run(purpose, &name, &tag, &password, port).await {
            Ok(container) => {
                let url = format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres")
                    .parse()
                    .map_err(|err: chassis::config::InvalidDatabaseUrl| fail(err.to_string()))?;
                return Ok(Postgres::Container {
                    url,
                    container: Box::new(container),
                });
            }
            // Another process took the port between our release and Docker's bind.
            Err(err)
                if err.contains("already allocated") || err.contains("address already in use") =>
            {
                last = err;
            }
            Err(err) => return Err(fail(err)),
        }
    }
    Err(fail(last))
}

/// A port that was free on 127.0.0.1 a moment ago: bound to port 0, read, released. Docker
/// publishes the container there, and keeps it across a restart of the container.
fn free_loopback_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

async fn run(
    purpose: Purpose,
    name: &str,
    tag: &str,
    password: &str,
    port: u16,
) -> Result<ContainerAsync<PostgresImage>, String> {
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
    PostgresImage::default()
        .with_password(password)
        .with_name(name.to_owned())
        .with_tag(tag.to_owned())
        .with_cmd(
            std::iter::once("postgres")
                .chain(settings.iter().copied())
                .chain(evidence),
        )
        .with_label(
            "org.shared-db-kit.purpose",
            format!("{purpose:?}").to_lowercase(),
        )
        .with_label(RUN_LABEL, run_id())
        .with_mapped_port(port, 5432.tcp())
        // testcontainers publishes a mapped port on every interface; this one is for this
        // machine alone.
        .with_host_config_modifier(move |host| {
            let loopback = PortBinding {
                host_ip: Some(Ipv4Addr::LOCALHOST.to_string()),
                host_port: Some(port.to_string()),
            };
            host.port_bindings = Some(
                [("5432/tcp".to_owned(), Some(vec![loopback]))]
                    .into_iter()
                    .collect(),
            );
        })
        .start()
        .await
        .map_err(|err| err.to_string())
}

/// Runs `docker <verb> <id>`; its stderr is the error when it fails.
pub(super) async fn docker(verb: &str, id: &str) -> anyhow::Result<()> {
    let output = tokio::process::Command::new("docker")
        .args([verb, id])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "docker {verb} {id}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}
