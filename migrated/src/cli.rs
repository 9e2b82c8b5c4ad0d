//! The `migrated` command line: start the pair, one service, or run the schema tasks. The
//! two services are separate crates that share no type; this binary only wires them up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kit::DatabaseUrl;
use kit::consumer::UpstreamConfig;
use kit::ownership::Owner;
use kit::scenario::{Applied, Pair, Scenario, ScenarioCommand};
use tokio_util::sync::CancellationToken;

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

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The services' own database passwords (demo defaults; set them for anything shared).
#[derive(Debug, Clone, Args)]
pub struct Secrets {
    /// Password of the customers service's login role.
    #[arg(
        long,
        env = "MIGRATED_CUSTOMERS_DB_PASSWORD",
        default_value = migrated_customers::DEMO_PASSWORD,
        global = true,
        hide_env_values = true,
        hide_default_value = true
    )]
    pub customers_db_password: String,

    /// Password of the orders service's login role.
    #[arg(
        long,
        env = "MIGRATED_ORDERS_DB_PASSWORD",
        default_value = migrated_orders::DEMO_PASSWORD,
        global = true,
        hide_env_values = true,
        hide_default_value = true
    )]
    pub orders_db_password: String,
}

impl Secrets {
    /// Both owners, with these passwords for their runtime roles.
    pub fn owners(&self) -> [Owner; 2] {
        [
            migrated_customers::owner(&self.customers_db_password),
            migrated_orders::owner(&self.orders_db_password),
        ]
    }
}

/// How patient each service is with the other.
#[derive(Debug, Clone, Args)]
pub struct CallPolicy {
    /// Time to connect to the other service, in milliseconds.
    #[arg(
        long,
        env = "MIGRATED_CONNECT_TIMEOUT_MS",
        default_value_t = 250,
        global = true
    )]
    pub connect_timeout_ms: u64,

    /// Time for one attempt of a call to the other service, in milliseconds.
    #[arg(
        long,
        env = "MIGRATED_ATTEMPT_TIMEOUT_MS",
        default_value_t = 800,
        global = true
    )]
    pub attempt_timeout_ms: u64,

    /// Time for a whole call, retries included, in milliseconds: the most a request
    /// waits on the other service before degrading or failing closed.
    #[arg(
        long,
        env = "MIGRATED_CALL_BUDGET_MS",
        default_value_t = 2_000,
        global = true
    )]
    pub call_budget_ms: u64,
}

