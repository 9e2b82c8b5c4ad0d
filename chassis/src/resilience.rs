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
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Fault {
        Transient,
        Permanent,
    }

    impl std::fmt::Display for Fault {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    fn is_transient(fault: &Fault) -> bool {
        *fault == Fault::Transient
    }

    const OPEN_FOR: Duration = Duration::from_secs(10);
    const BUDGET: Duration = Duration::from_secs(5);
    /// These tests' own policy: what they assert follows from it, not from any service's.
    const RETRY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
    };

    fn breaker(failure_threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(
            "owner",
            BreakerConfig {
                failure_threshold,
                open_for: OPEN_FOR,
            },
        )
    }

    fn trip(breaker: &CircuitBreaker) {
        while breaker.state() == BreakerState::Closed {
            breaker.acquire().unwrap().failure();
        }
    }

    fn half_open(threshold: u32) -> CircuitBreaker {
        let breaker = breaker(threshold);
        trip(&breaker);
        breaker
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_n_consecutive_transient_failures_and_then_refuses_without_calling() {
        let breaker = breaker(3);
        let calls = AtomicU32::new(0);
        let failing = || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(Fault::Transient) }
        };

        for _ in 0..3 {
            let result = call(&breaker, &RETRY, false, BUDGET, failing, is_transient).await;
            assert!(matches!(result, Err(CallError::Failed { attempts: 1, .. })));
        }
        let refused = call(&breaker, &RETRY, false, BUDGET, failing, is_transient).await;

        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.opened_count(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let refused = refused.unwrap_err();
        assert!(matches!(refused, CallError::Open(_)));
        assert_eq!(refused.retry_after(), Some(OPEN_FOR));
        assert_eq!(refused.to_string(), "circuit open for owner");
    }

    #[tokio::test(start_paused = true)]
    async fn open_turns_half_open_once_open_for_has_elapsed() {
        let breaker = half_open(1);
        tokio::time::advance(OPEN_FOR - Duration::from_secs(1)).await;

        let early = breaker.acquire().map(drop).unwrap_err();
        tokio::time::advance(Duration::from_secs(1)).await;

        assert_eq!(early.retry_after, Duration::from_secs(1));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_exactly_one_probe_through() {
        let breaker = half_open(1);
        tokio::time::advance(OPEN_FOR).await;

        let probe = breaker.acquire();
        let second = breaker.acquire().map(drop);

        assert!(probe.is_ok());
        assert!(second.is_err());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_frees_the_probe_slot() {
        let breaker = half_open(1);
        tokio::time::advance(OPEN_FOR).await;

        drop(breaker.acquire().unwrap());
        let next = breaker.acquire().map(drop);

        assert!(next.is_ok());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert_eq!(breaker.opened_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_probe_closes_it() {
        let breaker = half_open(1);
        tokio::time::advance(OPEN_FOR).await;

        breaker.acquire().unwrap().success();

        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_it_for_another_open_for() {
        let breaker = half_open(1);
        tokio::time::advance(OPEN_FOR).await;

        breaker.acquire().unwrap().failure();

        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.opened_count(), 2);
        assert_eq!(
            breaker.acquire().map(drop).unwrap_err().retry_after,
            OPEN_FOR
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_transient_error_does_not_count_as_a_failure() {
        let breaker = breaker(2);
        let retry = RETRY;

        for _ in 0..5 {
            let result = call(
                &breaker,
                &retry,
                true,
                BUDGET,
                || async { Err::<(), _>(Fault::Permanent) },
                is_transient,
            )
            .await;
            assert!(matches!(
                result,
                Err(CallError::Failed {
                    error: Fault::Permanent,
                    attempts: 1
                })
            ));
        }

        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.opened_count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_idempotent_call_is_attempted_exactly_once() {
        let breaker = breaker(5);
        let calls = AtomicU32::new(0);

        let result = call(
            &breaker,
            &RETRY,
            false,
            BUDGET,
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Fault::Transient) }
            },
            is_transient,
        )
        .await;

        assert!(matches!(result, Err(CallError::Failed { attempts: 1, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idempotent_call_is_retried_and_succeeds_on_the_third_attempt() {
        let breaker = breaker(5);
        let calls = AtomicU32::new(0);

        let result = call(
            &breaker,
            &RETRY,
            true,
            BUDGET,
            || {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                async move { if n < 3 { Err(Fault::Transient) } else { Ok(n) } }
            },
            is_transient,
        )
        .await;

        assert_eq!(result.unwrap(), 3);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idempotent_call_stops_after_max_attempts() {
        let breaker = breaker(5);
        let calls = AtomicU32::new(0);

        let result = call(
            &breaker,
            &RETRY,
            true,
            BUDGET,
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Fault::Transient) }
            },
            is_transient,
        )
        .await;

        assert!(matches!(result, Err(CallError::Failed { attempts: 3, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_whose_backoff_would_overrun_the_budget_is_not_made() {
        let breaker = breaker(5);
        let retry = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
        };
        let calls = AtomicU32::new(0);
        let started = Instant::now();

        let result = call(
            &breaker,
            &retry,
            true,
            Duration::from_nanos(1),
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Fault::Transient) }
            },
            is_transient,
        )
        .await;

        assert!(matches!(result, Err(CallError::Failed { attempts: 1, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_attempt_is_cut_at_the_budget_and_counts_as_a_failure() {
        let breaker = breaker(1);
        let started = Instant::now();

        let result = call(
            &breaker,
            &RETRY,
            true,
            BUDGET,
            std::future::pending::<Result<(), Fault>>,
            is_transient,
        )
        .await;

        assert!(matches!(result, Err(CallError::TimedOut { after }) if after == BUDGET));
        assert_eq!(started.elapsed(), BUDGET);
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_within_the_budget_is_waited_for_and_kept() {
        let breaker = breaker(1);
        let slow = Duration::from_secs(3);
        let started = Instant::now();

        let result = call(
            &breaker,
            &RETRY,
            false,
            BUDGET,
            || async move {
                tokio::time::sleep(slow).await;
                Ok::<_, Fault>("answer")
            },
            is_transient,
        )
        .await;

        assert_eq!(result.unwrap(), "answer");
        assert_eq!(started.elapsed(), slow);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_breaker_refuses_at_once_and_says_when_to_come_back() {
        let breaker = half_open(1);
        tokio::time::advance(Duration::from_secs(4)).await;
        let started = Instant::now();

        let refused = call(
            &breaker,
            &RETRY,
            true,
            BUDGET,
            std::future::pending::<Result<(), Fault>>,
            is_transient,
        )
        .await
        .unwrap_err();

        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(
            refused.retry_after(),
            Some(OPEN_FOR - Duration::from_secs(4))
        );
    }

    #[test]
    fn backoff_stays_within_zero_and_the_cap_over_many_samples() {
        let retry = RETRY;
        let first_cap = retry.base_delay;

        let first: Vec<Duration> = (0..10_000).map(|_| retry.backoff(0)).collect();
        let late: Vec<Duration> = (0..10_000).map(|_| retry.backoff(30)).collect();

        assert!(first.iter().all(|d| *d <= first_cap));
        assert!(late.iter().all(|d| *d <= retry.max_delay));
        assert!(retry.backoff(u32::MAX) <= retry.max_delay);
        // Spread, not a constant: some samples land in each quarter's extremes.
        assert!(first.iter().any(|d| *d < first_cap / 4));
        assert!(first.iter().any(|d| *d > first_cap * 3 / 4));
        assert!(late.iter().any(|d| *d > retry.max_delay * 3 / 4));
    }

    #[test]
    fn a_success_resets_the_consecutive_failure_count() {
        let breaker = breaker(3);

        for _ in 0..2 {
            breaker.acquire().unwrap().failure();
        }
        breaker.acquire().unwrap().success();
        for _ in 0..2 {
            breaker.acquire().unwrap().failure();
        }
        let after_four_failures = breaker.state();
        breaker.acquire().unwrap().failure();

        assert_eq!(after_four_failures, BreakerState::Closed);
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[test]
    fn the_breaker_is_shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CircuitBreaker>();
        assert_send_sync::<std::sync::Arc<CircuitBreaker>>();
    }
}
