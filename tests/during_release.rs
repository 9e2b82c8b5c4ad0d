//! The matrix's during-release measurement (`lab::during`) against real pairs on real
//! Postgres: it counts nothing when nothing happens, and it sees what a release or an
//! outage does to the consumer's requests while they run. What is asserted is counts of
//! answers, never how long anything took.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::ExitCode;

use lab::during::{Load, under_load};
use lab::flows::Probe;
use lab::harness::TestContext;
use lab::scenario::Pair;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        a_release_that_changes_nothing_costs_the_consumer_nothing,
        an_owner_stopped_under_load_shows_as_failed_orders_and_degraded_views,
        a_legacy_rename_under_load_fails_the_consumers_requests,
    ])
}

async fn a_release_that_changes_nothing_costs_the_consumer_nothing(ctx: TestContext) {
    let app = support::spawn_migrated(&ctx).await;
    let probe = Probe::new(Pair::Migrated, &app.customers, &app.orders, None);
    let before = probe.observe(1).await.unwrap();

    let ((), tally) = under_load(&probe, &before, Load::MATRIX, async { Ok(()) })
        .await
        .unwrap();

    assert!(tally.requests > 0);
    assert!(tally.clean(), "{}: {:?}", tally.line(), tally.examples);
}

async fn an_owner_stopped_under_load_shows_as_failed_orders_and_degraded_views(ctx: TestContext) {
    let mut app = support::spawn_migrated(&ctx).await;
    let probe = Probe::new(Pair::Migrated, &app.customers, &app.orders, None);
    let before = probe.observe(1).await.unwrap();

    let stop = app.running.customers.stop();
    let ((), tally) = under_load(&probe, &before, Load::MATRIX, stop)
        .await
        .unwrap();

    // Orders fails closed (503) for a new order and degrades its views; the profile is
    // served by the stopped customers service itself, so it gets no answer (failed).
    assert!(tally.failed > 0, "{}", tally.line());
    assert!(tally.degraded > 0, "{}", tally.line());
    assert_eq!(tally.wrong, 0, "{}: {:?}", tally.line(), tally.examples);
}

async fn a_legacy_rename_under_load_fails_the_consumers_requests(ctx: TestContext) {
    let app = support::spawn_legacy(&ctx).await;
    let probe = Probe::new(Pair::Legacy, &app.customers, &app.orders, None);
    let before = probe.observe(1).await.unwrap();
    let scenario = lab::scenario::find("rename-email").unwrap();

    let ship = lab::pairs::ship(Pair::Legacy, &app.database.url, scenario);
    let (_, tally) = under_load(&probe, &before, Load::MATRIX, ship)
        .await
        .unwrap();

    // Every order view, list and new order after the commit reads `c.email`: a 500.
    assert!(tally.failed > 0, "{}", tally.line());
    assert_eq!(tally.degraded, 0, "{}", tally.line());
}
