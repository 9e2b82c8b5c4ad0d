//! The breaker, retry and budget, driven by tokio's paused clock: what each test asserts
//! about time is the clock's arithmetic, never how fast the machine is.

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
            max_open_for: OPEN_FOR * 4,
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
async fn a_failed_probe_reopens_it_for_twice_as_long_up_to_the_cap() {
    let breaker = half_open(1);
    let mut periods = Vec::new();

    let mut period = OPEN_FOR;
    for _ in 0..4 {
        tokio::time::advance(period).await;
        breaker.acquire().unwrap().failure();
        period = breaker.acquire().map(drop).unwrap_err().retry_after;
        periods.push(period);
    }

    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.opened_count(), 5);
    assert_eq!(
        periods,
        [OPEN_FOR * 2, OPEN_FOR * 4, OPEN_FOR * 4, OPEN_FOR * 4]
    );
}

#[tokio::test(start_paused = true)]
async fn a_successful_probe_brings_the_open_period_back_to_the_first() {
    let breaker = half_open(1);
    tokio::time::advance(OPEN_FOR).await;
    breaker.acquire().unwrap().failure();
    tokio::time::advance(OPEN_FOR * 2).await;
    breaker.acquire().unwrap().success();

    trip(&breaker);

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
