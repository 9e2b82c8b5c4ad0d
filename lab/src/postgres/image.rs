//! Which Postgres image a disposable container runs, found without any setting:
//! `KIT_POSTGRES_IMAGE` if set; else the official `postgres:17` if it is here or can be
//! pulled; else the local image if it was built before; else the local image is built now
//! from Debian's packages by `scripts/postgres-image.sh` (compiled into this binary, so an
//! installed binary can build it too), once per machine, and used.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::OnceCell;

/// The environment variable that picks the Postgres image.
pub const IMAGE_ENV: &str = "KIT_POSTGRES_IMAGE";
/// The official image, used when it can be had.
pub const DEFAULT_IMAGE: &str = "postgres:17";
/// The image `scripts/postgres-image.sh` builds: the same major, from Debian's packages.
pub const LOCAL_IMAGE: &str = "shared-db-kit/postgres:17";

/// How long a pull may take to say whether a registry answers. A machine without one
/// answers at once; a slow one still gets the local image instead of hanging.
const PULL_TIMEOUT: Duration = Duration::from_secs(120);

const BUILD_SCRIPT: &str = include_str!("../../../scripts/postgres-image.sh");
const ENTRYPOINT: &str = include_str!("../../../scripts/postgres-image/docker-entrypoint.sh");

/// Why no image could be had; each says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImageError {
    #[error(
        "Docker is not reachable ({0}); start Docker, or pass --database-url (or set \
         DATABASE_URL) to use a Postgres you run"
    )]
    NoDocker(String),
    #[error(
        "no Postgres image here and none can be pulled, and building the local one failed \
         ({0}); run `sudo bash scripts/postgres-image.sh` once to see why, or set \
         {IMAGE_ENV} to an image you have, or pass --database-url"
    )]
    Build(String),
}

/// The image to run, decided once per process.
pub async fn resolve() -> Result<String, ImageError> {
    static CHOSEN: OnceCell<String> = OnceCell::const_new();
    CHOSEN.get_or_try_init(choose).await.cloned()
}

async fn choose() -> Result<String, ImageError> {
    if let Some(image) = std::env::var(IMAGE_ENV)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    {
        return Ok(image);
    }
    docker_reachable().await?;
    if present(DEFAULT_IMAGE).await || pulled(DEFAULT_IMAGE).await {
        return Ok(DEFAULT_IMAGE.to_owned());
    }
    if present(LOCAL_IMAGE).await {
        return Ok(LOCAL_IMAGE.to_owned());
    }
    build_local().await?;
    Ok(LOCAL_IMAGE.to_owned())
}

async fn docker_reachable() -> Result<(), ImageError> {
    let output = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|err| ImageError::NoDocker(format!("cannot run docker: {err}")))?;
    if output.status.success() {
        Ok(())
    } else {
        let said = String::from_utf8_lossy(&output.stderr);
        Err(ImageError::NoDocker(
            said.lines().last().unwrap_or("no answer").trim().to_owned(),
        ))
    }
}

async fn present(image: &str) -> bool {
    quiet(Command::new("docker").args(["image", "inspect", image]))
        .await
        .is_some_and(|ok| ok)
}

async fn pulled(image: &str) -> bool {
    eprintln!("[postgres-image] {image} is not here; trying to pull it");
    let mut pull = Command::new("docker");
    pull.args(["pull", "--quiet", image]);
    match tokio::time::timeout(PULL_TIMEOUT, quiet(&mut pull)).await {
        Ok(Some(true)) => true,
        _ => {
            eprintln!("[postgres-image] {image} cannot be pulled here; using a local image");
            false
        }
    }
}

/// Runs a docker command with no output; `None` when it cannot run at all.
async fn quiet(command: &mut Command) -> Option<bool> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .ok()
        .map(|status| status.success())
}

/// Builds [`LOCAL_IMAGE`] with the compiled-in script, its progress on stderr. Several
/// processes starting at once build it once: the script holds a lock and re-checks.
async fn build_local() -> Result<(), ImageError> {
    let started = Instant::now();
    eprintln!(
        "[postgres-image] building {LOCAL_IMAGE} from Debian's PostgreSQL 17 packages: \
         once per machine, about a minute"
    );
    let dir = std::env::temp_dir().join(format!("shared-db-kit-image-{}", std::process::id()));
    let fail = |what: &str, err: std::io::Error| ImageError::Build(format!("{what}: {err}"));
    std::fs::create_dir_all(dir.join("postgres-image")).map_err(|e| fail("temp dir", e))?;
    let script = dir.join("postgres-image.sh");
    std::fs::write(&script, BUILD_SCRIPT).map_err(|e| fail("writing the script", e))?;
    std::fs::write(dir.join("postgres-image/docker-entrypoint.sh"), ENTRYPOINT)
        .map_err(|e| fail("writing the entrypoint", e))?;
    let status = Command::new("bash")
        .arg(&script)
        .arg(LOCAL_IMAGE)
        .env_remove(IMAGE_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    match status {
        Ok(status) if status.success() => {
            eprintln!(
                "[postgres-image] {LOCAL_IMAGE} ready after {} s",
                started.elapsed().as_secs()
            );
            Ok(())
        }
        Ok(status) => Err(ImageError::Build(format!(
            "scripts/postgres-image.sh exited with {status}; its last lines above say why"
        ))),
        Err(err) => Err(fail("cannot run bash", err)),
    }
}

/// `name:tag` as (name, tag).
pub fn split(image: &str) -> (String, String) {
    // A colon after the last slash separates the tag; one before it belongs to a registry port.
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (image.to_owned(), "latest".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_an_image_reference_into_name_and_tag() {
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(split("postgres:17"), pair("postgres", "17"));
        assert_eq!(
            split("shared-db-kit/postgres:17"),
            pair("shared-db-kit/postgres", "17")
        );
        assert_eq!(
            split("registry:5000/pg"),
            pair("registry:5000/pg", "latest")
        );
        assert_eq!(split("postgres"), pair("postgres", "latest"));
    }
}
