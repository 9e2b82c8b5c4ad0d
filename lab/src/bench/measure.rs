//! How the bench times: latency at concurrency 1 with the arms interleaved request by
//! request (A B, then B A, so neither arm always goes first), recorded in HDR histograms;
//! throughput as operations per second with a fixed number of workers; and the counted
//! companions (SQL statements, HTTP calls) of one operation run alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;

use super::stage::Stage;
use super::workloads::{Arm, Op};

/// A latency histogram in nanoseconds, from 1 ns to a minute, 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000_000, 3)?)
}

/// Runs `ops` `n` times each at concurrency 1, alternating their order on every turn;
/// returns one histogram per op and the body size each last answered.
pub async fn latency(
    ops: &[&Op],
    n: u64,
    client: &reqwest::Client,
    stage: &Stage,
) -> anyhow::Result<(Vec<Histogram<u64>>, Vec<usize>)> {
    let mut histograms = ops
        .iter()
        .map(|_| histogram())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut bytes = vec![0; ops.len()];
    for turn in 0..n {
        for k in 0..ops.len() {
            let i = if turn % 2 == 0 { k } else { ops.len() - 1 - k };
            let started = Instant::now();
            bytes[i] = ops[i].run(client, stage).await?;
            let nanos = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            histograms[i].saturating_record(nanos.max(1));
        }
    }
    Ok((histograms, bytes))
}

/// Requests per block when arms differ in their log filter: switching the filter rebuilds
/// tracing's interest cache, so it happens between blocks, outside the timing.
const BLOCK: u64 = 20;

/// Like [`latency`], for arms that differ only in the log filter each runs under: blocks
/// of [`BLOCK`] requests per arm, alternating (A B, then B A), the filter switched between
/// blocks. Leaves the first arm's filter in place.
pub async fn latency_in_blocks(
    ops: &[&Op; 2],
    filters: [&str; 2],
    n: u64,
    client: &reqwest::Client,
    stage: &Stage,
) -> anyhow::Result<(Vec<Histogram<u64>>, Vec<usize>)> {
    let mut histograms = vec![histogram()?, histogram()?];
    let mut bytes = vec![0; 2];
    let mut done = 0;
    let mut block = 0;
    while done < n {
        let size = BLOCK.min(n - done);
        let order = if block % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            chassis::telemetry::set_filter(filters[i])?;
            let (h, b) = latency(&[ops[i]], size, client, stage).await?;
            histograms[i].add(&h[0])?;
            bytes[i] = b[0];
        }
        done += size;
        block += 1;
    }
    chassis::telemetry::set_filter(filters[0])?;
    Ok((histograms, bytes))
}

/// Operations per second when `concurrency` workers do `total` operations between them.
pub async fn throughput(
    op: &Op,
    total: u64,
    concurrency: usize,
    client: &reqwest::Client,
    stage: &Arc<Stage>,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (next, op, client, stage) = (next.clone(), op.clone(), client.clone(), stage.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                op.run(&client, &stage).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// What one operation of an arm did, counted where it happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// SQL statements per database role; `None` without pg_stat_statements.
    pub sql: Option<BTreeMap<String, u64>>,
    /// HTTP calls made beyond the bench's own requests: service to service, or the naive
    /// consumer's lookups.
    pub http_calls: u64,
}

impl Counts {
    pub fn sql_total(&self) -> Option<u64> {
        self.sql.as_ref().map(|roles| roles.values().sum())
    }
}

/// Runs `arm`'s operation once, alone, and counts what it caused.
pub async fn count(arm: &Arm, client: &reqwest::Client, stage: &Stage) -> anyhow::Result<Counts> {
    let served = stage.pair(arm.pair);
    let database = stage.database_name(arm.pair);
    if let Some(statements) = &stage.statements {
        statements.reset(database).await?;
    }
    let before = served.received();
    arm.op.run(client, stage).await?;
    let received = served.received() - before;
    let sql = match &stage.statements {
        Some(statements) => Some(statements.count(database).await?),
        None => None,
    };
    Ok(Counts {
        sql,
        http_calls: received.saturating_sub(arm.client_requests),
    })
}
