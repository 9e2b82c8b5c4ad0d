//! The soak's clients: each loops over reads and order POSTs until the run ends, records
//! every request (when, how long, what status), and retries each failed write, with the
//! same `Idempotency-Key` (both pairs take one), until it is answered for good.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinHandle;

use super::Plan;
use crate::scenario::Pair;

/// How long past the end of the run a write keeps being retried before the soak gives up
/// on it (and counts it as unknown or refused).
pub const WRITE_GIVE_UP: Duration = Duration::from_secs(30);
/// The most one request may take; past it, it counts as a transport failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Between two attempts of a failed write.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// The soak's order totals start here, in cents, above every seed order's, so that each
/// write is found by its total alone.
pub const FIRST_TOTAL_CENTS: i64 = 700_000;
/// Writes one client may make before totals of two clients could meet.
const WRITES_PER_CLIENT: i64 = 100_000;

/// One request: when it started (since the run began), how long it took, and its status
/// (`None`: no answer).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Duration,
    pub latency: Duration,
    pub status: Option<u16>,
}

impl Sample {
    /// An answer that says "try again": no answer, 408, 429 or a 5xx.
    pub fn failed(&self) -> bool {
        self.status.is_none_or(|s| s >= 500 || s == 408 || s == 429)
    }
}

/// What became of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 201: the pair said it is stored.
    Acknowledged,
    /// A final 4xx, or the last answer before giving up: the pair said it is not stored.
    Refused(u16),
    /// No answer before giving up: either way is right, twice is not.
    Unknown,
    /// The client hung up before the answer: either way is right, twice is not.
    Abandoned,
}

/// One order POST, however many attempts it took.
#[derive(Debug, Clone, Copy)]
pub struct Write {
    pub total_cents: i64,
    pub outcome: Outcome,
    pub attempts: u32,
}

/// What the clients saw.
#[derive(Debug, Default)]
pub struct Records {
    pub samples: Vec<Sample>,
    pub writes: Vec<Write>,
    /// Requests the client hung up on before the answer came.
    pub abandoned: u64,
}

/// The clients of one run.
#[derive(Debug, Clone)]
pub struct Load {
    plan: Plan,
    customers: String,
    orders: String,
    http: reqwest::Client,
    active_customers: Vec<i64>,
    order_ids: i64,
}

