//! The command lines of the demonstrator's binaries. Each binary's `main` parses one of
//! these, starts telemetry and runs it; everything they do is here.

pub mod legacy;
pub mod migrated;

use std::time::Duration;

use chassis::http::ServeLimits;
use clap::Args;

/// Flags over how each service treats its clients' connections; every default is
/// `chassis::http`'s constant of the same name.
#[derive(Debug, Clone, Args)]
pub struct HttpLimits {
    /// Time a client has to send a request's head, in milliseconds; an idle connection is
    /// closed after it too.
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT_MS", global = true,
          default_value_t = millis(chassis::http::HEADER_READ_TIMEOUT))]
    pub header_read_timeout_ms: u64,

    /// Time a request's body has to arrive, in milliseconds; later, the answer is 408.
    #[arg(long, env = "HTTP_BODY_TIMEOUT_MS", global = true,
          default_value_t = millis(chassis::http::BODY_TIMEOUT))]
    pub body_timeout_ms: u64,

    /// Connections each service serves at once.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", global = true,
          default_value_t = chassis::http::MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Time in-flight requests get to finish on Ctrl-C, in milliseconds; then every
    /// connection is dropped and the process exits.
    #[arg(long, env = "HTTP_SHUTDOWN_GRACE_MS", global = true,
          default_value_t = millis(chassis::http::SHUTDOWN_GRACE))]
    pub shutdown_grace_ms: u64,
}

impl HttpLimits {
    /// The limits these flags describe.
    pub fn limits(&self) -> ServeLimits {
        ServeLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            body_timeout: Duration::from_millis(self.body_timeout_ms),
            max_connections: self.max_connections,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
