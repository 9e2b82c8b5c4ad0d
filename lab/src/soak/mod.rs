//! `kit soak`: a pair under a mixed workload for a while, with one fault injected midway,
//! then every write reconciled against the database. Reads of orders and profiles, order
//! POSTs (with an `Idempotency-Key`), each failed write retried
//! with the same key; at the end each acknowledged write must be in the database exactly
//! once and each refused one not at all. The pair runs in this process on a container of
//! its own (or the server at `--database-url`), on a fresh database from its template.
//!
//! It owns the load and the faults; it touches no service's code, only their routers.

mod report;
mod workload;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chassis::DatabaseUrl;
use clap::{Args, ValueEnum};

pub use report::Report;

use crate::databases::Databases;
use crate::pairs::{self, Listeners, Passwords, Running, Serving};
use crate::postgres::{Control, Postgres, Purpose};
use crate::scenario::Pair;

/// Which pair a soak runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SoakPair {
    Legacy,
    Migrated,
}

/// The fault injected midway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// No fault: the baseline.
    None,
    /// The customers service stops, stays down for a fifth of the run, and a new one
    /// starts on the same port.
    OwnerStop,
    /// The customers service stops and a new one starts at once on the same port.
    OwnerRestart,
    /// `docker pause` of the Postgres container for a fifth of the run, then unpause.
    PostgresPause,
    /// `docker restart` of the Postgres container.
    PostgresRestart,
}

/// `kit soak`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// The pair to soak.
    #[arg(long, value_enum, default_value = "migrated")]
    pub pair: SoakPair,
    /// The fault injected a third of the way in.
    #[arg(long, value_enum, default_value = "none")]
    pub fault: Fault,
    /// How long the workload runs, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Clients sending requests at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Share of reads in the mix, in percent; the rest are order POSTs.
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub mix: u8,
    /// One client in eight (the first, and every eighth after it) hangs up mid-request: it
    /// abandons each request 1 to 40 ms in, as a browser tab closed or a load balancer's
    /// timeout would. The reconciliation then counts connections left idle in transaction.
    #[arg(long)]
    pub cancelling: bool,
    /// A short run: 6 seconds, 4 clients (overrides --duration and --concurrency).
    #[arg(long)]
    pub quick: bool,
    /// Postgres to run on (admin credentials); without it, a disposable container. The
    /// Postgres faults need the container.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,
}

impl SoakArgs {
    /// The run these flags describe.
    pub fn plan(&self) -> Plan {
        let (duration, concurrency) = if self.quick {
            (Duration::from_secs(6), 4)
        } else {
            (Duration::from_secs(self.duration), self.concurrency.max(1))
        };
        Plan {
            pair: match self.pair {
                SoakPair::Legacy => Pair::Legacy,
                SoakPair::Migrated => Pair::Migrated,
            },
            fault: self.fault,
            duration,
            concurrency,
            read_percent: self.mix,
            cancelling: self.cancelling,
        }
    }
}

/// One soak: what runs, how long, how hard, and what goes wrong.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub pair: Pair,
    pub fault: Fault,
    pub duration: Duration,
    pub concurrency: usize,
    pub read_percent: u8,
    /// Whether one client in eight abandons its requests mid-flight.
    pub cancelling: bool,
}

/// Runs `plan` on the Postgres at `url` or a container of its own, and reconciles.
pub async fn run(plan: Plan, url: Option<DatabaseUrl>) -> anyhow::Result<Report> {
    if url.is_some() && matches!(plan.fault, Fault::PostgresPause | Fault::PostgresRestart) {
        anyhow::bail!(
            "the Postgres faults need a container of the soak's own: drop --database-url"
        );
    }
    let postgres = Postgres::provision(url, Purpose::Run).await?;
    let result = run_on(plan, &postgres).await;
    // A paused container cannot be removed cleanly; a failed run may have left it so.
    let _ = postgres.control(Control::Unpause).await;
    postgres.release().await;
    result
}

