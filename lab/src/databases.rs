//! Fresh databases on one server, each a copy of a template that is migrated (and seeded)
//! once per server: `CREATE DATABASE x TEMPLATE tpl`, in milliseconds, instead of
//! migrating and seeding again. The one way the binaries' tooling, the matrix and the test
//! harness get a database of their own.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use chassis::DatabaseUrl;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::Mutex;

/// A boxed future, as templates store their async steps.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An async step run on a database, given its admin URL.
pub type Step = Arc<dyn Fn(DatabaseUrl) -> BoxFuture<anyhow::Result<()>> + Send + Sync>;

/// How to build a template database, and what each copy needs that a copy does not inherit.
#[derive(Clone)]
pub struct Template {
    /// Names the template (`tpl_<name>`) and its copies.
    pub name: &'static str,
    /// Migrates (and seeds) the template.
    pub build: Step,
    /// Runs on each copy: database privileges, for one, are not copied from a template.
    pub after_copy: Option<Step>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .finish()
    }
}

impl Template {
    /// A template built by `build`, whose copies need nothing more.
    pub fn new<F, Fut>(name: &'static str, build: F) -> Self
    where
        F: Fn(DatabaseUrl) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name,
            build: Arc::new(move |url| Box::pin(build(url))),
            after_copy: None,
        }
    }

    /// Also runs `step` on every copy.
    pub fn after_copy<F, Fut>(mut self, step: F) -> Self
    where
        F: Fn(DatabaseUrl) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.after_copy = Some(Arc::new(move |url| Box::pin(step(url))));
        self
    }
}

/// The databases made on one server, named `<prefix>_...`.
#[derive(Debug)]
pub struct Databases {
    admin: DatabaseUrl,
    prefix: String,
    /// Templates built so far; its lock also serialises copying, since CREATE DATABASE
    /// refuses a template that another session is connected to.
    built: Mutex<HashSet<&'static str>>,
    made: AtomicU64,
}

impl Databases {
    /// Databases on the server of `admin`, a role that may create databases (and roles,
    /// for the migrated template).
    pub fn new(admin: DatabaseUrl, prefix: &str) -> Self {
        Self {
            admin,
            prefix: prefix.to_owned(),
            built: Mutex::new(HashSet::new()),
            made: AtomicU64::new(0),
        }
    }

    /// The server's admin URL.
    pub fn admin(&self) -> &DatabaseUrl {
        &self.admin
    }

    fn template_name(&self, template: &Template) -> String {
        format!("{}_tpl_{}", self.prefix, template.name)
    }

    /// A new database for one user alone, a copy of `template` (built on first use),
    /// dropped when the returned value is dropped.
    pub async fn fresh(&self, template: &Template) -> anyhow::Result<Database> {
        let template_name = self.template_name(template);
        let name = format!(
            "{}_{}_{}",
            self.prefix,
            template.name,
            self.made.fetch_add(1, Ordering::Relaxed)
        );
        let mut built = self.built.lock().await;
        let mut admin = self.connect().await?;
        if !built.contains(template.name) {
            for sql in [
                format!("DROP DATABASE IF EXISTS {template_name} WITH (FORCE)"),
                format!("CREATE DATABASE {template_name}"),
            ] {
                admin.execute(sql.as_str()).await?;
            }
            (template.build)(self.admin.with_database(&template_name))
                .await
                .with_context(|| format!("building template {template_name}"))?;
            built.insert(template.name);
        }
        admin
            .execute(format!("CREATE DATABASE {name} TEMPLATE {template_name}").as_str())
            .await
            .with_context(|| format!("creating database {name}"))?;
        drop(built);
        admin.close().await?;
        let database = Database {
            url: self.admin.with_database(&name),
            name,
            admin: self.admin.clone(),
        };
        if let Some(step) = &template.after_copy {
            step(database.url.clone()).await?;
        }
        Ok(database)
    }

    /// Drops every template this built (copies drop themselves).
    pub async fn drop_templates(&self) -> anyhow::Result<()> {
        let built: Vec<&str> = self.built.lock().await.drain().collect();
        let mut admin = self.connect().await?;
        for name in built {
            let sql = format!(
                "DROP DATABASE IF EXISTS {}_tpl_{name} WITH (FORCE)",
                self.prefix
            );
            admin.execute(sql.as_str()).await?;
        }
        admin.close().await?;
        Ok(())
    }

    async fn connect(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect_with(&self.admin.connect_options()?)
            .await
            .context("connecting as admin to make databases")
    }
}

/// A database for one user. Dropping it drops the database, in the background on the
/// current tokio runtime; [`Database::drop_now`] waits for it.
#[derive(Debug)]
pub struct Database {
    /// Admin credentials, this database.
    pub url: DatabaseUrl,
    pub name: String,
    admin: DatabaseUrl,
}

impl Database {
    /// Drops the database and waits until it is gone.
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        let name = std::mem::take(&mut self.name);
        drop_database(&self.admin, &name).await
    }
}

async fn drop_database(admin: &DatabaseUrl, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(&admin.connect_options()?).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    conn.close().await?;
    Ok(())
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (admin, name) = (self.admin.clone(), std::mem::take(&mut self.name));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = drop_database(&admin, &name).await;
            });
        }
    }
}
