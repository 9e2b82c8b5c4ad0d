//! Logging for every binary: `tracing` with a `RUST_LOG`-style filter, written to stderr so
//! that stdout stays for what the user asked for (URLs, tables).

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset: requests at info, library chatter quieter.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,testcontainers=warn,bollard=warn,hyper=warn";

/// Installs the global subscriber. Safe to call twice (the second call does nothing), so
/// tests and binaries can both call it.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