async fn run_on(plan: Plan, postgres: &Postgres) -> anyhow::Result<Report> {
    let passwords = demo_passwords();
    let databases = Databases::new(
        postgres.url().clone(),
        &format!("soak_{}", std::process::id()),
    );
    let database = databases
        .fresh(&pairs::template(plan.pair, &passwords))
        .await
        .context("a database for the soak")?;
    let result = soak(plan, postgres, &database.url, &passwords).await;
    drop(database);
    let _ = databases.drop_templates().await;
    result
}

fn demo_passwords() -> Passwords {
    Passwords {
        customers_db_password: migrated_customers::DEMO_PASSWORD.into(),
        orders_db_password: migrated_orders::DEMO_PASSWORD.into(),
    }
}

async fn soak(
    plan: Plan,
    postgres: &Postgres,
    database: &DatabaseUrl,
    passwords: &Passwords,
) -> anyhow::Result<Report> {
    let listeners = Listeners::loopback().await?;
    let urls = listeners.urls()?;
    let customers_addr = listeners.customers.local_addr()?;
    let calls = pairs::migrated::Calls::owned();
    let mut running = match plan.pair {
        Pair::Legacy => pairs::legacy::start(database, listeners)?,
        Pair::Migrated => pairs::migrated::start(database, passwords, listeners, &calls)?,
    };
    let started = Instant::now();
    let load = workload::Load::new(plan, urls.clone());
    let workers = load.spawn(started);
    tokio::time::sleep(plan.duration / 3).await;
    let fault_at = started.elapsed();
    inject(
        plan,
        postgres,
        &mut running,
        customers_addr,
        database,
        passwords,
        &urls,
    )
    .await?;
    let fault_over = started.elapsed();
    let records = workload::Load::finish(workers).await;
    let db = chassis::db::pool(database, "kit-soak")?;
    // While the pair still runs: a connection it left inside a transaction is only visible
    // while its pool holds it.
    let stuck = report::idle_in_transaction(&db).await;
    running.stop().await?;
    let report = match stuck {
        Ok(stuck) => report::reconcile(plan, &records, &db, fault_at..fault_over)
            .await
            .map(|report| Report {
                idle_in_transaction: stuck,
                ..report
            }),
        Err(err) => Err(err),
    };
    db.close().await;
    report
}

/// Injects the plan's fault and returns once it is over (the owner or the server back).
async fn inject(
    plan: Plan,
    postgres: &Postgres,
    running: &mut Running,
    customers_addr: std::net::SocketAddr,
    database: &DatabaseUrl,
    passwords: &Passwords,
    urls: &[String; 2],
) -> anyhow::Result<()> {
    let outage = plan.duration / 5;
    match plan.fault {
        Fault::None => {}
        Fault::OwnerStop | Fault::OwnerRestart => {
            running.customers.stop().await?;
            if plan.fault == Fault::OwnerStop {
                tokio::time::sleep(outage).await;
            }
            let listener = chassis::http::bind(customers_addr, "the customers port").await?;
            let app = customers_app(plan.pair, database, passwords, urls)?;
            running.customers = Serving::spawn(listener, app)?;
        }
        Fault::PostgresPause => {
            postgres.control(Control::Pause).await?;
            tokio::time::sleep(outage).await;
            postgres.control(Control::Unpause).await?;
        }
        Fault::PostgresRestart => postgres.control(Control::Restart).await?,
    }
    Ok(())
}

/// A new customers service for the pair, as a redeploy would start it.
fn customers_app(
    pair: Pair,
    database: &DatabaseUrl,
    passwords: &Passwords,
    urls: &[String; 2],
) -> anyhow::Result<axum::Router> {
    Ok(match pair {
        Pair::Legacy => {
            legacy::customers::router(chassis::db::pool(database, legacy::CUSTOMERS_APP)?)
        }
        Pair::Migrated => {
            let calls = pairs::migrated::Calls::owned();
            let apps =
                pairs::migrated::Apps::new(database, passwords, [&urls[0], &urls[1]], &calls)?;
            apps.customers
        }
    })
}
