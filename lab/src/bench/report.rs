//! A bench run's results and their readings: percentiles, ratios with their spread
//! across rounds, multiples of the floor, and the table written to stdout and Markdown.

use hdrhistogram::Histogram;

use super::measure::Counts;
use crate::scenario::Pair;

/// One arm's figures over every round.
#[derive(Debug, Clone)]
pub struct ArmResult {
    pub label: &'static str,
    pub pair: Pair,
    /// Latency at concurrency 1, all rounds, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Each round's p50, in nanoseconds.
    pub round_p50: Vec<u64>,
    /// Each round's operations per second at the run's concurrency.
    pub throughput: Vec<f64>,
    /// The body of the last answer, in bytes.
    pub bytes: usize,
    pub counts: Counts,
}

impl ArmResult {
    /// The latency at quantile `q` (0.5, 0.9, 0.99), in microseconds.
    pub fn micros(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1_000.0
    }

    /// The median of the rounds' throughputs.
    pub fn throughput(&self) -> f64 {
        median(self.throughput.clone())
    }
}

/// One workload's two arms.
#[derive(Debug, Clone)]
pub struct WorkloadResult {
    pub id: &'static str,
    pub title: &'static str,
    pub arms: [ArmResult; 2],
    /// The second arm's floor, in microseconds, when the workload has one.
    pub floor: Option<f64>,
}

/// A spread: the figure over every round, and its lowest and highest round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}× ({:.2}–{:.2})", self.value, self.min, self.max)
    }
}

impl WorkloadResult {
    /// p50 of the second arm over the first's, overall and per round.
    pub fn latency_ratio(&self) -> Spread {
        let [a, b] = &self.arms;
        let rounds = a.round_p50.iter().zip(&b.round_p50);
        spread(
            b.micros(0.5) / a.micros(0.5),
            rounds.map(|(a, b)| *b as f64 / *a as f64),
        )
    }

    /// Throughput of the second arm over the first's, median and per round.
    pub fn throughput_ratio(&self) -> Spread {
        let [a, b] = &self.arms;
        let rounds: Vec<f64> = a
            .throughput
            .iter()
            .zip(&b.throughput)
            .map(|(a, b)| b / a)
            .collect();
        spread(median(rounds.clone()), rounds.into_iter())
    }

    /// The second arm's p50 as a multiple of its floor.
    pub fn over_floor(&self) -> Option<f64> {
        self.floor.map(|floor| self.arms[1].micros(0.5) / floor)
    }
}

/// One floor measurement.
#[derive(Debug, Clone)]
pub struct FloorResult {
    pub id: &'static str,
    pub title: &'static str,
    pub latency: Histogram<u64>,
}

impl FloorResult {
    pub fn micros(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1_000.0
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub rounds: u64,
    pub requests: u64,
    pub concurrency: usize,
    pub workloads: Vec<WorkloadResult>,
    pub floors: Vec<FloorResult>,
}

fn spread(value: f64, rounds: impl Iterator<Item = f64>) -> Spread {
    let (min, max) = rounds.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
        (lo.min(r), hi.max(r))
    });
    Spread { value, min, max }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The floor of a migrated arm: what its legacy arm costs, plus each extra HTTP call at
/// the bare round trip and each extra SQL statement at the owner's query alone. What the
/// migrated design cannot avoid; everything above it is the stack's own work.
pub fn floor(counts: [&Counts; 2], legacy_p50: f64, hop: f64, sql: f64) -> f64 {
    let [legacy, migrated] = counts;
    let calls = migrated.http_calls.saturating_sub(legacy.http_calls) as f64;
    let statements = match (legacy.sql_total(), migrated.sql_total()) {
        (Some(l), Some(m)) => m.saturating_sub(l) as f64,
        _ => 0.0,
    };
    legacy_p50 + calls * hop + statements * sql
}

