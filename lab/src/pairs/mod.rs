//! Both pairs, started one way everywhere ([`legacy::start`], [`migrated::start`]): by the
//! binaries, the matrix, the walkthrough's tooling and the tests; and fresh databases for
//! them, copied from templates built once per server.

pub mod legacy;
pub mod migrated;
mod serving;

pub use serving::{Listeners, Running, Serving};

use anyhow::Context as _;
use chassis::DatabaseUrl;
use chassis::consumer::UpstreamConfig;
use chassis::releases::Applied;
use sqlx::{Connection, Executor, PgConnection};

use crate::scenario::{Pair, Scenario};

/// Passwords of the migrated runtime roles: the `migrated` binary's own flags and
/// environment. Roles belong to the server, not to a database, and bootstrap sets their
/// passwords: a run on a server that `migrated` also uses must give the same ones, or the
/// pair it runs loses its logins.
pub use migrated::Secrets as Passwords;

/// Starts `pair` on `database` (admin credentials; the migrated services log in with their
/// own roles), which must hold that pair's schema, on free loopback ports. `calls` is how
/// patient the migrated services are with each other (the legacy pair makes no calls).
pub async fn start(
    pair: Pair,
    database: &DatabaseUrl,
    passwords: &Passwords,
    calls: &UpstreamConfig,
) -> anyhow::Result<Running> {
    let listeners = Listeners::loopback().await?;
    match pair {
        Pair::Legacy => legacy::start(database, listeners),
        Pair::Migrated => migrated::start(database, passwords, listeners, calls),
    }
}

/// Ships `scenario` to `pair`'s database as its owner would: the legacy migration on the
/// shared schema, or the migrated one as the owning team's role.
pub async fn ship(
    pair: Pair,
    database: &DatabaseUrl,
    scenario: &Scenario,
) -> anyhow::Result<Applied> {
    let applied = match pair {
        Pair::Legacy => legacy::ship(database, scenario).await,
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
            chassis::ownership::secure_database(&url, &self.passwords.owners()).await?;
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
pub async fn build(pair: Pair, url: &DatabaseUrl, passwords: &Passwords) -> anyhow::Result<()> {
    match pair {
        Pair::Legacy => legacy::build(url).await?,
        Pair::Migrated => migrated::build(url, passwords).await?,
    };
    Ok(())
}
