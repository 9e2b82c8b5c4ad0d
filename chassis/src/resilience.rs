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
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

// tokio's clock, not std's, so that tests drive the breaker with paused time.
use tokio::time::Instant;

/// When a [`CircuitBreaker`] opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (0 is taken as 1).
    pub failure_threshold: u32,
    /// How long it stays open before it lets one probe through.
    pub open_for: Duration,
}

/// What a [`CircuitBreaker`] does with the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls are refused without reaching the owner.
    Open,
    /// One probe call may go through; its outcome closes or reopens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// The state's name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// The breaker refused a call without making it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open for {breaker}")]
pub struct BreakerOpen {
    /// The name of the breaker that refused.
    pub breaker: &'static str,
    /// How long until the breaker may let a call through again.
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl State {
    fn public(self) -> BreakerState {
        match self {
            Self::Closed => BreakerState::Closed,
            Self::Open { .. } => BreakerState::Open,
            Self::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: State,
    consecutive_failures: u32,
    opened: u64,
}

/// Stops calling an owner that keeps failing, so that its outage costs the consumer an
/// immediate error instead of a wait per request, and the owner some quiet to recover.
///
/// One per owner, shared by every task calling it (`Arc<CircuitBreaker>`).
#[derive(Debug)]
pub struct CircuitBreaker {
    name: &'static str,
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker; `name` (the owner called) appears in its logs and errors.
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        Self {
            name,
            config,
            inner: Mutex::new(Inner {
                state: State::Closed,
                consecutive_failures: 0,
                opened: 0,
            }),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The current state; an Open breaker whose `open_for` has elapsed reads as HalfOpen.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.expire_open(&mut inner, Instant::now());
        inner.state.public()
    }

    /// How many times the breaker has opened since it was made.
    pub fn opened_count(&self) -> u64 {
        self.lock().opened
    }

    /// Asks to make one call. Report its outcome on the [`Permit`]; dropping the permit
    /// instead reports nothing.
    pub fn acquire(&self) -> Result<Permit<'_>, BreakerOpen> {
        let now = Instant::now();
        let mut inner = self.lock();
        self.expire_open(&mut inner, now);
        let retry_after = match inner.state {
            State::Closed => return Ok(Permit::new(self, false)),
            State::HalfOpen { probing: false } => {
                inner.state = State::HalfOpen { probing: true };
                return Ok(Permit::new(self, true));
            }
            State::Open { until } => until.saturating_duration_since(now),
            // The probe in flight decides; if it fails, the next one is `open_for` away.
            State::HalfOpen { probing: true } => self.config.open_for,
        };
        Err(BreakerOpen {
            breaker: self.name,
            retry_after,
        })
    }

    // A poisoned lock still holds consistent counters: every update is a single assignment.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // Expiry is noticed lazily by the next caller, so the breaker needs no timer task.
    fn expire_open(&self, inner: &mut Inner, now: Instant) {
        if let State::Open { until } = inner.state
            && now >= until
        {
            self.transition(inner, State::HalfOpen { probing: false });
        }
    }

    fn transition(&self, inner: &mut Inner, to: State) {
        let from = std::mem::replace(&mut inner.state, to).public();
        let to = to.public();
        if from == to {
            return;
        }
        let opened = to == BreakerState::Open;
        let (breaker, from, to) = (self.name, from.as_str(), to.as_str());
        if opened {
            inner.opened += 1;
            tracing::warn!(breaker, from, to, "circuit breaker state changed");
        } else {
            tracing::info!(breaker, from, to, "circuit breaker state changed");
        }
    }

    fn open(&self, inner: &mut Inner) {
        let until = Instant::now() + self.config.open_for;
        self.transition(inner, State::Open { until });
    }

    fn record_success(&self, probe: bool) {
        let mut inner = self.lock();
        if probe {
            inner.consecutive_failures = 0;
            self.transition(&mut inner, State::Closed);
        } else if matches!(inner.state, State::Closed) {
            inner.consecutive_failures = 0;
        }
        // A late success of a call let through before the breaker opened proves little:
        // only the probe may close it.
    }

    fn record_failure(&self, probe: bool) {
        let mut inner = self.lock();
        if probe {
            self.open(&mut inner);
        } else if matches!(inner.state, State::Closed) {
            inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
            if inner.consecutive_failures >= self.config.failure_threshold.max(1) {
                inner.consecutive_failures = 0;
                self.open(&mut inner);
            }
        }
    }

    fn release_probe(&self) {
        let mut inner = self.lock();
        if let State::HalfOpen { probing: true } = inner.state {
            inner.state = State::HalfOpen { probing: false };
        }
    }
}

/// Leave to make one call through a [`CircuitBreaker`].
#[derive(Debug)]
#[must_use = "report the call's outcome with `success` or `failure`"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    settled: bool,
}

impl<'a> Permit<'a> {
    fn new(breaker: &'a CircuitBreaker, probe: bool) -> Self {
        Self {
            breaker,
            probe,
            settled: false,
        }
    }

    /// The owner answered: reset the failure count, or close the breaker after a probe.
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.record_success(self.probe);
    }

    /// The owner failed: count it, or reopen the breaker after a probe.
    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.record_failure(self.probe);
    }
}

impl Drop for Permit<'_> {
    // A call cancelled by its caller (a dropped future) says nothing about the owner; a
    // probe slot it held must still be freed, or the breaker would stay half-open for good.
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.breaker.release_probe();
        }
    }
}

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