const HEADER: [&str; 9] = [
    "operation",
    "arms",
    "p50 / p90 / p99 µs",
    "p50 ratio (rounds)",
    "throughput req/s",
    "throughput ratio (rounds)",
    "SQL statements",
    "HTTP calls",
    "× floor",
];

fn pair_of<T: std::fmt::Display>(arms: &[ArmResult; 2], f: impl Fn(&ArmResult) -> T) -> String {
    format!("{} / {}", f(&arms[0]), f(&arms[1]))
}

impl Report {
    /// The rows of the main table, one per workload.
    pub fn rows(&self) -> Vec<[String; 9]> {
        self.workloads
            .iter()
            .map(|w| {
                let sql = |arm: &ArmResult| {
                    arm.counts
                        .sql_total()
                        .map_or_else(|| "n/a".to_owned(), |n| n.to_string())
                };
                [
                    w.title.to_owned(),
                    pair_of(&w.arms, |a| a.label),
                    pair_of(&w.arms, |a| {
                        format!(
                            "{:.0}/{:.0}/{:.0}",
                            a.micros(0.5),
                            a.micros(0.9),
                            a.micros(0.99)
                        )
                    }),
                    w.latency_ratio().to_string(),
                    pair_of(&w.arms, |a| format!("{:.0}", a.throughput())),
                    w.throughput_ratio().to_string(),
                    pair_of(&w.arms, sql),
                    pair_of(&w.arms, |a| a.counts.http_calls),
                    w.over_floor()
                        .map_or_else(|| "—".to_owned(), |x| format!("{x:.2}×")),
                ]
            })
            .collect()
    }

    /// The table for a terminal.
    pub fn to_text(&self) -> String {
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(HEADER);
        for row in self.rows() {
            table.add_row(row);
        }
        let mut floors = comfy_table::Table::new();
        floors.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        floors.set_header(["floor", "p50 / p90 / p99 µs"]);
        for f in &self.floors {
            floors.add_row([
                f.title.to_owned(),
                format!(
                    "{:.0}/{:.0}/{:.0}",
                    f.micros(0.5),
                    f.micros(0.9),
                    f.micros(0.99)
                ),
            ]);
        }
        format!("{table}\n{floors}\n{}\n", self.bytes_line())
    }

    /// The tables in Markdown, ready for BENCHMARKS.md.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "| {} |\n|{}\n",
            HEADER.join(" | "),
            "---|".repeat(HEADER.len())
        );
        for row in self.rows() {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out.push_str("\n| floor | p50 / p90 / p99 µs |\n|---|---|\n");
        for f in &self.floors {
            out.push_str(&format!(
                "| {} | {:.0}/{:.0}/{:.0} |\n",
                f.title,
                f.micros(0.5),
                f.micros(0.9),
                f.micros(0.99)
            ));
        }
        out.push_str(&format!("\n{}\n", self.bytes_line()));
        out
    }

    /// The run as a Markdown section: the machine, the date, the command, the tables.
    /// `command` is what followed `kit` on the command line.
    pub fn to_page(&self, command: &str) -> String {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        format!(
            "Run {date} on {cores} cores ({cpu}): `cargo run --release --bin kit -- {command}`, \
             {} rounds of {} operations per arm at concurrency 1 and {} at concurrency {}.\n\n{}",
            self.rounds,
            self.requests,
            self.requests * 4,
            self.concurrency,
            self.to_markdown()
        )
    }

    /// Bytes on the wire of the JSON and XML arms.
    fn bytes_line(&self) -> String {
        self.workloads
            .iter()
            .find(|w| w.id == "json-xml")
            .map(|w| {
                format!(
                    "One order on the wire: JSON {} bytes, XML {} bytes ({:.2}×).",
                    w.arms[0].bytes,
                    w.arms[1].bytes,
                    w.arms[1].bytes as f64 / w.arms[0].bytes.max(1) as f64
                )
            })
            .unwrap_or_default()
    }
}