impl CallPolicy {
    pub fn upstream(&self) -> UpstreamConfig {
        UpstreamConfig {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            attempt_timeout: Duration::from_millis(self.attempt_timeout_ms),
            budget: Duration::from_millis(self.call_budget_ms),
            ..UpstreamConfig::default()
        }
    }
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
    let command = cli.command.clone().unwrap_or(Command::Up);
    if let Command::Scenario(ScenarioCommand::List) = command {
        print!("{}", kit::scenario::list(Pair::Migrated));
        return Ok(());
    }
    if let Command::Scenario(ScenarioCommand::Apply { id }) = &command {
        kit::scenario::find(id)?; // an unknown id is refused before anything else
    }
    if let Command::Up = command {
        return kit::postgres::with_postgres(
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
    let [customers_owner, orders_owner] = cli.owners();
    match command {
        Command::Up | Command::Scenario(ScenarioCommand::List) => unreachable!("handled above"),
        Command::Scenario(ScenarioCommand::Apply { id }) => {
            let scenario = kit::scenario::find(&id)?;
            let (role, _) = owner_of(scenario);
            match ship(&admin, scenario).await? {
                Applied::Now => println!(
                    "Released {} ({} team, as {role}): {}\nThe {} service adapts within a second; its API does not change.",
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
            let shutdown = kit::shutdown::on_signal();
            let listener = kit::http::bind(cli.customers_addr, "--customers-addr").await?;
            println!(
                "customers listening on http://{}/v1/customers",
                listener.local_addr()?
            );
            let app = customers_app(
                &customers_owner.runtime_url(&admin),
                &cli.orders_url,
                cli.calls.upstream(),
            )?;
            kit::http::serve(listener, app, shutdown).await?;
        }
        Command::Orders => {
            let shutdown = kit::shutdown::on_signal();
            let listener = kit::http::bind(cli.orders_addr, "--orders-addr").await?;
            println!(
                "orders listening on http://{}/v1/orders",
                listener.local_addr()?
            );
            let app = orders_app(
                &orders_owner.runtime_url(&admin),
                &cli.customers_url,
                cli.calls.upstream(),
            )?;
            kit::http::serve(listener, app, shutdown).await?;
        }
    }
    Ok(())
}

/// The role that owns the schema `scenario` changes, and that schema's release table.
fn owner_of(scenario: &Scenario) -> (&'static str, &'static str) {
    match scenario.owner.as_str() {
        "customers" => (migrated_customers::OWNER_ROLE, "customers.schema_releases"),
        _ => (migrated_orders::OWNER_ROLE, "orders.schema_releases"),
    }
}

/// Ships `scenario` as its owner's release: the migrated migration, run as the owner role
/// (only it can change its schema), recorded in the owner's own release table.
pub async fn ship(admin: &DatabaseUrl, scenario: &Scenario) -> anyhow::Result<Applied> {
    let (role, releases) = owner_of(scenario);
    let applied = kit::scenario::apply(
        admin,
        Some(role),
        releases,
        scenario,
        scenario.migrated_sql,
        false,
    )
    .await?;
    Ok(applied)
}

/// Creates the roles and schemas, then applies both services' migrations.
pub async fn migrate(admin: &DatabaseUrl, owners: &[Owner]) -> anyhow::Result<usize> {
    kit::ownership::bootstrap(admin, owners).await?;
    Ok(migrated_customers::migrate(admin).await? + migrated_orders::migrate(admin).await?)
}

/// Inserts both services' missing seed rows.
pub async fn seed(admin: &DatabaseUrl) -> anyhow::Result<u64> {
    let pool = kit::db::pool(admin, "migrated-seed")?;
    let inserted = migrated_customers::seed(&pool).await? + migrated_orders::seed(&pool).await?;
    pool.close().await;
    Ok(inserted)
}

/// The customers service on its own login, calling orders at `orders_url`.
pub fn customers_app(
    url: &DatabaseUrl,
    orders_url: &str,
    calls: UpstreamConfig,
) -> anyhow::Result<axum::Router> {
    let state = migrated_customers::AppState {
        pool: kit::db::pool(url, migrated_customers::APP)?,
        orders: Arc::new(migrated_customers::OrdersClient::new(orders_url, calls)?),
    };
    Ok(migrated_customers::router(state))
}

/// The orders service on its own login, calling customers at `customers_url`.
pub fn orders_app(
    url: &DatabaseUrl,
    customers_url: &str,
    calls: UpstreamConfig,
) -> anyhow::Result<axum::Router> {
    let state = migrated_orders::AppState {
        pool: kit::db::pool(url, migrated_orders::APP)?,
        customers: Arc::new(migrated_orders::CustomersClient::new(customers_url, calls)?),
    };
    Ok(migrated_orders::router(state))
}

async fn up(cli: &Cli, admin: &DatabaseUrl, shutdown: CancellationToken) -> anyhow::Result<()> {
    let owners = cli.owners();
    let applied = migrate(admin, &owners).await?;
    let inserted = seed(admin).await?;
    tracing::info!(
        applied,
        inserted,
        "schemas bootstrapped, migrated and seeded"
    );
    if shutdown.is_cancelled() {
        return Ok(());
    }
    let customers_listener = kit::http::bind(cli.customers_addr, "--customers-addr").await?;
    let orders_listener = kit::http::bind(cli.orders_addr, "--orders-addr").await?;
    let customers_url = format!("http://{}", customers_listener.local_addr()?);
    let orders_url = format!("http://{}", orders_listener.local_addr()?);
    let [customers_owner, orders_owner] = owners;
    let customers = customers_app(
        &customers_owner.runtime_url(admin),
        &orders_url,
        cli.calls.upstream(),
    )?;
    let orders = orders_app(
        &orders_owner.runtime_url(admin),
        &customers_url,
        cli.calls.upstream(),
    )?;
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
    tokio::try_join!(
        kit::http::serve(customers_listener, customers, shutdown.clone()),
        kit::http::serve(orders_listener, orders, shutdown),
    )?;
    Ok(())
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
