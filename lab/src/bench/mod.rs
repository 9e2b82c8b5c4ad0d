//! `kit bench`: what owning your data costs, measured. Both pairs run on one Postgres
//! ([`stage`]); each workload ([`workloads`]) is done by both, interleaved request by
//! request and round by round so that drift of a shared machine hits both alike
//! ([`measure`]); the figures are read as ratios, and as multiples of a floor measured in
//! the same run ([`report`]), with a chart ([`chart`]). Beside each timing stand the
//! counts that noise cannot move: SQL statements and HTTP calls per operation ([`counts`]).

pub mod chart;
pub mod counts;
pub mod measure;
pub mod report;
pub mod stage;
pub mod workloads;

use std::sync::Arc;

use clap::Args;
use indicatif::ProgressBar;

use crate::databases::Databases;
use crate::pairs::Passwords;
pub use report::Report;
use report::{ArmResult, FloorResult, WorkloadResult};
use stage::Stage;

/// How much to measure.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Rounds: each runs every workload on both arms, so each ratio gets a spread.
    #[arg(long, default_value_t = 3)]
    pub rounds: u64,
    /// Operations per arm and round at concurrency 1 (the throughput phase runs four
    /// times as many; slow workloads fewer).
    #[arg(long, default_value_t = 400)]
    pub requests: u64,
    /// Workers in the throughput phase.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// A smoke run: one round of a few operations, to see that everything answers.
    #[arg(long)]
    pub quick: bool,
}

impl Settings {
    /// The settings `--quick` stands for.
    pub fn quick() -> Self {
        Self {
            rounds: 1,
            requests: 10,
            concurrency: 4,
            quick: true,
        }
    }

    fn effective(&self) -> Self {
        if self.quick {
            Self::quick()
        } else {
            self.clone()
        }
    }

    fn warmup(&self) -> u64 {
        if self.quick { 2 } else { 100 }
    }
}

/// Runs every workload and floor on fresh databases of `databases`' server, reporting
/// progress on `bar` (one step per workload and round).
pub async fn run(
    databases: &Databases,
    passwords: &Passwords,
    settings: &Settings,
    bar: &ProgressBar,
) -> anyhow::Result<Report> {
    let settings = settings.effective();
    bar.set_message("starting both pairs");
    let stage = Arc::new(Stage::build(databases, passwords).await?);
    let client = reqwest::Client::builder().no_proxy().build()?;
    let etag = workloads::current_etag(&client, &stage).await?;
    let catalogue = workloads::catalogue(&stage, &etag);
    let floors = workloads::floors(&stage);
    bar.set_length(settings.rounds * (catalogue.len() as u64 + 1));

    bar.set_message("warming up");
    for workload in &catalogue {
        for arm in &workload.arms {
            for _ in 0..(settings.warmup() / workload.divisor).max(1) {
                arm.op.run(&client, &stage).await?;
            }
        }
    }
    for floor in &floors {
        for _ in 0..settings.warmup() {
            floor.op.run(&client, &stage).await?;
        }
    }

    bar.set_message("counting statements and calls");
    let mut results = Vec::new();
    for workload in &catalogue {
        let mut arms = Vec::new();
        for arm in &workload.arms {
            arms.push(ArmResult {
                label: arm.label,
                pair: arm.pair,
                latency: measure::histogram()?,
                round_p50: Vec::new(),
                throughput: Vec::new(),
                bytes: 0,
                counts: measure::count(arm, &client, &stage).await?,
            });
        }
        let [a, b]: [ArmResult; 2] = arms
            .try_into()
            .map_err(|_| anyhow::anyhow!("a workload has two arms"))?;
        results.push(WorkloadResult {
            id: workload.id,
            title: workload.title,
            arms: [a, b],
            floor: None,
        });
    }
    let mut floor_results = floors
        .iter()
        .map(|f| {
            Ok(FloorResult {
                id: f.id,
                title: f.title,
                latency: measure::histogram()?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    for round in 0..settings.rounds {
        for (workload, result) in catalogue.iter().zip(&mut results) {
            bar.set_message(format!("round {}: {}", round + 1, workload.id));
            let n = (settings.requests / workload.divisor).max(2);
            let ops = [&workload.arms[0].op, &workload.arms[1].op];
            let (histograms, bytes) = match workload.filters {
                None => measure::latency(&ops, n, &client, &stage).await?,
                Some(filters) => {
                    measure::latency_in_blocks(&ops, filters, n, &client, &stage).await?
                }
            };
            // Alternate which arm goes first, round by round.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut rates = [0.0; 2];
            for i in order {
                if let Some(filters) = workload.filters {
                    chassis::telemetry::set_filter(filters[i])?;
                }
                rates[i] =
                    measure::throughput(ops[i], n * 4, settings.concurrency, &client, &stage)
                        .await?;
            }
            if let Some(filters) = workload.filters {
                chassis::telemetry::set_filter(filters[0])?;
            }
            for (i, arm) in result.arms.iter_mut().enumerate() {
                arm.round_p50.push(histograms[i].value_at_quantile(0.5));
                arm.latency.add(&histograms[i])?;
                arm.throughput.push(rates[i]);
                arm.bytes = bytes[i];
            }
            bar.inc(1);
        }
        bar.set_message(format!("round {}: floor", round + 1));
        let ops: Vec<_> = floors.iter().map(|f| &f.op).collect();
        let (histograms, _) = measure::latency(&ops, settings.requests, &client, &stage).await?;
        for (floor, histogram) in floor_results.iter_mut().zip(&histograms) {
            floor.latency.add(histogram)?;
        }
        bar.inc(1);
    }

    let p50 = |id: &str| {
        floor_results
            .iter()
            .find(|f| f.id == id)
            .map_or(0.0, |f| f.micros(0.5))
    };
    let (hop, sql) = (p50("hop"), p50("sql"));
    for (workload, result) in catalogue.iter().zip(&mut results) {
        if workload.floored {
            let [legacy, migrated] = &result.arms;
            result.floor = Some(report::floor(
                [&legacy.counts, &migrated.counts],
                legacy.micros(0.5),
                hop,
                sql,
            ));
        }
    }
    if let Ok(stage) = Arc::try_unwrap(stage) {
        stage.close().await?;
    }
    Ok(Report {
        rounds: settings.rounds,
        requests: settings.requests,
        concurrency: settings.concurrency,
        workloads: results,
        floors: floor_results,
    })
}
