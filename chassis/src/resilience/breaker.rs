//! The circuit breaker: it stops calls to an owner that keeps failing, and lets one probe
//! through now and then to notice its return.
//!
//! Its open period backs off: the first opening is short, so that a sub-second blip (an
//! owner restarting, a release switching over) costs a fraction of a second of refusals
//! after the owner is back; each failed probe doubles the period up to a cap, so that a dead
//! owner still gets one call per cap instead of every request's. It owns only that state
//! machine, and knows nothing of retries, budgets or HTTP.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

// tokio's clock, not std's, so that tests drive the breaker with paused time.
use tokio::time::Instant;

/// When a [`CircuitBreaker`] opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (0 is taken as 1).
    pub failure_threshold: u32,
    /// How long it stays open the first time, before it lets one probe through.
    pub open_for: Duration,
    /// The longest open period: each failed probe doubles the period, up to this. A
    /// successful probe brings it back to `open_for`. Below `open_for`, `open_for` holds.
    pub max_open_for: Duration,
}

impl BreakerConfig {
    /// The open period that follows a failed probe after an open period of `current`.
    fn after_failed_probe(&self, current: Duration) -> Duration {
        current
            .checked_mul(2)
            .unwrap_or(Duration::MAX)
            .min(self.max_open_for)
            .max(self.open_for)
    }
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
    /// The length of the current (or last) open period.
    open_period: Duration,
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
                open_period: config.open_for,
            }),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The current state; an Open breaker whose open period has elapsed reads as HalfOpen.
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
            // The probe in flight decides; if it fails, the next one is a longer period away.
            State::HalfOpen { probing: true } => self.config.after_failed_probe(inner.open_period),
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
            let open_for = inner.open_period;
            tracing::warn!(
                breaker,
                from,
                to,
                ?open_for,
                "circuit breaker state changed"
            );
        } else {
            tracing::info!(breaker, from, to, "circuit breaker state changed");
        }
    }

    fn open(&self, inner: &mut Inner, period: Duration) {
        inner.open_period = period;
        let until = Instant::now() + period;
        self.transition(inner, State::Open { until });
    }

    fn record_success(&self, probe: bool) {
        let mut inner = self.lock();
        if probe {
            inner.consecutive_failures = 0;
            inner.open_period = self.config.open_for;
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
            let period = self.config.after_failed_probe(inner.open_period);
            self.open(&mut inner, period);
        } else if matches!(inner.state, State::Closed) {
            inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
            if inner.consecutive_failures >= self.config.failure_threshold.max(1) {
                inner.consecutive_failures = 0;
                self.open(&mut inner, self.config.open_for);
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

    /// The owner failed: count it, or reopen the breaker, for longer, after a probe.
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

#[cfg(test)]
mod tests;
