//! The `legacy` command line: start the pair, one service, or run the schema tasks.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use chassis::DatabaseUrl;
use chassis::releases::Applied;
use clap::{Parser, Subcommand};
use legacy::check::Service;
use legacy::strangler::{ApiFlows, Strangler};
use tokio_util::sync::CancellationToken;

use crate::pairs::{self, Listeners};
use crate::scenario::{Pair, ScenarioCommand};

/// The legacy pair: customers and orders sharing one database and one login.
///
/// With no subcommand, `up`: migrate, seed and serve both services.
#[derive(Debug, Parser)]
#[command(name = "legacy", version, about)]
pub struct Cli {
    /// Postgres URL that both services connect with: one shared login, as legacy systems
    /// do. Without it, `up` starts a disposable Postgres container (needs Docker) and
    /// removes it on exit.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,

    #[command(flatten)]
    pub scenarios: crate::scenario::ScenarioDir,

    /// Address of the customers service.
    #[arg(
        long,
        env = "LEGACY_CUSTOMERS_ADDR",
        default_value = "127.0.0.1:8001",
        global = true
    )]
    pub customers_addr: SocketAddr,

    /// Address of the orders service.
    #[arg(
        long,
        env = "LEGACY_ORDERS_ADDR",
        default_value = "127.0.0.1:8002",
        global = true
    )]
    pub orders_addr: SocketAddr,

    /// Where the SQL that reaches into the other team's data goes: `tables`, or
    /// `contract` (the owner's views and functions, the road's state 2).
    #[arg(long, env = "LEGACY_REACH", default_value = "tables", global = true)]
    pub reach: legacy::Reach,

    /// The flows that call the other team's API instead of reaching into its data (the
    /// road's state 3): a comma list of order-customer, place-order, guest-checkout,
    /// profile-stats, delete-guard; or `all`. Empty: every flow runs its SQL.
    #[arg(long, env = "LEGACY_API_FLOWS", default_value = "", global = true)]
    pub api_flows: ApiFlows,

    /// Run the API path beside the SQL path of each flow not yet switched, and log every
    /// difference (the strangler's safety net, before a switch).
    #[arg(long, env = "LEGACY_API_COMPARE", global = true)]
    pub api_compare: bool,

    #[command(flatten)]
    pub http: super::HttpLimits,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Migrate, seed and serve both services (the default).
    Up,
    /// Serve the customers service alone, on a database already migrated.
    Customers,
    /// Serve the orders service alone, on a database already migrated.
    Orders,
    /// Apply the shared schema's pending migrations, then exit.
    Migrate,
    /// Insert the seed customers and orders that are missing, then exit.
    Seed,
    /// Prepare every SQL statement both services run against a running pair's database and
    /// list the ones its schema breaks. Exit code 0: none broken; 1: some broken; 2: the
    /// check could not run.
    Check,
    /// The owner-side schema changes: list them, or ship one to this database.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
}

