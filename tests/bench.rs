//! `kit bench --quick` against real Postgres and both pairs: the report has its shape, and
//! the counts that noise cannot move are what each design does per operation. Never a
//! time: a busy machine must not fail this test.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use lab::bench::{Report, Settings};
use lab::databases::Databases;
use lab::harness::TestContext;
use lab::pairs::Passwords;

fn main() -> ExitCode {
    lab::harness::main(lab::tests![
        a_quick_bench_reports_every_workload_with_the_counts_each_design_implies
    ])
}

#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    passwords: Passwords,
}

async fn quick_report(ctx: &TestContext) -> Report {
    // The logging workload switches the services' log filter: it needs the log installed
    // (here into a sink; the harness's own, to stderr, when RUST_LOG is set).
    let _logging = chassis::telemetry::init_to(std::io::sink(), "warn");
    let databases = Databases::new(ctx.admin_url().await, "bench");
    let passwords = Flags::parse_from(["bench"]).passwords;
    let bar = indicatif::ProgressBar::hidden();
    let report = lab::bench::run(&databases, &passwords, &Settings::quick(), &bar).await;
    databases.drop_templates().await.unwrap();
    report.unwrap()
}

fn roles(pairs: &[(&str, u64)]) -> Option<BTreeMap<String, u64>> {
    Some(pairs.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect())
}

async fn a_quick_bench_reports_every_workload_with_the_counts_each_design_implies(
    ctx: TestContext,
) {
    let report = quick_report(&ctx).await;

    let ids: Vec<&str> = report.workloads.iter().map(|w| w.id).collect();
    assert_eq!(
        ids,
        [
            "one-order",
            "page-50",
            "profile",
            "place-order",
            "page-50-n+1",
            "revalidated",
            "json-xml",
            "logging"
        ]
    );
    for workload in &report.workloads {
        for arm in &workload.arms {
            assert_eq!(arm.round_p50.len(), 1, "{} {}", workload.id, arm.label);
            assert_eq!(arm.throughput.len(), 1, "{} {}", workload.id, arm.label);
            assert!(!arm.latency.is_empty(), "{} {}", workload.id, arm.label);
        }
        assert_eq!(
            workload.floor.is_some(),
            !["json-xml", "logging"].contains(&workload.id)
        );
    }
    let floors: Vec<&str> = report.floors.iter().map(|f| f.id).collect();
    assert_eq!(floors, ["hop", "owner-get", "sql"]);

    let counts = |id: &str| {
        let w = report.workloads.iter().find(|w| w.id == id).unwrap();
        (w.arms[0].counts.clone(), w.arms[1].counts.clone())
    };
    // No request reads a release table: an owner's queries go through its shape schema,
    // which each release keeps. Legacy shows one order in one JOIN. The pool's check on
    // each returned connection is not counted (lab::bench::counts).
    // Printed, for a reader of the run.
    for w in &report.workloads {
        eprintln!(
            "counts {}: {:?} / {:?}",
            w.id, w.arms[0].counts, w.arms[1].counts
        );
    }
    let (legacy, migrated) = counts("one-order");
    assert_eq!((legacy.sql_total(), legacy.http_calls), (Some(1), 0));
    // Migrated: its own query in orders, one call to customers, its query there.
    assert_eq!(
        migrated.sql,
        roles(&[("customers_svc", 1), ("orders_svc", 1)])
    );
    assert_eq!(migrated.http_calls, 1);
    // A page of 50 is still one call: the batch lookup.
    let (legacy, migrated) = counts("page-50");
    assert_eq!((legacy.http_calls, migrated.http_calls), (0, 1));
    assert_eq!(migrated.sql_total(), Some(3));
    // The naive consumer makes one call, and one statement, per order.
    let (_, naive) = counts("page-50-n+1");
    assert_eq!(naive.http_calls, 50);
    assert_eq!(
        naive.sql,
        roles(&[("customers_svc", 50), ("orders_svc", 2)])
    );
    let (legacy, migrated) = counts("profile");
    assert_eq!((legacy.http_calls, migrated.http_calls), (0, 1));
    let (legacy, migrated) = counts("place-order");
    assert_eq!((legacy.http_calls, migrated.http_calls), (0, 1));
    // A 304 saves the body, not the work: the same statements and call as a 200.
    let (_, revalidated) = counts("revalidated");
    assert_eq!(
        (revalidated.sql_total(), revalidated.http_calls),
        (Some(2), 1)
    );

    let page = report.to_page("bench --quick");
    assert!(page.contains("| operation |"), "{page}");
    assert!(page.contains("One order on the wire: JSON"), "{page}");
    let svg = lab::bench::chart::to_svg(&report).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
}
