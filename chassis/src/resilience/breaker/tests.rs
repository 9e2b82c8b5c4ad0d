//! What the breaker's policy costs, measured on the paused clock: steady traffic (one call
//! every 10 ms) against an owner that blips for a while or dies, counting the calls refused
//! after the owner was back and how long it took to be used again. The figures follow from
//! the clock's arithmetic, never from how fast the machine is.

use super::*;

/// One call every 10 ms.
const EVERY: Duration = Duration::from_millis(10);

/// The services' breaker (`CALL_POLICY` in `migrated/*/src/*_client.rs`).
const SERVICES: BreakerConfig = BreakerConfig {
    failure_threshold: 5,
    open_for: Duration::from_millis(250),
    max_open_for: Duration::from_secs(1),
};

/// The policy before issue 12: open for a fixed second.
const FIXED_SECOND: BreakerConfig = BreakerConfig {
    failure_threshold: 5,
    open_for: Duration::from_secs(1),
    max_open_for: Duration::from_secs(1),
};

#[derive(Debug, Clone, Copy)]
struct Call {
    at: Duration,
    reached: bool,
    ok: bool,
}

/// Traffic for `until` against an owner that fails while `down(t)`.
async fn steady_traffic(
    config: BreakerConfig,
    until: Duration,
    down: impl Fn(Duration) -> bool,
) -> Vec<Call> {
    let breaker = CircuitBreaker::new("owner", config);
    let start = Instant::now();
    let mut calls = Vec::new();
    while start.elapsed() < until {
        let at = start.elapsed();
        let (reached, ok) = match breaker.acquire() {
            Ok(permit) if down(at) => {
                permit.failure();
                (true, false)
            }
            Ok(permit) => {
                permit.success();
                (true, true)
            }
            Err(_) => (false, false),
        };
        calls.push(Call { at, reached, ok });
        tokio::time::advance(EVERY).await;
    }
    calls
}

/// What a blip cost once the owner was back.
#[derive(Debug, PartialEq, Eq)]
struct Cost {
    /// From the owner's return to the first call that succeeded.
    recovery: Duration,
    /// Calls refused by the breaker after the owner was back.
    refused: usize,
}

/// The owner fails from 1 s for `blip`; traffic runs 15 s.
async fn blip_cost(config: BreakerConfig, blip: Duration) -> Cost {
    let gone = Duration::from_secs(1);
    let back = gone + blip;
    let calls = steady_traffic(config, Duration::from_secs(15), |t| t >= gone && t < back).await;
    let after: Vec<&Call> = calls.iter().filter(|c| c.at >= back).collect();
    let first_ok = after.iter().find(|c| c.ok).map_or(Duration::MAX, |c| c.at);
    Cost {
        recovery: first_ok - back,
        refused: after
            .iter()
            .take_while(|c| !c.ok)
            .filter(|c| !c.reached)
            .count(),
    }
}

fn cost(recovery_ms: u64, refused: usize) -> Cost {
    Cost {
        recovery: Duration::from_millis(recovery_ms),
        refused,
    }
}

#[tokio::test(start_paused = true)]
async fn a_blip_costs_at_most_the_open_period_it_reached_after_the_owner_returns() {
    // Five failures (1.00 to 1.04 s) open the breaker at 1.04 s for 0.25 s; each failed probe
    // doubles the period (0.5 s, then the 1 s cap). The owner is used again at the first
    // probe after its return.
    let blips = [240, 500, 1_000, 3_000].map(Duration::from_millis);
    let mut costs = Vec::new();
    for blip in blips {
        costs.push(blip_cost(SERVICES, blip).await);
    }

    assert_eq!(
        costs,
        [cost(50, 5), cost(290, 29), cost(790, 79), cost(790, 79)],
        "blips {blips:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sub_second_blip_costs_far_less_than_with_a_fixed_second_open() {
    let blip = Duration::from_millis(240);

    let chosen = blip_cost(SERVICES, blip).await;
    let fixed = blip_cost(FIXED_SECOND, blip).await;

    // A fixed second kept refusing for 0.8 s after a 0.24 s blip.
    assert_eq!(fixed, cost(800, 80));
    assert!(chosen.recovery <= SERVICES.open_for);
    assert!(chosen.refused * 10 <= fixed.refused);
}

#[tokio::test(start_paused = true)]
async fn a_dead_owner_gets_one_probe_per_longest_open_period() {
    let minute = Duration::from_secs(60);

    let calls = steady_traffic(SERVICES, minute, |_| true).await;

    let reached = calls.iter().filter(|c| c.reached).count();
    // The five failures that opened it, probes after 0.25 s and 0.5 s, then one a second:
    // 66 of 6,000 calls reach the dead owner.
    assert_eq!(calls.len(), 6_000);
    assert_eq!(reached, 66);
    assert!(calls.iter().all(|c| !c.ok));
}
