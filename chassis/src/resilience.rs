//! The consumer side of a call between services: a circuit breaker, retry with jittered
//! backoff, and one time budget for the whole call. A consumer uses it so that an owner that
//! is down, slow or losing requests costs it a bounded wait and a clear error, never a hang
//! or a retry storm.
//!
//! It owns only that policy. It knows no HTTP, no status code and no domain type: the caller
//! says which errors are transient and whether the operation is safe to repeat, because only
//! the caller knows what its request means to the owner.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

// tokio's clock, not std's, so that tests drive the breaker with paused time.
use tokio::time::Instant;

mod breaker;

pub use breaker::{BreakerConfig, BreakerOpen, BreakerState, CircuitBreaker, Permit};

/// How often and how far apart to retry a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// The cap of the first retry's delay; it doubles with each retry.
    pub base_delay: Duration,
    /// No delay exceeds this.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0 for the first): uniform in
    /// `[0, min(max_delay, base_delay * 2^retry)]`. Full jitter spreads the retries of
    /// many consumers hit by the same outage, instead of sending them back in waves.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = 2u32
            .checked_pow(retry)
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay));
        let cap_nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        match cap_nanos.checked_add(1) {
            Some(span) => Duration::from_nanos(random_u64() % span),
            None => Duration::from_nanos(random_u64()),
        }
    }
}

// Jitter needs spread, not cryptographic quality: each `RandomState` is freshly keyed, which
// spares the crate a random-number dependency.
fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(())
}

/// Why [`call`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The breaker refused the call; the owner was not reached.
    #[error(transparent)]
    Open(#[from] BreakerOpen),
    /// The budget ran out while an attempt was in flight.
    #[error("no answer within {after:?}")]
    TimedOut {
        /// Time spent on the whole call.
        after: Duration,
    },
    /// The last attempt failed, and no retry was allowed.
    #[error("failed after {attempts} attempt(s): {error}")]
    Failed {
        /// The last attempt's error.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
}

impl<E> CallError<E> {
    /// When the caller may try again, if the breaker said so (e.g. for a `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Open(open) => Some(open.retry_after),
            Self::TimedOut { .. } | Self::Failed { .. } => None,
        }
    }
}

/// Makes one call to an owner through `breaker`, within `budget` all included.
///
/// A transient error (as `is_transient` says) is retried only if `idempotent`, an attempt
/// remains, and the backoff leaves time in the budget. A non-transient error is returned at
/// once and counts as an answer for the breaker: a 404 means the owner is up. Transient
/// errors and attempts cut by the budget count as failures.
pub async fn call<T, E, F, Fut>(
    breaker: &CircuitBreaker,
    retry: &RetryPolicy,
    idempotent: bool,
    budget: Duration,
    mut attempt: F,
    is_transient: impl Fn(&E) -> bool,
) -> Result<T, CallError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let deadline = started + budget;
    // Repeating a non-idempotent request could apply it twice if the first one was lost
    // on the way back rather than on the way in.
    let max_attempts = if idempotent {
        retry.max_attempts.max(1)
    } else {
        1
    };
    let mut attempts = 0;
    loop {
        let permit = breaker.acquire()?;
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(remaining, attempt()).await {
            Ok(Ok(value)) => {
                permit.success();
                return Ok(value);
            }
            Ok(Err(error)) if !is_transient(&error) => {
                permit.success();
                return Err(CallError::Failed { error, attempts });
            }
            Ok(Err(error)) => {
                permit.failure();
                error
            }
            Err(_elapsed) => {
                permit.failure();
                return Err(CallError::TimedOut {
                    after: started.elapsed(),
                });
            }
        };
        if attempts >= max_attempts {
            return Err(CallError::Failed { error, attempts });
        }
        let delay = retry.backoff(attempts - 1);
        // A retry that would start at the deadline could only time out: the error we hold
        // tells the caller more.
        if Instant::now() + delay >= deadline {
            return Err(CallError::Failed { error, attempts });
        }
        tracing::debug!(breaker = breaker.name(), attempts, ?delay, "retrying");
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests;