impl Load {
    pub fn new(plan: Plan, [customers, orders]: [String; 2]) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        let active_customers = crate::seed::customers()
            .into_iter()
            .filter(|c| c.status == "active")
            .map(|c| c.id)
            .collect();
        Self {
            plan,
            customers,
            orders,
            http,
            active_customers,
            order_ids: crate::seed::orders().len() as i64,
        }
    }

    /// Starts `plan.concurrency` clients; they stop on their own when the run is over.
    pub fn spawn(self, started: Instant) -> Vec<JoinHandle<Records>> {
        (0..self.plan.concurrency)
            .map(|client| {
                let load = self.clone();
                tokio::spawn(async move { load.client(client as i64, started).await })
            })
            .collect()
    }

    /// Waits for every client and puts their records together.
    pub async fn finish(workers: Vec<JoinHandle<Records>>) -> Records {
        let mut all = Records::default();
        for worker in workers {
            match worker.await {
                Ok(records) => {
                    all.samples.extend(records.samples);
                    all.writes.extend(records.writes);
                    all.abandoned += records.abandoned;
                }
                Err(err) => tracing::error!(%err, "a soak client failed"),
            }
        }
        all
    }

    async fn client(&self, client: i64, started: Instant) -> Records {
        let mut records = Records::default();
        let mut random = Random(0x9E37_79B9_7F4A_7C15 ^ (client as u64 + 1));
        let mut written = 0;
        let cancelling = self.plan.cancelling && client % 8 == 0;
        while started.elapsed() < self.plan.duration {
            if random.below(100) < u64::from(self.plan.read_percent) || written >= WRITES_PER_CLIENT
            {
                let url = self.read_url(&mut random);
                let patience = cancelling.then(|| hang_up_after(&mut random));
                match self
                    .send_within(started, self.http.get(url), patience)
                    .await
                {
                    Some(sample) => records.samples.push(sample),
                    None => records.abandoned += 1,
                }
            } else {
                let total = FIRST_TOTAL_CENTS + client * WRITES_PER_CLIENT + written;
                written += 1;
                let customer = self.active_customers
                    [random.below(self.active_customers.len() as u64) as usize];
                let patience = cancelling.then(|| hang_up_after(&mut random));
                let write = self
                    .write(started, client, customer, total, patience, &mut records)
                    .await;
                records.writes.push(write);
            }
        }
        records
    }

    fn read_url(&self, random: &mut Random) -> String {
        let customer =
            self.active_customers[random.below(self.active_customers.len() as u64) as usize];
        let order = 1 + random.below(self.order_ids as u64) as i64;
        match (self.plan.pair, random.below(2)) {
            (Pair::Legacy, 0) => format!("{}/orders/{order}", self.orders),
            (Pair::Legacy, _) => format!("{}/customers/{customer}", self.customers),
            (Pair::Migrated, 0) => format!("{}/v1/orders/{order}", self.orders),
            (Pair::Migrated, _) => format!("{}/v1/customers/{customer}/profile", self.customers),
        }
    }

    /// Places one order, retrying until it is answered for good or the soak gives up.
    async fn write(
        &self,
        started: Instant,
        client: i64,
        customer: i64,
        total_cents: i64,
        patience: Option<Duration>,
        records: &mut Records,
    ) -> Write {
        let body = json!({
            "customer_id": customer,
            "total": format!("{}.{:02}", total_cents / 100, total_cents % 100),
        });
        let give_up = self.plan.duration + WRITE_GIVE_UP;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let url = match self.plan.pair {
                Pair::Legacy => format!("{}/orders", self.orders),
                Pair::Migrated => format!("{}/v1/orders", self.orders),
            };
            let request = self
                .http
                .post(url)
                .header("idempotency-key", format!("soak-{client}-{total_cents}"));
            let Some(sample) = self
                .send_within(started, request.json(&body), patience)
                .await
            else {
                // A client that hung up does not retry: it never learns what happened.
                records.abandoned += 1;
                return Write {
                    total_cents,
                    outcome: Outcome::Abandoned,
                    attempts,
                };
            };
            records.samples.push(sample);
            let outcome = match sample.status {
                Some(201) => Some(Outcome::Acknowledged),
                Some(status) if !sample.failed() => Some(Outcome::Refused(status)),
                _ if started.elapsed() >= give_up => Some(match sample.status {
                    Some(status) => Outcome::Refused(status),
                    None => Outcome::Unknown,
                }),
                _ => None,
            };
            if let Some(outcome) = outcome {
                return Write {
                    total_cents,
                    outcome,
                    attempts,
                };
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// Sends `request`, or hangs up after `patience` (dropping the request closes its
    /// connection mid-request); `None` when it hung up.
    async fn send_within(
        &self,
        started: Instant,
        request: reqwest::RequestBuilder,
        patience: Option<Duration>,
    ) -> Option<Sample> {
        match patience {
            None => Some(self.send(started, request).await),
            Some(patience) => tokio::time::timeout(patience, self.send(started, request))
                .await
                .ok(),
        }
    }

    async fn send(&self, started: Instant, request: reqwest::RequestBuilder) -> Sample {
        let at = started.elapsed();
        let sent = Instant::now();
        let status = match request.send().await {
            // The body is read too: an answer is whole or it is not an answer.
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.ok().map(|_| status)
            }
            Err(_) => None,
        };
        Sample {
            at,
            latency: sent.elapsed(),
            status,
        }
    }
}

/// How long a cancelling client waits before it hangs up: 1 to 40 ms, around what a write
/// takes, so that some hang up before the handler starts, some inside its transaction and
/// some after it.
fn hang_up_after(random: &mut Random) -> Duration {
    Duration::from_millis(1 + random.below(40))
}

/// xorshift64*: enough to vary a workload, with no dependency and no shared state.
#[derive(Debug, Clone, Copy)]
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}
