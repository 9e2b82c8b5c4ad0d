//! The `migrated` command line: start the pair, one service, or run the schema tasks. The
//! two services are separate crates that share no type; this binary only wires them up.

use std::net::SocketAddr;

use chassis::DatabaseUrl;
use chassis::ownership::Owner;
use chassis::releases::Applied;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::pairs::migrated::{Apps, CallPolicy, Secrets, migrate, seed, ship};
use crate::pairs::{self, Listeners};
use crate::scenario::{Pair, ScenarioCommand};

/// The migrated pair: customers and orders, each owning its schema, talking over HTTP.
///
/// With no subcommand, `up`: create roles and schemas, migrate, seed and serve both.
#[derive(Debug, Parser)]
#[command(name = "migrated", version, about)]
pub struct Cli {
    /// Admin URL of the Postgres server (it creates the roles and schemas). The services
    /// then log in as their own roles. Without it, `up` starts a disposable container.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,

    #[command(flatten)]
    pub scenarios: crate::scenario::ScenarioDir,

    /// Address of the customers service.
    #[arg(
        long,
        env = "MIGRATED_CUSTOMERS_ADDR",
        default_value = "127.0.0.1:8101",
        global = true
    )]
    pub customers_addr: SocketAddr,

    /// Address of the orders service.
    #[arg(
        long,
        env = "MIGRATED_ORDERS_ADDR",
        default_value = "127.0.0.1:8102",
        global = true
    )]
    pub orders_addr: SocketAddr,

    /// Base URL of the customers API, for `migrated orders` run alone.
    #[arg(
        long,
        env = "MIGRATED_CUSTOMERS_URL",
        default_value = "http://127.0.0.1:8101",
        global = true
    )]
    pub customers_url: String,

    /// Base URL of the orders API, for `migrated customers` run alone.
    #[arg(
        long,
        env = "MIGRATED_ORDERS_URL",
        default_value = "http://127.0.0.1:8102",
        global = true
    )]
    pub orders_url: String,

    #[command(flatten)]
    pub secrets: Secrets,

    #[command(flatten)]
    pub calls: CallPolicy,

    #[command(flatten)]
    pub http: super::HttpLimits,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Bootstrap, migrate, seed and serve both services (the default).
    Up,
    /// Serve the customers service alone (it calls orders at --orders-url).
    Customers,
    /// Serve the orders service alone (it calls customers at --customers-url).
    Orders,
    /// Create the roles and schemas, and apply both services' migrations, then exit.
    Migrate,
    /// Insert the seed customers and orders that are missing, then exit.
    Seed,
    /// The owner-side schema changes: list them, or ship one to its owner's schema.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
}

impl Cli {
    fn owners(&self) -> [Owner; 2] {
        self.secrets.owners()
    }
}

/// Runs the command until it completes or Ctrl-C.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    cli.scenarios.load()?;
    let command = cli.command.clone().unwrap_or(Command::Up);
    if let Command::Scenario(ScenarioCommand::List) = command {
        print!("{}", crate::scenario::list(Pair::Migrated));
        return Ok(());
    }
    if let Command::Scenario(ScenarioCommand::Apply { id }) = &command {
        crate::scenario::find(id)?; // an unknown id is refused before anything else
    }
    if let Command::Up = command {
        return crate::postgres::with_postgres(
            cli.database_url.clone(),
            |url, shutdown| async move { up(&cli, &url, shutdown).await },
        )
        .await;
    }
    let Some(admin) = cli.database_url.clone() else {
        anyhow::bail!(
            "`migrated {}` needs a database: pass --database-url or set DATABASE_URL \
             (or run `migrated up`, which can start one)",
            match &command {
                Command::Scenario(_) => "scenario apply".to_owned(),
                other => format!("{other:?}").to_lowercase(),
            }
        );
    };
    match command {
        Command::Up | Command::Scenario(ScenarioCommand::List) => unreachable!("handled above"),
        Command::Scenario(ScenarioCommand::Apply { id }) => {
            let scenario = crate::scenario::find(&id)?;
            let role = pairs::migrated::owner_role(scenario);
            let shipped = ship(&admin, scenario).await;
            match shipped.map_err(|err| crate::scenario::refused(scenario, &err))? {
                Applied::Now => println!(
                    "Released {} ({} team, as {role}): {}\nThe {} service adapts from its next request; its API does not change.",
                    scenario.id, scenario.owner, scenario.title, scenario.owner
                ),
                Applied::Already => {
                    println!("{} was already released; nothing to do.", scenario.id)
                }
            }
        }
        Command::Migrate => {
            let applied = migrate(&admin, &cli.owners()).await?;
            println!("Schemas customers and orders up to date ({applied} migrations applied).");
        }
        Command::Seed => {
            let inserted = seed(&admin).await?;
            println!("Seed data in place ({inserted} rows inserted).");
        }
        Command::Customers => {
            let shutdown = chassis::shutdown::on_signal();
            let listener = chassis::http::bind(cli.customers_addr, "--customers-addr").await?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("customers listening on {url}/v1/customers");
            let apps = Apps::new(
                &admin,
                &cli.secrets,
                [&url, &cli.orders_url],
                &cli.calls.calls(),
            )?;
            chassis::http::serve_with(listener, apps.customers, shutdown, cli.http.limits())
                .await?;
        }
        Command::Orders => {
            let shutdown = chassis::shutdown::on_signal();
            let listener = chassis::http::bind(cli.orders_addr, "--orders-addr").await?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("orders listening on {url}/v1/orders");
            let apps = Apps::new(
                &admin,
                &cli.secrets,
                [&cli.customers_url, &url],
                &cli.calls.calls(),
            )?;
            chassis::http::serve_with(listener, apps.orders, shutdown, cli.http.limits()).await?;
        }
    }
    Ok(())
}

async fn up(cli: &Cli, admin: &DatabaseUrl, shutdown: CancellationToken) -> anyhow::Result<()> {
    let (applied, inserted) = pairs::migrated::build(admin, &cli.secrets).await?;
    tracing::info!(
        applied,
        inserted,
        "schemas bootstrapped, migrated and seeded"
    );
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
    let running = pairs::migrated::start(admin, &cli.secrets, listeners, &cli.calls.calls())?;
    let (customers_url, orders_url) = (&running.customers.url, &running.orders.url);
    println!("Migrated pair is up. Each service logs in as its own role and owns its schema.");
    println!(
        "  customers  {customers_url}/v1/customers   (role {})",
        migrated_customers::RUNTIME_ROLE
    );
    println!(
        "  orders     {orders_url}/v1/orders      (role {})",
        migrated_orders::RUNTIME_ROLE
    );
    println!("Try:");
    println!("  curl -s {orders_url}/v1/orders/1");
    println!("  curl -s {customers_url}/v1/customers/7/profile");
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