/// Runs the command until it completes or Ctrl-C; returns the process's exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    cli.scenarios.load()?;
    let command = cli.command.clone().unwrap_or(Command::Up);
    if let Command::Scenario(ScenarioCommand::List) = command {
        print!("{}", crate::scenario::list(Pair::Legacy));
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Check = command {
        return Ok(ExitCode::from(check(cli.database_url.as_ref()).await));
    }
    if let Command::Scenario(ScenarioCommand::Apply { id }) = &command {
        crate::scenario::find(id)?; // an unknown id is refused before anything else
    }
    if let Command::Up = command {
        crate::postgres::with_postgres(cli.database_url.clone(), |url, shutdown| async move {
            up(&cli, &url, shutdown).await
        })
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(url) = cli.database_url.clone() else {
        anyhow::bail!(
            "`legacy {}` needs a database: pass --database-url or set DATABASE_URL \
             (or run `legacy up`, which can start one)",
            match &command {
                Command::Scenario(_) => "scenario apply".to_owned(),
                other => format!("{other:?}").to_lowercase(),
            }
        );
    };
    match command {
        Command::Up | Command::Check | Command::Scenario(ScenarioCommand::List) => {
            unreachable!("handled above")
        }
        Command::Scenario(ScenarioCommand::Apply { id }) => {
            let scenario = crate::scenario::find(&id)?;
            let shipped = pairs::legacy::ship(&url, scenario).await;
            match shipped.map_err(|err| crate::scenario::refused(scenario, &err))? {
                Applied::Now => println!(
                    "Released {} ({} team): {}\nThe {} service adapts from its next request; nobody told the other team.",
                    scenario.id, scenario.owner, scenario.title, scenario.owner
                ),
                Applied::Already => {
                    println!("{} was already released; nothing to do.", scenario.id)
                }
            }
        }
        Command::Migrate => {
            let applied = legacy::migrate(&url).await?;
            println!("Shared schema up to date ({applied} migrations applied).");
        }
        Command::Seed => {
            let pool = chassis::db::pool(&url, "legacy-seed")?;
            let inserted = crate::seed::write::legacy(&pool).await?;
            println!("Seed data in place ({inserted} rows inserted).");
        }
        Command::Customers => {
            let shutdown = chassis::shutdown::on_signal();
            legacy::check::warn_at_startup(&url, &[Service::Customers]).await;
            let listener = chassis::http::bind(cli.customers_addr, "--customers-addr").await?;
            println!("customers listening on http://{}", listener.local_addr()?);
            let orders = format!("http://{}", cli.orders_addr);
            let app = legacy::customers::router_on_road(
                chassis::db::pool(&url, legacy::CUSTOMERS_APP)?,
                cli.reach,
                Arc::new(cli.strangler("orders", &orders)?),
            );
            chassis::http::serve_with(listener, app, shutdown, cli.http.limits()).await?;
        }
        Command::Orders => {
            let shutdown = chassis::shutdown::on_signal();
            legacy::check::warn_at_startup(&url, &[Service::Orders]).await;
            let listener = chassis::http::bind(cli.orders_addr, "--orders-addr").await?;
            println!("orders listening on http://{}", listener.local_addr()?);
            let customers = format!("http://{}", cli.customers_addr);
            let app = legacy::orders::router_on_road(
                chassis::db::pool(&url, legacy::ORDERS_APP)?,
                cli.reach,
                Arc::new(cli.strangler("customers", &customers)?),
            );
            chassis::http::serve_with(listener, app, shutdown, cli.http.limits()).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Cli {
    /// One service's switch of its flows into `owner`'s data, as the flags say.
    fn strangler(&self, owner: &'static str, owner_url: &str) -> anyhow::Result<Strangler> {
        Ok(Strangler::new(
            owner,
            owner_url,
            self.api_flows.clone(),
            self.api_compare,
        )?)
    }
}

/// `legacy check`: the report on stdout and its exit code; 2, with one line on stderr that
/// says the way out, when there is no database to check.
async fn check(url: Option<&DatabaseUrl>) -> u8 {
    let Some(url) = url else {
        eprintln!(
            "legacy check: no database to check: pass a running pair's database with \
             --database-url or DATABASE_URL (check starts no container)"
        );
        return 2;
    };
    match legacy::check::run(url, &Service::BOTH).await {
        Ok(report) => {
            print!("{report}");
            report.exit_code()
        }
        Err(err) => {
            eprintln!(
                "legacy check: {err}; pass a running pair's database with --database-url or \
                 DATABASE_URL"
            );
            2
        }
    }
}

async fn up(cli: &Cli, url: &DatabaseUrl, shutdown: CancellationToken) -> anyhow::Result<()> {
    let (applied, inserted) = pairs::legacy::build(url).await?;
    tracing::info!(applied, inserted, "shared schema migrated and seeded");
    legacy::check::warn_at_startup(url, &Service::BOTH).await;
    if shutdown.is_cancelled() {
        return Ok(());
    }
    let listeners = Listeners::bind(
        cli.customers_addr,
        cli.orders_addr,
        ["--customers-addr", "--orders-addr"],
    )
    .await?
    .with_limits(cli.http.limits());
    let logins = pairs::legacy::Logins {
        api: pairs::legacy::Api {
            flows: cli.api_flows.clone(),
            compare: cli.api_compare,
        },
        reach: cli.reach,
        ..pairs::legacy::Logins::shared(url)
    };
    let (running, _) = pairs::legacy::start_switched(&logins, listeners)?;
    let (customers_url, orders_url) = (&running.customers.url, &running.orders.url);
    println!("Legacy pair is up. Both services log in as the same database user.");
    println!("  customers  {customers_url}/customers");
    println!("  orders     {orders_url}/orders");
    println!("Try:");
    println!("  curl -s {orders_url}/orders/1");
    println!("  curl -s {customers_url}/customers/1");
    println!("Press Ctrl-C to stop.");
    running.until(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
