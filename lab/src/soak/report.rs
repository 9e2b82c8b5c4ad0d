//! The soak's verdict: every write looked up in the database by its total (acknowledged:
//! exactly once; refused: absent; unknown: at most once), and what the clients saw: how
//! many requests, which statuses, p50/p99, how long the fault made requests fail and how
//! long after it ended they failed still.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::time::Duration;

use sqlx::PgPool;

use super::Plan;
use super::workload::{FIRST_TOTAL_CENTS, Outcome, Records};
use crate::scenario::Pair;

/// What one soak found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub requests: u64,
    /// Count per status (`"201"`, …; `"no answer"` when none came).
    pub statuses: BTreeMap<String, u64>,
    pub p50: Duration,
    pub p99: Duration,
    pub writes: u64,
    pub acknowledged: u64,
    pub refused: u64,
    pub unknown: u64,
    /// Writes that needed more than one attempt.
    pub retried: u64,
    /// Acknowledged, and not in the database.
    pub lost: u64,
    /// In the database more than once.
    pub duplicated: u64,
    /// Refused, and in the database all the same.
    pub refused_but_written: u64,
    /// Requests whose client hung up before the answer (`--cancelling`).
    pub abandoned: u64,
    /// Connections to the soak's database left `idle in transaction` once every client
    /// was done: each holds locks and may hold writes acknowledged and never committed.
    pub idle_in_transaction: u64,
    /// From the first failed request after the fault began to the end of the last one.
    pub error_window: Option<Duration>,
    /// From the end of the fault to the end of the last failed request (zero when none
    /// failed after it).
    pub time_to_recover: Option<Duration>,
    pub fault: Range<Duration>,
}

impl Report {
    /// Whether every write was kept as the pair said.
    pub fn reconciled(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.refused_but_written == 0
            && self.idle_in_transaction == 0
    }

    pub fn to_text(&self, plan: &Plan) -> String {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "soak: {:?} pair, fault {:?}, {} s, {} clients, {}% reads",
            plan.pair,
            plan.fault,
            plan.duration.as_secs(),
            plan.concurrency,
            plan.read_percent
        );
        let _ = writeln!(out, "requests      {}", self.requests);
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        let _ = writeln!(out, "statuses      {}", statuses.join(", "));
        let _ = writeln!(
            out,
            "latency       p50 {}, p99 {}",
            ms(self.p50),
            ms(self.p99)
        );
        let _ = writeln!(
            out,
            "writes        {} ({} acknowledged, {} refused, {} unknown; {} retried)",
            self.writes, self.acknowledged, self.refused, self.unknown, self.retried
        );
        let _ = writeln!(
            out,
            "reconciled    {} lost, {} duplicated, {} refused but written",
            self.lost, self.duplicated, self.refused_but_written
        );
        let _ = writeln!(
            out,
            "hung up       {} requests abandoned mid-flight; {} connections left idle in transaction",
            self.abandoned, self.idle_in_transaction
        );
        let _ = writeln!(
            out,
            "fault         from {} to {} into the run",
            ms(self.fault.start),
            ms(self.fault.end)
        );
        let _ = writeln!(
            out,
            "error window  {}",
            self.error_window
                .map_or("none: no request failed".to_owned(), ms)
        );
        let _ = writeln!(
            out,
            "recovered     {}",
            self.time_to_recover
                .map_or("at once".to_owned(), |d| format!(
                    "{} after the fault ended",
                    ms(d)
                ))
        );
        let _ = writeln!(
            out,
            "verdict       {}",
            if self.reconciled() {
                "every write kept as acknowledged"
            } else if self.idle_in_transaction > 0 {
                "CONNECTIONS LEFT INSIDE A TRANSACTION"
            } else {
                "WRITES LOST OR DUPLICATED"
            }
        );
        out
    }
}

/// Looks every write up and sums up what the clients saw.
pub async fn reconcile(
    plan: Plan,
    records: &Records,
    db: &PgPool,
    fault: Range<Duration>,
) -> anyhow::Result<Report> {
    let table = match plan.pair {
        Pair::Legacy => "orders",
        Pair::Migrated => "orders.orders",
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT total::text, count(*) FROM {table} WHERE total >= $1 GROUP BY total"
    ))
    .bind(rust_decimal::Decimal::new(FIRST_TOTAL_CENTS, 2))
    .fetch_all(db)
    .await?;
    let stored: BTreeMap<String, i64> = rows.into_iter().collect();
    let mut report = Report {
        requests: records.samples.len() as u64,
        statuses: BTreeMap::new(),
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        writes: records.writes.len() as u64,
        acknowledged: 0,
        refused: 0,
        unknown: 0,
        retried: 0,
        lost: 0,
        duplicated: 0,
        refused_but_written: 0,
        abandoned: records.abandoned,
        idle_in_transaction: 0,
        error_window: None,
        time_to_recover: None,
        fault: fault.clone(),
    };
    for write in &records.writes {
        let key = format!("{}.{:02}", write.total_cents / 100, write.total_cents % 100);
        let count = stored.get(&key).copied().unwrap_or(0);
        report.duplicated += u64::from(count > 1);
        report.retried += u64::from(write.attempts > 1);
        match write.outcome {
            Outcome::Acknowledged => {
                report.acknowledged += 1;
                report.lost += u64::from(count == 0);
            }
            Outcome::Refused(_) => {
                report.refused += 1;
                report.refused_but_written += u64::from(count > 0);
            }
            Outcome::Unknown | Outcome::Abandoned => report.unknown += 1,
        }
    }
    // Microseconds, from 1 µs to 10 min: a longer request is recorded as 10 min.
    let mut latency = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for sample in &records.samples {
        let status = sample
            .status
            .map_or("no answer".to_owned(), |s| s.to_string());
        *report.statuses.entry(status).or_default() += 1;
        latency.saturating_record(u64::try_from(sample.latency.as_micros()).unwrap_or(u64::MAX));
    }
    report.p50 = Duration::from_micros(latency.value_at_quantile(0.50));
    report.p99 = Duration::from_micros(latency.value_at_quantile(0.99));
    let failed: Vec<_> = records
        .samples
        .iter()
        .filter(|s| s.failed() && s.at + s.latency >= fault.start)
        .collect();
    if let (Some(first), Some(last_end)) = (
        failed.iter().map(|s| s.at).min(),
        failed.iter().map(|s| s.at + s.latency).max(),
    ) {
        report.error_window = Some(last_end.saturating_sub(first));
        report.time_to_recover = Some(last_end.saturating_sub(fault.end));
    }
    Ok(report)
}

/// Connections to this database, other than the asking one, left `idle in transaction`.
/// Called when every client is done, so no request is in flight; a connection released by
/// a cancelled handler is checked (and closed when inside a transaction) by its pool's
/// release check in a task of its own, so the count is read until it settles at 0 or
/// [`SETTLE`] has passed: far below the roles' `idle_in_transaction_session_timeout`, so
/// Postgres itself cannot have hidden a leak by then.
pub async fn idle_in_transaction(db: &PgPool) -> anyhow::Result<u64> {
    const SETTLE: Duration = Duration::from_secs(5);
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let stuck: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND state IN ('idle in transaction', 'idle in transaction (aborted)')",
        )
        .fetch_one(db)
        .await?;
        if stuck == 0 || tokio::time::Instant::now() >= deadline {
            return Ok(u64::try_from(stuck).unwrap_or(0));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
