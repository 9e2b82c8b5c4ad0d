//! The integration-test harness: one Postgres container per test binary, a fresh database
//! per test cloned from a migrated template, and no container left behind.
//!
//! Test binaries use it as their `main` (`harness = false`), so the container has an owner
//! that outlives every test and removes it when they are done: passed, failed, panicked,
//! or interrupted with Ctrl-C. (A container in a `static` would never be dropped.)
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     crate::harness::main(chassis::tests![shows_an_order_with_its_customer])
//! }
//! async fn shows_an_order_with_its_customer(ctx: crate::harness::TestContext) { /* ... */ }
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use libtest_mimic::{Arguments, Trial};
use sqlx::{Connection, PgConnection};
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, OnceCell};

use crate::postgres::{Postgres, Purpose};
use chassis::config::DatabaseUrl;

/// A boxed future, as the harness stores async functions.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A test body: an async function of the context.
pub type TestFn = fn(TestContext) -> BoxFuture<()>;

/// A named test.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    pub name: &'static str,
    pub run: TestFn,
}

/// Lists async test functions for [`main`]: `lab::tests![first_test, second_test]`.
#[macro_export]
macro_rules! tests {
    ($($test:ident),+ $(,)?) => {
        vec![$($crate::harness::Test {
            name: stringify!($test),
            run: |ctx| Box::pin($test(ctx)),
        }),+]
    };
}

/// How to build a template database: a name, and a function that migrates (and seeds) a
/// database at the URL it is given. Built once per test binary, on first use.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub name: &'static str,
    pub build: fn(DatabaseUrl) -> BoxFuture<anyhow::Result<()>>,
}

/// Runs `tests` with libtest's command line (filters, `--test-threads`, `--list`...), then
/// removes the container if one was started. Use it as a test binary's `main`.
pub fn main(tests: Vec<Test>) -> ExitCode {
    let args = Arguments::from_args();
    if std::env::var_os("RUST_LOG").is_some() {
        chassis::telemetry::init();
    }
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the tokio runtime for the tests: {err}");
            return ExitCode::FAILURE;
        }
    };
    let harness = Arc::new(Harness::default());
    let handle = runtime.handle().clone();
    let trials = tests
        .into_iter()
        .map(|test| {
            let harness = harness.clone();
            let handle = handle.clone();
            Trial::test(test.name, move || {
                let ctx = TestContext {
                    harness,
                    handle: handle.clone(),
                };
                handle.block_on((test.run)(ctx));
                Ok(())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    runtime.block_on(harness.shutdown());
    conclusion.exit_code()
}

#[derive(Debug, Default)]
struct Harness {
    postgres: OnceCell<Result<Server, String>>,
    templates: Mutex<HashSet<&'static str>>,
    databases: AtomicU64,
}

#[derive(Debug)]
struct Server {
    admin: DatabaseUrl,
    // Taken out once, by whoever removes the container first: the end of the run or Ctrl-C.
    container: std::sync::Mutex<Option<Postgres>>,
}

impl Server {
    fn take(&self) -> Option<Postgres> {
        self.container
            .lock()
            .map(|mut c| c.take())
            .unwrap_or_default()
    }
}

impl Harness {
    /// The binary's Postgres, started on first use. A failure to start is kept, so that
    /// every test reports it at once instead of each trying again.
    async fn server(self: &Arc<Self>) -> &Server {
        let server = self
            .postgres
            .get_or_init(|| async {
                let postgres = Postgres::provision(None, Purpose::Test)
                    .await
                    .map_err(|err| err.to_string())?;
                let server = Server {
                    admin: postgres.url().clone(),
                    container: std::sync::Mutex::new(Some(postgres)),
                };
                let harness = self.clone();
                tokio::spawn(async move {
                    chassis::shutdown::signal().await;
                    eprintln!("interrupted: removing the test Postgres container");
                    harness.shutdown().await;
                    std::process::exit(130);
                });
                Ok(server)
            })
            .await;
        match server {
            Ok(server) => server,
            Err(err) => panic!("{err}"),
        }
    }

    async fn shutdown(&self) {
        if let Some(Ok(server)) = self.postgres.get()
            && let Some(postgres) = server.take()
        {
            postgres.release().await;
        }
    }
}

/// What a test gets: access to fresh databases on the binary's one Postgres.
#[derive(Debug, Clone)]
pub struct TestContext {
    harness: Arc<Harness>,
    handle: tokio::runtime::Handle,
}

impl TestContext {
    /// A new, empty-but-for-the-template database for this test alone, dropped when the
    /// returned value is.
    pub async fn database(&self, template: &Template) -> TestDatabase {
        self.try_database(template).await.unwrap_or_else(|err| {
            panic!(
                "cannot create a test database from {}: {err:#}",
                template.name
            )
        })
    }

    async fn try_database(&self, template: &Template) -> anyhow::Result<TestDatabase> {
        let server = self.harness.server().await;
        let template_name = format!("tpl_{}", template.name);
        let name = format!(
            "t_{}_{}",
            template.name,
            self.harness.databases.fetch_add(1, Ordering::Relaxed)
        );
        // One lock for building templates and copying them: CREATE DATABASE refuses a
        // template that another session is connected to.
        let mut built = self.harness.templates.lock().await;
        let mut admin = PgConnection::connect_with(&server.admin.connect_options()?).await?;
        if !built.contains(template.name) {
            for sql in [
                format!("DROP DATABASE IF EXISTS {template_name} WITH (FORCE)"),
                format!("CREATE DATABASE {template_name}"),
            ] {
                sqlx::Executor::execute(&mut admin, sql.as_str()).await?;
            }
            (template.build)(server.admin.with_database(&template_name))
                .await
                .with_context(|| format!("building template {template_name}"))?;
            built.insert(template.name);
        }
        let create = format!("CREATE DATABASE {name} TEMPLATE {template_name}");
        sqlx::Executor::execute(&mut admin, create.as_str()).await?;
        drop(built);
        admin.close().await?;
        Ok(TestDatabase {
            url: server.admin.with_database(&name),
            admin: server.admin.clone(),
            name,
            handle: self.handle.clone(),
        })
    }

    /// The admin URL of the binary's Postgres (for tests that make databases of their own).
    pub async fn admin_url(&self) -> DatabaseUrl {
        self.harness.server().await.admin.clone()
    }
}

/// A database for one test. Dropping it drops the database (in the background).
#[derive(Debug)]
pub struct TestDatabase {
    /// Admin credentials, this database.
    pub url: DatabaseUrl,
    pub name: String,
    admin: DatabaseUrl,
    handle: tokio::runtime::Handle,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        self.handle.spawn(async move {
            let Ok(options) = admin.connect_options() else {
                return;
            };
            if let Ok(mut conn) = PgConnection::connect_with(&options).await {
                let _ = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
                let _ = conn.close().await;
            }
        });
    }
}
