//! Both pairs, started in this process on a database of their own, on free loopback ports;
//! and fresh databases for them, copied from templates built once per server.

use anyhow::Context as _;
use kit::DatabaseUrl;
use kit::scenario::{Applied, Pair, Scenario};
use sqlx::{Connection, Executor, PgConnection};
use tokio_util::sync::CancellationToken;

/// Passwords of the migrated runtime roles: the `migrated` binary's own flags and
/// environment. Roles belong to the server, not to a database, and bootstrap sets their
/// passwords: a run on a server that `migrated` also uses must give the same ones, or the
/// pair it runs loses its logins.
pub use migrated::Secrets as Passwords;

/// A pair serving on loopback until dropped.
#[derive(Debug)]
pub struct Running {
    pub pair: Pair,
    pub customers: String,
    pub orders: String,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn serve(app: axum::Router, stop: &CancellationToken) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(kit::http::serve(listener, app, stop.clone()));
    Ok(url)
}

/// Starts `pair` on `database` (admin credentials; the migrated services log in with their
/// own roles), which must hold that pair's schema.
pub async fn start(
    pair: Pair,
    database: &DatabaseUrl,
    passwords: &Passwords,
) -> anyhow::Result<Running> {
    let stop = CancellationToken::new();
    let (customers, orders) = match pair {
        Pair::Legacy => {
            let customers = kit::db::pool(database, legacy::CUSTOMERS_APP)?;
            let orders = kit::db::pool(database, legacy::ORDERS_APP)?;
            (
                serve(legacy::customers::router(customers), &stop).await?,
                serve(legacy::orders::router(orders), &stop).await?,
            )
        }
        Pair::Migrated => {
            let [customers_owner, orders_owner] = passwords.owners();
            let customers = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let orders = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let customers_url = format!("http://{}", customers.local_addr()?);
            let orders_url = format!("http://{}", orders.local_addr()?);
            let calls = kit::consumer::UpstreamConfig::default();
            let customers_app = migrated::customers_app(
                &customers_owner.runtime_url(database),
                &orders_url,
                calls.clone(),
            )?;
            let orders_app =
                migrated::orders_app(&orders_owner.runtime_url(database), &customers_url, calls)?;
            tokio::spawn(kit::http::serve(customers, customers_app, stop.clone()));
            tokio::spawn(kit::http::serve(orders, orders_app, stop.clone()));
            (customers_url, orders_url)
        }
    };
    Ok(Running {
        pair,
        customers,
        orders,
        stop,
    })
}

/// Ships `scenario` to `pair`'s database as its owner would: the legacy migration on the
/// shared schema, or the migrated one as the owning team's role.
pub async fn ship(
    pair: Pair,
    database: &DatabaseUrl,
    scenario: &Scenario,
) -> anyhow::Result<Applied> {
    let applied = match pair {
        Pair::Legacy => legacy::ship(database, scenario).await.map_err(Into::into),
        Pair::Migrated => migrated::ship(database, scenario).await,
    };
    applied.with_context(|| format!("shipping {} to the {pair:?} pair", scenario.id))
}

/// Fresh databases on one server, each a copy of its pair's template (migrated and
/// seeded once). Every database made here is dropped by [`Databases::drop_all`].
#[derive(Debug)]
pub struct Databases {
    admin: DatabaseUrl,
    passwords: Passwords,
    prefix: String,
    templates: Vec<Pair>,
    made: Vec<String>,
}

impl Databases {
    /// Databases on the server of `admin` (a role that may create databases and roles),
    /// named `<prefix>_...`.
    pub fn new(admin: DatabaseUrl, passwords: Passwords, prefix: &str) -> Self {
        Self {
            admin,
            passwords,
            prefix: prefix.to_owned(),
            templates: Vec::new(),
            made: Vec::new(),
        }
    }

    fn template_name(&self, pair: Pair) -> String {
        format!("{}_tpl_{}", self.prefix, pair_name(pair))
    }

    async fn admin(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect(self.admin.expose())
            .await
            .context("connecting as admin to make databases")
    }

    /// A database of its own for `pair`, at baseline: migrated and seeded.
    pub async fn fresh(&mut self, pair: Pair, name: &str) -> anyhow::Result<DatabaseUrl> {
        let template = self.template_name(pair);
        if !self.templates.contains(&pair) {
            self.create(&template, None).await?;
            build(pair, &self.admin.with_database(&template), &self.passwords)
                .await
                .with_context(|| format!("building the {} template", pair_name(pair)))?;
            self.templates.push(pair);
        }
        let name = self.database_name(name);
        self.create(&name, Some(&template)).await?;
        let url = self.admin.with_database(&name);
        if pair == Pair::Migrated {
            // Database privileges are not copied from a template.
            kit::ownership::secure_database(&url, &self.passwords.owners()).await?;
        }
        Ok(url)
    }

    async fn create(&mut self, name: &str, template: Option<&str>) -> anyhow::Result<()> {
        let mut admin = self.admin().await?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
        let create = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        admin
            .execute(create.as_str())
            .await
            .with_context(|| format!("creating database {name}"))?;
        self.made.push(name.to_owned());
        admin.close().await?;
        Ok(())
    }

    fn database_name(&self, name: &str) -> String {
        format!("{}_{}", self.prefix, name.replace('-', "_"))
    }

    /// Drops the database [`Databases::fresh`] made under `name`.
    pub async fn drop_one(&mut self, name: &str) -> anyhow::Result<()> {
        let name = self.database_name(name);
        if let Some(at) = self.made.iter().position(|n| *n == name) {
            let name = self.made.remove(at);
            let mut admin = self.admin().await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
            admin.close().await?;
        }
        Ok(())
    }

    /// Drops every database this made, templates included.
    pub async fn drop_all(&mut self) -> anyhow::Result<()> {
        let mut admin = self.admin().await?;
        for name in self.made.drain(..).rev() {
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
        }
        admin.close().await?;
        Ok(())
    }
}

pub fn pair_name(pair: Pair) -> &'static str {
    match pair {
        Pair::Legacy => "legacy",
        Pair::Migrated => "migrated",
    }
}

/// Migrates and seeds a pair's schema at `url`, as its `up` command does.
async fn build(pair: Pair, url: &DatabaseUrl, passwords: &Passwords) -> anyhow::Result<()> {
    match pair {
        Pair::Legacy => {
            legacy::migrate(url).await?;
            let pool = kit::db::pool(url, "shared-db-kit")?;
            legacy::seed(&pool).await?;
            pool.close().await;
        }
        Pair::Migrated => {
            migrated::migrate(url, &passwords.owners()).await?;
            migrated::seed(url).await?;
        }
    }
    Ok(())
}
